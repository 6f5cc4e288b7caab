"""Trust anchors: public root certificates in ``signatures/trust/*.pem`` of the workspace (the clinic root is
copied there by ``consentkit init``) and of the built-in folder, or files given on the command line.

Roots are kept apart by what they vouch for. The clinic's own roots (``clinic-root*.pem`` / ``.crt``, and the
workspace CA's root whatever its file is called) vouch for signers — clinic, seal, physician, witness, patient,
guardian — and for timestamps. Every other root there (an external TSA's, often a public CA) vouches for timestamps
only: a certificate that CA issued to anyone is not a signer of this clinic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from consentkit.errors import InputError, SourceLocation
from consentkit.resources import builtin_dir
from consentkit.workspace import Workspace

CLINIC_ROOT_PREFIX = "clinic-root"  # signatures/trust/clinic-root*.pem: roots trusted for signers too


@dataclass(frozen=True)
class TrustAnchors(Sequence[x509.Certificate]):
    """Roots by what they vouch for: ``clinic`` for signers and timestamps, ``tsa_only`` for timestamps only.

    As a sequence it is every root, what a timestamp may chain to (``anchors.tsa``)::

        TrustAnchors(clinic=(clinic_root,), tsa_only=(public_tsa_root,))
    """

    clinic: tuple[x509.Certificate, ...]
    tsa_only: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        clinic = _unique(self.clinic)
        seen = {_fingerprint(c) for c in clinic}
        object.__setattr__(self, "clinic", clinic)
        object.__setattr__(self, "tsa_only", tuple(c for c in _unique(self.tsa_only) if _fingerprint(c) not in seen))

    @property
    def signers(self) -> tuple[x509.Certificate, ...]:
        """The roots a signer's certificate must chain to."""
        return self.clinic

    @property
    def tsa(self) -> tuple[x509.Certificate, ...]:
        """The roots a TSA's certificate may chain to."""
        return self.clinic + self.tsa_only

    def with_clinic_root(self, root: x509.Certificate) -> TrustAnchors:
        return TrustAnchors((*self.clinic, root), self.tsa_only)

    @overload
    def __getitem__(self, index: int) -> x509.Certificate: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[x509.Certificate]: ...

    def __getitem__(self, index: int | slice) -> x509.Certificate | Sequence[x509.Certificate]:
        return self.tsa[index]

    def __len__(self) -> int:
        return len(self.tsa)

    def __iter__(self) -> Iterator[x509.Certificate]:
        return iter(self.tsa)


def as_trust_anchors(roots: Sequence[x509.Certificate]) -> TrustAnchors:
    """``roots`` as given: a :class:`TrustAnchors` keeps its split; a plain list is the clinic's own roots (what
    ``verify --trust`` and the library have always meant), trusted for signers and timestamps."""
    return roots if isinstance(roots, TrustAnchors) else TrustAnchors(tuple(roots))


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


def _files(path: Path) -> list[Path]:
    return sorted(path.glob("*.pem")) + sorted(path.glob("*.crt")) if path.is_dir() else [path]


def trust_roots_from(paths: Iterable[Path]) -> list[x509.Certificate]:
    """Every certificate in ``paths`` (files, or folders of ``*.pem`` / ``*.crt``), each once."""
    return list(_unique(cert for path in paths for file in _files(path) for cert in load_certificates(file)))


def workspace_trust_roots(ws: Workspace | None) -> TrustAnchors:
    """Roots from the workspace's and the built-in ``signatures/trust/``: ``clinic-root*`` files and the workspace
    CA's own root are the clinic's; the others (external TSAs') vouch for timestamps only."""
    folders = ws.signature_roots() if ws is not None else (builtin_dir("signatures"),)
    own = _own_root(ws)
    clinic: list[x509.Certificate] = []
    tsa_only: list[x509.Certificate] = []
    for folder in (f / "trust" for f in folders):
        if not folder.is_dir():
            continue
        for file in _files(folder):
            for cert in load_certificates(file):
                mine = file.name.startswith(CLINIC_ROOT_PREFIX) or _fingerprint(cert) == own
                (clinic if mine else tsa_only).append(cert)
    return TrustAnchors(tuple(clinic), tuple(tsa_only))


def _own_root(ws: Workspace | None) -> bytes | None:
    """The SHA-256 of the workspace CA's root, when this workspace has a PKI."""
    if ws is None:
        return None
    from consentkit.keystore import pki_dir

    try:
        return _fingerprint(x509.load_pem_x509_certificate((pki_dir(ws) / "root-ca.pem").read_bytes()))
    except (OSError, ValueError):
        return None


def _fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def _unique(certs: Iterable[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    found: dict[bytes, x509.Certificate] = {}
    for cert in certs:
        found.setdefault(_fingerprint(cert), cert)
    return tuple(found.values())
