"""Private keys at rest: encrypted PKCS#8 PEM files with mode 0600 under ``.consentkit/pki/``, unlocked with a
passphrase from the environment variable named in ``consentkit.toml`` (``[signing] passphrase_env``) or a prompt.
Keys and passphrases are never printed or logged.

Layout of ``.consentkit/pki/`` (public certificates are plain PEM; every ``*.key`` is encrypted)::

    root-ca.pem        root-ca.key         clinic root CA (trust anchor, also copied to signatures/trust/)
    issuing-ca.pem     issuing-ca.key      issues signer, patient one-time, seal and TSA certificates
    clinic-certify.pem clinic-certify.key  the clinic's certification signature (first signature, DocMDP)
    clinic-seal.pem    clinic-seal.key     the clinic's final seal that locks the fields (its own certificate:
                                           NSS reports a certificate that signs twice in one file as "Unknown issue")
    tsa.pem            tsa.key             the embedded RFC 3161 TSA (EKU timeStamping, critical)
    audit-log.pub.pem  audit-log.key       signs audit-log tree heads (ECDSA P-256)
    crl.pem                                current CRL of the issuing CA
    root-crl.pem                           current CRL of the root CA (covers the issuing CA)
    index.json                             every certificate issued: role, subject, serial, validity, revocation
    signers/<slug>.p12 signers/<slug>.pem  physicians' and witnesses' PKCS#12 (same passphrase) and certificate

Loaded keys are cached in memory for the life of the process (keyed by file, modification time and a hash of the
passphrase), because parsing an encrypted key costs more than a whole signature.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import sys
from pathlib import Path
from threading import Lock

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from consentkit.errors import ConfigError, SigningError
from consentkit.workspace import Workspace, write_private

PKI_DIR = "pki"
MIN_PASSPHRASE = 8

_CACHE: dict[tuple[str, int, int, bytes], object] = {}
_CACHE_LOCK = Lock()


def pki_dir(ws: Workspace) -> Path:
    return ws.state_dir / PKI_DIR


def passphrase(ws: Workspace, *, confirm: bool = False) -> bytes:
    """The workspace key passphrase: from ``$<passphrase_env>``, else asked on the terminal, else an error."""
    env_name = ws.config.signing.passphrase_env
    value = os.environ.get(env_name)
    if value is None:
        if not sys.stdin.isatty():
            raise ConfigError(f"the key passphrase is needed: set the environment variable {env_name}")
        value = getpass.getpass("Key passphrase: ")
        if confirm and getpass.getpass("Repeat the passphrase: ") != value:
            raise ConfigError("the two passphrases differ")
    if len(value) < MIN_PASSPHRASE:
        raise ConfigError(f"the key passphrase (from {env_name}) must be at least {MIN_PASSPHRASE} characters")
    return value.encode("utf-8")


def write_private_key(path: Path, key: PrivateKeyTypes, secret: bytes) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(secret),
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(path, data)


def _cache_key(path: Path, secret: bytes) -> tuple[str, int, int, bytes]:
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size, hashlib.sha256(secret).digest())


def load_private_key(path: Path, secret: bytes) -> PrivateKeyTypes:
    try:
        key = _cache_key(path, secret)
    except FileNotFoundError as exc:
        raise SigningError(f"key not found: {path} (was the workspace created with 'consentkit init'?)") from exc
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=secret)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"cannot unlock {path.name}: wrong passphrase or damaged key file") from exc
    with _CACHE_LOCK:
        _CACHE[key] = loaded
    return loaded


def write_certificate(path: Path, cert: x509.Certificate) -> None:
    """A public certificate as PEM, written atomically (mode 0644: certificates are public)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tmp.replace(path)


def load_certificate(path: Path) -> x509.Certificate:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise SigningError(f"certificate not found: {path}") from exc
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise SigningError(f"{path} is not a PEM certificate") from exc


def write_pkcs12(
    path: Path, name: str, key: PrivateKeyTypes, cert: x509.Certificate, chain: list[x509.Certificate], secret: bytes
) -> None:
    """A signer's key, certificate and chain as PKCS#12 (AES-256, PBKDF2), mode 0600."""
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise SigningError(f"this key type cannot go into PKCS#12: {type(key).__name__}")
    data = pkcs12.serialize_key_and_certificates(
        name.encode("utf-8"), key, cert, chain, serialization.BestAvailableEncryption(secret)
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(path, data)


def load_pkcs12(path: Path, secret: bytes) -> tuple[PrivateKeyTypes, x509.Certificate, list[x509.Certificate]]:
    """Key, certificate and chain from a PKCS#12 file (cached like :func:`load_private_key`)."""
    try:
        key = _cache_key(path, secret)
    except FileNotFoundError as exc:
        raise SigningError(f"signer file not found: {path}") from exc
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    try:
        private, cert, chain = pkcs12.load_key_and_certificates(path.read_bytes(), secret)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"cannot unlock {path.name}: wrong passphrase or damaged PKCS#12 file") from exc
    if private is None or cert is None:
        raise SigningError(f"{path.name} holds no key and certificate")
    result = (private, cert, list(chain))
    with _CACHE_LOCK:
        _CACHE[key] = result
    return result
