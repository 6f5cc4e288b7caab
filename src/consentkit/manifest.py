"""The packet manifest: what a packet is made of, pinned by hashes. Written by ``consentkit packet`` (beside the
PDF as ``manifest.json`` and attached inside ``packet.pdf``), read by signing, the gate and the evidence bundle.

The attached copy cannot contain the hash of the PDF that contains it, so ``packet`` (the unsigned PDF's SHA-256
and length) is present only in the external ``manifest.json``. Signing appends incremental revisions, so the
first ``packet.bytes`` bytes of a signed PDF must still hash to ``packet.sha256``: that is how a signed file is tied
back to its manifest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints, ValidationError

from consentkit.errors import InputError, SourceLocation
from consentkit.spec.models import Category, Locale, Model, Role, Text

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
MANIFEST_FORMAT: Final = "consentkit/manifest/v1"
MANIFEST_NAME = "manifest.json"
PACKET_PDF = "packet.pdf"


class OutputFile(Model):
    name: str
    sha256: Sha256
    size: int
    media_type: str


class PacketDigest(Model):
    sha256: Sha256
    size: int


class ProcedureRef(Model):
    id: str
    version: str
    spec_hash: str  # "sha256:<hex>" of the RFC 8785 canonical spec (consentkit.spec.canonical.content_hash)
    category: Category


class SignatureBox(Model):
    """Where a role signs: ``page`` is 1-based; ``rect`` is (x1, y1, x2, y2) in PDF points, origin bottom-left."""

    role: Role
    field: Annotated[str, StringConstraints(pattern=r"^sig-[a-z]+$")]
    page: int = Field(ge=1)
    rect: tuple[float, float, float, float]
    signer_name: str
    meaning: Text


class CoolingOffTerms(Model):
    days: int
    not_same_day: bool
    earliest_after_signature: str  # human rule, e.g. "14 days after the patient signs"


class ApprovalRef(Model):
    role: str
    reviewer: str
    approved_at: dt.datetime
    event_hash: str  # leaf hash of the spec.approved audit event


class Manifest(Model):
    format: Literal["consentkit/manifest/v1"] = MANIFEST_FORMAT
    packet_id: str
    case_id: str
    subject: str  # pseudonymous patient id (HMAC); no names here
    procedure: ProcedureRef
    jurisdiction: str
    policy_hash: str
    options: dict[str, str]
    locales: list[Locale]
    consentkit_version: str
    generated_at: dt.datetime
    planned_at: dt.datetime
    templates: dict[str, Sha256]  # template file name → sha256 of its bytes (templates and fixed-wording catalogues)
    required_roles: list[Role]
    signature_boxes: list[SignatureBox]
    cooling_off: CoolingOffTerms
    draft: bool = False
    approvals: list[ApprovalRef] = Field(default_factory=list)
    outputs: list[OutputFile] = Field(default_factory=list)  # every output except packet.pdf itself
    packet: PacketDigest | None = None  # only in the external manifest.json

    def box(self, role: str) -> SignatureBox | None:
        return next((b for b in self.signature_boxes if b.role == role), None)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    def attached(self) -> Manifest:
        """The copy attached inside packet.pdf (no self-hash)."""
        return self.model_copy(update={"packet": None})


def read_manifest(path: Path) -> Manifest:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(
            "manifest not found (a packet folder holds manifest.json beside packet.pdf)", location=SourceLocation(path)
        ) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"manifest is not readable JSON: {exc}", location=SourceLocation(path)) from exc
    try:
        return Manifest.model_validate(data, strict=False)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InputError(f"manifest is not valid: {first['msg']}", location=SourceLocation(path, None, field)) from exc


def prefix_matches(pdf_bytes: bytes, digest: PacketDigest) -> bool:
    """True when the PDF (possibly with signature revisions appended) starts with the manifest's packet."""
    if len(pdf_bytes) < digest.size:
        return False
    return hashlib.sha256(pdf_bytes[: digest.size]).hexdigest() == digest.sha256
