"""Who signs: a key in memory (workspace key file, PKCS#12, or a patient's one-time key) or a key on a PKCS#11
token, wrapped as pyHanko signers.

pyHanko's ``SimpleSigner`` re-parses its private key for every raw signature (twice per PDF signature, once to
size it); :class:`KeySigner` keeps the parsed key (one of the speed fixes in signing-notes.md).
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from consentkit.errors import InputError, SigningError

DEFAULT_PIN_ENV = "CONSENTKIT_PKCS11_PIN"
DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
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


@dataclass(frozen=True)
class Pkcs11Ref:
    """A key on a PKCS#11 token (RFC 7512 URI)::

        pkcs11:token=<label>;object=<key label>[;id=%01]?module-path=<so>&pin-source=env:VAR

    The PIN is always read from an environment variable, ``CONSENTKIT_PKCS11_PIN`` by default."""

    module: str
    token_label: str
    key_label: str | None = None
    key_id: bytes | None = None
    pin_env: str = DEFAULT_PIN_ENV

    @classmethod
    def parse(cls, uri: str) -> Pkcs11Ref:
        if not uri.startswith("pkcs11:"):
            raise InputError(f"'{uri}' is not a pkcs11: URI (RFC 7512)")
        body = uri[len("pkcs11:") :]
        path, _, query = body.partition("?")
        raw: dict[str, str] = {}
        for part in filter(None, path.split(";")):
            key, sep, value = part.partition("=")
            if not sep:
                raise InputError(f"pkcs11 URI: '{part}' is not name=value")
            raw[key] = value
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
        if "pin-value" in params:
            raise InputError("pkcs11 URI: do not put the PIN in the URI; use pin-source=env:VARIABLE")
        token = urllib.parse.unquote(raw.get("token", ""))
        if not token:
            raise InputError("pkcs11 URI: name the token (token=<label>)")
        pin_env = DEFAULT_PIN_ENV
        source = params.get("pin-source")
        if source:
            if not source.startswith("env:") or not source[4:]:
                raise InputError("pkcs11 URI: only pin-source=env:VARIABLE is supported")
            pin_env = source[4:]
        key_label = urllib.parse.unquote(raw["object"]) if raw.get("object") else None
        key_id = urllib.parse.unquote_to_bytes(raw["id"]) if raw.get("id") else None
        if key_label is None and key_id is None:
            raise InputError("pkcs11 URI: name the key (object=<label> or id=%xx)")
        return cls(
            module=params.get("module-path", DEFAULT_MODULE),
            token_label=token,
            key_label=key_label,
            key_id=key_id,
            pin_env=pin_env,
        )

    def uri(self) -> str:
        parts = [f"token={urllib.parse.quote(self.token_label)}"]
        if self.key_label:
            parts.append(f"object={urllib.parse.quote(self.key_label)}")
        if self.key_id:
            parts.append("id=" + "".join(f"%{b:02x}" for b in self.key_id))
        query = urllib.parse.urlencode({"module-path": self.module, "pin-source": f"env:{self.pin_env}"})
        return "pkcs11:" + ";".join(parts) + "?" + query


class Pkcs11Session:
    """An open token session and the pyHanko signer on it; close it when done."""

    def __init__(self, ref: Pkcs11Ref, cert: x509.Certificate | None, chain: Sequence[x509.Certificate]) -> None:
        """``cert`` None: read the certificate from the token (same label as the key)."""
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

        pin = os.environ.get(ref.pin_env)
        if not pin:
            raise SigningError(
                f"the PIN of token '{ref.token_label}' is needed: set the environment variable {ref.pin_env}"
            )
        if not Path(ref.module).exists():
            raise SigningError(f"PKCS#11 module not found: {ref.module}")
        try:
            self._session: Any = open_pkcs11_session(
                ref.module, token_criteria=TokenCriteria(label=ref.token_label), user_pin=pin
            )
        except Exception as exc:  # python-pkcs11 raises its own hierarchy (PinIncorrect, NoSuchToken, ...)
            raise SigningError(f"cannot open PKCS#11 token '{ref.token_label}': {_p11_message(exc)}") from exc
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
            raise SigningError(f"PKCS#11 token '{ref.token_label}': {_p11_message(exc)}") from exc

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a session that already failed is not worth reporting
            self._session.close()


def _p11_message(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.replace("\n", " ")


def _open_token(ref: Pkcs11Ref) -> Any:
    import pkcs11

    pin = os.environ.get(ref.pin_env)
    if not pin:
        raise SigningError(
            f"the PIN of token '{ref.token_label}' is needed: set the environment variable {ref.pin_env}"
        )
    if not Path(ref.module).exists():
        raise SigningError(f"PKCS#11 module not found: {ref.module}")
    try:
        token = pkcs11.lib(ref.module).get_token(token_label=ref.token_label)
        return token.open(user_pin=pin, rw=True)
    except Exception as exc:  # python-pkcs11's NoSuchToken, PinIncorrect, ...
        raise SigningError(f"cannot open PKCS#11 token '{ref.token_label}': {_p11_message(exc)}") from exc


def _key_filter(ref: Pkcs11Ref) -> dict[Any, Any]:
    from pkcs11 import Attribute

    attrs: dict[Any, Any] = {}
    if ref.key_label:
        attrs[Attribute.LABEL] = ref.key_label
    if ref.key_id:
        attrs[Attribute.ID] = ref.key_id
    return attrs


def token_public_key(ref: Pkcs11Ref) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
    """The public half of the key pair named by ``ref`` (for issuing its certificate)."""
    from asn1crypto import core as asn1_core
    from asn1crypto import keys as asn1_keys
    from pkcs11 import Attribute, ObjectClass

    session = _open_token(ref)
    try:
        found = list(session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY, **_key_filter(ref)}))
        if len(found) != 1:
            raise SigningError(
                f"token '{ref.token_label}': expected one public key for {ref.uri()}, found {len(found)}"
            )
        key = found[0]
        if key.key_type.name == "EC":
            params = asn1_keys.ECDomainParameters.load(key[Attribute.EC_PARAMS])
            point = asn1_core.OctetString.load(key[Attribute.EC_POINT]).native
            info = asn1_keys.PublicKeyInfo(
                {"algorithm": {"algorithm": "ec", "parameters": params}, "public_key": point}
            )
        elif key.key_type.name == "RSA":
            info = asn1_keys.PublicKeyInfo(
                {
                    "algorithm": {"algorithm": "rsa"},
                    "public_key": {
                        "modulus": int.from_bytes(key[Attribute.MODULUS], "big"),
                        "public_exponent": int.from_bytes(key[Attribute.PUBLIC_EXPONENT], "big"),
                    },
                }
            )
        else:
            raise SigningError(f"token key type {key.key_type.name} is not supported (use EC P-256 or RSA)")
        public = serialization.load_der_public_key(info.dump())
        if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise SigningError("unsupported public key on the token")
        return public
    except SigningError:
        raise
    except Exception as exc:
        raise SigningError(f"token '{ref.token_label}': cannot read the public key ({_p11_message(exc)})") from exc
    finally:
        session.close()


def store_token_certificate(ref: Pkcs11Ref, cert: x509.Certificate) -> None:
    """Write ``cert`` to the token beside its key (same label and id), replacing an older one."""
    from pkcs11 import Attribute, CertificateType, ObjectClass

    session = _open_token(ref)
    try:
        for old in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, **_key_filter(ref)}):
            old.destroy()
        attrs: dict[Any, Any] = {
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True,
            Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
            Attribute.SUBJECT: cert.subject.public_bytes(),
            Attribute.ISSUER: cert.issuer.public_bytes(),
            **_key_filter(ref),
        }
        session.create_object(attrs)
    except Exception as exc:
        raise SigningError(f"token '{ref.token_label}': cannot store the certificate ({_p11_message(exc)})") from exc
    finally:
        session.close()
