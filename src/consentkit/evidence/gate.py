"""The pre-procedure gate: may this procedure start now? It passes only when every condition holds and otherwise
names every one that fails, most important first:

- the packet file is the one its manifest describes (prefix digest) and the one the log recorded after the last
  signature; its manifest is the one the log recorded when the packet was made; it is not a draft;
- every required role has signed, the clinic seal is there, and every signature verifies against the workspace
  trust roots (:func:`consentkit.sign.verify.verify_packet`); a minor's guardian is named separately;
- the patient's (and guardian's) RFC 3161 signature time plus the cooling-off period is at or before the check-in
  time — the longer of the terms printed in the packet and the current spec and policy;
- where the policy requires it, the operating physician is the physician who signed the disclosure;
- the packet cites an approval of its procedure text for every review the policy requires (clinical, legal).

Pure evaluation: :func:`consentkit.workflow.checkin` records the decision in the audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from consentkit.cooling_off import CoolingOffPeriod, cooling_off_period
from consentkit.errors import ConsentkitError
from consentkit.evidence import gate_words as words
from consentkit.evidence.history import LoggedEvent, after, latest_file, packet_generated_for, renewal_problems
from consentkit.manifest import Manifest, prefix_matches

if TYPE_CHECKING:
    from cryptography import x509

    from consentkit.sign.report import SignatureCheck, VerificationReport
    from consentkit.workflow.cases import CasePacket
    from consentkit.workspace import Workspace

CONSENTING = ("patient", "guardian")
# verify_packet's reasons that the gate words itself (roles not signed yet, the seal), not "does not check out"
_OWN_REASONS = ("not signed yet by", "the clinic seal is missing", "has no document timestamp")


@dataclass(frozen=True)
class GateFailure:
    code: str  # what the audit log records, e.g. "cooling-off-not-elapsed"
    messages: dict[str, str]  # locale → the sentence a nurse reads

    def message(self, locale: str) -> str:
        return self.messages.get(locale) or self.messages["en"]


@dataclass(frozen=True)
class GateDecision:
    at: dt.datetime  # the check-in time judged (UTC)
    failures: list[GateFailure]
    zone: ZoneInfo
    consent_signed_at: dt.datetime | None = None  # latest RFC 3161 time of the patient's / guardian's signature
    period: CoolingOffPeriod | None = None
    earliest: dt.datetime | None = None
    physician_signer: str | None = None
    operating_physician: str | None = None
    pdf_sha256: str | None = None
    signature_events: list[LoggedEvent] = field(default_factory=list)
    generated_event: LoggedEvent | None = None
    proven_after: dt.datetime | None = None  # RFC 3161 time the check-in provably followed (when known)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.failures]


def _failure(code: str, values: Callable[[str], dict[str, str]] | None = None) -> GateFailure:
    return GateFailure(code, {loc: words.say(code, loc, **(values(loc) if values else {})) for loc in words.LOCALES})


# -- verification, once per file and trust anchors in a process --------------------------------------------------
_VERIFIED: dict[tuple[str, tuple[bytes, ...], str], tuple[float, VerificationReport]] = {}
_VERIFIED_FOR = 600.0  # seconds: signatures checked again after this, or when the file or trust roots change


def verified(
    pdf: Path, data: bytes, manifest_path: Path, roots: Sequence[x509.Certificate], profile: object
) -> VerificationReport:
    """:func:`verify_packet`, remembered for the same bytes, manifest and trust roots for a few minutes: a refused
    and then an accepted check-in of the same packet (or a web app asking twice) pay for one verification."""
    from cryptography.hazmat.primitives import hashes

    from consentkit.sign.verify import verify_packet

    key = (
        hashlib.sha256(data).hexdigest(),
        tuple(sorted(c.fingerprint(hashes.SHA256()) for c in roots)),
        hashlib.sha256(manifest_path.read_bytes()).hexdigest(),
    )
    hit = _VERIFIED.get(key)
    if hit is not None and time.monotonic() - hit[0] < _VERIFIED_FOR:
        return hit[1]
    report = verify_packet(pdf, trust_roots=roots, manifest=manifest_path, profile=profile)  # type: ignore[arg-type]
    _VERIFIED.clear()
    _VERIFIED[key] = (time.monotonic(), report)
    return report


# -- the gate ------------------------------------------------------------------------------------------------------
def evaluate(
    ws: Workspace,
    packet: CasePacket,
    history: Sequence[LoggedEvent],
    *,
    at: dt.datetime,
    physician: str | None = None,
    proven_after: dt.datetime | None = None,
) -> GateDecision:
    """``proven_after``: an RFC 3161 time the check-in is known to follow (the token of the head made just before
    it); the cooling-off period is judged at the earlier of ``at`` and that time, so a check-in time typed a little
    ahead of the clock never lets a procedure start before the period has provably ended."""
    zone = ws.zone
    at = at.astimezone(dt.UTC)
    judged = min(at, proven_after.astimezone(dt.UTC)) if proven_after is not None else at
    m = packet.manifest
    failures: list[GateFailure] = []
    try:
        data = packet.pdf.read_bytes()
    except OSError:
        failures.append(_failure("packet-missing", lambda _loc: {"path": str(packet.pdf)}))
        return GateDecision(at, failures, zone)
    if m.draft:
        failures.append(_failure("draft-packet"))
    pdf_sha = hashlib.sha256(data).hexdigest()
    generated = packet_generated_for(history, hashlib.sha256(packet.manifest_path.read_bytes()).hexdigest())
    signed_events = after(history, generated, "document.signed")
    altered = m.packet is None or not prefix_matches(data, m.packet)
    recorded = latest_file(history, generated)  # the last signature, or a later archival timestamp renewal
    if recorded is not None and recorded.document("packet.pdf") != pdf_sha:
        altered = True
    if renewal_problems(history, generated):
        altered = True
    if altered:
        failures.append(_failure("packet-altered"))
    if generated is None or (m.packet is not None and generated.document("packet.pdf") != m.packet.sha256):
        failures.append(_failure("packet-not-in-log"))

    if not m.draft:
        unapproved = [r for r in _required_reviews(ws, m) if r not in {a.role for a in m.approvals}]
        if unapproved:
            failures.append(_failure("not-approved", lambda loc: {"reviews": words.role_list(unapproved, loc)}))

    report = None
    if not m.draft:  # a draft is never signed; an altered file is still checked, to say what broke
        from consentkit.sign.profile import load_profile
        from consentkit.sign.trust import workspace_trust_roots

        profile = load_profile(ws.signature_roots(), ws.config.signing.profile).model
        try:
            report = verified(packet.pdf, data, packet.manifest_path, workspace_trust_roots(ws), profile)
        except ConsentkitError as exc:  # not a readable PDF any more
            detail = exc.message
            failures.append(_failure("signature-invalid", lambda _loc: {"detail": detail}))
            return _decision(at, failures, zone, pdf_sha=hashlib.sha256(data).hexdigest())
    checks = _role_checks(report)
    failures += _signature_failures(m, report, checks, signed_events)

    physician_signer = checks["physician"].signer if "physician" in checks else None
    operating = physician or _operating_physician(packet.case_file)
    if _physician_must_consent(ws, m) and physician_signer is not None:
        if operating is None:
            failures.append(_failure("physician-unknown"))
        elif not _same_person(operating, physician_signer):
            failures.append(
                _failure("physician-mismatch", lambda _loc: {"signer": physician_signer, "operating": operating})
            )

    consent_at = _consent_time(m, checks)
    period = _period(ws, m)
    earliest = period.earliest(consent_at, zone) if consent_at is not None else None
    if consent_at is None:
        failures.append(_failure("cooling-off-not-started"))
    elif earliest is not None and judged < earliest:
        signed_text = words.local_time(consent_at, zone)
        earliest_text = words.local_time(earliest, zone)
        failures.append(
            _failure(
                "cooling-off-not-elapsed",
                lambda loc: {
                    "signed": signed_text,
                    "period": period.describe(loc),
                    "earliest": earliest_text,
                    "remaining": words.duration(earliest - judged, loc),
                },
            )
        )
    failures.sort(key=lambda f: words.ORDER.index(f.code))
    return GateDecision(
        at,
        failures,
        zone,
        consent_signed_at=consent_at,
        period=period,
        earliest=earliest,
        physician_signer=physician_signer,
        operating_physician=operating,
        pdf_sha256=pdf_sha,
        signature_events=signed_events,
        generated_event=generated,
        proven_after=proven_after,
    )


def _decision(at: dt.datetime, failures: list[GateFailure], zone: ZoneInfo, *, pdf_sha: str) -> GateDecision:
    failures.sort(key=lambda f: words.ORDER.index(f.code))
    return GateDecision(at, failures, zone, pdf_sha256=pdf_sha)


def _role_checks(report: VerificationReport | None) -> dict[str, SignatureCheck]:
    if report is None:
        return {}
    return {c.role: c for c in report.signatures if c.role is not None and c.kind == "signature"}


def _signature_failures(
    m: Manifest,
    report: VerificationReport | None,
    checks: dict[str, SignatureCheck],
    signed_events: Sequence[LoggedEvent],
) -> list[GateFailure]:
    failures: list[GateFailure] = []
    required: list[str] = list(m.required_roles)
    if report is None:  # a draft: never signed
        missing = [r for r in required if r != "guardian"]
        if "guardian" in required:
            failures.append(_failure("guardian-not-signed"))
        failures.append(_failure("not-signed", lambda loc: {"roles": words.role_list(missing, loc)}))
        failures.append(_failure("seal-missing"))
        return failures
    serious = [r for r in report.reasons if not any(own in r.lower() for own in _OWN_REASONS)]
    guardian_bad = "guardian" in required and ("guardian" not in checks or not checks["guardian"].ok)
    if guardian_bad and "guardian" in checks:
        serious = [r for r in serious if not r.startswith(checks["guardian"].field)]
    if serious:
        failures.append(_failure("signature-invalid", lambda _loc: {"detail": serious[0]}))
    logged = {(e.event.data.field, e.event.data.signer_cert) for e in signed_events}
    unlogged = [
        role
        for role, check in checks.items()
        if check.certificate_sha256 and (check.field, "sha256:" + check.certificate_sha256) not in logged
    ]
    if unlogged:
        failures.append(_failure("signature-not-logged", lambda loc: {"roles": words.role_list(unlogged, loc)}))
    if guardian_bad:
        failures.append(_failure("guardian-not-signed"))
    missing = [r for r in report.missing_roles if r != "guardian"]
    if missing:
        failures.append(_failure("not-signed", lambda loc: {"roles": words.role_list(missing, loc)}))
    if not report.sealed:
        failures.append(_failure("seal-missing"))
    return failures


def _consent_time(m: Manifest, checks: dict[str, SignatureCheck]) -> dt.datetime | None:
    """The latest timestamp of the consenting signatures the packet requires; None until all of them exist."""
    times = []
    for role in CONSENTING:
        if role not in m.required_roles:
            continue
        check = checks.get(role)
        if check is None or check.timestamp is None or check.timestamp.time is None:
            return None
        times.append(check.timestamp.time.astimezone(dt.UTC))
    return max(times) if times else None


def _period(ws: Workspace, m: Manifest) -> CoolingOffPeriod:
    """The longer of what the patient was shown (the manifest) and what the current spec and policy require."""
    terms = m.cooling_off
    days, not_same_day, source = terms.days, terms.not_same_day, "packet"
    try:
        from consentkit.packet import cached_library

        library = cached_library(ws.procedure_roots())
        current = cooling_off_period(library.procedure(m.procedure.id).model, library.policy(m.jurisdiction).model)
    except ConsentkitError:
        current = None  # the procedure or policy is gone from the library: the packet's own terms stand
    if current is not None and (current.days > days or (current.not_same_day and not not_same_day)):
        days, not_same_day, source = max(days, current.days), not_same_day or current.not_same_day, "current policy"
    return CoolingOffPeriod(days, not_same_day, source)


def _required_reviews(ws: Workspace, m: Manifest) -> tuple[str, ...]:
    """The reviews the current policy (or ``[review] required_roles``) requires before a packet may be used."""
    from consentkit.review import required_roles

    try:
        from consentkit.packet import cached_library

        return required_roles(ws, cached_library(ws.procedure_roots()).policy(m.jurisdiction).model)
    except ConsentkitError:
        return ("clinical", "legal")  # unknown policy: keep the stricter rule


def _physician_must_consent(ws: Workspace, m: Manifest) -> bool:
    try:
        from consentkit.packet import cached_library

        policy = cached_library(ws.procedure_roots()).policy(m.jurisdiction).model
        return bool(policy.signers.operating_physician_must_consent)
    except ConsentkitError:
        return True  # unknown policy: keep the stricter rule


def _operating_physician(case_file: Path | None) -> str | None:
    if case_file is None:
        return None
    from consentkit.case import load_case

    try:
        return load_case(case_file)[0].physicians.operating.name
    except (ConsentkitError, OSError):
        return None


def _same_person(a: str, b: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()

    return norm(a) == norm(b)
