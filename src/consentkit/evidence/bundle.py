"""The evidence bundle: a zip that lets anyone check, offline and without consentkit, that this patient was shown
and signed this exact disclosure, and when, relative to the procedure.

Layout (every path fixed; ``bundle.json`` indexes it, ``SHA256SUMS`` hashes it)::

    VERIFY.md                    the plain openssl / pdfsig / sha256sum commands, with the output to expect
    disclosure-certificate.pdf   one page: timeline, cooling-off, approvals, fingerprints
    packet/packet.pdf            the signed packet (PAdES B-LTA)      packet/manifest.json
    log/head.json .sig .tsr      a signed, RFC 3161-timestamped tree head of the audit log
    log/events/<index>-<type>.json   the case's events (canonical bytes as stored) and the spec approvals
    log/proofs/<index>.json      inclusion proof to the head (RFC 9162); <index>.path the same for a shell loop
    timestamps/<role>.tsr        every signature's RFC 3161 token (TimeStampResp), and the document timestamp's
    certs/                       clinic root, issuing CA, all trust roots, each signer's certificate chain
    keys/audit-log.pub.pem       the key the tree head is signed with
    approvals/                   each reviewer's signed approval statement (.statement.json + .p7s)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.serialization import Encoding

from consentkit import __version__
from consentkit.audit import clock, merkle
from consentkit.audit.heads import PUBLIC_KEY_FILE, token_to_response
from consentkit.errors import RefusedError, VerificationError
from consentkit.evidence.history import LoggedEvent, after, from_stored, packet_generated_for
from consentkit.evidence.signatures import PacketSignature, packet_signatures
from consentkit.files import write_atomically
from consentkit.manifest import Manifest

if TYPE_CHECKING:
    from cryptography import x509

    from consentkit.audit.heads import SignedTreeHead
    from consentkit.audit.log import AuditLog
    from consentkit.workflow.cases import CasePacket
    from consentkit.workspace import Workspace

BUNDLE_FORMAT = "consentkit/evidence/v1"
INDEX = "bundle.json"
SUMS = "SHA256SUMS"
VERIFY_MD = "VERIFY.md"
CERTIFICATE = "disclosure-certificate.pdf"
PDF = "packet/packet.pdf"
MANIFEST = "packet/manifest.json"
HEAD = "log/head"
CLINIC_ROOT = "certs/clinic-root.pem"
ISSUING_CA = "certs/issuing-ca.pem"
TRUST_ROOTS = "certs/trust-roots.pem"
LOG_KEY = f"keys/{PUBLIC_KEY_FILE}"


def event_name(index: int, kind: str) -> str:
    return f"log/events/{index:08d}-{kind}.json"


def proof_name(index: int, ext: str = "json") -> str:
    return f"log/proofs/{index:08d}.{ext}"


def proof_sides(index: int, size: int, hashes: list[bytes]) -> list[tuple[str, bytes]]:
    """Each proof hash with the side it joins on (``L``: sibling on the left), as RFC 9162 §2.1.3.2 walks it, so a
    shell loop can fold the proof without knowing the algorithm."""
    fn, sn = index, size - 1
    sides: list[tuple[str, bytes]] = []
    for p in hashes:
        if fn & 1 or fn == sn:
            sides.append(("L", p))
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sides.append(("R", p))
        fn >>= 1
        sn >>= 1
    return sides


def pem(certs: list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(Encoding.PEM) for c in certs)


@dataclass(frozen=True)
class Bundle:
    files: dict[str, bytes]  # member name → bytes, in the order written
    head: SignedTreeHead
    events: list[LoggedEvent]  # the case's events and the approvals, as bundled
    signatures: list[PacketSignature]


def assemble(ws: Workspace, packet: CasePacket, log: AuditLog, *, now: dt.datetime | None = None) -> Bundle:
    """Everything the bundle holds, with a fresh signed tree head covering every event of the case."""
    from consentkit.pki import WorkspacePki
    from consentkit.sign.profile import load_profile
    from consentkit.sign.trust import workspace_trust_roots

    now = (now or clock.now()).astimezone(dt.UTC)
    m = packet.manifest
    if m.draft:
        raise RefusedError("a draft packet is never signed, so it has no evidence to export")
    pdf = packet.pdf.read_bytes()
    manifest_bytes = packet.manifest_path.read_bytes()
    head = log.head()
    history = [e for e in from_stored(log.case_events(m.case_id)) if e.index < head.size]
    generated = packet_generated_for(history, hashlib.sha256(manifest_bytes).hexdigest())
    if generated is None:
        raise RefusedError(
            f"the audit log has no packet.generated event for this manifest ({packet.manifest_path}): "
            "this packet was not made through consentkit's logged workflow"
        )
    approvals, approval_files = _approvals(ws, m, log)
    events = sorted({e.index: e for e in [*history, *approvals]}.values(), key=lambda e: e.index)

    profile = load_profile(ws.signature_roots(), ws.config.signing.profile).model
    signatures = packet_signatures(pdf, profile)
    pki = WorkspacePki(ws).require()
    files: dict[str, bytes] = {PDF: pdf, MANIFEST: manifest_bytes}
    add_head(files, HEAD, head)
    index_events = []
    for e in events:
        body = log.event(e.index).body
        if merkle.leaf_hash(body) != e.leaf:
            raise VerificationError(
                f"audit event {e.index} does not match its stored leaf hash: run consentkit audit verify"
            )
        name = event_name(e.index, e.type)
        files[name] = body
        files[proof_name(e.index)], files[proof_name(e.index, "path")] = _proof_files(log, e, head.size)
        index_events.append({"index": e.index, "type": e.type, "file": name, "proof": proof_name(e.index)})
    bounds = _checkin_heads(log, history, head, files)
    files.update(approval_files)
    index_signatures = []
    for sig in signatures:
        entry: dict[str, Any] = {"number": sig.number, "field": sig.field, "role": sig.role, "ranges": list(sig.ranges)}
        if sig.token_der is not None:
            files[f"timestamps/{sig.name}.tsr"] = token_to_response(sig.token_der)
            entry["timestamp"] = f"timestamps/{sig.name}.tsr"
        if sig.signer is not None and not sig.is_document_timestamp:
            files[f"certs/{sig.name}.pem"] = pem([sig.signer, *pki.chain()])
            entry["certificate"] = f"certs/{sig.name}.pem"
        index_signatures.append(entry)
    files[CLINIC_ROOT] = pem([pki.root])
    files[ISSUING_CA] = pem([pki.issuing])
    roots = workspace_trust_roots(ws)
    files[TRUST_ROOTS] = pem([pki.root, *[r for r in roots if r.fingerprint(_sha()) != pki.root.fingerprint(_sha())]])
    files[LOG_KEY] = (pki.dir / PUBLIC_KEY_FILE).read_bytes()

    signed_events = after(history, generated, "document.signed")
    context = BundleContext(
        ws, m, pdf, manifest_bytes, head, events, generated, signed_events, signatures, now, bounds[0], bounds[1]
    )
    files[CERTIFICATE] = certificate_for(context)
    index = {
        "format": BUNDLE_FORMAT,
        "consentkit_version": __version__,
        "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "case_id": m.case_id,
        "packet_id": m.packet_id,
        "timezone": ws.config.clinic.timezone,
        "packet": {"pdf": PDF, "manifest": MANIFEST},
        "head": {"checkpoint": f"{HEAD}.json", "signature": f"{HEAD}.sig", "timestamp": f"{HEAD}.tsr"},
        "checkin_heads": {"lower": bounds[2], "upper": bounds[3]},
        "events": index_events,
        "signatures": index_signatures,
        "approvals": sorted(n for n in approval_files if n.endswith(".statement.json")),
        "anchors": {"clinic_root": CLINIC_ROOT, "trust_roots": TRUST_ROOTS, "log_key": LOG_KEY},
        "certificate": CERTIFICATE,
    }
    files[INDEX] = _json(index)
    from consentkit.evidence.verify_md import verify_md

    files[VERIFY_MD] = verify_md(context, files).encode("utf-8")
    files[SUMS] = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())
    ).encode()
    return Bundle(files, head, events, signatures)


@dataclass(frozen=True)
class BundleContext:
    """What VERIFY.md and the certificate are written from."""

    ws: Workspace
    manifest: Manifest
    pdf: bytes
    manifest_bytes: bytes
    head: SignedTreeHead
    events: list[LoggedEvent]
    generated: LoggedEvent
    signed_events: list[LoggedEvent]
    signatures: list[PacketSignature]
    now: dt.datetime
    checkin_lower: SignedTreeHead | None = None  # the head the passing check-in names (its token: the lower bound)
    checkin_upper: SignedTreeHead | None = None  # the first head holding procedure.started (the upper bound)


def add_head(files: dict[str, bytes], stem: str, sth: SignedTreeHead) -> None:
    """``<stem>.json`` (the signed bytes), ``.sig`` and ``.tsr``, as ``SignedTreeHead.export`` writes them."""
    files[f"{stem}.json"] = sth.checkpoint
    files[f"{stem}.sig"] = sth.signature
    files[f"{stem}.tsr"] = token_to_response(sth.token)


def _proof_files(log: AuditLog, e: LoggedEvent, size: int) -> tuple[bytes, bytes]:
    """An event's inclusion proof in the tree of ``size`` events: as JSON, and as ``L``/``R`` lines for a shell."""
    proof = log.prove_inclusion(e.index, size)
    as_json = _json({"index": e.index, "size": size, "leaf": e.leaf.hex(), "hashes": [h.hex() for h in proof.hashes]})
    sides = proof_sides(e.index, size, list(proof.hashes))
    return as_json, "".join(f"{side} {h.hex()}\n" for side, h in sides).encode()


def _checkin_heads(
    log: AuditLog, history: list[LoggedEvent], head: SignedTreeHead, files: dict[str, bytes]
) -> tuple[SignedTreeHead | None, SignedTreeHead | None, str | None, str | None]:
    """Add the heads around the check-ins (``log/heads/<size>-<hash>/``): the head each check-in names, and the first
    head that holds the start, with proofs of the start and its check-in in that head's tree. Returns the passing
    check-in's lower and upper heads and their folders."""
    from consentkit.evidence.checkin_heads import head_dir, head_proof, named_head, sha256_hex, start_and_checkin

    heads = [h for h in log.heads() if h.size <= head.size]
    by_checkpoint = {sha256_hex(h.checkpoint): h for h in heads}

    def add(sth: SignedTreeHead) -> str:
        folder = head_dir(sth)
        add_head(files, f"{folder}/head", sth)
        return folder

    start, passing = start_and_checkin(history)
    lower = upper = None
    lower_dir = upper_dir = None
    for e in history:
        named = named_head(e) if e.type == "procedure.checkin" else None
        found = by_checkpoint.get(named[0]) if named else None
        if found is not None:
            folder = add(found)
            if e is passing:
                lower, lower_dir = found, folder
    if start is not None:
        holding = [h for h in heads if h.size > start.index]
        upper = min(holding, key=lambda h: (h.size, h.id or 0)) if holding else head
        upper_dir = add(upper)
        for proven in [x for x in (start, passing) if x is not None]:
            pair = _proof_files(log, proven, upper.size)
            files[head_proof(upper, proven.index)], files[head_proof(upper, proven.index, "path")] = pair
    return lower, upper, lower_dir, upper_dir


def _sha() -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def _json(data: object) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _approvals(ws: Workspace, m: Manifest, log: AuditLog) -> tuple[list[LoggedEvent], dict[str, bytes]]:
    """The spec.approved events the manifest cites (found by leaf hash), and the signed statements on disk."""
    from consentkit.review import approvals_dir, find_approvals

    wanted = {a.event_hash for a in m.approvals}
    if not wanted:
        return [], {}
    found: list[LoggedEvent] = []
    files: dict[str, bytes] = {}
    for approval in find_approvals(approvals_dir(ws), m.procedure.id).approvals:
        if approval.leaf not in wanted or approval.index is None:
            continue
        stored = log.event(approval.index)
        if "sha256:" + stored.leaf.hex() != approval.leaf:
            continue
        found.append(LoggedEvent(stored.index, stored.leaf, stored.event))
        try:
            files[f"approvals/{approval.path.name}"] = approval.path.read_bytes()
            files[f"approvals/{approval.signature_path.name}"] = approval.signature_path.read_bytes()
        except OSError:
            pass  # exported as it is: verify-evidence and VERIFY.md then say this approval is not proven
        wanted.discard(approval.leaf)
    if wanted:
        found += _scan_for(log, wanted)
    return found, files


def _scan_for(log: AuditLog, leaves: set[str]) -> list[LoggedEvent]:
    """spec.approved events with these leaf hashes, by reading the log (approval files moved or deleted)."""
    found: list[LoggedEvent] = []
    with log.store.snapshot() as snap:
        for row in snap.events():
            if row.type != "spec.approved":
                continue
            leaf = merkle.leaf_hash(row.body)
            if "sha256:" + leaf.hex() in leaves:
                from consentkit.audit.events import parse_event

                found.append(LoggedEvent(row.index, leaf, parse_event(row.body)))
    return found


def certificate_for(context: BundleContext) -> bytes:
    from consentkit.evidence.certificate import render_certificate
    from consentkit.evidence.facts import certificate_facts

    return render_certificate(certificate_facts(context), context.ws.template_roots())


def write_zip(files: dict[str, bytes], output: Path) -> tuple[str, int]:
    """Write the bundle atomically (temporary name, fsync, rename); returns its SHA-256 and size."""
    output = output.absolute()
    output.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    stamp = (1980, 1, 1, 0, 0, 0)  # no local time in the zip: the bundle's times are in its signed contents
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    data = buffer.getvalue()
    write_atomically(output, data)
    return hashlib.sha256(data).hexdigest(), len(data)
