"""What the workspace CA's index says about each certificate it issued (:class:`CertRecord`, an entry of
``index.json``), the roles it issues for, the revocation reasons it accepts, and how a signer's name becomes the
file name of their key (:func:`slugify`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from consentkit.errors import InputError
from consentkit.pki import certs

IssuedRole = Literal[
    "root-ca",
    "issuing-ca",
    "clinic-certify",
    "clinic-seal",
    "tsa",
    "physician",
    "witness",
    "patient",
    "guardian",
    "reviewer",
]
SIGNER_ROLES = ("physician", "witness")
REVIEWER_ROLES = ("reviewer",)  # clinical and legal reviewers sign approvals of procedure versions, never packets
CREDENTIAL_ROLES = (*SIGNER_ROLES, *REVIEWER_ROLES)  # keys kept as signers/<slug>.p12
ONE_TIME_ROLES = ("patient", "guardian")
REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key-compromise": x509.ReasonFlags.key_compromise,
    "affiliation-changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation-of-operation": x509.ReasonFlags.cessation_of_operation,
}


@dataclass(frozen=True)
class CertRecord:
    """One certificate the workspace CA issued (an entry of ``index.json``)."""

    serial: str  # hex
    role: IssuedRole
    name: str
    subject: str  # RFC 4514
    not_before: dt.datetime
    not_after: dt.datetime
    sha256: str
    slug: str | None = None  # signers/<slug>.p12
    key_storage: Literal["file", "pkcs12", "pkcs11", "discarded"] = "file"
    case_id: str | None = None
    packet_sha256: str | None = None
    revoked_at: dt.datetime | None = None
    reason: str | None = None
    pkcs11_uri: str | None = None  # where the key lives when key_storage is "pkcs11" (no PIN in it)
    review_role: str | None = None  # a reviewer's review (clinical | legal), also in the certificate (OU)
    # who can open a signers/<slug>.p12: "own" — only the person's own passphrase; "workspace" (or None, before this
    # was recorded) — the workspace passphrase, until the person's first use with their own (see unlock_credential)
    key_protection: Literal["own", "workspace"] | None = None

    def status(self, at: dt.datetime) -> str:
        # revocation times are rounded up to the second (see revoke): count one that close as already in force
        if self.revoked_at is not None and self.revoked_at <= at + dt.timedelta(seconds=1):
            return f"revoked ({self.reason or 'unspecified'})"
        if at < self.not_before:
            return "not yet valid"
        if at > self.not_after:
            return "expired"
        return "valid"

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        for key in ("not_before", "not_after", "revoked_at"):
            value = data[key]
            data[key] = value.isoformat() if isinstance(value, dt.datetime) else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> CertRecord:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("not_before", "not_after", "revoked_at"):
            raw = values.get(key)
            values[key] = dt.datetime.fromisoformat(raw) if isinstance(raw, str) else None
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class OneTimeCredential:
    """A patient's (or guardian's) key, generated for one signature and never written to disk."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    record: CertRecord


def slugify(name: str, role: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not slug:  # a Chinese name: keep it stable and readable enough
        slug = f"{role}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"
    return slug[:48]


def check_review_role(role: str, review_role: str | None) -> None:
    """A reviewer's certificate names the one review it is for; no other certificate names one."""
    if role not in CREDENTIAL_ROLES:
        raise InputError(f"'{role}' is not a signer role (use {', '.join(CREDENTIAL_ROLES)})")
    if role == "reviewer" and review_role not in certs.REVIEW_ROLES:
        raise InputError(
            f"a reviewer certificate is issued for one review: give --review-role {' or '.join(certs.REVIEW_ROLES)}"
            + (f" (not {review_role!r})" if review_role else "")
        )
    if role != "reviewer" and review_role is not None:
        raise InputError(f"only a reviewer certificate names a review role, not a {role}'s")
