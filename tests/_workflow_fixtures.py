"""A clinic for the workflow, gate and evidence tests: a workspace with its PKI, a physician, a second physician,
a witness and two reviewers; the demo's procedure approved; case files made from the demo's sample patient; packets
generated, presented and signed for real (embedded TSA) through consentkit.workflow.

Building a signed packet costs a few seconds, so ``signed_clinic`` builds one complete case per test process (a
checked-in, evidence-ready case) and caches it; tests that change things copy what they change."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from consentkit.audit import clock
from consentkit.audit.log import AuditLog
from consentkit.case import load_case
from consentkit.demo import PROCEDURE, REVIEWERS, demo_log, sample_case
from consentkit.pki import WorkspacePki
from consentkit.review import approve
from consentkit.workflow import Actor, checkin, export_evidence, generate_packet, present_disclosure, sign_role
from consentkit.workspace import Workspace, init_workspace

PASSPHRASE = "correct horse battery"
SECRET = PASSPHRASE.encode()
PHYSICIAN = "王医生"
OTHER_PHYSICIAN = "李医生"
WITNESS = "张护士"
NURSE = Actor("li.na", "nurse")


@dataclass
class Clinic:
    ws: Workspace
    root: Path
    cases: dict[str, Path] = field(default_factory=dict)


def make_clinic(root: Path) -> Clinic:
    os.environ["CONSENTKIT_PASSPHRASE"] = PASSPHRASE
    ws = init_workspace(root / "clinic")
    pki = WorkspacePki(ws)
    pki.create(SECRET)
    for role, name in (("physician", PHYSICIAN), ("physician", OTHER_PHYSICIAN), ("witness", WITNESS)):
        pki.issue_signer(role, name, SECRET)
    for review, name in REVIEWERS.items():
        pki.issue_signer("reviewer", name, SECRET, review_role=review)
    for role, name in REVIEWERS.items():
        approve(ws, PROCEDURE, reviewer=name, role=role, secret=SECRET, check_lint=False)
    return Clinic(ws, root)


def write_case(clinic: Clinic, case_id: str, *, minor: bool = False, **changes: Any) -> Path:
    now = dt.datetime.now(clinic.ws.zone).replace(microsecond=0)
    data = yaml.safe_load(sample_case(now, now + dt.timedelta(days=21)))
    data["case_id"] = case_id
    if minor:
        data["patient"]["date_of_birth"] = dt.date(now.year - 16, 1, 15)
        data["guardian"] = {
            "name": "陈大山",
            "relationship": "父亲",
            "identity": {"type": "resident-id", "number": "310101197001010011"},
        }
    data.update(changes)
    path = clinic.ws.root / "cases" / f"{case_id}.yaml"  # inside the workspace, as a clinic keeps them
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    clinic.cases[case_id] = path
    return path


def packet_dir(clinic: Clinic, case_id: str) -> Path:
    return clinic.ws.root / "packets" / case_id


def make_packet(clinic: Clinic, case_id: str, *, draft: bool = False, **case: Any) -> Path:
    path = write_case(clinic, case_id, **case)
    generate_packet(clinic.ws, path, packet_dir(clinic, case_id), draft=draft, who=Actor("reception", "staff"))
    return packet_dir(clinic, case_id) / "packet.pdf"


SIGNERS = {"clinic": None, "physician": PHYSICIAN, "patient": None, "guardian": None, "witness": WITNESS}


def sign(clinic: Clinic, case_id: str, roles: tuple[str, ...]) -> None:
    case = load_case(clinic.cases[case_id])[0]
    for role in roles:
        sign_role(clinic.ws, packet_dir(clinic, case_id) / "packet.pdf", role, SIGNERS[role], secret=SECRET, case=case)


def full_case(clinic: Clinic, case_id: str) -> None:
    """Packet, presented, signed by every role and sealed."""
    make_packet(clinic, case_id)
    present_disclosure(clinic.ws, case_id, how="printed", who=NURSE)
    sign(clinic, case_id, ("clinic", "physician", "patient", "witness"))


def signed_and_too_early(clinic: Clinic, case_id: str) -> dt.datetime:
    """A new case signed by every role and checked in at once (refused): the end of its cooling-off period."""
    full_case(clinic, case_id)
    earliest = checkin(clinic.ws, case_id, who=NURSE).decision.earliest
    assert earliest is not None
    return earliest


@contextmanager
def clock_at(clinic: Clinic, when: dt.datetime) -> Iterator[AuditLog]:
    """Run the block as if the clock read ``when`` (as the demo does): the events, the heads and the embedded
    TSA's tokens of the yielded log all use the simulated clock."""
    with clock.simulated(when), demo_log(clinic.ws, SECRET) as log:
        yield log


@dataclass
class Finished:
    """A complete case: signed, refused too early, passed after the period, evidence exported."""

    clinic: Clinic
    case_id: str
    earliest: dt.datetime
    started: dt.datetime
    bundle: Path


_CACHE: dict[str, Any] = {}


def finished_case(base: Path) -> Finished:
    """Built once per test process (in the session's base temporary folder)."""
    if "finished" not in _CACHE:
        clinic = make_clinic(base / "finished")
        case_id = "C-EV-0001"
        full_case(clinic, case_id)
        early = checkin(clinic.ws, case_id, who=NURSE)
        assert not early.passed and early.decision.earliest is not None
        with clock_at(clinic, early.decision.earliest + dt.timedelta(minutes=7)) as log:
            late = checkin(clinic.ws, case_id, who=NURSE, log=log)
            assert late.passed, late.decision.codes
            started = late.decision.at
            bundle = clinic.root / "evidence" / f"{case_id}.zip"
            export_evidence(clinic.ws, case_id, bundle, who=Actor("auditor.wu", "auditor"), log=log)
        _CACHE["finished"] = Finished(clinic, case_id, early.decision.earliest, started, bundle)
    os.environ["CONSENTKIT_PASSPHRASE"] = PASSPHRASE
    finished: Finished = _CACHE["finished"]
    return finished


def anchors(ws: Workspace) -> tuple[Path, Path]:
    """The clinic's published anchors: root certificate and audit-log public key."""
    return ws.signatures_dir / "trust" / "clinic-root.pem", ws.state_dir / "pki" / "audit-log.pub.pem"


def forge_start(
    clinic: Clinic,
    case_id: str,
    target: Path,
    *,
    clock_reads: dt.datetime,
    at: dt.datetime,
    name_head: bool = True,
    outcome: str = "pass",
    subject: str | None = None,
) -> Path:
    """What a clinic with the database and the log key could append by hand, bypassing the gate: a check-in
    (passing, unless ``outcome`` says otherwise; about the case's patient unless ``subject`` names another) and a
    start at ``at`` referring to it, logged while the clock (and the TSA) read ``clock_reads``; then the evidence."""
    from consentkit.audit import events as ev
    from consentkit.audit.heads import token_to_response

    at = at.astimezone(dt.UTC)
    with clock_at(clinic, clock_reads) as log:
        own = log.case_events(case_id)[-1].event.subject
        common = {"case": case_id, "subject": subject or own, "actor": "forger", "actor_role": "nurse"}
        files = {}
        if name_head:
            before = log.head()
            files = {
                "tree-head.json": ev.sha256_id(before.checkpoint),
                "tree-head.tsr": ev.sha256_id(token_to_response(before.token)),
            }
        reasons = () if outcome == "pass" else ("cooling-off-not-elapsed",)
        checked = log.append(ev.procedure_checkin(**common, outcome=outcome, at=at, files=files, reasons=reasons))  # type: ignore[arg-type]
        started = ev.procedure_started(**common, at=at, refs=(ev.ref(checked.index, checked.leaf),))  # type: ignore[arg-type]
        log.append(started, head=True)
        return export_evidence(clinic.ws, case_id, target, who=Actor("auditor.wu", "auditor"), log=log).path
