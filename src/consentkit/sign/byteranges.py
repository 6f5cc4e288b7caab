"""The raw view of a signed PDF: every ``/ByteRange`` with its ``/Contents``, found by scanning the bytes, and the
check that matters most — do the signed bytes still hash to what the signer signed — done without parsing the PDF
structure. Damage that leaves a file unparseable is still reported per signature, and the byte ranges no signature
covers are listed (the last signature's own ``/Contents``, bytes after the last signed revision)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

BYTERANGE = re.compile(rb"/ByteRange\s*\[\s*(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s*\]")
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
    """Every signature whose /ByteRange is well-formed, in file order."""
    found: list[RawSignature] = []
    for match in BYTERANGE.finditer(data):
        a, b, c, d = (int(g) for g in match.groups())
        found.append(_check(data, match.start(), (a, b, c, d)))
    return found


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
        cert = _signer_cert(signed, signer_info)
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
            tst = signed["encap_content_info"]["content"].parsed
            expected = tst["message_imprint"]["hashed_message"].native
            imprint_algo = HASHES.get(tst["message_imprint"]["hash_algorithm"]["algorithm"].native, algorithm)
            econtent = signed["encap_content_info"]["content"].contents
        except (ValueError, TypeError, KeyError, AttributeError):
            return broken("its time-stamp token cannot be read (altered or damaged)", der, padding_range)
        doc_digest = _digest(imprint_algo, data, ranges)
        digest_ok = doc_digest == expected and hashlib.new(algorithm.name, econtent).digest() == claimed
    else:
        digest_ok = _digest(algorithm, data, ranges) == claimed
    signature_ok = cert is not None and _verify(cert, signer_info, algorithm)
    problem = None
    if not digest_ok:
        problem = "the bytes it signed have changed"
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
    sid = signer_info["sid"]
    for choice in signed["certificates"] or []:
        cert = choice.chosen
        try:
            if sid.name == "issuer_and_serial_number":
                if cert.serial_number != sid.chosen["serial_number"].native or cert.issuer != sid.chosen["issuer"]:
                    continue
            elif cert.key_identifier != sid.chosen.native:
                continue
            return x509.load_der_x509_certificate(cert.dump())
        except (ValueError, TypeError, KeyError, AttributeError, x509.InvalidVersion):
            continue
    return None


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
    except (InvalidSignature, ValueError, TypeError, KeyError):
        return False


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
        if owner is not None:
            cms_end = owner.padding[0]
            result.append(Uncovered(start, cms_end, "the last signature's own value (/Contents), checked by itself"))
            if owner.padding[1] > cms_end:
                tail = data[cms_end : owner.padding[1]]
                what = "zero padding of the last signature's /Contents"
                if tail.strip(b"0"):
                    what = "padding of the last signature's /Contents (not zeros: changed, but covered by nothing)"
                result.append(Uncovered(cms_end, owner.padding[1], what))
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
