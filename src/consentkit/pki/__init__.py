"""The workspace PKI: clinic root and issuing CA, signer and one-time patient certificates, CRLs.

``consentkit init`` creates it (:func:`init_pki`); ``consentkit pki issue|list|revoke`` manage it.
"""

from __future__ import annotations

from consentkit import keystore
from consentkit.pki.authority import ONE_TIME_DAYS, WorkspacePki
from consentkit.pki.certs import EventBinding, common_name, sha256_fingerprint
from consentkit.pki.records import (
    CREDENTIAL_ROLES,
    REASONS,
    REVIEWER_ROLES,
    SIGNER_ROLES,
    CertRecord,
    OneTimeCredential,
    slugify,
)
from consentkit.workspace import Workspace

__all__ = [
    "CREDENTIAL_ROLES",
    "ONE_TIME_DAYS",
    "REASONS",
    "REVIEWER_ROLES",
    "SIGNER_ROLES",
    "CertRecord",
    "EventBinding",
    "OneTimeCredential",
    "WorkspacePki",
    "common_name",
    "init_pki",
    "sha256_fingerprint",
    "slugify",
]


def init_pki(ws: Workspace, secret: bytes | None = None) -> WorkspacePki:
    """Create the workspace PKI (passphrase from ``secret``, else the environment or a prompt)."""
    pki = WorkspacePki(ws)
    pki.create(secret if secret is not None else keystore.passphrase(ws, confirm=True))
    return pki
