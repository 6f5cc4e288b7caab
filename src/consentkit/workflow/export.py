"""``consentkit evidence``: write a case's evidence bundle (atomically), then log ``evidence.exported`` — after the
bundle exists, so the event names the bundle's hash and cannot be inside it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from consentkit.audit import events as ev
from consentkit.workflow._log import opened
from consentkit.workflow.actors import Actor, actor, checked
from consentkit.workflow.cases import CasePacket, find_packet

if TYPE_CHECKING:
    from consentkit.audit.heads import SignedTreeHead
    from consentkit.audit.log import Appended, AuditLog
    from consentkit.evidence.bundle import Bundle
    from consentkit.workspace import Workspace

_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class ExportedEvidence:
    path: Path
    sha256: str
    size: int
    head: SignedTreeHead
    bundle: Bundle
    packet: CasePacket
    event: Appended


def export_evidence(
    ws: Workspace,
    case_id: str,
    output: Path,
    *,
    packet_dir: Path | None = None,
    who: Actor | None = None,
    now: dt.datetime | None = None,
    log: AuditLog | None = None,
) -> ExportedEvidence:
    from consentkit.evidence.bundle import assemble, write_zip

    who = checked(who or actor(None, "staff"))
    packet = find_packet(ws, case_id, packet_dir)
    with opened(ws, log) as audit:
        bundle = assemble(ws, packet, audit, now=now)
        digest, size = write_zip(bundle.files, output)
        name = output.name if _FILE_NAME.fullmatch(output.name) else "evidence.zip"
        event = ev.evidence_exported(
            case=case_id,
            subject=packet.manifest.subject,
            actor=who.id,
            actor_role=who.role,
            tree_size=bundle.head.size,
            files={name: "sha256:" + digest},
        )
        done = audit.append(event, head=True)
    return ExportedEvidence(output.absolute(), digest, size, bundle.head, bundle, packet, done)
