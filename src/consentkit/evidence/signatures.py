"""The signatures of a signed packet as an outsider sees them: pdfsig's numbering, the field and role, the signed
byte ranges, the CMS, the signer certificate and the RFC 3161 token of each (for the document timestamp, the
token is the CMS itself). The evidence bundle writes the tokens as ``.tsr`` files and VERIFY.md's commands use the
numbers and ranges."""

from __future__ import annotations

import io
from dataclasses import dataclass

from asn1crypto import cms
from cryptography import x509

from consentkit.errors import InputError
from consentkit.sign import byteranges
from consentkit.sign.profile import SigningProfile


@dataclass(frozen=True)
class PacketSignature:
    number: int  # pdfsig's order (0-based: pdfsig -dump writes packet.pdf.sig<number>)
    field: str
    role: str  # a profile role, "seal" or "document-timestamp"
    ranges: tuple[int, int, int, int]
    cms_der: bytes
    signer: x509.Certificate | None
    token_der: bytes | None  # the RFC 3161 TimeStampToken
    value: bytes | None  # the signature value the token covers (None for the document timestamp)

    @property
    def is_document_timestamp(self) -> bool:
        return self.role == "document-timestamp"

    @property
    def name(self) -> str:
        """File stem in the bundle: the role (``patient``, ``seal``, ``document-timestamp``); an archival renewal's
        document timestamp keeps its field's number (``sig-document-timestamp-2``: ``document-timestamp-2``)."""
        number = self.field.rsplit("-", 1)[-1]
        if self.is_document_timestamp and number.isdigit():
            return f"{self.role}-{number}"
        return self.role


def packet_signatures(data: bytes, profile: SigningProfile) -> list[PacketSignature]:
    """Every signature of ``data`` in the order pdfsig lists them (the AcroForm's signature fields)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        fields = [name for name, value, _ref in enumerate_sig_fields(reader, filled_status=True) if value is not None]
        by_range = {
            tuple(int(v) for v in s.sig_object["/ByteRange"]): (
                s.field_name,
                s.sig_object.get("/Type") == "/DocTimeStamp",
            )
            for s in reader.embedded_signatures
        }
    except Exception as exc:  # a damaged PDF: pyHanko raises many kinds
        raise InputError(f"packet.pdf cannot be read ({type(exc).__name__})") from exc
    raw = {sig.ranges: sig for sig in byteranges.scan(data)}
    found: list[PacketSignature] = []
    for ranges, (field, is_ts) in by_range.items():
        sig = raw.get(ranges)  # type: ignore[arg-type]
        if sig is None:
            continue
        role = "document-timestamp" if is_ts else (profile.role_for_field(field) or field)
        token, value = (sig.contents_der, None) if is_ts else _token_and_value(sig.contents_der)
        found.append(PacketSignature(0, field, role, ranges, sig.contents_der, sig.signer_cert, token, value))  # type: ignore[arg-type]
    order = {name: i for i, name in enumerate(fields)}
    found.sort(key=lambda s: (order.get(s.field, len(order)), s.ranges[1]))
    return [
        PacketSignature(n, s.field, s.role, s.ranges, s.cms_der, s.signer, s.token_der, s.value)
        for n, s in enumerate(found)
    ]


def signature_token(cms_der: bytes) -> bytes | None:
    """The RFC 3161 token in a signature's CMS (its signature-time-stamp attribute), if any."""
    return _token_and_value(cms_der)[0]


def _token_and_value(cms_der: bytes) -> tuple[bytes | None, bytes | None]:
    try:
        signer = cms.ContentInfo.load(cms_der)["content"]["signer_infos"][0]
        value = bytes(signer["signature"].native)
        for attr in signer["unsigned_attrs"] or []:
            if attr["type"].native == "signature_time_stamp_token":
                return bytes(attr["values"][0].dump()), value
        return None, value
    except (KeyError, ValueError, TypeError, IndexError):
        return None, None
