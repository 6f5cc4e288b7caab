"""What verifying a signed packet reports (:func:`consentkit.sign.verify.verify_packet`): one check per signature or
document timestamp, and the packet's verdict with the reasons first. ``VerificationReport.to_dict`` is the
``consentkit verify --json`` form."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from typing import Any

from consentkit.sign import byteranges


@dataclass
class TimestampCheck:
    time: dt.datetime | None
    tsa: str
    intact: bool
    valid: bool
    trusted: bool


@dataclass
class SignatureCheck:
    field: str
    role: str | None  # profile role, "seal" or "document-timestamp"; None for a field the profile does not know
    kind: str  # "signature" or "document-timestamp"
    revision: int  # 0 is the unsigned packet
    byte_range: tuple[int, int, int, int]
    signer: str = ""
    signer_subject: str = ""
    certificate_sha256: str = ""
    chain: list[str] = dc_field(default_factory=list)
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    timestamp: TimestampCheck | None = None
    docmdp: str | None = None  # what a certification signature allows later
    locks_fields: bool = False
    modification: str = "unknown"  # what the revisions after this signature changed
    modifications_allowed: bool = False
    covers_whole_file: bool = False
    covers_revision: bool = False
    pades_level: str = "none"
    ltv: bool = False
    ltv_indication: str = ""
    binding: str | None = None  # one-time certificate: what it is bound to
    problems: list[str] = dc_field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class VerificationReport:
    path: str
    sha256: str
    size: int
    checked_at: dt.datetime
    signatures: list[SignatureCheck]
    uncovered: list[byteranges.Uncovered]
    required_roles: list[str]
    signed_roles: list[str]
    missing_roles: list[str]
    sealed: bool
    pades_level: str
    manifest: str | None
    packet_matches: bool | None
    reasons: list[str]
    notes: list[str] = dc_field(default_factory=list)  # about the check itself, e.g. a pyHanko fix not applied

    @property
    def ok(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        result: dict[str, Any] = _jsonable(data)
        return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value
