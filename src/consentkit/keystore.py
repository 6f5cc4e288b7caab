"""Private keys at rest: encrypted PKCS#8 PEM files with mode 0600 under ``.consentkit/pki/``, unlocked with the
workspace passphrase from the environment variable named in ``consentkit.toml`` (``[signing] passphrase_env``) or a
prompt; signers' PKCS#12 files, each unlocked with that person's own passphrase. Keys and passphrases are never
printed or logged.

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
    signers/<slug>.p12 signers/<slug>.pem  physicians', witnesses' and reviewers' PKCS#12 (their own passphrase)
                                           and certificate

Key derivation: PBES2 with PBKDF2-HMAC-SHA256, :data:`KDF_ITERATIONS` rounds, AES-256-CBC — for the PKCS#8 files
(``openssl pkey -in root-ca.key`` opens them) and for both bags and the MAC of the PKCS#12 files (``openssl pkcs12
-info``); files written with fewer rounds (2048, before) are rewritten the first time they are unlocked.

Loaded keys are cached in memory for the life of the process (keyed by file, modification time and a hash of the
passphrase): a strong key derivation costs more than many signatures, so it runs once per key and process.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import sys
from pathlib import Path
from threading import Lock

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from consentkit.errors import ConfigError, SigningError
from consentkit.files import write_atomically
from consentkit.workspace import Workspace

PKI_DIR = "pki"
MIN_PASSPHRASE = 12  # for a new workspace and a new signer's own passphrase
MIN_EXISTING_PASSPHRASE = 8  # workspaces created when 8 was the minimum still open
KDF_ITERATIONS = 600_000  # PBKDF2-HMAC-SHA256 (OWASP, 2023); ~0.1-0.2 s an unlock on this machine type
SIGNER_PASSPHRASE_ENV = "CONSENTKIT_SIGNER_PASSPHRASE"  # noqa: S105 - the name of a variable, not a secret

_CACHE: dict[tuple[str, int, int, bytes], object] = {}
_CACHE_LOCK = Lock()


def pki_dir(ws: Workspace) -> Path:
    return ws.state_dir / PKI_DIR


def passphrase(ws: Workspace, *, confirm: bool = False) -> bytes:
    """The workspace key passphrase: from ``$<passphrase_env>``, else asked on the terminal, else an error.
    ``confirm`` (a new workspace): asked twice, and at least :data:`MIN_PASSPHRASE` characters."""
    env_name = ws.config.signing.passphrase_env
    value = os.environ.get(env_name)
    if value is None:
        if not sys.stdin.isatty():
            raise ConfigError(f"the key passphrase is needed: set the environment variable {env_name}")
        value = getpass.getpass("Key passphrase: ")
        if confirm and getpass.getpass("Repeat the passphrase: ") != value:
            raise ConfigError("the two passphrases differ")
    minimum = MIN_PASSPHRASE if confirm else MIN_EXISTING_PASSPHRASE
    if len(value) < minimum:
        raise ConfigError(f"the key passphrase (from {env_name}) must be at least {minimum} characters")
    return value.encode("utf-8")


def signer_passphrase(who: str, *, env: str | None = None, new: bool = False) -> bytes:
    """One person's own key passphrase (a physician's, witness's or reviewer's): from ``$<env>`` (default
    ``CONSENTKIT_SIGNER_PASSPHRASE``), else asked on the terminal (twice when ``new``), else an error. Only that
    person should know it: the workspace passphrase does not open their key."""
    env_name = env or SIGNER_PASSPHRASE_ENV
    value = os.environ.get(env_name)
    if value is None:
        if not sys.stdin.isatty():
            raise ConfigError(
                f"{who}'s own key passphrase is needed: set the environment variable {env_name} "
                "(or name another with --passphrase-env), or run in a terminal to be asked"
            )
        value = getpass.getpass(f"{who}'s key passphrase: ")
        if new and getpass.getpass("Repeat it: ") != value:
            raise ConfigError("the two passphrases differ")
    if new and len(value) < MIN_PASSPHRASE:
        raise ConfigError(f"{who}'s key passphrase (from {env_name}) must be at least {MIN_PASSPHRASE} characters")
    if not value:
        raise ConfigError(f"{who}'s key passphrase (from {env_name}) is empty")
    return value.encode("utf-8")


def write_private_key(path: Path, key: PrivateKeyTypes, secret: bytes) -> None:
    """``key`` as encrypted PKCS#8 PEM (PBES2: PBKDF2-HMAC-SHA256 with :data:`KDF_ITERATIONS` rounds, AES-256-CBC;
    ``cryptography`` offers no round count for PKCS#8, so the envelope is built here), mode 0600."""
    plain = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_durably(path, _pem("ENCRYPTED PRIVATE KEY", _pbes2_encrypt(plain, secret)))


def _pbes2_encrypt(plain: bytes, secret: bytes) -> bytes:
    from asn1crypto import algos as asn1_algos
    from asn1crypto import keys as asn1_keys
    from cryptography.hazmat.primitives import padding as sym_padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    salt, iv = os.urandom(16), os.urandom(16)
    derived = hashlib.pbkdf2_hmac("sha256", secret, salt, KDF_ITERATIONS, 32)
    padder = sym_padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(derived), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    info = asn1_keys.EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": {
                "algorithm": "pbes2",
                "parameters": {
                    "key_derivation_func": {
                        "algorithm": "pbkdf2",
                        "parameters": {
                            "salt": asn1_algos.Pbkdf2Salt(name="specified", value=salt),
                            "iteration_count": KDF_ITERATIONS,
                            "prf": {"algorithm": "sha256"},
                        },
                    },
                    "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
                },
            },
            "encrypted_data": ciphertext,
        }
    )
    return bytes(info.dump())


def _pem(label: str, der: bytes) -> bytes:
    import base64
    import textwrap

    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n".encode("ascii")


def kdf_rounds(path: Path) -> int | None:
    """The PBKDF2 round count protecting an encrypted PKCS#8 PEM or a PKCS#12 file (for PKCS#12: the weakest of
    its bags and its MAC, which a guesser can test just as well); None when it cannot be read."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import pem as asn1_pem

    try:
        data = path.read_bytes()
        if asn1_pem.detect(data):
            der = asn1_pem.unarmor(data)[2]
            algorithm = asn1_keys.EncryptedPrivateKeyInfo.load(der)["encryption_algorithm"]
            return int(algorithm.kdf_iterations)
        return _pkcs12_rounds(data)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _cache_key(path: Path, secret: bytes) -> tuple[str, int, int, bytes]:
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size, hashlib.sha256(secret).digest())


def load_private_key(path: Path, secret: bytes) -> PrivateKeyTypes:
    """An encrypted PKCS#8 key (cached for the process); one written with a weak key derivation is rewritten with
    :data:`KDF_ITERATIONS` rounds once it has been unlocked."""
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
    if (kdf_rounds(path) or 0) < KDF_ITERATIONS:
        with contextlib.suppress(OSError):  # a read-only copy stays as it is; it still opens
            write_private_key(path, loaded, secret)
            key = _cache_key(path, secret)
    with _CACHE_LOCK:
        _CACHE[key] = loaded
    return loaded


def write_certificate(path: Path, cert: x509.Certificate) -> None:
    """A public certificate as PEM, written as durably as a key (mode 0644: certificates are public)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_durably(path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def delete_private_key(path: Path) -> None:
    """Remove a key file that must never sign again (its certificate superseded and revoked), durably."""
    if path.exists():
        path.unlink()
        _sync_folder(path.parent)


def _write_durably(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Atomically, the file flushed to disk, then its folder: a crash after the PKI says a key or certificate was
    replaced never finds the old one, or none, under that name."""
    write_atomically(path, data, mode=mode)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    """A signer's key, certificate and chain as PKCS#12, mode 0600: both bags PBES2 (PBKDF2-HMAC-SHA256,
    :data:`KDF_ITERATIONS` rounds, AES-256-CBC) and the MAC with as many rounds — ``cryptography`` leaves the MAC at
    2048 rounds, which would let a guesser test passphrases 300 times faster than the bags allow, so it is
    recomputed here (RFC 7292 appendix B key derivation, SHA-256)."""
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise SigningError(f"this key type cannot go into PKCS#12: {type(key).__name__}")
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(KDF_ITERATIONS)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(secret)
    )
    data = pkcs12.serialize_key_and_certificates(name.encode("utf-8"), key, cert, chain, encryption)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_durably(path, _strong_mac(data, secret))


def _strong_mac(data: bytes, secret: bytes) -> bytes:
    import hmac

    from asn1crypto import pkcs12 as asn1_pkcs12

    pfx = asn1_pkcs12.Pfx.load(data)
    salt = os.urandom(16)
    mac_key = _pkcs12_kdf(secret, salt, KDF_ITERATIONS)
    mac = hmac.new(mac_key, pfx["auth_safe"]["content"].contents, hashlib.sha256).digest()
    pfx["mac_data"] = asn1_pkcs12.MacData(
        {
            "mac": {"digest_algorithm": {"algorithm": "sha256"}, "digest": mac},
            "mac_salt": salt,
            "iterations": KDF_ITERATIONS,
        }
    )
    return bytes(pfx.dump())


def _pkcs12_kdf(secret: bytes, salt: bytes, rounds: int) -> bytes:
    """RFC 7292 B.2 with SHA-256 (u = 32, v = 64), ID 3 (MAC key), one 32-byte block."""

    def repeat(value: bytes) -> bytes:
        length = 64 * -(-len(value) // 64)
        return (value * (length // len(value) + 1))[:length] if value else b""

    password = secret.decode("utf-8").encode("utf-16-be") + b"\x00\x00"  # BMPString, NUL-terminated
    digest = hashlib.sha256(bytes([3]) * 64 + repeat(salt) + repeat(password)).digest()
    sha256 = hashlib.sha256
    for _ in range(rounds - 1):
        digest = sha256(digest).digest()
    return digest


def _pkcs12_rounds(data: bytes) -> int:
    from asn1crypto import pkcs12 as asn1_pkcs12

    pfx = asn1_pkcs12.Pfx.load(data)
    rounds = [int(pfx["mac_data"]["iterations"].native)] if pfx["mac_data"].native else [0]
    for info in pfx.authenticated_safe:
        content = info["content"]
        if info["content_type"].native == "encrypted_data":
            rounds.append(int(content["encrypted_content_info"]["content_encryption_algorithm"].kdf_iterations))
            continue
        for bag in asn1_pkcs12.SafeContents.load(content.native):
            if bag["bag_id"].native == "pkcs8_shrouded_key_bag":
                rounds.append(int(bag["bag_value"]["encryption_algorithm"].kdf_iterations))
    return min(rounds)


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
