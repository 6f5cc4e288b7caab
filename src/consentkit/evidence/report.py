"""What ``verify-evidence`` found: the one-sentence verdict, the anchors it relied on, the problems and notes, and
the facts behind the verdict (head, events, signatures, approvals, cooling-off times)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from consentkit.cooling_off import CoolingOffPeriod
from consentkit.evidence.history import LoggedEvent
from consentkit.evidence.timeline import Moment


@dataclass(frozen=True)
class Anchor:
    what: str  # "trust root" or "audit-log key"
    name: str
    fingerprint: str  # SHA-256, hex
    pinned: bool
    source: str


@dataclass(frozen=True)
class ApprovalSeen:
    review: str
    reviewer: str
    reviewer_id: str
    approved_at: dt.datetime
    statement_verified: bool


@dataclass
class EvidenceReport:
    bundle: str
    verdict: str = "not-proven"  # "kept" | "too-early" | "no-start" | "not-proven"
    sentence: str = ""
    case_id: str = ""
    packet_id: str = ""
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    anchors: list[Anchor] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    head: dict[str, Any] = field(default_factory=dict)
    events: list[LoggedEvent] = field(default_factory=list)
    timeline: list[Moment] = field(default_factory=list)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    approvals: list[ApprovalSeen] = field(default_factory=list)
    period: CoolingOffPeriod | None = None
    consent_signed_at: dt.datetime | None = None
    earliest: dt.datetime | None = None
    procedure_at: dt.datetime | None = None
    procedure_source: str = ""
    checked_in_after: dt.datetime | None = None  # RFC 3161 lower bound on the check-in that let it start
    recorded_before: dt.datetime | None = None  # RFC 3161 upper bound on when the start was recorded

    @property
    def ok(self) -> bool:
        return self.verdict == "kept" and not self.problems

    def to_dict(self) -> dict[str, Any]:
        def t(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "bundle": self.bundle,
            "ok": self.ok,
            "verdict": self.verdict,
            "sentence": self.sentence,
            "case_id": self.case_id,
            "packet_id": self.packet_id,
            "timezone": self.zone.key,
            "anchors": [a.__dict__ for a in self.anchors],
            "problems": self.problems,
            "notes": self.notes,
            "head": self.head,
            "events": [{"index": e.index, "type": e.type, "leaf": e.leaf.hex()} for e in self.events],
            "timeline": [
                {"what": m.key, "time": t(m.time), "source": m.source, "event": m.index} for m in self.timeline
            ],
            "signatures": self.signatures,
            "approvals": [
                {
                    "review": a.review,
                    "reviewer": a.reviewer,
                    "reviewer_id": a.reviewer_id,
                    "approved_at": t(a.approved_at),
                    "statement_verified": a.statement_verified,
                }
                for a in self.approvals
            ],
            "cooling_off": {
                "days": self.period.days if self.period else None,
                "not_same_day": self.period.not_same_day if self.period else None,
                "consent_signed_at": t(self.consent_signed_at),
                "earliest_start": t(self.earliest),
                "procedure_at": t(self.procedure_at),
                "procedure_time_from": self.procedure_source,
                "checked_in_after": t(self.checked_in_after),
                "start_recorded_before": t(self.recorded_before),
            },
        }
