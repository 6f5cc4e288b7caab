"""``consentkit checkin``: run the gate and record its decision — ``procedure.checkin`` with the outcome and the
reason codes either way, and ``procedure.started`` when it passes — each followed by a signed, timestamped tree
head."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from consentkit.audit import events as ev
from consentkit.evidence.gate import GateDecision, evaluate
from consentkit.evidence.history import from_stored
from consentkit.manifest import PACKET_PDF
from consentkit.workflow._log import opened
from consentkit.workflow.actors import Actor, actor, checked
from consentkit.workflow.cases import CasePacket, find_packet

if TYPE_CHECKING:
    from consentkit.audit.log import Appended, AuditLog
    from consentkit.workspace import Workspace


@dataclass(frozen=True)
class CheckinResult:
    decision: GateDecision
    packet: CasePacket
    checkin: Appended
    started: Appended | None

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
    """Judge whether the procedure may start at ``at`` (default now) and log the decision. The caller reports a
    refusal (``result.passed`` is False) — it is an answer, not an error."""
    who = checked(who or actor(None, "nurse"))
    at = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    packet = find_packet(ws, case_id, packet_dir)
    with opened(ws, log) as audit:
        history = from_stored(audit.case_events(case_id))
        decision = evaluate(ws, packet, history, at=at, physician=physician)
        refs = [e.ref() for e in (decision.generated_event, *decision.signature_events[-1:]) if e is not None]
        files = {PACKET_PDF: "sha256:" + decision.pdf_sha256} if decision.pdf_sha256 else {}
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
    return CheckinResult(decision, packet, done, started)
