"""Private keys at rest: encrypted PKCS#8 PEM files with mode 0600 under ``.consentkit/pki/``, unlocked with a
passphrase from the environment variable named in ``consentkit.toml`` (``[signing] passphrase_env``) or a prompt.
Keys and passphrases are never printed or logged.

Layout of ``.consentkit/pki/`` (public certificates are plain PEM; every ``*.key`` is encrypted)::

    root-ca.pem       root-ca.key         clinic root CA (trust anchor, also copied to signatures/trust/)
    issuing-ca.pem    issuing-ca.key      issues signer, patient one-time and seal certificates
    clinic-seal.pem   clinic-seal.key     the clinic's certification and final seal signatures
    tsa.pem           tsa.key             the embedded RFC 3161 TSA (EKU timeStamping, critical)
    audit-log.pub.pem audit-log.key       signs audit-log tree heads (ECDSA P-256)
    crl.pem                               current CRL of the issuing CA
    signers/<slug>.p12                    physicians' and witnesses' PKCS#12 (same passphrase)
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from consentkit.errors import ConfigError, SigningError
from consentkit.workspace import Workspace, write_private

PKI_DIR = "pki"
MIN_PASSPHRASE = 8


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


def load_private_key(path: Path, secret: bytes) -> PrivateKeyTypes:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise SigningError(f"key not found: {path} (was the workspace created with 'consentkit init'?)") from exc
    try:
        return serialization.load_pem_private_key(data, password=secret)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"cannot unlock {path.name}: wrong passphrase or damaged key file") from exc
