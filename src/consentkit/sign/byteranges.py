"""The raw view of a signed PDF: every ``/ByteRange`` with its ``/Contents``, found by scanning the bytes, and the
check that matters most — do the signed bytes still hash to what the signer signed — done without parsing the PDF
structure. Damage that leaves a file unparseable is still reported per signature, and the byte ranges no signature
covers are listed (the last signature's own ``/Contents``, bytes after the last signed revision)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

BYTERANGE = re.compile(rb"/ByteRange\s*\[\s*(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s*\]")
SIGNATURE_VALUE = re.compile(rb"<308[23][0-9A-Fa-f]{508,}>")  # a /Contents value: a DER CMS, hex-encoded
_OBJECT = re.compile(rb"(\d{1,10})\s+(\d{1,5})\s+obj\b")
_FIELD_NAME = re.compile(rb"/T\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>)")
HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


@dataclass(frozen=True)
class RawSignature:
    """One signature as the bytes show it."""

    offset: int  # where its /ByteRange starts
    ranges: tuple[int, int, int, int]
    contents_der: bytes  # the CMS, without its zero padding
    padding: tuple[int, int]  # byte range of the hex padding after the CMS inside /Contents
    problem: str | None  # None when the signed bytes hash to the signed digest and the CMS signature verifies
    digest_ok: bool
    signature_ok: bool
    signer_cert: x509.Certificate | None
    is_timestamp: bool

    @property
    def covered(self) -> tuple[tuple[int, int], tuple[int, int]]:
        a, b, c, d = self.ranges
        return (a, a + b), (c, c + d)

    @property
    def end(self) -> int:
        return self.ranges[2] + self.ranges[3]


@dataclass(frozen=True)
class Uncovered:
    start: int
    end: int
    what: str


def scan(data: bytes) -> list[RawSignature]:
    """Every signature, in file order: those with a well-formed /ByteRange, checked, and signature values (long
    hexadecimal strings) whose /ByteRange is damaged or gone, reported as such."""
    found: list[RawSignature] = []
    for match in BYTERANGE.finditer(data):
        a, b, c, d = (int(g) for g in match.groups())
        found.append(_check(data, match.start(), (a, b, c, d)))
    gaps = {(s.ranges[1], s.ranges[2]) for s in found}
    for value in SIGNATURE_VALUE.finditer(data):
        start, end = value.span()
        if (start, end) in gaps or any(_same_object(data, start, end, s.offset) for s in found):
            continue
        found.append(_without_byte_range(value.group(), start, end))
    return sorted(found, key=lambda s: s.offset)


def _same_object(data: bytes, start: int, end: int, offset: int) -> bool:
    """Whether ``offset`` (a /ByteRange) is in the same object as the string at ``start:end``."""
    lo, hi = (end, offset) if offset >= end else (offset, start)
    return data.find(b"endobj", lo, hi) == -1


def _without_byte_range(value: bytes, start: int, end: int) -> RawSignature:
    """A signature value whose /ByteRange cannot be read: what it signed is unknown, so it cannot be checked."""
    cert, is_timestamp = None, False
    try:
        info = cms.ContentInfo.load(bytes.fromhex(value[1:-1].decode("ascii")), strict=False)
        signed = info["content"]
        signer_info = signed["signer_infos"][0]
        is_timestamp = signed["encap_content_info"]["content_type"].native == "tst_info"
        cert = _signer_cert(signed, signer_info)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        pass
    problem = "its /ByteRange is damaged or missing (altered): what it signed cannot be checked"
    return RawSignature(start, (0, start, end, 0), b"", (end, end), problem, False, False, cert, is_timestamp)


def last_signatures(data: bytes, count: int) -> list[RawSignature]:
    """The last ``count`` signatures in file order (what a signing step just added)."""
    matches = list(BYTERANGE.finditer(data))[-count:]
    return [_check(data, m.start(), tuple(int(g) for g in m.groups())) for m in matches]  # type: ignore[arg-type]


def _check(data: bytes, offset: int, ranges: tuple[int, int, int, int]) -> RawSignature:
    a, b, c, d = ranges

    def broken(problem: str, der: bytes = b"", pad: tuple[int, int] = (b, b)) -> RawSignature:
        return RawSignature(offset, ranges, der, pad, problem, False, False, None, False)

    if a != 0 or b <= 0 or c <= b or d < 0 or c + d > len(data):
        return broken(
            f"its byte range {list(ranges)} does not fit the file ({len(data)} bytes): the file was cut or altered"
        )
    gap = data[b:c]
    if len(gap) < 2 or gap[:1] != b"<" or gap[-1:] != b">":
        return broken("the bytes between its signed ranges are not the signature value (/Contents moved or altered)")
    hex_text = gap[1:-1]
    try:
        raw = bytes.fromhex(hex_text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return broken("its signature value is not hexadecimal (altered)")
    try:
        info = cms.ContentInfo.load(raw, strict=False)
        der = info.dump()
        signed = info["content"]
        signer_info = signed["signer_infos"][0]
        digest_algo = signer_info["digest_algorithm"]["algorithm"].native
        attrs = signer_info["signed_attrs"]
        claimed = next(a["values"][0].native for a in attrs if a["type"].native == "message_digest")
        econtent_type = next(a["values"][0].native for a in attrs if a["type"].native == "content_type")
        candidates = _signer_certs(signed, signer_info)
    except (ValueError, TypeError, KeyError, IndexError, StopIteration, AttributeError) as exc:
        return broken(f"its signature value cannot be read ({type(exc).__name__}): altered or damaged")
    pad_start = b + 1 + 2 * len(der)
    padding_range = (pad_start, c - 1)
    algorithm = HASHES.get(digest_algo)
    if algorithm is None:
        return broken(f"it uses an unsupported digest ({digest_algo})", der, padding_range)
    is_timestamp = econtent_type == "tst_info"
    if is_timestamp:
        # a document timestamp signs a TSTInfo whose imprint is the hash of the byte ranges
        try:
            # loaded explicitly: ``.parsed`` knows TSTInfo only once something has imported asn1crypto.tsp
            econtent = signed["encap_content_info"]["content"].contents
            tst = tsp.TSTInfo.load(econtent)
            expected = tst["message_imprint"]["hashed_message"].native
            imprint_algo = HASHES.get(tst["message_imprint"]["hash_algorithm"]["algorithm"].native, algorithm)
        except (ValueError, TypeError, KeyError, AttributeError):
            return broken("its time-stamp token cannot be read (altered or damaged)", der, padding_range)
        doc_digest = _digest(imprint_algo, data, ranges)
        digest_ok = doc_digest == expected and hashlib.new(algorithm.name, econtent).digest() == claimed
    else:
        digest_ok = _digest(algorithm, data, ranges) == claimed
    # several certificates named by the signer identifier: pyHanko validates the last, this check would read the
    # first — a certificate slipped in front (same issuer, serial and key, another name or role) must not decide
    cert = candidates[0] if len(candidates) == 1 else None
    signature_ok = cert is not None and _verify(cert, signer_info, algorithm)
    problem = None
    if not digest_ok:
        problem = "the bytes it signed have changed"
    elif len(candidates) > 1:
        problem = f"{len(candidates)} different certificates in it claim to be its signer's (one was added or replaced)"
    elif cert is None:
        problem = "its signer certificate is missing"
    elif not signature_ok:
        problem = "its signature does not verify with the embedded certificate (certificate swapped or value altered)"
    return RawSignature(offset, ranges, der, padding_range, problem, digest_ok, signature_ok, cert, is_timestamp)


def _digest(algorithm: hashes.HashAlgorithm, data: bytes, ranges: tuple[int, int, int, int]) -> bytes:
    a, b, c, d = ranges
    h = hashlib.new(algorithm.name)
    h.update(memoryview(data)[a : a + b])
    h.update(memoryview(data)[c : c + d])
    return h.digest()


def _signer_cert(signed: cms.SignedData, signer_info: cms.SignerInfo) -> x509.Certificate | None:
    """The signer's certificate when exactly one readable certificate matches its signer identifier."""
    candidates = _signer_certs(signed, signer_info)
    return candidates[0] if len(candidates) == 1 else None


def _signer_certs(signed: cms.SignedData, signer_info: cms.SignerInfo) -> list[x509.Certificate]:
    """Every distinct readable certificate in ``signed`` that the signer identifier names."""
    sid = signer_info["sid"]
    found: dict[bytes, x509.Certificate] = {}
    for choice in signed["certificates"] or []:
        cert = choice.chosen
        try:
            if sid.name == "issuer_and_serial_number":
                if cert.serial_number != sid.chosen["serial_number"].native or cert.issuer != sid.chosen["issuer"]:
                    continue
            elif cert.key_identifier != sid.chosen.native:
                continue
            der = cert.dump()
            found.setdefault(der, x509.load_der_x509_certificate(der))
        except (ValueError, TypeError, KeyError, AttributeError, x509.InvalidVersion):
            continue
    return list(found.values())


def _verify(cert: x509.Certificate, signer_info: cms.SignerInfo, algorithm: hashes.HashAlgorithm) -> bool:
    try:
        to_verify = signer_info["signed_attrs"].untag().dump()
        signature = signer_info["signature"].native
        mechanism = signer_info["signature_algorithm"].signature_algo
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey) and mechanism == "rsassa_pkcs1v15":
            key.verify(signature, to_verify, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and mechanism == "ecdsa":
            key.verify(signature, to_verify, ec.ECDSA(algorithm))
        else:
            return False  # RSASSA-PSS and others: left to the full (pyHanko) check
        return True
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError, KeyError):  # key read only here
        return False


def field_names(data: bytes, signatures: list[RawSignature]) -> dict[int, str]:
    """The field name of each signature (keyed by the offset of its /ByteRange), read from the bytes alone, for
    naming signatures in a file whose structure no longer parses: the last field dictionary whose ``/V`` points at
    the signature dictionary, else the one field of the signature's revision that has a value. Signatures whose
    name cannot be found are left out."""
    names: dict[int, str] = {}
    ends = sorted({_revision_end(data, s) for s in signatures})
    for sig in signatures:
        name = _name_by_reference(data, sig)
        if name is None:
            end = _revision_end(data, sig)
            name = _name_in_revision(data, max((e for e in ends if e < end), default=0), end)
        if name is not None:
            names[sig.offset] = name
    return names


def _revision_end(data: bytes, sig: RawSignature) -> int:
    if sig.ranges[3] > 0:
        return sig.end
    eof = data.find(b"%%EOF", sig.ranges[2])
    return len(data) if eof < 0 else eof + 5


def _name_by_reference(data: bytes, sig: RawSignature) -> str | None:
    start = data.rfind(b"endobj", 0, sig.offset)
    header = next(reversed(list(_OBJECT.finditer(data, max(start, 0), sig.offset))), None)
    if header is None:
        return None
    number, generation = header.groups()
    pointer = re.compile(rb"/V\s+" + number + rb"\s+" + generation + rb"\s+R\b")
    name = None
    for ref in pointer.finditer(data):
        found = _FIELD_NAME.search(_object_around(data, ref.start()))
        if found is not None:
            name = _pdf_text(found.group(1))
    return name


def _name_in_revision(data: bytes, start: int, end: int) -> str | None:
    """The name of the one signature field given a value (``/V``) in ``data[start:end]``."""
    names = set()
    for found in _FIELD_NAME.finditer(data, start, end):
        body = _object_around(data, found.start())
        if b"/FT /Sig" in body and re.search(rb"/V\s+\d+\s+\d+\s+R\b", body):
            names.add(_pdf_text(found.group(1)))
    return names.pop() if len(names) == 1 else None


def _object_around(data: bytes, position: int) -> bytes:
    obj_start = data.rfind(b" obj", 0, position)
    obj_end = data.find(b"endobj", position)
    return data[max(obj_start, 0) : obj_end if obj_end >= 0 else len(data)]


def _pdf_text(token: bytes) -> str:
    """A PDF string token ``(literal)`` or ``<hex>`` as text (PDFDocEncoding read as Latin-1, or UTF-16BE)."""
    if token.startswith(b"<"):
        digits = re.sub(rb"\s+", b"", token[1:-1])
        raw = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
    else:
        raw = _unescape(token[1:-1])
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be", "replace")
    return raw.decode("latin-1")


_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(body: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i : i + 1]
        if ch != b"\\" or i + 1 >= len(body):
            out += ch
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        octal = re.match(rb"[0-7]{1,3}", body[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        else:
            out += _ESCAPES.get(nxt, nxt)
            i += 2
    return bytes(out)


def uncovered(data: bytes, signatures: list[RawSignature]) -> list[Uncovered]:
    """Byte ranges of ``data`` that no signature covers, each with what is there."""
    spans = sorted(span for sig in signatures if sig.problem is None or sig.digest_ok for span in sig.covered)
    gaps: list[tuple[int, int]] = []
    position = 0
    for start, end in spans:
        if start > position:
            gaps.append((position, start))
        position = max(position, end)
    if position < len(data):
        gaps.append((position, len(data)))
    result: list[Uncovered] = []
    for start, end in gaps:
        owner = next((s for s in signatures if s.ranges[1] == start and s.ranges[2] == end), None)
        if owner is not None:  # the whole gap, '<' to '>': the value, then its padding with the closing '>'
            cms_end = owner.padding[0]
            if owner.padding[1] <= cms_end:
                result.append(Uncovered(start, end, "the last signature's own value (/Contents), checked by itself"))
                continue
            result.append(Uncovered(start, cms_end, "the last signature's own value (/Contents), checked by itself"))
            what = "zero padding of the last signature's /Contents"
            if data[cms_end : owner.padding[1]].strip(b"0"):
                what = "padding of the last signature's /Contents (not zeros: changed, but covered by nothing)"
            result.append(Uncovered(cms_end, end, what))
            continue
        if not signatures or start >= max(s.end for s in signatures):
            tail = data[start:end]
            what = "bytes after the end of the last signed revision"
            if b"startxref" in tail or b"xref" in tail:
                what = "an unsigned revision appended after the last signature"
            result.append(Uncovered(start, end, what))
        else:
            result.append(Uncovered(start, end, "bytes no signature covers"))
    return result
