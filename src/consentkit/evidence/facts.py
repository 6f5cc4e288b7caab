"""The facts the disclosure certificate states, gathered from the bundle's contents."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from consentkit.cooling_off import CoolingOffPeriod
from consentkit.errors import ConsentkitError
from consentkit.evidence.certificate import ApprovalLine, CertificateFacts
from consentkit.evidence.timeline import Moment, consent_time, cooling_off, moments, started_at
from consentkit.pki import common_name

if TYPE_CHECKING:
    from consentkit.audit.heads import SignedTreeHead
    from consentkit.evidence.bundle import BundleContext
    from consentkit.manifest import Manifest
    from consentkit.workspace import Workspace


def certificate_facts(c: BundleContext) -> CertificateFacts:
    from consentkit.render.labels import pick

    m = c.manifest
    zone = c.ws.zone
    case_events = [e for e in c.events if e.index >= c.generated.index and e.type != "spec.approved"]
    period = CoolingOffPeriod(m.cooling_off.days, m.cooling_off.not_same_day, "packet")
    judged = cooling_off(
        period,
        consent_time(c.signed_events, m.required_roles),
        started_at(case_events),
        zone,
        checked_in_after=_token_time(c.checkin_lower),
        recorded_before=_token_time(c.checkin_upper),
    )
    shown = moments(case_events)
    if judged.earliest is not None:
        shown = sorted([*shown, Moment("cooling-off.ends", judged.earliest, "computed")], key=lambda x: x.time)
    approvals = []
    for ref in m.approvals:
        approvals.append(ApprovalLine(ref.reviewer, ref.role, ref.approved_at))
    signers = [(s.role, common_name(s.signer)) for s in c.signatures if s.signer and not s.is_document_timestamp]
    hashes = [
        ("spec_hash", m.procedure.spec_hash),
        ("packet_hash", f"sha256:{m.packet.sha256}" if m.packet else "—"),
        ("final_hash", "sha256:" + hashlib.sha256(c.pdf).hexdigest()),
        ("manifest_hash", "sha256:" + hashlib.sha256(c.manifest_bytes).hexdigest()),
        ("head", f"{c.head.root.hex()} · {_events(c.head.size, m.locales)} · {_local(c.head.head.time, zone)}"),
    ]
    return CertificateFacts(
        clinic=pick(c.ws.config.clinic.name, m.locales[0]),
        procedure=procedure_title(c.ws, m),
        case_id=m.case_id,
        packet_id=m.packet_id,
        locales=m.locales,
        zone=zone,
        moments=shown,
        cooling=judged,
        signers=signers,
        approvals=approvals,
        hashes=hashes,
        generated_at=c.now,
    )


def _token_time(sth: SignedTreeHead | None) -> dt.datetime | None:
    from consentkit.tsa.tokens import describe_token

    return describe_token(sth.token).time if sth is not None else None


def _events(count: int, locales: list[str]) -> str:
    words = {"zh-CN": f"{count} 个事件", "zh-TW": f"{count} 個事件", "en": f"{count} events"}
    return " · ".join(dict.fromkeys(words.get(loc, words["en"]) for loc in locales))


def _local(value: dt.datetime, zone: ZoneInfo) -> str:
    return f"{value.astimezone(zone):%Y-%m-%d %H:%M:%S}"


def procedure_title(ws: Workspace, m: Manifest) -> str:
    """The procedure's title in the packet's languages when the library still holds the exact version, else its
    id; with the version either way."""
    from consentkit.packet import cached_library
    from consentkit.render.labels import pick
    from consentkit.spec.canonical import content_hash

    try:
        spec = cached_library(ws.procedure_roots()).procedure(m.procedure.id).model
    except ConsentkitError:
        spec = None
    if spec is not None and content_hash(spec) == m.procedure.spec_hash:
        title = " · ".join(dict.fromkeys(pick(spec.title, loc) for loc in m.locales))
    else:
        title = m.procedure.id
    return f"{title}  v{m.procedure.version}"
