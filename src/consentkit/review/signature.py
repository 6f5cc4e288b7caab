"""Detached CMS signatures over approval statements, made with the reviewer's own key.

The signature is CMS SignedData (RFC 5652), DER, without the content, with the reviewer certificate and the clinic
chain inside — what ``openssl cms -verify -binary -inform DER -in X.p7s -content X.statement.json -CAfile
clinic-root.pem`` checks. :func:`verify_signature` checks the same without OpenSSL: the message digest, the
signature over the signed attributes, and the certificate chain up to the clinic root.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from consentkit.errors import SigningError, VerificationError


def sign_detached(data: bytes, key: PrivateKeyTypes, cert: x509.Certificate, chain: list[x509.Certificate]) -> bytes:
    """DER CMS SignedData over ``data`` (detached, binary: the exact bytes, no MIME canonicalisation)."""
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise SigningError(f"a reviewer key must be EC or RSA, not {type(key).__name__}")
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(cert, key, hashes.SHA256())
    for extra in chain:
        builder = builder.add_certificate(extra)
    options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary, pkcs7.PKCS7Options.NoCapabilities]
    return builder.sign(serialization.Encoding.DER, options)


def sign_with_token(data: bytes, session: Any) -> bytes:
    """The same detached CMS as :func:`sign_detached`, made by a key on a PKCS#11 token (an open
    :class:`~consentkit.sign.signers.Pkcs11Session`, the certificate and chain read from it), through pyHanko."""
    import asyncio

    try:
        info = asyncio.run(session.signer.async_sign_general_data(data, "sha256", detached=True))
    except SigningError:
        raise
    except Exception as exc:  # python-pkcs11 and pyHanko raise their own hierarchies
        raise SigningError(f"the PKCS#11 token could not sign the approval: {str(exc) or type(exc).__name__}") from exc
    der: bytes = info.dump()
    return der


@dataclass(frozen=True)
class SignatureCheck:
    signer: x509.Certificate
    signing_time: dt.datetime | None

    @property
    def fingerprint(self) -> str:
        return "sha256:" + self.signer.fingerprint(hashes.SHA256()).hex()

    @property
    def title(self) -> str | None:
        found = self.signer.subject.get_attributes_for_oid(NameOID.TITLE)
        return str(found[0].value) if found else None


def verify_signature(data: bytes, der: bytes, *, issuing: x509.Certificate, root: x509.Certificate) -> SignatureCheck:
    """Check a detached CMS signature over ``data`` by a certificate that ``issuing`` issued under ``root``.
    Anything malformed or wrong raises :class:`VerificationError`."""
    from asn1crypto import cms

    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "signed_data":
            raise VerificationError("the approval signature is not CMS SignedData")
        signed = info["content"]
        if signed["encap_content_info"]["content"].native is not None:
            raise VerificationError("the approval signature must be detached (it carries content)")
        signers = list(signed["signer_infos"])
        if len(signers) != 1:
            raise VerificationError(f"the approval signature has {len(signers)} signers, not one")
        signer = signers[0]
        sid = signer["sid"]
        if sid.name != "issuer_and_serial_number":
            raise VerificationError("the approval signature names its signer by key id; expected issuer and serial")
        serial = sid.chosen["serial_number"].native
        certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed["certificates"] or []]
        cert = next((c for c in certs if c.serial_number == serial), None)
        if cert is None:
            raise VerificationError("the approval signature does not carry its signer's certificate")
        if signer["digest_algorithm"]["algorithm"].native != "sha256":
            raise VerificationError("the approval signature must use SHA-256")
        attrs = {a["type"].native: a["values"].native for a in signer["signed_attrs"]}
        if attrs.get("content_type") != ["data"]:
            raise VerificationError("the approval signature's content type is not data")
        if attrs.get("message_digest") != [hashlib.sha256(data).digest()]:
            raise VerificationError("the approval statement does not match its signature (it was changed)")
        signing_time = (attrs.get("signing_time") or [None])[0]
        to_be_signed = signer["signed_attrs"].untag().dump()
        signature = signer["signature"].native
    except VerificationError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, x509.InvalidVersion) as exc:
        raise VerificationError(f"the approval signature is not readable CMS: {exc}") from None
    public = cert.public_key()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, to_be_signed, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, to_be_signed, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise VerificationError(f"unsupported reviewer key type {type(public).__name__}")
    except InvalidSignature:
        raise VerificationError("the approval signature is not valid (the signed attributes were changed)") from None
    _check_chain(cert, issuing, root)
    return SignatureCheck(cert, signing_time if isinstance(signing_time, dt.datetime) else None)


def _check_chain(cert: x509.Certificate, issuing: x509.Certificate, root: x509.Certificate) -> None:
    try:
        cert.verify_directly_issued_by(issuing)
        issuing.verify_directly_issued_by(root)
        root.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise VerificationError("the reviewer certificate was not issued by this workspace's clinic CA") from None
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and ExtendedKeyUsageOID.EMAIL_PROTECTION not in usage:
        raise VerificationError("the reviewer certificate is not for signing (no emailProtection usage)")
