"""RFC 8785 canonical JSON and the hashes that approvals, packets and the audit log pin."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785
from pydantic import BaseModel


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON-compatible value or a pydantic model."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    return bytes(rfc8785.dumps(value))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hash(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value`` — the identity of a spec version's content."""
    return "sha256:" + sha256_hex(canonical_json(value))
