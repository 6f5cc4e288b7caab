"""``consentkit verify-evidence``: check an evidence bundle offline, with no workspace, trusting only the anchors
pinned on the command line (or, when none are pinned, the bundle's own clinic root and audit-log key — said so, with
their fingerprints, so they can be compared with the clinic's published ones).

It checks: the tree head (log-key signature, RFC 3161 token); every event's bytes, canonical form and inclusion
proof to that head; that the manifest, the packet as printed and the signed file are the ones the log recorded;
every signature and timestamp of the packet (:func:`consentkit.sign.verify.verify_packet`) and that each is in the
log; the ``.tsr`` files against the tokens in the packet; the approvals the manifest cites (event and the reviewer's
signed statement); and then answers the question, in one sentence first: did the disclosure provably precede the
procedure by at least the cooling-off period?
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from consentkit.audit import merkle
from consentkit.audit.events import EventError, parse_event
from consentkit.audit.heads import SignedTreeHead, TreeHead, check_head, load_public_key, response_to_token
from consentkit.cooling_off import CoolingOffPeriod
from consentkit.errors import ConsentkitError, InputError, SourceLocation, VerificationError
from consentkit.evidence import bundle as b
from consentkit.evidence.checkin_heads import start_and_checkin
from consentkit.evidence.history import LoggedEvent, after, latest_file, packet_generated_for, renewal_problems
from consentkit.evidence.report import Anchor, ApprovalSeen, EvidenceReport
from consentkit.evidence.timeline import Moment, moments
from consentkit.evidence.verdict import conclude
from consentkit.evidence.verify_heads import check_proof, checkin_bounds
from consentkit.evidence.zipread import read_bundle
from consentkit.manifest import Manifest
from consentkit.sign.trust import TrustAnchors

_EVENT_FILE = re.compile(r"^log/events/(\d{8})-([a-z.]+)\.json$")


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def key_fingerprint(key: Any) -> str:
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def verify_evidence(
    path: Path,
    *,
    procedure_at: dt.datetime | None = None,
    trust_roots: Sequence[Path] = (),
    log_key: Path | None = None,
    at: dt.datetime | None = None,
) -> EvidenceReport:
    """Check the bundle at ``path``. Unreadable or unsafe input raises :class:`InputError`; every finding about
    the evidence itself is in the report (``report.ok``)."""
    files = read_bundle(path)
    report = EvidenceReport(str(path))
    index = _index(path, files)
    report.case_id, report.packet_id = str(index.get("case_id", "")), str(index.get("packet_id", ""))
    report.zone = _zone(index, report)
    _check_sums(files, report)
    roots, key = _anchors(files, trust_roots, log_key, report)
    sth = _check_head(files, roots, key, report)
    events = _check_events(files, sth, report)
    manifest = _manifest(files, report)
    if manifest is None:
        return conclude(report, None, procedure_at)
    generated = _check_records(files, manifest, events, report)
    checks = _check_packet(files, manifest, roots, events, generated, report, at)
    _check_tokens(files, manifest, roots, report)
    _check_approvals(files, manifest, events, roots.clinic, report)  # reviewers are the clinic's signers
    case_events = [
        e for e in events if generated is not None and e.index >= generated.index and e.type != "spec.approved"
    ]
    report.timeline = moments(case_events)
    report.period = CoolingOffPeriod(manifest.cooling_off.days, manifest.cooling_off.not_same_day, "packet")
    consenting = [r for r in ("patient", "guardian") if r in manifest.required_roles]
    times = [checks[r] for r in consenting if checks.get(r) is not None]
    report.consent_signed_at = max(times) if consenting and len(times) == len(consenting) else None  # type: ignore[type-var]
    if report.consent_signed_at is not None:
        report.earliest = report.period.earliest(report.consent_signed_at, report.zone)
        report.timeline = sorted(
            [*report.timeline, Moment("cooling-off.ends", report.earliest, "computed")], key=lambda m: m.time
        )
    started = None
    if procedure_at is None:
        started = _started(case_events, report)
        report.checked_in_after, report.recorded_before = checkin_bounds(
            files, index.get("checkin_heads"), case_events, list(roots), key, report
        )
    return conclude(report, started, procedure_at)


# -- pieces ------------------------------------------------------------------------------------------------------
def _index(path: Path, files: dict[str, bytes]) -> dict[str, Any]:
    raw = files.get(b.INDEX)
    if raw is None:
        raise InputError(f"not a consentkit evidence bundle (no {b.INDEX})", location=SourceLocation(path))
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{b.INDEX} is not JSON ({exc})", location=SourceLocation(path)) from exc
    if not isinstance(data, dict) or data.get("format") != b.BUNDLE_FORMAT:
        raise InputError(f"not a consentkit evidence bundle ({b.INDEX} format)", location=SourceLocation(path))
    return data


def _zone(index: dict[str, Any], report: EvidenceReport) -> ZoneInfo:
    name = index.get("timezone")
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        report.notes.append(f"the bundle names an unknown time zone ({name!r}); times are shown in UTC")
        return ZoneInfo("UTC")


def _check_sums(files: dict[str, bytes], report: EvidenceReport) -> None:
    listed: dict[str, str] = {}
    for line in files.get(b.SUMS, b"").decode("utf-8", "replace").splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    if not listed:
        report.problems.append(f"{b.SUMS} is missing or empty")
        return
    for name, data in files.items():
        if name == b.SUMS:
            continue
        if name not in listed:
            report.problems.append(f"{name}: not listed in {b.SUMS} (added to the bundle?)")
        elif hashlib.sha256(data).hexdigest() != listed[name]:
            report.problems.append(f"{name}: does not match its {b.SUMS} line (changed after export)")
    for name in sorted(set(listed) - set(files)):
        report.problems.append(f"{name}: listed in {b.SUMS} but missing from the bundle")


def _anchors(
    files: dict[str, bytes], pinned_roots: Sequence[Path], pinned_key: Path | None, report: EvidenceReport
) -> tuple[TrustAnchors, Any]:
    """The roots and the audit-log key. Pinned roots (--trust-root) are the clinic's own; from the bundle, only
    its clinic root vouches for signers, and the other roots of trust-roots.pem (external TSAs') for timestamps."""
    from consentkit.sign.trust import trust_roots_from

    if pinned_roots:
        roots = trust_roots_from(pinned_roots)
        source, pinned = ", ".join(str(p) for p in pinned_roots), True
    else:
        raw = files.get(b.TRUST_ROOTS) or files.get(b.CLINIC_ROOT)
        if raw is None:
            raise InputError(f"the bundle has no {b.CLINIC_ROOT}, and no --trust-root was given")
        try:
            roots = x509.load_pem_x509_certificates(raw)
        except ValueError as exc:
            raise InputError(f"{b.TRUST_ROOTS} is not PEM certificates ({exc})") from exc
        source, pinned = f"{b.TRUST_ROOTS} in the bundle", False
    for root in roots:
        report.anchors.append(Anchor("trust root", root.subject.rfc4514_string(), fingerprint(root), pinned, source))
    if pinned_roots and b.CLINIC_ROOT in files:
        try:
            bundled = x509.load_pem_x509_certificate(files[b.CLINIC_ROOT])
            if fingerprint(bundled) not in {fingerprint(r) for r in roots}:
                report.notes.append(
                    f"the bundle's clinic root ({fingerprint(bundled)[:16]}…) is not one of the pinned roots"
                )
        except ValueError:
            report.problems.append(f"{b.CLINIC_ROOT} is not a PEM certificate")
    if pinned_key is not None:
        key, source, pinned = load_public_key(pinned_key), str(pinned_key), True
    else:
        if b.LOG_KEY not in files:
            raise InputError(f"the bundle has no {b.LOG_KEY}, and no --log-key was given")
        with tempfile.TemporaryDirectory() as tmp:
            key_file = Path(tmp) / "audit-log.pub.pem"
            key_file.write_bytes(files[b.LOG_KEY])
            key = load_public_key(key_file)
        source, pinned = f"{b.LOG_KEY} in the bundle", False
    report.anchors.append(Anchor("audit-log key", "ECDSA P-256", key_fingerprint(key), pinned, source))
    if pinned_roots:
        return TrustAnchors(tuple(roots)), key
    try:
        clinic = x509.load_pem_x509_certificates(files[b.CLINIC_ROOT]) if b.CLINIC_ROOT in files else roots
    except ValueError:
        report.problems.append(f"{b.CLINIC_ROOT} is not a PEM certificate, so no signer can be trusted")
        clinic = []
    return TrustAnchors(tuple(clinic), tuple(roots)), key


def _check_head(
    files: dict[str, bytes], roots: Sequence[x509.Certificate], key: Any, report: EvidenceReport
) -> SignedTreeHead | None:
    from consentkit.tsa import verify_token
    from consentkit.tsa.tokens import describe_token

    try:
        checkpoint = files[f"{b.HEAD}.json"]
        sth = SignedTreeHead(
            TreeHead.parse(checkpoint), checkpoint, files[f"{b.HEAD}.sig"], response_to_token(files[f"{b.HEAD}.tsr"])
        )
    except KeyError as exc:
        report.problems.append(f"the tree head is missing ({exc.args[0]})")
        return None
    except VerificationError as exc:
        report.problems.append(f"log/head.json: {exc.message}")
        return None

    def verifier(der: bytes, digest: bytes) -> Any:
        return verify_token(der, digest, roots, is_digest=True)

    problems = check_head(sth, key, verifier)
    report.problems += [f"the tree head {p}" for p in problems]
    try:
        stamped = describe_token(sth.token).time
    except VerificationError:
        stamped = None
    report.head = {
        "size": sth.size,
        "root": sth.root.hex(),
        "time": sth.head.time.isoformat(),
        "timestamp": stamped.isoformat() if stamped else None,
        "ok": not problems,
    }
    return sth


def _check_events(files: dict[str, bytes], sth: SignedTreeHead | None, report: EvidenceReport) -> list[LoggedEvent]:
    proven: list[LoggedEvent] = []
    leaves: dict[int, bytes] = {}
    for name in sorted(files):
        match = _EVENT_FILE.fullmatch(name)
        if match is None:
            continue
        index, kind = int(match.group(1)), match.group(2)
        body = files[name]
        try:
            event = parse_event(body)
        except EventError as exc:
            report.problems.append(f"event {index}: not a valid audit event in canonical form ({exc.message})")
            continue
        if event.type != kind:
            report.problems.append(f"event {index}: is a {event.type} event, but its file says {kind}")
        leaf = merkle.leaf_hash(body)
        if sth is not None:
            problem = check_proof(files, index, leaf, sth)
            if problem:
                report.problems.append(f"event {index} ({event.type}): {problem}")
                continue
        leaves[index] = leaf
        proven.append(LoggedEvent(index, leaf, event))
    for e in proven:
        for r in e.event.refs:
            if r.index in leaves and "sha256:" + leaves[r.index].hex() != r.leaf:
                report.problems.append(f"event {e.index} ({e.type}) refers to event {r.index} with another hash")
    report.events = proven
    if not proven:
        report.problems.append("the bundle holds no audit event that is proven to be in the log")
    return proven


def _manifest(files: dict[str, bytes], report: EvidenceReport) -> Manifest | None:
    raw = files.get(b.MANIFEST)
    if raw is None or b.PDF not in files:
        report.problems.append("the bundle has no packet (packet/packet.pdf and packet/manifest.json)")
        return None
    try:
        return Manifest.model_validate_json(raw, strict=False)
    except ValueError as exc:
        report.problems.append(f"{b.MANIFEST} is not a valid manifest ({str(exc).splitlines()[0]})")
        return None


def _check_records(
    files: dict[str, bytes], m: Manifest, events: list[LoggedEvent], report: EvidenceReport
) -> LoggedEvent | None:
    """The manifest, the packet as printed and the signed file are the ones the log recorded."""
    for e in events:
        if e.type != "spec.approved" and (e.event.case != m.case_id or e.event.subject != m.subject):
            report.problems.append(f"event {e.index} ({e.type}) is about another case or patient than the manifest")
    generated = packet_generated_for(events, hashlib.sha256(files[b.MANIFEST]).hexdigest())
    if generated is None:
        report.problems.append("the log recorded no packet.generated event for this manifest (manifest changed?)")
        return None
    if m.packet is None or generated.document("packet.pdf") != m.packet.sha256:
        report.problems.append("the manifest's packet hash is not the one the log recorded when the packet was made")
    pdf = files[b.PDF]
    if m.packet is not None and hashlib.sha256(pdf[: m.packet.size]).hexdigest() != m.packet.sha256:
        report.problems.append("packet.pdf does not start with the packet as printed (changed before signing?)")
    last = latest_file(events, generated)  # the last signature, or a later archival timestamp renewal
    if last is None:
        report.problems.append("the log recorded no signature of this packet")
    elif last.document("packet.pdf") != hashlib.sha256(pdf).hexdigest():
        what = "archival timestamp" if last.type == "document.timestamped" else "signature"
        report.problems.append(f"packet.pdf is not the file the log recorded after the last {what} (changed since)")
    report.problems += renewal_problems(events, generated)
    return generated


def _check_packet(
    files: dict[str, bytes],
    m: Manifest,
    roots: Sequence[x509.Certificate],
    events: list[LoggedEvent],
    generated: LoggedEvent | None,
    report: EvidenceReport,
    at: dt.datetime | None,
) -> dict[str, dt.datetime | None]:
    """verify_packet on the bundled file; returns each role's verified RFC 3161 time."""
    from consentkit.sign.verify import verify_packet

    with tempfile.TemporaryDirectory(prefix="consentkit-evidence-") as tmp:
        pdf = Path(tmp) / "packet.pdf"
        pdf.write_bytes(files[b.PDF])
        (Path(tmp) / "manifest.json").write_bytes(files[b.MANIFEST])
        try:
            result = verify_packet(pdf, trust_roots=roots, manifest=Path(tmp) / "manifest.json", at=at)
        except ConsentkitError as exc:
            report.problems.append(f"packet.pdf: {exc.message}")
            return {}
    report.problems += [f"packet.pdf: {r}" for r in result.reasons]
    signed = after(events, generated, "document.signed") if generated is not None else []
    logged = {(e.event.data.field, e.event.data.signer_cert): e for e in signed}
    renewed = after(events, generated, "document.timestamped") if generated is not None else []
    stamped = {e.event.data.field for e in [*signed, *renewed]}  # the seal's document timestamp, and renewals
    times: dict[str, dt.datetime | None] = {}
    for c in result.signatures:
        when = c.timestamp.time if c.timestamp is not None else None
        report.signatures.append(
            {
                "field": c.field,
                "role": c.role,
                "signer": c.signer,
                "time": when.isoformat() if when else None,
                "ok": c.ok,
                "level": c.pades_level,
            }
        )
        if c.kind == "document-timestamp" and c.field not in stamped:
            report.problems.append(f"the document timestamp {c.field} is not recorded in the log")
        if c.kind != "signature" or c.role is None:
            continue
        if c.ok and c.role != "seal":
            times[c.role] = when
        event = logged.get((c.field, "sha256:" + c.certificate_sha256))
        if event is None:
            report.problems.append(f"the {c.role} signature ({c.signer}) is not recorded in the log")
        elif when is not None and abs(event.event.data.tsa_time - when) > dt.timedelta(seconds=1):
            report.problems.append(f"the {c.role} signature's timestamp is not the time the log recorded")
    return times


def _check_tokens(
    files: dict[str, bytes], m: Manifest, roots: Sequence[x509.Certificate], report: EvidenceReport
) -> None:
    """Each timestamps/<role>.tsr is the token in the packet, and verifies on its own (no pyHanko)."""
    from consentkit.evidence.signatures import packet_signatures
    from consentkit.resources import builtin_dir
    from consentkit.sign.profile import load_profile
    from consentkit.tsa import verify_token

    pdf = files[b.PDF]
    try:
        signatures = packet_signatures(pdf, load_profile([builtin_dir("signatures")]).model)
    except InputError as exc:
        report.problems.append(f"packet.pdf: {exc.message}")
        return
    for sig in signatures:
        name = f"timestamps/{sig.name}.tsr"
        if sig.token_der is None:
            continue
        if name not in files:
            report.problems.append(f"{name} is missing")
            continue
        try:
            if response_to_token(files[name]) != sig.token_der:
                report.problems.append(f"{name} is not the token in the packet's {sig.role} signature")
                continue
            if sig.is_document_timestamp:
                a, first, start, length = sig.ranges
                data = pdf[a : a + first] + pdf[start : start + length]
                verify_token(sig.token_der, data, roots, is_digest=False)
            elif sig.value is not None:
                verify_token(sig.token_der, sig.value, roots, is_digest=False)
        except VerificationError as exc:
            report.problems.append(f"{name}: {exc.message}")


def _check_approvals(
    files: dict[str, bytes],
    m: Manifest,
    events: list[LoggedEvent],
    roots: Sequence[x509.Certificate],
    report: EvidenceReport,
) -> None:
    if not m.approvals:
        report.notes.append("the manifest cites no approval of the disclosure text (a packet made before approvals)")
        return
    by_leaf = {"sha256:" + e.leaf.hex(): e for e in events if e.type == "spec.approved"}
    for ref in m.approvals:
        event = by_leaf.get(ref.event_hash)
        if event is None:
            report.problems.append(f"the {ref.role} approval ({ref.reviewer}) the manifest cites is not in the bundle")
            continue
        d = event.event.data
        if (d.procedure, d.version, d.content, d.review) != (
            m.procedure.id,
            m.procedure.version,
            m.procedure.spec_hash,
            ref.role,
        ):
            report.problems.append(f"event {event.index}: the {ref.role} approval is for other text than the packet's")
            continue
        verified, reviewer = _check_statement(files, event, roots, report, m)
        report.approvals.append(
            ApprovalSeen(ref.role, reviewer or ref.reviewer, event.event.actor.id, event.time, verified)
        )


def _check_statement(
    files: dict[str, bytes], event: LoggedEvent, roots: Sequence[x509.Certificate], report: EvidenceReport, m: Manifest
) -> tuple[bool, str | None]:
    from consentkit.pki.certs import certificate_role, common_name, review_role_of
    from consentkit.review.coverage import approval_covers, pins_wording
    from consentkit.review.signature import verify_signature
    from consentkit.review.statement import ApprovalStatement

    docs = {d.name: d.sha256 for d in event.event.documents}
    statement_name = next((n for n in docs if n.endswith(".statement.json")), None)
    signature_name = next((n for n in docs if n.endswith(".p7s")), None)
    review = event.event.data.review
    # the event alone is the clinic's say-so: only the reviewer's signed statement proves who approved the text
    if statement_name is None or signature_name is None:
        report.problems.append(
            f"event {event.index}: the {review} approval names no signed statement, so nothing proves who approved"
        )
        return False, None
    data, signature = files.get(f"approvals/{statement_name}"), files.get(f"approvals/{signature_name}")
    if data is None or signature is None:
        missing = statement_name if data is None else signature_name
        report.problems.append(
            f"approvals/{missing}: missing from the bundle, so the {review} approval (event {event.index}) is not "
            "proven"
        )
        return False, None
    if "sha256:" + hashlib.sha256(data).hexdigest() != docs[statement_name] or (
        "sha256:" + hashlib.sha256(signature).hexdigest() != docs[signature_name]
    ):
        report.problems.append(f"approvals/{statement_name}: not the statement the log recorded (changed)")
        return False, None
    try:
        st = ApprovalStatement.from_bytes(data, Path(statement_name))
        issuing = x509.load_pem_x509_certificate(files[b.ISSUING_CA])
    except (InputError, KeyError, ValueError):
        report.problems.append(f"approvals/{statement_name}: not a readable approval statement")
        return False, None
    # the templates, signature meanings and cooling-off wording the statement pins are the packet's (docs/review.md)
    report.problems += [f"approvals/{statement_name}: {p}" for p in approval_covers(m, st)]
    if not pins_wording(st):
        report.notes.append(f"approvals/{statement_name} was made before approvals pinned the signature meanings")
    last: VerificationError | None = None
    for root in roots:
        try:
            check = verify_signature(data, signature, issuing=issuing, root=root)
        except VerificationError as exc:
            last = exc
            continue
        if check.fingerprint != st.reviewer.certificate:
            report.problems.append(f"approvals/{statement_name}: signed by another certificate than the reviewer's")
            return False, None
        issued_for, _explicit = certificate_role(check.signer)  # a physician's key must not make an approval
        if issued_for != "reviewer":
            report.problems.append(
                f"approvals/{statement_name}: signed with a {issued_for or 'role-less'} certificate, not a reviewer's"
            )
            return False, None
        signer = common_name(check.signer)  # certificates hold the name cut to 64 characters
        if signer != st.reviewer.name.strip()[:64]:
            report.problems.append(
                f"approvals/{statement_name}: names {st.reviewer.name} as the reviewer, but is signed with the "
                f"certificate of {signer}"
            )
            return False, None
        certified = review_role_of(check.signer)  # the certificate, not the statement, proves the review role
        if certified != st.role:  # as verify_approval in the workspace: naming another review or none fails
            report.problems.append(
                f"approvals/{statement_name}: a {st.role} approval signed with a certificate "
                + (f"for {certified} review" if certified else "that names no review role")
                + f", so it does not prove a {st.role} review"
            )
            return False, None
        return True, st.reviewer.name
    report.problems.append(f"approvals/{statement_name}: {last.message if last else 'no trust root'}")
    return False, None


def _started(events: list[LoggedEvent], report: EvidenceReport) -> dt.datetime | None:
    start, checkin = start_and_checkin(events)
    if start is None:
        return None
    if checkin is None:
        report.problems.append(f"event {start.index}: the procedure start does not refer to a passing check-in")
    report.procedure_source = f"the procedure.started event (event {start.index})"
    value: dt.datetime = start.event.data.at
    return value
