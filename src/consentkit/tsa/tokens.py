"""Reading and verifying RFC 3161 time-stamp tokens. Every parsing or cryptographic failure becomes a
:class:`VerificationError` with a sentence a person can act on; nothing from asn1crypto leaks."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from typing import TypeAlias

from asn1crypto import cms, core, tsp
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from consentkit.errors import VerificationError
from consentkit.tsa import TimestampToken

DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64}


class TimeStampResp(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """RFC 3161 TimeStampResp with the token OPTIONAL, as the RFC says (asn1crypto's requires it, so it cannot
    read a rejection)."""

    _fields = [  # noqa: RUF012 - asn1crypto's declaration style
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


TrustRoot: TypeAlias = x509.Certificate | asn1_x509.Certificate | bytes


def as_asn1_cert(cert: TrustRoot) -> asn1_x509.Certificate:
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    if isinstance(cert, x509.Certificate):
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    if cert.lstrip().startswith(b"-----BEGIN"):
        cert = x509.load_pem_x509_certificate(cert).public_bytes(serialization.Encoding.DER)
    return asn1_x509.Certificate.load(cert)


def parse_token(der: bytes) -> tuple[cms.SignedData, tsp.TSTInfo]:
    """The SignedData and TSTInfo of a TimeStampToken (a CMS ContentInfo), or a VerificationError."""
    try:
        info = cms.ContentInfo.load(bytes(der), strict=True)
        if info["content_type"].native != "signed_data":
            raise VerificationError("the time-stamp token is not CMS SignedData")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise VerificationError("the time-stamp token does not hold a TSTInfo")
        tst = encap["content"].parsed
        if not isinstance(tst, tsp.TSTInfo):
            raise VerificationError("the time-stamp token does not hold a TSTInfo")
        tst.native  # noqa: B018 - force a full parse now, so damage is found here and not later
        return signed, tst
    except VerificationError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise VerificationError(f"the time-stamp token is damaged or not a token ({type(exc).__name__})") from exc


def _signer_certificate(signed: cms.SignedData) -> asn1_x509.Certificate | None:
    """The TSA's certificate: the one certificate in the token its signer identifier names. Several different ones
    are refused — pyHanko validates the last, a reader taking the first would name another TSA than the one checked
    (as for signer certificates, 016a40e)."""
    found: dict[bytes, asn1_x509.Certificate] = {}
    try:
        sid = signed["signer_infos"][0]["sid"]
        for choice in signed["certificates"] or []:
            cert = choice.chosen
            if not isinstance(cert, asn1_x509.Certificate):
                continue
            if sid.name == "issuer_and_serial_number":
                named = cert.issuer == sid.chosen["issuer"] and cert.serial_number == sid.chosen["serial_number"].native
            else:
                named = cert.key_identifier == sid.chosen.native
            if named:
                found.setdefault(cert.dump(), cert)
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    if len(found) > 1:
        raise VerificationError(
            f"the time-stamp token holds {len(found)} different certificates that claim to be its TSA's (one was "
            "added or replaced)"
        )
    return next(iter(found.values()), None)


def signature_tokens(signer_info: cms.SignerInfo) -> list[bytes]:
    """Every RFC 3161 token in a CMS signer's signature-time-stamp attributes (every value of every such attribute,
    as pyHanko reads them). A signature made by consentkit holds one; readers refuse any other count rather than
    pick one the validator may not have checked."""
    found: list[bytes] = []
    for attr in signer_info["unsigned_attrs"] or []:
        if attr["type"].native == "signature_time_stamp_token":
            found += [bytes(value.dump()) for value in attr["values"]]
    return found


def the_signature_token(cms_der: bytes) -> bytes | None:
    """The one signature time-stamp token of a CMS signature's (first) signer, or None when it has none, several, or
    is not a CMS signature."""
    try:
        tokens = signature_tokens(cms.ContentInfo.load(cms_der)["content"]["signer_infos"][0])
    except (KeyError, ValueError, TypeError, IndexError):
        return None
    return tokens[0] if len(tokens) == 1 else None


def describe_token(der: bytes) -> TimestampToken:
    """What a token asserts, without checking it (use :func:`verify_token` for that)."""
    signed, tst = parse_token(der)
    cert = _signer_certificate(signed)
    tsa_name = ""
    if cert is not None:
        tsa_name = x509.load_der_x509_certificate(cert.dump()).subject.rfc4514_string()
    elif tst["tsa"].native is not None:
        tsa_name = str(tst["tsa"].chosen.human_friendly) if tst["tsa"].name == "directory_name" else ""
    gen_time = tst["gen_time"].native
    return TimestampToken(
        der=bytes(der),
        time=gen_time.astimezone(dt.UTC),
        tsa_name=tsa_name,
        serial=int(tst["serial_number"].native),
        digest_algorithm=str(tst["message_imprint"]["hash_algorithm"]["algorithm"].native),
        message_imprint=bytes(tst["message_imprint"]["hashed_message"].native),
    )


def wrap_response(token_der: bytes) -> bytes:
    """A bare token (as stored in a PDF) wrapped in a granted TimeStampResp, the form ``openssl ts -reply`` and
    most tools read."""
    signed_info = cms.ContentInfo.load(token_der)
    resp = TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": signed_info})
    return bytes(resp.dump())


def _expected_imprint(token: TimestampToken, digest_or_data: bytes, is_digest: bool | None) -> bool:
    size = DIGESTS.get(token.digest_algorithm)
    if size is None:
        raise VerificationError(f"the time-stamp token uses an unsupported hash ({token.digest_algorithm})")
    if is_digest is not False and len(digest_or_data) == size and digest_or_data == token.message_imprint:
        return True
    if is_digest is True:
        return False
    return hashlib.new(token.digest_algorithm, digest_or_data).digest() == token.message_imprint


async def async_verify_token(
    der: bytes,
    digest_or_data: bytes,
    trust_roots: Iterable[TrustRoot],
    *,
    crls: Sequence[x509.CertificateRevocationList] = (),
    is_digest: bool | None = None,
) -> TimestampToken:
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko_certvalidator import ValidationContext

    token = describe_token(der)
    if not _expected_imprint(token, digest_or_data, is_digest):
        raise VerificationError(
            f"the time-stamp token from {token.tsa_name or 'the TSA'} covers other data than the data checked"
        )
    signed, _ = parse_token(der)
    roots = [as_asn1_cert(r) for r in trust_roots]
    if not roots:
        raise VerificationError("no trust anchors given to check the time-stamp token against")
    crl_list = [asn1_crl.CertificateList.load(c.public_bytes(serialization.Encoding.DER)) for c in crls]
    context = ValidationContext(
        trust_roots=roots,
        crls=crl_list,
        allow_fetching=False,
        moment=token.time,
        revocation_mode="require" if crl_list else "soft-fail",
    )
    try:
        status = await validate_tst_signed_data(signed, context, lambda _algo: token.message_imprint)
    except (ValueError, TypeError, KeyError) as exc:
        raise VerificationError(f"the time-stamp token could not be checked ({type(exc).__name__})") from exc
    except Exception as exc:  # pyHanko's own SignatureValidationError and friends
        raise VerificationError(f"the time-stamp token is not valid: {exc}") from exc
    who = token.tsa_name or "the TSA"
    if not status.get("intact") or not status.get("valid"):
        raise VerificationError(f"the time-stamp token from {who} does not verify (signature broken or altered)")
    problem = status.get("trust_problem_indic")
    if problem is not None or status.get("validation_path") is None:
        raise VerificationError(
            f"the time-stamp token from {who} is not from a trusted TSA"
            + (f" ({problem.name.lower().replace('_', ' ')})" if problem is not None else "")
        )
    return token


def verify_token(
    der: bytes,
    digest_or_data: bytes,
    trust_roots: Iterable[TrustRoot],
    *,
    crls: Sequence[x509.CertificateRevocationList] = (),
    is_digest: bool | None = None,
) -> TimestampToken:
    """Check an RFC 3161 token: it parses, its imprint matches ``digest_or_data`` (a digest with the token's hash
    algorithm, or the data itself; ``is_digest`` forces one reading), its signature is intact, and the TSA
    certificate (EKU timeStamping) chains to one of ``trust_roots`` at the token's time. With ``crls`` the TSA
    chain must also be shown unrevoked by them. Raises :class:`VerificationError`; returns what the token says."""
    try:
        return asyncio.run(async_verify_token(der, digest_or_data, trust_roots, crls=crls, is_digest=is_digest))
    except VerificationError:
        raise
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        OverflowError,
        IndexError,
        x509.InvalidVersion,  # cryptography's certificate parser: a damaged version field
        UnsupportedAlgorithm,
    ) as exc:
        # asn1crypto parses lazily: damage deep inside a token can surface anywhere in the checks above
        raise VerificationError(f"the time-stamp token is damaged or not a token ({type(exc).__name__})") from exc
