"""Trust anchors: public root certificates in ``signatures/trust/*.pem`` of the workspace (the clinic root is
copied there by ``consentkit init``) and of the built-in folder, or files given on the command line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from consentkit.errors import InputError, SourceLocation
from consentkit.resources import builtin_dir
from consentkit.workspace import Workspace


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM file (or one DER certificate)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", location=SourceLocation(path)) from exc
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise InputError("not a PEM or DER certificate", location=SourceLocation(path)) from exc


def trust_roots_from(paths: Iterable[Path]) -> list[x509.Certificate]:
    roots: dict[bytes, x509.Certificate] = {}
    for path in paths:
        files = sorted(path.glob("*.pem")) + sorted(path.glob("*.crt")) if path.is_dir() else [path]
        for file in files:
            for cert in load_certificates(file):
                roots.setdefault(cert.fingerprint(hashes.SHA256()), cert)
    return list(roots.values())


def workspace_trust_roots(ws: Workspace | None) -> list[x509.Certificate]:
    """Roots from the workspace's and the built-in ``signatures/trust/``."""
    roots = ws.signature_roots() if ws is not None else (builtin_dir("signatures"),)
    return trust_roots_from([r / "trust" for r in roots if (r / "trust").is_dir()])
