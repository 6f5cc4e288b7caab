"""Checking thousands of tree-head timestamps without validating the same TSA chain thousands of times.

A full check of an RFC 3161 token (:func:`consentkit.tsa.verify_token`: signature, EKU, chain to a trust anchor)
costs ~20 ms here; a log with a head after every signature has hundreds of thousands. Every token of one TSA
certificate shares the chain part, so :class:`ChainCache` runs the full check once per TSA certificate and, for
later tokens signed by that byte-identical certificate, checks what differs from token to token: the message
imprint, the CMS signed attributes (content type, message digest of the TSTInfo, the ESS signing-certificate
hash) and the signature over them with the certificate's key, and that the time lies within the certificate's
validity. Anything unusual (another algorithm, a missing attribute) goes to the full check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from consentkit.errors import VerificationError
from consentkit.tsa import TimestampToken

TokenVerifier = Callable[[bytes, bytes], TimestampToken]


class _Unusual(Exception):
    """Not the common shape: let the full verifier decide."""


class ChainCache:
    """A :data:`TokenVerifier` that remembers which TSA certificates the full verifier accepted."""

    def __init__(self, full: TokenVerifier) -> None:
        self._full = full
        self._trusted: dict[bytes, x509.Certificate] = {}  # SHA-256 of the TSA certificate DER → certificate
        self.full_checks = 0
        self.quick_checks = 0

    def __call__(self, der: bytes, digest: bytes) -> TimestampToken:
        try:
            token = self._quick(der, digest)
        except (_Unusual, ValueError, TypeError, KeyError, IndexError, AttributeError):
            token = None  # damaged or unusual: the full check decides and explains
        if token is not None:
            self.quick_checks += 1
            return token
        self.full_checks += 1
        try:
            token = self._full(der, digest)
        except VerificationError:
            raise
        except Exception as exc:  # a parser error from deep inside the full check is still just a bad token
            raise VerificationError(f"the time-stamp token is damaged ({type(exc).__name__})") from None
        try:
            cert_der = _parts(der)[1]
            self._trusted[hashlib.sha256(cert_der).digest()] = x509.load_der_x509_certificate(cert_der)
        except (_Unusual, ValueError):
            pass
        return token

    def _quick(self, der: bytes, digest: bytes) -> TimestampToken | None:
        from asn1crypto import tsp

        signer, cert_der, econtent = _parts(der)
        cert = self._trusted.get(hashlib.sha256(cert_der).digest())
        if cert is None:
            return None
        signed_attrs = signer["signed_attrs"].dump()  # the bytes as signed, before anything below is touched
        tst = tsp.TSTInfo.load(econtent)
        imprint = tst["message_imprint"]
        if imprint["hash_algorithm"]["algorithm"].native != "sha256" or imprint["hashed_message"].native != digest:
            raise VerificationError("the time-stamp token covers other data than the data checked")
        token = TimestampToken(
            der=bytes(der),
            time=tst["gen_time"].native.astimezone(dt.UTC),
            tsa_name=cert.subject.rfc4514_string(),
            serial=int(tst["serial_number"].native),
            digest_algorithm="sha256",
            message_imprint=digest,
        )
        if not cert.not_valid_before_utc <= token.time <= cert.not_valid_after_utc:
            raise VerificationError("the time-stamp token was made outside its TSA certificate's validity")
        attrs = {a["type"].native: a["values"] for a in signer["signed_attrs"]}
        if attrs.get("content_type") is None or attrs["content_type"][0].native != "tst_info":
            raise _Unusual
        if signer["digest_algorithm"]["algorithm"].native != "sha256":
            raise _Unusual
        if attrs.get("message_digest") is None:
            raise _Unusual
        if attrs["message_digest"][0].native != hashlib.sha256(econtent).digest():
            raise VerificationError("the time-stamp token's content does not match its signature")
        ess = attrs.get("signing_certificate_v2")
        if ess is None:
            raise _Unusual
        first = ess[0]["certs"][0]
        if first["hash_algorithm"]["algorithm"].native != "sha256":
            raise _Unusual
        if first["cert_hash"].native != hashlib.sha256(cert_der).digest():
            raise VerificationError("the time-stamp token names another TSA certificate")
        signed_bytes = b"\x31" + signed_attrs[1:]  # [0] IMPLICIT → SET OF, as signed
        signature = signer["signature"].native
        algorithm = signer["signature_algorithm"]["algorithm"].native
        key = cert.public_key()
        try:
            if algorithm in ("sha256_rsa", "rsassa_pkcs1v15") and isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, signed_bytes, padding.PKCS1v15(), hashes.SHA256())
            elif algorithm == "sha256_ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, signed_bytes, ec.ECDSA(hashes.SHA256()))
            else:
                raise _Unusual
        except InvalidSignature:
            raise VerificationError("the time-stamp token does not verify (signature broken or altered)") from None
        return token


def _parts(der: bytes) -> tuple[Any, bytes, bytes]:
    """(SignerInfo, signer certificate DER, TSTInfo DER) of a token with one signer whose certificate is inside.
    Raw bytes are taken before any value is decoded: asn1crypto re-encodes what has been looked into."""
    from asn1crypto import cms

    try:
        info = cms.ContentInfo.load(bytes(der), strict=True)
        if info["content_type"].native != "signed_data":
            raise _Unusual
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise _Unusual
        econtent = bytes(encap["content"].contents)
        infos = signed["signer_infos"]
        if len(infos) != 1:
            raise _Unusual
        signer = infos[0]
        sid = signer["sid"]
        if sid.name != "issuer_and_serial_number":
            raise _Unusual
        issuer = sid.chosen["issuer"].dump()
        serial = sid.chosen["serial_number"].native
        for choice in signed["certificates"] or []:
            if choice.name != "certificate":
                continue
            raw = bytes(choice.chosen.dump())
            tbs = choice.chosen["tbs_certificate"]
            if tbs["serial_number"].native == serial and tbs["issuer"].dump() == issuer:
                return signer, raw, econtent
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        raise _Unusual from None
    raise _Unusual
