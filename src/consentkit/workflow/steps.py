"""The steps before the gate, each doing its work and then recording it in the audit log — only once the work is
complete: a packet generated, the disclosure presented, a role's signature (the signatures of one call in one
transaction, then a signed, timestamped tree head)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from consentkit.audit import events as ev
from consentkit.errors import RefusedError
from consentkit.evidence.history import from_stored, latest_file, packet_generated_for
from consentkit.manifest import MANIFEST_NAME, PACKET_PDF, prefix_matches, read_manifest
from consentkit.workflow._log import opened
from consentkit.workflow.actors import Actor, actor, checked
from consentkit.workflow.case_ids import check_case_file
from consentkit.workflow.cases import CasePacket, find_packet, record_packet

if TYPE_CHECKING:
    from consentkit.audit.heads import SignedTreeHead
    from consentkit.audit.log import Appended, AuditLog
    from consentkit.case import CaseFile
    from consentkit.packet import PacketResult
    from consentkit.sign.archive import ArchiveResult
    from consentkit.sign.signing import SignatureResult, SignerRef
    from consentkit.workspace import Workspace


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.UTC) if value is not None else None


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class GeneratedPacket:
    packet: PacketResult
    event: Appended


def generate_packet(
    ws: Workspace,
    case_path: Path,
    out_dir: Path,
    *,
    draft: bool = False,
    who: Actor | None = None,
    now: dt.datetime | None = None,
    log: AuditLog | None = None,
) -> GeneratedPacket:
    """``consentkit packet``: build the packet, log ``packet.generated`` (the manifest and every file, by hash)
    and make it the case's current packet in the case index."""
    from consentkit.packet import build_packet

    who = checked(who or actor(None, "staff"))
    check_case_file(case_path)  # before anything is written: the case id goes into the log
    result = build_packet(ws, case_path, out_dir, draft=draft, now=now)
    m = result.manifest
    files = {MANIFEST_NAME: _sha((result.directory / MANIFEST_NAME).read_bytes())}
    files.update({name: "sha256:" + digest for name, digest in sorted(result.output_hashes.items())})
    event = ev.packet_generated(
        case=m.case_id,
        subject=m.subject,
        actor=who.id,
        actor_role=who.role,
        procedure=m.procedure.id,
        version=m.procedure.version,
        spec=m.procedure.spec_hash,
        locales=m.locales,
        files=files,
        time=_utc(now),
    )
    with opened(ws, log) as audit:
        appended = audit.append(event)
    record_packet(ws, m, result.directory, case_path)
    return GeneratedPacket(result, appended)


def present_disclosure(
    ws: Workspace,
    case_id: str,
    *,
    how: Literal["printed", "screen"],
    packet_dir: Path | None = None,
    who: Actor | None = None,
    now: dt.datetime | None = None,
    log: AuditLog | None = None,
) -> Appended:
    """``consentkit present``: the packet was handed over (printed) or shown on a screen. Logged with the hashes of
    the file shown and its manifest; a draft or altered packet is refused."""
    who = checked(who or actor(None, "staff"))
    packet = find_packet(ws, case_id, packet_dir)
    pdf = packet.pdf.read_bytes()
    _require_final(packet, pdf)
    with opened(ws, log) as audit:
        history = from_stored(audit.case_events(case_id))
        generated = packet_generated_for(history, hashlib.sha256(packet.manifest_path.read_bytes()).hexdigest())
        event = ev.disclosure_presented(
            case=case_id,
            subject=packet.manifest.subject,
            actor=who.id,
            actor_role=who.role,
            how=how,
            locales=packet.manifest.locales,
            files={PACKET_PDF: _sha(pdf), MANIFEST_NAME: _sha(packet.manifest_path.read_bytes())},
            refs=(generated.ref(),) if generated else (),
            time=_utc(now),
        )
        return audit.append(event)


def _require_final(packet: CasePacket, pdf: bytes) -> None:
    m = packet.manifest
    if m.draft:
        raise RefusedError(f"{packet.pdf} is a DRAFT packet: show the patient the final packet, not a draft")
    if m.packet is None or not prefix_matches(pdf, m.packet):
        raise RefusedError(f"{packet.pdf} is not the packet its manifest describes (different or altered file)")


@dataclass(frozen=True)
class SignedStep:
    result: SignatureResult
    events: list[Appended]
    head: SignedTreeHead


def sign_role(
    ws: Workspace,
    pdf: Path,
    role: str,
    signer: SignerRef | str | None = None,
    *,
    secret: bytes | None = None,
    case: CaseFile | None = None,
    manifest_path: Path | None = None,
    output: Path | None = None,
    signature_image: bytes | None = None,
    seal: bool = True,
    who: Actor | None = None,
    now: dt.datetime | None = None,
    log: AuditLog | None = None,
) -> SignedStep:
    """``consentkit sign``: sign as ``role`` (see :func:`consentkit.sign.signing.sign_packet`), then log one
    ``document.signed`` per signature made (the role's, and the seal's when this call sealed), and a signed,
    timestamped tree head. The actor is the patient's pseudonym for the patient and guardian; else ``who``'s login
    (in the signing role), by default the signer's slug for a physician or witness and the operating-system user
    for the clinic."""
    from consentkit.sign.lock import packet_lock

    # one signer at a time per packet, from reading it to logging the signature (two runs would both sign)
    with packet_lock(pdf, *([output] if output is not None else [])):
        return _sign_and_log(
            ws, pdf, role, signer, secret, case, manifest_path, output, signature_image, seal, who, now, log
        )


def _sign_and_log(
    ws: Workspace,
    pdf: Path,
    role: str,
    signer: SignerRef | str | None,
    secret: bytes | None,
    case: CaseFile | None,
    manifest_path: Path | None,
    output: Path | None,
    signature_image: bytes | None,
    seal: bool,
    who: Actor | None,
    now: dt.datetime | None,
    log: AuditLog | None,
) -> SignedStep:
    from consentkit.sign.signing import sign_packet

    manifest = read_manifest(manifest_path or pdf.with_name(MANIFEST_NAME))
    explicit = checked(who) if who is not None else None
    result = sign_packet(
        ws,
        pdf,
        role,
        signer,
        secret=secret,
        case=case,
        manifest_path=manifest_path,
        output=output,
        signature_image=signature_image,
        seal=seal,
        now=now,
    )
    made = [result] if result.seal is None else [result, result.seal]
    signed = _each_signature(result.path.read_bytes(), made, _document_timestamp_field(ws))
    with opened(ws, log, secret) as audit:
        history = from_stored(audit.case_events(manifest.case_id))
        manifest_file = manifest_path or pdf.with_name(MANIFEST_NAME)
        generated = packet_generated_for(history, hashlib.sha256(manifest_file.read_bytes()).hexdigest())
        refs = (generated.ref(),) if generated else ()
        events = []
        for one in signed:
            sig = one.result
            by = (
                _signer_actor(ws, one.role, sig, manifest.subject, explicit)
                if sig is not None
                else actor(None, "clinic")
            )
            events.append(
                ev.document_signed(
                    case=manifest.case_id,
                    subject=manifest.subject,
                    actor=by.id,
                    actor_role=by.role,
                    role=one.role,  # type: ignore[arg-type]
                    field=one.field,
                    signer_cert=one.signer_cert,
                    tsa_time=one.tsa_time,
                    file_name=PACKET_PDF,
                    file_sha256=one.file_sha256,
                    refs=refs,
                )
            )
        # every signature this call made (the role's, the seal's and its document timestamp) in one transaction,
        # then one signed, timestamped head: a TSA failing in between can no longer leave the seal logged and its
        # document timestamp not (each signature carries its own RFC 3161 time; a head between them proves nothing)
        appended = audit.append_many(events)
        head = head_after(audit, appended, "signature")
    return SignedStep(result, appended, head)


def head_after(audit: AuditLog, appended: list[Appended], what: str) -> SignedTreeHead:
    """The signed, timestamped head after ``appended``; when it cannot be made (the TSA is down), an error saying
    that the work is done and logged and only the head is missing."""
    from consentkit.errors import ConsentkitError, SigningError

    try:
        return audit.head()
    except ConsentkitError as exc:
        logged = ", ".join(str(a.index) for a in appended)
        raise SigningError(
            f"the {what} is made and logged (audit event {logged}), but no tree head could be made after it "
            f"({exc.message}); make one as soon as the time-stamping authority answers: consentkit audit head"
        ) from exc


@dataclass(frozen=True)
class RenewedStep:
    result: ArchiveResult
    event: Appended
    head: SignedTreeHead


def renew_archive(
    ws: Workspace,
    pdf: Path,
    *,
    secret: bytes,
    manifest_path: Path | None = None,
    output: Path | None = None,
    who: Actor | None = None,
    log: AuditLog | None = None,
) -> RenewedStep:
    """``consentkit sign PDF --renew-archive``: add an archival timestamp to a sealed packet
    (:func:`consentkit.sign.archive.renew_archive_timestamp`), then log ``document.timestamped`` — the file after
    it, its RFC 3161 time and TSA certificate, and the file before it — and a signed, timestamped tree head, so the
    gate and the evidence take the renewed file as the packet's latest. Refuses, before renewing, a file that is
    not the one the log recorded last for this packet (a renewal must not launder a changed file)."""
    from consentkit.sign.archive import renew_archive_timestamp
    from consentkit.sign.lock import packet_lock

    who = checked(who or actor(None, "clinic"))
    manifest_file = manifest_path or pdf.with_name(MANIFEST_NAME)
    manifest = read_manifest(manifest_file)
    with packet_lock(pdf, *([output] if output is not None else [])), opened(ws, log, secret) as audit:
        before = _sha(pdf.read_bytes())
        history = from_stored(audit.case_events(manifest.case_id))
        generated = packet_generated_for(history, hashlib.sha256(manifest_file.read_bytes()).hexdigest())
        last = latest_file(history, generated)
        if last is not None and "sha256:" + (last.document(PACKET_PDF) or "") != before:
            raise RefusedError(
                f"{pdf} is not the file the audit log recorded after its last signature or renewal (changed since?): "
                "it is not renewed"
            )
        result = renew_archive_timestamp(ws, pdf, secret=secret, output=output)
        stamp = _last_timestamp(result.path.read_bytes())
        event = ev.document_timestamped(
            case=manifest.case_id,
            subject=manifest.subject,
            actor=who.id,
            actor_role=who.role,
            field=result.field,
            tsa_cert=stamp[0],
            tsa_time=result.tsa_time,
            file_name=PACKET_PDF,
            file_sha256=stamp[1],
            previous=before,
            refs=(last.ref(),) if last is not None else (),
        )
        appended = audit.append(event)
        head = head_after(audit, [appended], "archival timestamp")
    return RenewedStep(result, appended, head)


def _last_timestamp(data: bytes) -> tuple[str, str]:
    """The newest document timestamp's TSA certificate hash, and the file's hash up to its byte range's end."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from consentkit.sign import byteranges

    stamp = byteranges.last_signatures(data, 1)[0]
    tsa_cert = stamp.signer_cert.public_bytes(Encoding.DER) if stamp.signer_cert is not None else b""
    return _sha(tsa_cert), _sha(data[: stamp.ranges[2] + stamp.ranges[3]])


@dataclass(frozen=True)
class _Signed:
    """One signature as its document.signed event records it: the file exactly as it stood after this signature
    (the bytes its byte range ends at) and this signature's own RFC 3161 time."""

    role: str  # the signing role; "clinic" for the seal and the document timestamp
    field: str
    signer_cert: str  # sha256:<hex> of the signer's (for the document timestamp: the TSA's) certificate
    tsa_time: dt.datetime
    file_sha256: str
    result: SignatureResult | None  # None for the document timestamp


def _document_timestamp_field(ws: Workspace) -> str:
    from consentkit.sign.profile import load_profile

    return load_profile(ws.signature_roots(), ws.config.signing.profile).model.timestamping.document_timestamp_field


def _each_signature(data: bytes, made: list[SignatureResult], timestamp_field: str) -> list[_Signed]:
    """The signatures this call added, read back from the final file: each role's and the seal's, and the seal's
    document timestamp, which completes the file (its event records the final file)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from consentkit.evidence.signatures import signature_token
    from consentkit.sign import byteranges
    from consentkit.tsa.tokens import describe_token

    sealed = any(sig.role == "seal" for sig in made)
    raws = byteranges.last_signatures(data, len(made) + (1 if sealed else 0))
    ours = [r for r in raws if not r.is_timestamp][-len(made) :]
    found: list[_Signed] = []
    for sig, raw in zip(made, ours, strict=True):
        token = signature_token(raw.contents_der)
        _, _, start, length = raw.ranges
        found.append(
            _Signed(
                "clinic" if sig.role == "seal" else sig.role,
                sig.field,
                "sha256:" + sig.certificate_sha256,
                describe_token(token).time if token is not None else sig.tsa_time,
                _sha(data[: start + length]),
                sig,
            )
        )
    stamp = raws[-1] if sealed and raws and raws[-1].is_timestamp else None
    if stamp is not None:
        tsa_cert = stamp.signer_cert.public_bytes(Encoding.DER) if stamp.signer_cert is not None else b""
        found.append(
            _Signed(
                "clinic",
                timestamp_field,
                _sha(tsa_cert),
                describe_token(stamp.contents_der).time,
                _sha(data[: stamp.ranges[2] + stamp.ranges[3]]),
                None,
            )
        )
    return found


def _signer_actor(ws: Workspace, role: str, sig: SignatureResult, subject: str, explicit: Actor | None) -> Actor:
    if role in ("patient", "guardian"):  # the patient acts, named by the pseudonym, whoever ran the command
        return Actor(subject, role)  # type: ignore[arg-type]
    if explicit is not None:
        return Actor(explicit.id, role)  # type: ignore[arg-type]
    if role in ("physician", "witness"):
        from consentkit.pki import WorkspacePki

        record = next((r for r in WorkspacePki(ws).records() if r.sha256 == sig.certificate_sha256), None)
        if record is not None and record.slug:
            return actor(record.slug, role)
    return actor(None, "clinic")
