"""Renewing the archival timestamp of a sealed (PAdES B-LTA) packet.

Offline validation of a B-LTA packet rests on its newest document timestamp: that timestamp's TSA certificate must
still be valid (and, for a TSA whose certificate names revocation data, its CRLs usable) when the packet is
checked. Before that runs out — the embedded TSA's certificate is valid 15 years; an external TSA's CRLs may expire
much sooner — a new document timestamp is added over the whole file together with the validation data of the
previous one (pyHanko's ``PdfTimeStamper.update_archival_timestamp_chain``): the new timestamp proves the old one
existed while it was valid, and the chain goes on. ``consentkit sign PDF --renew-archive``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consentkit.errors import RefusedError, SigningError
from consentkit.sign import byteranges
from consentkit.sign.lock import packet_lock
from consentkit.workspace import Workspace


@dataclass(frozen=True)
class ArchiveResult:
    path: Path
    field: str  # the new document timestamp's field
    tsa_time: dt.datetime
    tsa_name: str
    timestamps: int  # document timestamps in the file now
    sha256: str
    size: int


def renew_archive_timestamp(
    ws: Workspace, pdf_path: Path, *, secret: bytes, output: Path | None = None
) -> ArchiveResult:
    """Validate the newest document timestamp of ``pdf_path`` (with the workspace's trust anchors) and add a new
    one over the file and that timestamp's validation data, under the packet's signing lock. Refuses a packet
    with no document timestamp yet (seal it first), one whose signatures are no longer intact, and one whose newest
    timestamp no longer validates (renewal came too late)."""
    from consentkit.files import write_atomically
    from consentkit.sign.preflight import check_existing_signatures, read_pdf
    from consentkit.sign.signing import SigningSession

    target = output or pdf_path
    with packet_lock(pdf_path, *([output] if output is not None else [])):
        data = read_pdf(pdf_path)
        check_existing_signatures(data, pdf_path)
        session = SigningSession(ws, secret)
        renewed = _renew(data, session, pdf_path)
        write_atomically(target, renewed)
    from consentkit.tsa.tokens import describe_token

    stamps = [s for s in byteranges.scan(renewed) if s.is_timestamp]
    token = describe_token(stamps[-1].contents_der)
    field = byteranges.field_names(renewed, stamps).get(stamps[-1].offset, "")
    return ArchiveResult(
        target, field, token.time, token.tsa_name, len(stamps), hashlib.sha256(renewed).hexdigest(), len(renewed)
    )


def _renew(data: bytes, session: Any, pdf_path: Path) -> bytes:
    """pyHanko's ``update_archival_timestamp_chain``, with one difference: the new timestamp's own validation data
    goes in before it (``update_before_ts``), so the timestamp covers the whole file and no unsigned revision
    follows it — which `consentkit verify` would rightly report."""
    import asyncio

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.signers.pdf_signer import PdfTimeStamper, TimestampDSSContentSettings
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_timestamp

    from consentkit.sign.state import open_state

    reader, state = open_state(data, str(pdf_path))
    if state.document_timestamps == 0:
        raise RefusedError(f"{pdf_path} has no document timestamp yet: seal it first (consentkit sign --role seal)")
    context = _context(session, reader)
    last = reader.embedded_timestamp_signatures[-1]
    status = asyncio.run(async_validate_pdf_timestamp(last, validation_context=context))
    if not (status.intact and status.valid and status.trust_problem_indic is None and status.validation_path):
        why = getattr(status.trust_problem_indic, "name", None) or "not intact or not valid"
        raise SigningError(
            f"the newest document timestamp of {pdf_path} no longer validates ({why}); an archival timestamp must be "
            "renewed while the previous one still validates"
        )
    base = session.profile.timestamping.document_timestamp_field
    taken = set(state.signed_fields) | set(state.empty_fields)
    field = next(f"{base}-{n}" for n in range(2, 10_000) if f"{base}-{n}" not in taken)
    out = io.BytesIO(data)
    writer = IncrementalPdfFileWriter(out, strict=False)
    try:
        DocumentSecurityStore.supply_dss_in_writer(
            writer, last.pkcs7_content, paths=(status.validation_path,), validation_context=context
        )
        stamper = PdfTimeStamper(session.timestamper(), field_name=field)
        asyncio.run(
            stamper.async_timestamp_pdf(
                writer,
                status.md_algorithm,
                context,
                in_place=True,
                dss_settings=TimestampDSSContentSettings(include_vri=False, update_before_ts=True),
            )
        )
    except Exception as exc:
        from consentkit.sign.signing import _signing_error

        raise _signing_error("archival timestamp", exc) from exc
    return out.getvalue()


def _context(session: Any, reader: Any) -> Any:
    """Validates the newest timestamp now, as `consentkit verify` does: the roots trusted for timestamps, the
    packet's own validation data (DSS), revocation data where the TSA certificate declares it."""
    from consentkit.sign.validation import timestamp_context

    context, problem = timestamp_context(session.trust.tsa, reader, dt.datetime.now(dt.UTC))
    if problem:
        raise RefusedError(f"{problem}: the packet is damaged; it is not renewed")
    return context
