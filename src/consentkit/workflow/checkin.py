"""``consentkit checkin``: run the gate and record its decision — ``procedure.checkin`` with the outcome and the
reason codes either way, and ``procedure.started`` when it passes — each followed by a signed, timestamped tree
head.

The check-in is pinned in time by RFC 3161 tokens on both sides, so its evidence does not rest on the clinic's
clock: just before it appends ``procedure.checkin``, the gate makes a fresh signed, timestamped tree head and puts
the SHA-256 of that head and of its token (``tree-head.json``, ``tree-head.tsr``) in the event. Nobody can know a
token's bytes before the TSA signs them, so the check-in provably happened after the token's time (the lower
bound); the head made after ``procedure.started`` covers both events, so they happened before its token's time
(the upper bound). The gate judges the cooling-off period at the earlier of the check-in time and that lower bound.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from consentkit.audit import clock
from consentkit.audit import events as ev
from consentkit.audit.heads import MAX_CLOCK_SKEW, token_to_response
from consentkit.errors import InputError
from consentkit.evidence.checkin_heads import HEAD_JSON, HEAD_TSR
from consentkit.evidence.gate import GateDecision, evaluate
from consentkit.evidence.history import from_stored
from consentkit.manifest import PACKET_PDF
from consentkit.workflow._log import opened
from consentkit.workflow.actors import Actor, actor, checked
from consentkit.workflow.cases import CasePacket, find_packet

if TYPE_CHECKING:
    from consentkit.audit.heads import SignedTreeHead
    from consentkit.audit.log import Appended, AuditLog
    from consentkit.workspace import Workspace

# how far --at may be from the clock: a watch a little off, never a planned time, never a check-in recorded late
AT_TOLERANCE = MAX_CLOCK_SKEW


@dataclass(frozen=True)
class CheckinResult:
    decision: GateDecision
    packet: CasePacket
    checkin: Appended
    started: Appended | None
    before: SignedTreeHead  # the head made just before procedure.checkin: its token time is the lower bound

    @property
    def passed(self) -> bool:
        return self.decision.passed


def checkin(
    ws: Workspace,
    case_id: str,
    *,
    at: dt.datetime | None = None,
    physician: str | None = None,
    packet_dir: Path | None = None,
    who: Actor | None = None,
    log: AuditLog | None = None,
) -> CheckinResult:
    """Judge whether the procedure may start at ``at`` (default now; never more than a couple of minutes from the
    clock) and log the decision. The caller reports a refusal (``result.passed`` is False) — it is an answer, not an
    error."""
    from consentkit.tsa.tokens import describe_token

    who = checked(who or actor(None, "nurse"))
    if at is not None:
        _check_at(ws, at, clock.now())
    packet = find_packet(ws, case_id, packet_dir)
    with opened(ws, log) as audit:
        history = from_stored(audit.case_events(case_id))
        before = audit.head()
        proven_after = describe_token(before.token).time
        at = (at or clock.now()).astimezone(dt.UTC)  # default: now, after the head
        decision = evaluate(ws, packet, history, at=at, physician=physician, proven_after=proven_after)
        refs = [e.ref() for e in (decision.generated_event, *decision.signature_events[-1:]) if e is not None]
        files = {PACKET_PDF: "sha256:" + decision.pdf_sha256} if decision.pdf_sha256 else {}
        files[HEAD_JSON] = ev.sha256_id(before.checkpoint)
        files[HEAD_TSR] = ev.sha256_id(token_to_response(before.token))
        common = {"case": case_id, "subject": packet.manifest.subject, "actor": who.id, "actor_role": who.role}
        event = ev.procedure_checkin(
            **common,  # type: ignore[arg-type]
            outcome="pass" if decision.passed else "refused",
            at=at,
            reasons=tuple(decision.codes),
            files=files,
            refs=tuple(refs),
        )
        done = audit.append(event, head=True)
        started = None
        if decision.passed:
            started = audit.append(
                ev.procedure_started(**common, at=at, refs=(ev.ref(done.index, done.leaf),)),  # type: ignore[arg-type]
                head=True,
            )
    return CheckinResult(decision, packet, done, started, before)


def _check_at(ws: Workspace, at: dt.datetime, now: dt.datetime) -> None:
    """``--at`` is the time now, as a watch reads it. Ahead of the clock, it would let a patient through before the
    period ends; behind it, it would record a start before the RFC 3161 time the check-in provably followed, so its
    evidence could never show that the procedure followed the gate (verify-evidence: NOT PROVEN). A check-in after
    the procedure is not a gate: the operating record's time is judged with ``verify-evidence --procedure-at``."""
    from consentkit.evidence.gate_words import local_time

    if at.tzinfo is None:
        raise InputError("--at: the check-in time has no time zone")
    if at > now + AT_TOLERANCE:
        raise InputError(
            f"--at: {local_time(at, ws.zone)} is in the future (it is now {local_time(now, ws.zone)}). The gate "
            "checks in a patient who is here now: run it just before the procedure, without --at"
        )
    if at < now - AT_TOLERANCE:
        raise InputError(
            f"--at: {local_time(at, ws.zone)} is in the past (it is now {local_time(now, ws.zone)}). The gate "
            "checks in a patient who is here now, before the procedure: a check-in recorded afterwards cannot show "
            "that the procedure followed it. Run it without --at; judge the operating record's time with "
            "consentkit verify-evidence --procedure-at"
        )
