"""Where a packet is in its signing: which fields exist, which are signed, whether it is sealed."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from consentkit.errors import InputError
from consentkit.manifest import Manifest
from consentkit.sign.profile import SigningProfile


@dataclass(frozen=True)
class PacketState:
    signed_fields: tuple[str, ...]  # in signing order
    empty_fields: tuple[str, ...]
    document_timestamps: int
    revisions: int

    def signed_roles(self, profile: SigningProfile) -> list[str]:
        return [r for f in self.signed_fields if (r := profile.role_for_field(f)) is not None]

    def sealed(self, profile: SigningProfile) -> bool:
        return profile.seal is not None and profile.seal.field in self.signed_fields


def read_state(data: bytes, source: str) -> PacketState:
    """The signature fields of a PDF; an unreadable PDF is an InputError naming ``source``."""
    return open_state(data, source)[1]


def open_state(data: bytes, source: str) -> tuple[Any, PacketState]:
    """A pyHanko reader over ``data`` (reusable by an incremental writer: pass ``prev=reader`` with the reader's
    ``stream``) and the signature fields it shows."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
        signed = tuple(s.field_name for s in sorted(signatures, key=lambda s: s.signed_revision))
        empty = tuple(name for name, _value, _ref in enumerate_sig_fields(reader, filled_status=False))
        timestamps = len(reader.embedded_timestamp_signatures)
        revisions = reader.xrefs.total_revisions
    except (PdfError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise InputError(f"{source}: not a readable PDF ({type(exc).__name__}: {exc})") from exc
    return reader, PacketState(signed, empty, timestamps, revisions)


def required_order(profile: SigningProfile, manifest: Manifest) -> list[str]:
    return profile.order(manifest.required_roles)


def next_role(profile: SigningProfile, manifest: Manifest, state: PacketState) -> str | None:
    """The role that signs next, "seal" when every role has signed, None when the packet is sealed."""
    if state.sealed(profile):
        return None
    done = set(state.signed_roles(profile))
    for role in required_order(profile, manifest):
        if role not in done:
            return role
    return "seal" if profile.seal is not None else None
