"""Verifying a signed packet offline, with only what the file carries (and the trust anchors given).

Two views of the file are combined. The raw view (:mod:`consentkit.sign.byteranges`) checks every ``/ByteRange``
against its CMS signature without parsing the PDF, so damage is named even when the structure no longer parses,
and lists the bytes no signature covers. The pyHanko view adds trust, the RFC 3161 timestamps, DocMDP/FieldMDP
(what later revisions changed), and PAdES long-term validation (AdES LTA algorithm, local data only).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509

from consentkit.errors import ConsentkitError, InputError, SourceLocation
from consentkit.manifest import MANIFEST_NAME, Manifest, prefix_matches, read_manifest
from consentkit.pki.certs import common_name, sha256_fingerprint
from consentkit.sign import byteranges
from consentkit.sign.profile import SigningProfile
from consentkit.sign.report import SignatureCheck, TimestampCheck, VerificationReport
from consentkit.sign.role_binding import UNTRUSTED_SIGNER, bind_roles
from consentkit.sign.trust import TrustAnchors
from consentkit.sign.validation import (
    embedded_token,
    timestamp_context,
    token_covers_signature,
    token_trusted_at,
    validation_spec,
)

for _name in ("pyhanko", "pyhanko_certvalidator", "fontTools"):
    logging.getLogger(_name).addHandler(logging.NullHandler())

LEVELS = ("none", "B-B", "B-T", "B-LT", "B-LTA")


# -- entry point ---------------------------------------------------------------------------------------------------
def verify_packet(
    pdf_path: Path,
    *,
    trust_roots: Sequence[x509.Certificate],
    manifest: Manifest | Path | None = None,
    at: dt.datetime | None = None,
    profile: SigningProfile | None = None,
) -> VerificationReport:
    """Check every signature of ``pdf_path`` with only embedded validation data. ``trust_roots``: the clinic's
    own roots, trusted for signers and timestamps, or a :class:`~consentkit.sign.trust.TrustAnchors` that also
    names roots trusted for timestamps only (``workspace_trust_roots`` gives one). ``manifest`` (default:
    ``manifest.json`` beside the PDF, else the copy attached inside it) says which roles must sign; ``at`` is the
    validation time (default now). Unreadable input raises :class:`InputError`; everything else is reported."""
    from consentkit.sign import _pyhanko_fixes
    from consentkit.sign.trust import as_trust_anchors

    _pyhanko_fixes.apply()
    try:
        data = pdf_path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", location=SourceLocation(pdf_path)) from exc
    raw = byteranges.scan(data)
    if not data.startswith(b"%PDF-") and not raw:  # with signatures in it, a changed header is tampering
        raise InputError("not a PDF file (no %PDF- header)", location=SourceLocation(pdf_path))
    at = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    profile = profile or _default_profile()
    reader, parse_error = _open(data)
    if reader is None:
        # cut short: the file ends before its last signature does (one altered /ByteRange is tampering instead)
        cut = [s for s in raw if s.end > len(data)]
        if raw and raw[-1].end > len(data):
            raise InputError(
                f"not a readable PDF: the file is cut short ({len(cut)} signature(s) reach past its end)",
                location=SourceLocation(pdf_path),
            )
        if not raw:
            if "EOF marker not found" in parse_error:
                parse_error = "it ends before its %%EOF marker: cut short, or not a PDF"
            raise InputError(f"not a readable PDF ({parse_error})", location=SourceLocation(pdf_path))
    man, man_source = _manifest(pdf_path, manifest, reader)
    anchors = as_trust_anchors(trust_roots)
    checks, reasons = _check_signatures(data, raw, reader, profile, anchors, at, man, parse_error)
    if not anchors.signers:
        reasons.insert(0, "no trust anchor was given: pass the clinic's root certificate (--trust clinic-root.pem)")
    report = _assemble(pdf_path, data, at, checks, raw, profile, man, man_source, reasons)
    for fix in reversed(_pyhanko_fixes.missing_fixes()):  # never a verdict that silently rests on a missing fix
        report.notes.insert(0, fix)
        if report.reasons:
            report.reasons.insert(0, f"{fix}, so a failure below may be due to that alone")
    return report


def _default_profile() -> SigningProfile:
    from consentkit.resources import builtin_dir
    from consentkit.sign.profile import load_profile

    return load_profile([builtin_dir("signatures")]).model


def _open(data: bytes) -> tuple[Any, str]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        _ = reader.embedded_signatures
        _ = reader.xrefs.total_revisions
        return reader, ""
    except Exception as exc:  # pyHanko's PdfReadError, struct/zlib/ValueError from damaged objects...
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'damaged structure'}"


def _manifest(pdf_path: Path, given: Manifest | Path | None, reader: Any) -> tuple[Manifest | None, str | None]:
    if isinstance(given, Manifest):
        return given, "given"
    path = given or pdf_path.with_name(MANIFEST_NAME)
    if path.is_file():
        return read_manifest(path), str(path)
    if given is not None:
        read_manifest(path)  # raises the right InputError
    attached = _attached_manifest(reader) if reader is not None else None
    return (attached, "attached to the PDF") if attached is not None else (None, None)


def _attached_manifest(reader: Any) -> Manifest | None:
    """The manifest.json embedded in the PDF (PDF/A-3 attachment), if any."""
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        for i in range(0, len(names), 2):
            if str(names[i]) == MANIFEST_NAME:
                stream = names[i + 1].get_object()["/EF"]["/F"].get_object()
                return Manifest.model_validate_json(stream.data, strict=False)
    except Exception:  # no attachment, or one that is not a manifest: verify without it
        return None
    return None


# -- per signature -------------------------------------------------------------------------------------------------
def _check_signatures(
    data: bytes,
    raw: list[byteranges.RawSignature],
    reader: Any,
    profile: SigningProfile,
    anchors: TrustAnchors,
    at: dt.datetime,
    manifest: Manifest | None,
    parse_error: str,
) -> tuple[list[SignatureCheck], list[str]]:
    """Every signature, checked through pyHanko when the structure parses, else from the bytes alone. No
    exception escapes: whatever a damaged file makes a parser raise becomes a named problem."""
    reasons: list[str] = []
    checks: list[SignatureCheck] = []
    if reader is not None:
        try:
            checks = _check_parsed(reader, raw, profile, anchors, at)
            last = max((c.revision for c in checks), default=None)
            extra = reader.xrefs.total_revisions - 1 - last if last is not None else 0
            if extra > 0:
                reasons.append(
                    f"{extra} revision(s) were added after the last signature (revision {last}) and no signature "
                    "covers them"
                )
        except Exception as exc:  # a damaged object pyHanko or asn1crypto trip over outside one signature
            reader, parse_error, checks = None, f"{type(exc).__name__}: {_first_line(exc)}", []
    if reader is None:
        reasons.append(f"the PDF structure is damaged ({parse_error})")
    # signatures the bytes show but the structure does not (all of them when it does not parse)
    listed = {c.byte_range for c in checks}
    unlisted = [s for s in raw if s.ranges not in listed and (reader is None or s.problem is not None)]
    names = byteranges.field_names(data, raw) if unlisted else {}
    for sig in unlisted:
        n = raw.index(sig) + 1
        name = names.get(sig.offset)
        if name is not None and any(c.field == name for c in checks):
            continue  # the parsed view already names it, and that its /ByteRange does not match
        kind = "document-timestamp" if sig.is_timestamp else "signature"
        role = None if name is None else "document-timestamp" if sig.is_timestamp else profile.role_for_field(name)
        check = SignatureCheck(name or f"signature {n} of {len(raw)}", role, kind, -1, sig.ranges)
        _apply_raw(check, sig)
        if reader is not None:
            check.problems.append("the PDF structure no longer lists it as a signature (a field or reference changed)")
        checks.append(check)
    checks.sort(key=lambda c: (c.byte_range[2] + c.byte_range[3], c.revision))
    bind_roles(checks, raw, profile, manifest, anchors.signers)
    return checks, reasons


def _check_parsed(
    reader: Any,
    raw: list[byteranges.RawSignature],
    profile: SigningProfile,
    anchors: TrustAnchors,
    at: dt.datetime,
) -> list[SignatureCheck]:
    """Document timestamps first, newest to oldest: the newest is judged at ``at``, each older one at the time the
    next one proves it existed (an archival timestamp chain, renewed with ``sign --renew-archive``). Then the
    signatures, whose timestamps may be judged at the time the first trusted document timestamp after them proves
    they existed, once their TSA's certificate has expired."""
    raw_by_range = {s.ranges: s for s in raw}
    signatures = sorted(reader.embedded_signatures, key=lambda s: s.signed_revision)
    spec = validation_spec(anchors)
    doc_ts = [s for s in signatures if s.sig_object.get("/Type") == "/DocTimeStamp"]
    done: dict[int, SignatureCheck] = {}
    when = at
    for sig in reversed(doc_ts):
        check = _new_check(sig, profile, raw_by_range, is_doc_ts=True)
        context, dss_problem = timestamp_context(anchors.tsa, reader, when)
        if dss_problem:
            check.problems.append(dss_problem)
        _guarded(check, lambda c=check, s=sig, ctx=context: _check_doc_timestamp(c, s, ctx))
        done[sig.signed_revision] = check
        if _proves(check) and check.timestamp is not None and check.timestamp.time is not None:
            when = check.timestamp.time
    proofs = sorted((r, c.timestamp.time) for r, c in done.items() if _proves(c) and c.timestamp and c.timestamp.time)
    for sig in signatures:
        if sig.signed_revision in done:
            continue
        check = _new_check(sig, profile, raw_by_range, is_doc_ts=False)
        has_lta = any(r > sig.signed_revision for r in done)
        poe = next((t for r, t in proofs if r > sig.signed_revision), None)
        _guarded(
            check,
            lambda c=check, s=sig, h=has_lta, p=poe: _check_signature(c, s, spec, at, h, p, anchors.tsa, reader),
        )
        done[sig.signed_revision] = check
    return [done[r] for r in sorted(done)]


def _new_check(
    sig: Any, profile: SigningProfile, raw_by_range: dict[tuple[int, int, int, int], Any], *, is_doc_ts: bool
) -> SignatureCheck:
    name = str(sig.field_name)  # a plain str: pyHanko's string object holds the whole reader (asdict copies it)
    role = "document-timestamp" if is_doc_ts else profile.role_for_field(name)
    kind = "document-timestamp" if is_doc_ts else "signature"
    check = SignatureCheck(name, role, kind, sig.signed_revision, (0, 0, 0, 0))
    try:
        check.byte_range = tuple(int(v) for v in sig.sig_object["/ByteRange"])  # type: ignore[assignment]
    except Exception:  # a damaged /ByteRange entry
        check.problems.append("its /ByteRange cannot be read (altered)")
    raw_sig = raw_by_range.get(check.byte_range)
    if raw_sig is None:
        check.problems.append("its /ByteRange could not be read from the file bytes")
    else:
        _apply_raw(check, raw_sig)
    return check


def _guarded(check: SignatureCheck, run: Any) -> None:
    try:
        run()
    except ConsentkitError as exc:
        check.problems.append(exc.message)
    except Exception as exc:  # anything pyHanko or asn1crypto raise on damaged input
        check.problems.append(f"could not be checked ({type(exc).__name__}: {_first_line(exc)})")


def _proves(check: SignatureCheck) -> bool:
    """A document timestamp that proves what it covers existed at its time."""
    return check.intact and check.valid and check.trusted and not check.problems


def _apply_raw(check: SignatureCheck, sig: byteranges.RawSignature) -> None:
    check.intact = sig.digest_ok
    check.valid = sig.signature_ok
    if sig.signer_cert is not None:
        check.signer = common_name(sig.signer_cert)
        check.signer_subject = sig.signer_cert.subject.rfc4514_string()
        check.certificate_sha256 = sha256_fingerprint(sig.signer_cert)
    if sig.problem:
        check.problems.append(sig.problem)


def _check_signature(
    check: SignatureCheck,
    sig: Any,
    spec: Any,
    at: dt.datetime,
    has_lta: bool,
    poe: dt.datetime | None = None,
    trust_roots: Sequence[x509.Certificate] = (),
    reader: Any = None,
) -> None:
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

    timing = ValidationTimingInfo(validation_time=at, best_signature_time=at, point_in_time_validation=True)
    result = asyncio.run(ades_lta_validation(sig, spec, timing_info=timing))
    status = result.api_status
    if status is None:
        check.problems.append(f"could not be validated ({result.failure_msg or result.ades_subindic})")
        return
    check.intact = check.intact and bool(status.intact)
    check.valid = check.valid and bool(status.valid)
    check.trusted = status.trust_problem_indic is None and status.validation_path is not None
    if status.validation_path is not None:
        check.chain = [_cn(c.subject) for c in status.validation_path.iter_certs(include_root=True)]
    ts = status.timestamp_validity
    token, token_problem = embedded_token(sig)
    if token_problem is not None:
        check.problems.append(token_problem)
        check.timestamp = TimestampCheck(None, "", False, False, False)
    elif token is not None and not token_covers_signature(token, sig):
        check.timestamp = TimestampCheck(token.time, token.tsa_name, False, False, False)
        check.problems.append("its timestamp token does not cover this signature (token replaced or altered)")
    elif ts is None:
        if token is not None:  # present, but pyHanko could not validate it
            check.timestamp = TimestampCheck(token.time, token.tsa_name, False, False, False)
    else:
        check.timestamp = TimestampCheck(
            time=ts.timestamp,
            tsa=_cn(ts.signing_cert.subject) if ts.signing_cert is not None else "",
            intact=bool(ts.intact),
            valid=bool(ts.valid),
            trusted=ts.trust_problem_indic is None and ts.validation_path is not None,
        )
    check.covers_whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    check.covers_revision = status.coverage is not None and status.coverage >= SignatureCoverageLevel.ENTIRE_REVISION
    check.modification = _modification(status.modification_level)
    check.modifications_allowed = status.docmdp_ok is not False
    docmdp = sig.docmdp_level
    check.docmdp = _mdp(docmdp) if docmdp is not None else None
    check.locks_fields = sig.fieldmdp is not None
    indication = result.ades_subindic
    check.ltv_indication = getattr(indication, "name", str(indication))
    # a signature timestamp whose TSA certificate has expired since: judged when a later document timestamp proves
    # it existed (pyHanko's own verdict judges it now)
    ts_check = check.timestamp
    rescued = (
        ts_check is not None
        and ts_check.intact
        and ts_check.valid
        and not ts_check.trusted
        and poe is not None
        and token is not None
        and token_trusted_at(sig, trust_roots, reader, poe)
    )
    if rescued and ts_check is not None:
        ts_check.trusted = True
    whole = check.intact and check.valid and check.trusted and check.modifications_allowed
    check.ltv = has_lta and indication.status.name == "PASSED" and (bool(status.bottom_line) or (rescued and whole))
    check.pades_level = _level(check, sig, has_lta)
    _signature_problems(check, status, has_lta)


def _signature_problems(check: SignatureCheck, status: Any, has_lta: bool) -> None:
    problems = check.problems
    if not status.intact and not any("bytes it signed" in p for p in problems):
        problems.append("the bytes it signed have changed")
    if status.intact and not status.valid and not any("does not verify" in p for p in problems):
        problems.append("its signature does not verify with the embedded certificate")
    if not check.trusted:
        problem = status.trust_problem_indic
        why = problem.name.lower().replace("_", " ") if problem is not None else "no chain to the clinic's root"
        problems.append(f"its certificate is {UNTRUSTED_SIGNER} ({why})")
    if check.timestamp is None:
        problems.append("it has no RFC 3161 signature timestamp")
    elif any("token replaced" in p or "added or replaced" in p for p in problems):
        pass  # already named
    elif not check.timestamp.intact and not check.timestamp.valid and not check.timestamp.trusted:
        problems.append(f"its timestamp token ({check.timestamp.tsa}) could not be validated")
    elif not (check.timestamp.intact and check.timestamp.valid):
        problems.append("its timestamp token does not match the signature (token replaced or altered)")
    elif not check.timestamp.trusted:
        problems.append("its timestamp is not from a trusted TSA")
    if not check.modifications_allowed:
        problems.append(f"the document was changed after it in a way it does not allow ({check.modification})")
    if not check.covers_revision:
        problems.append("it does not cover its whole revision")
    if has_lta and not check.ltv and check.ltv_indication not in ("OK", "PASSED"):
        problems.append(f"long-term validation with the embedded data fails ({check.ltv_indication})")


def _check_doc_timestamp(check: SignatureCheck, sig: Any, context: Any) -> None:
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_timestamp
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    status = asyncio.run(async_validate_pdf_timestamp(sig, validation_context=context))
    check.intact = check.intact and bool(status.intact)
    check.valid = check.valid and bool(status.valid)
    check.trusted = status.trust_problem_indic is None and status.validation_path is not None
    cert = status.signing_cert
    check.timestamp = TimestampCheck(
        time=status.timestamp,
        tsa=_cn(cert.subject) if cert is not None else "",
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=check.trusted,
    )
    check.covers_whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    check.covers_revision = status.coverage is not None and status.coverage >= SignatureCoverageLevel.ENTIRE_REVISION
    check.modification = _modification(status.modification_level)
    level = getattr(status.modification_level, "name", "NONE")
    check.modifications_allowed = status.docmdp_ok is not False and level in ("NONE", "LTA_UPDATES")
    check.pades_level = "B-LTA"
    if status.validation_path is not None:
        check.chain = [_cn(c.subject) for c in status.validation_path.iter_certs(include_root=True)]
    if not status.intact and not any("bytes it signed" in p for p in check.problems):
        check.problems.append("the bytes it time-stamped have changed")
    if not check.trusted:
        check.problems.append("the document timestamp is not from a trusted TSA")
    if not check.modifications_allowed:
        check.problems.append(f"the document was changed after the document timestamp ({check.modification})")


def _level(check: SignatureCheck, sig: Any, has_lta: bool) -> str:
    if not (check.intact and check.valid):
        return "none"
    if check.timestamp is None or not (check.timestamp.intact and check.timestamp.valid):
        return "B-B"
    if has_lta:
        return "B-LTA"
    try:
        from pyhanko.sign.validation.dss import DocumentSecurityStore

        DocumentSecurityStore.read_dss(sig.reader)
        return "B-LT"
    except Exception:
        return "B-T"


def _mdp(level: Any) -> str:
    names = {1: "no changes", 2: "form filling and signing", 3: "form filling, signing and annotations"}
    return names.get(int(level.value), str(level))


def _modification(level: Any) -> str:
    if level is None:
        return "unknown"
    names = {
        "NONE": "none",
        "LTA_UPDATES": "validation data and timestamps only",
        "FORM_FILLING": "signatures and form filling",
        "ANNOTATIONS": "annotations",
        "OTHER": "other changes to the document",
    }
    name = str(level.name)
    return names.get(name, name.lower())


def _cn(name: Any) -> str:
    """The common name of an asn1crypto Name (the whole name when it has none)."""
    try:
        value = name.native.get("common_name")
    except (AttributeError, ValueError, TypeError):
        value = None
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value else str(name.human_friendly)


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else "no detail"


# -- the packet as a whole -----------------------------------------------------------------------------------------
def _assemble(
    pdf_path: Path,
    data: bytes,
    at: dt.datetime,
    checks: list[SignatureCheck],
    raw: list[byteranges.RawSignature],
    profile: SigningProfile,
    manifest: Manifest | None,
    manifest_source: str | None,
    reasons: list[str],
) -> VerificationReport:
    signatures = [c for c in checks if c.kind == "signature"]
    signed_roles = [c.role for c in signatures if c.role is not None and c.role != "seal"]
    sealed = any(c.role == "seal" for c in signatures)
    required: list[str] = []
    packet_matches: bool | None = None
    urgent: list[str] = []  # integrity first
    later: list[str] = []
    for c in checks:
        for p in c.problems:
            serious = any(word in p for word in ("changed", "does not verify", "replaced", "cut", "wrong role"))
            (urgent if serious else later).append(f"{c.field}: {p}")
    if manifest is not None:
        required = profile.order(manifest.required_roles)
        if manifest.packet is not None:
            packet_matches = prefix_matches(data, manifest.packet)
            if not packet_matches:
                urgent.insert(
                    0, "the file does not start with the packet its manifest describes (different or altered)"
                )
        for c in signatures:
            box = manifest.box(c.role) if c.role and c.role != "seal" else None
            if box is not None and box.signer_name and c.signer and box.signer_name != c.signer and c.role != "clinic":
                later.append(f"{c.field}: signed by {c.signer}, but the packet names {box.signer_name}")
    else:
        later.append("no manifest (manifest.json beside the PDF or attached to it): the required signers are unknown")
    missing = [r for r in required if r not in signed_roles]
    if signed_roles != [r for r in required if r in signed_roles]:
        later.append(f"the signatures are not in the required order ({' → '.join(required)})")
    unknown = [c.field for c in signatures if c.role is None]
    if unknown:
        later.append(f"signature field(s) not in the signing profile: {', '.join(unknown)}")
    if missing:
        later.append(f"not signed yet by: {', '.join(missing)}")
    elif profile.seal is not None and not sealed:
        later.append("all roles have signed, but the clinic seal is missing")
    doc_ts = [c for c in checks if c.kind == "document-timestamp"]
    if sealed:
        seal_rev = max(c.revision for c in signatures if c.role == "seal")
        after = [c for c in signatures if c.revision > seal_rev]
        for c in after:
            urgent.append(f"{c.field}: signed after the clinic seal locked the packet")
        if profile.pades_level == "B-LTA" and profile.timestamping.document_timestamp and not doc_ts:
            later.append("the packet has no document timestamp (not PAdES B-LTA)")
    if not checks:
        urgent.append("the PDF has no signatures")
    uncovered = byteranges.uncovered(data, raw)
    levels = [c.pades_level for c in signatures] or ["none"]
    level = min(levels, key=LEVELS.index)
    return VerificationReport(
        path=str(pdf_path),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        checked_at=at,
        signatures=checks,
        uncovered=uncovered,
        required_roles=required,
        signed_roles=signed_roles,
        missing_roles=missing,
        sealed=sealed,
        pades_level=level,
        manifest=manifest_source,
        packet_matches=packet_matches,
        reasons=reasons + urgent + later,
    )
