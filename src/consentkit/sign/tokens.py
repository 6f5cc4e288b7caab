"""PKCS#11 tokens without pyHanko: RFC 7512 URIs (or their consentkit.toml form), reading a token's public key,
storing a certificate on it, and :class:`TokenKey`, a token-held key with the ``sign`` of a ``cryptography`` key for
code that signs with a key object (the embedded TSA). Kept light: the TSA and the audit log import it."""

from __future__ import annotations

import hashlib
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from consentkit.errors import InputError, SigningError

if TYPE_CHECKING:
    from consentkit.pki import WorkspacePki
    from consentkit.workspace import Workspace

DEFAULT_PIN_ENV = "CONSENTKIT_PKCS11_PIN"
DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


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

    @classmethod
    def from_config(cls, config: Any, where: str) -> Pkcs11Ref:
        """From a ``consentkit.toml`` ``[signing.keys.<stem>]`` table (:class:`consentkit.workspace.TokenKeyConfig`):
        a ``pkcs11`` URI, or ``module`` + ``token_label`` + ``key_label``/``key_id`` + ``pin_env``."""
        from consentkit.errors import ConfigError

        if config.pkcs11:
            try:
                return cls.parse(config.pkcs11)
            except InputError as exc:
                raise ConfigError(f"{where}: {exc.message}") from exc
        if not config.token_label or not (config.key_label or config.key_id):
            raise ConfigError(f'{where}: give pkcs11 = "pkcs11:…", or token_label and key_label (or key_id)')
        try:
            key_id = bytes.fromhex(config.key_id) if config.key_id else None
        except ValueError as exc:
            raise ConfigError(f"{where}: key_id must be hexadecimal") from exc
        return cls(
            module=config.module or DEFAULT_MODULE,
            token_label=config.token_label,
            key_label=config.key_label,
            key_id=key_id,
            pin_env=config.pin_env,
        )

    def uri(self) -> str:
        parts = [f"token={urllib.parse.quote(self.token_label)}"]
        if self.key_label:
            parts.append(f"object={urllib.parse.quote(self.key_label)}")
        if self.key_id:
            parts.append("id=" + "".join(f"%{b:02x}" for b in self.key_id))
        query = urllib.parse.urlencode({"module-path": self.module, "pin-source": f"env:{self.pin_env}"})
        return "pkcs11:" + ";".join(parts) + "?" + query


def p11_message(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.replace("\n", " ")


def token_pin(ref: Pkcs11Ref) -> str:
    """The token's PIN from its environment variable, once the module is known to exist."""
    pin = os.environ.get(ref.pin_env)
    if not pin:
        raise SigningError(
            f"the PIN of token '{ref.token_label}' is needed: set the environment variable {ref.pin_env}"
        )
    if not Path(ref.module).exists():
        raise SigningError(f"PKCS#11 module not found: {ref.module}")
    return pin


def _open_token(ref: Pkcs11Ref) -> Any:
    import pkcs11

    pin = token_pin(ref)
    try:
        token = pkcs11.lib(ref.module).get_token(token_label=ref.token_label)
        try:
            return token.open(user_pin=pin, rw=True)
        except pkcs11.exceptions.UserAlreadyLoggedIn:
            # another session of this process is logged in (login is per application): use its login, and do not
            # log out on close, which would end that session's too
            return token.open(rw=True)
    except Exception as exc:  # python-pkcs11's NoSuchToken, PinIncorrect, ...
        raise SigningError(f"cannot open PKCS#11 token '{ref.token_label}': {p11_message(exc)}") from exc


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
        raise SigningError(f"token '{ref.token_label}': cannot read the public key ({p11_message(exc)})") from exc
    finally:
        session.close()


def store_token_certificate(ref: Pkcs11Ref, cert: x509.Certificate) -> None:
    """Write ``cert`` to the token beside its key (same label and id), replacing an older one: the new one is
    written first and the old ones removed only then, so a failure never leaves the key without a certificate."""
    from pkcs11 import Attribute, CertificateType, ObjectClass

    session = _open_token(ref)
    try:
        older = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, **_key_filter(ref)}))
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
        for old in older:
            old.destroy()
    except Exception as exc:
        raise SigningError(f"token '{ref.token_label}': cannot store the certificate ({p11_message(exc)})") from exc
    finally:
        session.close()


def require_certified_key(ref: Pkcs11Ref, cert: x509.Certificate, stem: str) -> None:
    """Refuse a token key that is not the one ``cert`` was issued for (consentkit.toml can name any key): every
    signature or timestamp it made would be invalid, and only a verifier would notice."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    held = token_public_key(ref).public_bytes(serialization.Encoding.DER, spki)
    if held != cert.public_key().public_bytes(serialization.Encoding.DER, spki):
        key = f"'{ref.key_label}'" if ref.key_label else f"id {ref.key_id.hex() if ref.key_id else '?'}"
        made = "timestamp" if stem == "tsa" else "signature"
        raise SigningError(
            f"the key {key} on token '{ref.token_label}' is not the one the {stem} certificate (serial "
            f"{cert.serial_number:x}) was issued for, so every {made} made with it would be invalid: name the "
            f"certified key in consentkit.toml [signing.keys.{stem}], or certify this one with "
            f"'consentkit pki issue {stem}'"
        )


def clinic_key_ref(ws: Workspace, pki: WorkspacePki, stem: str) -> Pkcs11Ref | None:
    """Where a clinic key (``clinic-certify``, ``clinic-seal``, ``tsa``) lives when it is on a token: consentkit.toml
    ``[signing.keys.<stem>]``, else the token its current certificate was issued for; None for the key file."""
    configured = ws.config.signing.keys.get(stem)  # type: ignore[call-overload]
    if configured is not None:
        return Pkcs11Ref.from_config(configured, f"consentkit.toml [signing.keys.{stem}]")
    serial = format(pki.certificate(stem).serial_number, "x")
    record = next((r for r in pki.records() if r.serial == serial), None)
    if record is not None and record.key_storage == "pkcs11" and record.pkcs11_uri:
        return Pkcs11Ref.parse(record.pkcs11_uri)
    return None


_RSA_MECHANISMS = {"sha256": "SHA256_RSA_PKCS", "sha384": "SHA384_RSA_PKCS", "sha512": "SHA512_RSA_PKCS"}


class TokenKey:
    """A private key on a token with the ``sign(data, padding, algorithm)`` / ``sign(data, ECDSA(algorithm))`` and
    ``public_key()`` of a ``cryptography`` key (RSA PKCS#1 v1.5 or ECDSA, SHA-2). Each signature opens and closes
    its own session, so it never holds a login another session of the process relies on."""

    on_token = True

    def __init__(self, ref: Pkcs11Ref, certificate: x509.Certificate) -> None:
        self.ref = ref
        self._public = certificate.public_key()

    def public_key(self) -> Any:
        return self._public

    def sign(self, data: bytes, scheme: Any, algorithm: hashes.HashAlgorithm | None = None) -> bytes:
        from pkcs11 import Attribute, Mechanism, ObjectClass

        session = _open_token(self.ref)
        try:
            found = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, **_key_filter(self.ref)}))
            if len(found) != 1:
                raise SigningError(f"token '{self.ref.token_label}': expected one private key, found {len(found)}")
            key = found[0]
            if isinstance(self._public, rsa.RSAPublicKey):
                if not isinstance(scheme, padding.PKCS1v15) or algorithm is None:
                    raise SigningError("a token RSA key signs PKCS#1 v1.5 with SHA-2 only")
                return bytes(key.sign(data, mechanism=getattr(Mechanism, _RSA_MECHANISMS[algorithm.name])))
            if not isinstance(scheme, ec.ECDSA) or not isinstance(scheme.algorithm, hashes.HashAlgorithm):
                raise SigningError("a token EC key signs ECDSA over the data with SHA-2 only")
            digest = hashlib.new(scheme.algorithm.name, data).digest()
            raw = bytes(key.sign(digest, mechanism=Mechanism.ECDSA))  # r || s; SoftHSM offers raw ECDSA only
            half = len(raw) // 2
            return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
        except SigningError:
            raise
        except Exception as exc:  # python-pkcs11's own errors
            raise SigningError(f"token '{self.ref.token_label}': cannot sign ({p11_message(exc)})") from exc
        finally:
            session.close()
