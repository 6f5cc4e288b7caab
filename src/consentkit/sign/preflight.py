"""What is checked before a signature is added to a packet: the file is a PDF, it is the packet its manifest
describes and not a draft, every signature already in it is intact with nothing appended after the last, the role
signs in the profile's order, and (before the seal) no signer's certificate has expired. Each refusal is a
:class:`RefusedError` or :class:`InputError` naming the file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from consentkit.errors import InputError, RefusedError, SourceLocation
from consentkit.manifest import Manifest, prefix_matches
from consentkit.pki import common_name
from consentkit.sign import byteranges
from consentkit.sign.profile import SigningProfile
from consentkit.sign.state import PacketState, required_order


def read_pdf(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError("no such file", location=SourceLocation(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", location=SourceLocation(path)) from exc
    if not data.startswith(b"%PDF-"):
        raise InputError("not a PDF file", location=SourceLocation(path))
    return data


def check_manifest(manifest: Manifest, data: bytes, pdf: Path, manifest_file: Path) -> None:
    if manifest.draft:
        raise RefusedError(f"{pdf} is a draft packet (manifest 'draft': true); drafts are never signed")
    if manifest.packet is None:
        raise InputError("the manifest has no packet hash", location=SourceLocation(manifest_file, None, "packet"))
    if not prefix_matches(data, manifest.packet):
        raise RefusedError(
            f"{pdf} does not start with the packet described by {manifest_file} "
            f"(sha256 {manifest.packet.sha256[:16]}…, {manifest.packet.size} bytes): a different or altered file"
        )


MAKE_NEW = "Run 'consentkit verify' on it, and make a new packet."


def check_existing_signatures(data: bytes, pdf: Path) -> list[byteranges.RawSignature]:
    """Every signature already in the file must still be intact: its signed bytes hash to what it signed and its
    CMS signature verifies (the cheap check, from the bytes alone; chains and long-term validation are left to
    ``verify``). Bytes after the last signature are refused too: nothing but a signature is appended to a signed
    packet. Returns the signatures found."""
    raw = byteranges.scan(data)
    broken = [s for s in raw if s.problem is not None]
    if broken:
        names = byteranges.field_names(data, raw)
        listed = [f"{names.get(s.offset, f'signature {raw.index(s) + 1} of {len(raw)}')} ({s.problem})" for s in broken]
        raise RefusedError(
            f"{pdf} was changed after it was signed, so it is not signed again: {'; '.join(listed)}. {MAKE_NEW}"
        )
    if raw and len(data) > max(s.end for s in raw):
        last = max(raw, key=lambda s: s.end)
        name = byteranges.field_names(data, raw).get(last.offset, "the last signature")
        raise RefusedError(
            f"{pdf} was changed after it was signed, so it is not signed again: {len(data) - last.end} byte(s) were "
            f"added after {name}. {MAKE_NEW}"
        )
    return raw


def check_order(
    profile: SigningProfile, manifest: Manifest, state: PacketState, role: str, expected: str | None
) -> None:
    if expected is None:
        raise RefusedError("the packet is already sealed; nothing more can be signed")
    if role == expected:
        return
    order = required_order(profile, manifest)
    if role in state.signed_roles(profile):
        raise RefusedError(f"the {role} has already signed this packet")
    if role == "seal":
        raise RefusedError(f"the packet cannot be sealed yet: the {expected} has not signed")
    if role not in order:
        raise RefusedError(f"'{role}' does not sign this packet (signers: {', '.join(order)})")
    raise RefusedError(f"the {expected} signs before the {role} (order: {' → '.join(order)})")


def check_signers_still_valid(data: bytes, now: dt.datetime) -> None:
    """The seal's validation data must be gathered while every signer's certificate is valid, or long-term
    validation of that signature fails later (see docs/signing.md on one-time certificates)."""
    for sig in byteranges.scan(data):
        cert = sig.signer_cert
        if cert is not None and not sig.is_timestamp and cert.not_valid_after_utc < now:
            raise RefusedError(
                f"the certificate of {common_name(cert)} expired on {cert.not_valid_after_utc:%Y-%m-%d}; the packet "
                "can no longer be sealed for long-term validation: make a new packet and sign it again"
            )
