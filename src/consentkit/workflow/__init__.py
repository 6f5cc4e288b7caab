"""The clinic's workflow as library calls — what the CLI, the demo and a web app call. Each step does its work and
then records it in the audit log, only once the work is complete, with a signed and timestamped tree head after
every signature and every gate decision::

    from consentkit.workflow import generate_packet, present_disclosure, sign_role, checkin, export_evidence

    generate_packet(ws, Path("case.yaml"), Path("out/C-1"))          # packet.generated; case index updated
    present_disclosure(ws, "C-1", how="printed")                      # disclosure.presented
    sign_role(ws, Path("out/C-1/packet.pdf"), "physician", "王医生")    # document.signed (+ seal) + tree head
    renew_archive(ws, Path("out/C-1/packet.pdf"), secret=s)             # document.timestamped + tree head (years on)
    result = checkin(ws, "C-1", at=when)                              # procedure.checkin (+ procedure.started)
    export_evidence(ws, "C-1", Path("C-1-evidence.zip"))               # bundle, then evidence.exported
"""

from __future__ import annotations

from consentkit.workflow.actors import Actor, actor
from consentkit.workflow.cases import CasePacket, find_packet
from consentkit.workflow.checkin import CheckinResult, checkin
from consentkit.workflow.export import ExportedEvidence, export_evidence
from consentkit.workflow.steps import (
    GeneratedPacket,
    RenewedStep,
    SignedStep,
    generate_packet,
    present_disclosure,
    renew_archive,
    sign_role,
)

__all__ = [
    "Actor",
    "CasePacket",
    "CheckinResult",
    "ExportedEvidence",
    "GeneratedPacket",
    "RenewedStep",
    "SignedStep",
    "actor",
    "checkin",
    "export_evidence",
    "find_packet",
    "generate_packet",
    "present_disclosure",
    "renew_archive",
    "sign_role",
]
