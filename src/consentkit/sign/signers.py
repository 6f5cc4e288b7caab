"""Who signs: a key in memory (workspace key file, PKCS#12, or a patient's one-time key) or a key on a PKCS#11
token, wrapped as pyHanko signers.

pyHanko's ``SimpleSigner`` re-parses its private key for every raw signature (twice per PDF signature, once to
size it); :class:`KeySigner` keeps the parsed key (one of the speed fixes in signing-notes.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from consentkit.errors import SigningError
from consentkit.sign.tokens import (
    DEFAULT_MODULE,
    DEFAULT_PIN_ENV,
    Pkcs11Ref,
    p11_message,
    store_token_certificate,
    token_pin,
    token_public_key,
)

__all__ = [
    "DEFAULT_MODULE",
    "DEFAULT_PIN_ENV",
    "KeySigner",
    "Pkcs11Ref",
    "Pkcs11Session",
    "asn1_cert",
    "store_token_certificate",
    "token_public_key",
]
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


def asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class KeySigner(Signer):
    """Signs with a key already loaded in memory (RSA PKCS#1 v1.5 or ECDSA)."""

    def __init__(self, key: PrivateKeyTypes, cert: x509.Certificate, chain: Sequence[x509.Certificate]) -> None:
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise SigningError(f"unsupported signing key type {type(key).__name__} (use RSA or ECDSA)")
        self._key = key
        super().__init__(
            # embed_roots stays on: pyHanko then also puts the root in the DSS, and long-term validation needs
            # proof of existence for the root certificate that signs the issuing CA's CRL
            signing_cert=asn1_cert(cert),
            cert_registry=SimpleCertificateStore.from_certs([asn1_cert(c) for c in chain]),  # type: ignore[no-untyped-call]
        )

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        algorithm = _HASHES.get(digest_algorithm.lower())
        if algorithm is None:
            raise SigningError(f"unsupported digest algorithm {digest_algorithm}")
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), algorithm)
        return self._key.sign(data, ec.ECDSA(algorithm))


class Pkcs11Session:
    """An open token session and the pyHanko signer on it; close it when done."""

    def __init__(self, ref: Pkcs11Ref, cert: x509.Certificate | None, chain: Sequence[x509.Certificate]) -> None:
        """``cert`` None: read the certificate from the token (same label as the key)."""
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

        pin = token_pin(ref)
        criteria = TokenCriteria(label=ref.token_label)
        try:
            try:
                self._session: Any = open_pkcs11_session(ref.module, token_criteria=criteria, user_pin=pin)
            except Exception as exc:
                if type(exc).__name__ != "UserAlreadyLoggedIn":
                    raise
                # another session of this process is logged in: use its login (login is per application)
                self._session = open_pkcs11_session(ref.module, token_criteria=criteria)
        except Exception as exc:  # python-pkcs11 raises its own hierarchy (PinIncorrect, NoSuchToken, ...)
            raise SigningError(f"cannot open PKCS#11 token '{ref.token_label}': {p11_message(exc)}") from exc
        try:
            if cert is None:
                probe = PKCS11Signer(
                    self._session,
                    cert_label=ref.key_label,
                    cert_id=ref.key_id,
                    key_label=ref.key_label,
                    key_id=ref.key_id,
                    ca_chain=[asn1_cert(c) for c in chain],
                )
                cert = x509.load_der_x509_certificate(probe.signing_cert.dump())
            self.certificate: x509.Certificate = cert
            self.signer = PKCS11Signer(
                self._session,
                signing_cert=asn1_cert(cert),
                ca_chain=[asn1_cert(c) for c in chain],
                key_label=ref.key_label,
                key_id=ref.key_id,
                # SoftHSM offers only raw ECDSA: pyHanko hashes, the token signs the digest
                use_raw_mechanism=isinstance(cert.public_key(), ec.EllipticCurvePublicKey),
            )
        except SigningError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise SigningError(f"PKCS#11 token '{ref.token_label}': {p11_message(exc)}") from exc

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a session that already failed is not worth reporting
            self._session.close()
