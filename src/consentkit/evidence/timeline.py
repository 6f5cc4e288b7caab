"""What happened to a case, in order, from its audit events: the moments the disclosure certificate draws and
``verify-evidence`` prints, and the cooling-off judgement both state.

Times: a signature's moment is its RFC 3161 time (``tsa_time``), a check-in's and a start's the time the gate
judged (``at``), everything else the time the event was logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from consentkit.cooling_off import CoolingOffPeriod
from consentkit.evidence.history import LoggedEvent

LABELS: dict[str, dict[str, str]] = {
    "packet.generated": {"zh-CN": "生成告知文件", "zh-TW": "產生告知文件", "en": "Packet generated"},
    "presented.printed": {
        "zh-CN": "告知文件交给患者（纸质）",
        "zh-TW": "告知文件交給病人（紙本）",
        "en": "Disclosure handed over (printed)",
    },
    "presented.screen": {
        "zh-CN": "在屏幕上向患者展示告知文件",
        "zh-TW": "在螢幕上向病人展示告知文件",
        "en": "Disclosure shown on screen",
    },
    "signed.clinic": {"zh-CN": "诊所认证签名", "zh-TW": "診所認證簽名", "en": "Clinic certified the packet"},
    "signed.physician": {
        "zh-CN": "医生签名（已告知）",
        "zh-TW": "醫師簽名（已說明）",
        "en": "Physician signed (disclosure given)",
    },
    "signed.patient": {"zh-CN": "患者签名（同意）", "zh-TW": "病人簽名（同意）", "en": "Patient signed (consent)"},
    "signed.guardian": {
        "zh-CN": "监护人签名（同意）",
        "zh-TW": "法定代理人簽名（同意）",
        "en": "Guardian signed (consent)",
    },
    "signed.witness": {"zh-CN": "见证人签名", "zh-TW": "見證人簽名", "en": "Witness signed"},
    "signed.seal": {"zh-CN": "诊所封存签章", "zh-TW": "診所封存簽章", "en": "Clinic sealed the packet"},
    "signed.document-timestamp": {
        "zh-CN": "文档时间戳（文件完成）",
        "zh-TW": "文件時間戳（文件完成）",
        "en": "Document timestamp (packet complete)",
    },
    "signed.archive-timestamp": {
        "zh-CN": "归档时间戳续期",
        "zh-TW": "歸檔時間戳續期",
        "en": "Archival timestamp renewed",
    },
    "cooling-off.ends": {"zh-CN": "考虑期结束", "zh-TW": "考慮期結束", "en": "Cooling-off period ends"},
    "checkin.refused": {"zh-CN": "术前核查：未通过", "zh-TW": "術前核查：未通過", "en": "Check-in refused"},
    "checkin.pass": {"zh-CN": "术前核查：通过", "zh-TW": "術前核查：通過", "en": "Check-in passed"},
    "procedure.started": {"zh-CN": "手术开始", "zh-TW": "手術開始", "en": "Procedure started"},
}


@dataclass(frozen=True)
class Moment:
    key: str  # a LABELS key
    time: dt.datetime  # UTC
    source: str  # "tsa", "check-in" or "log"
    index: int | None = None  # audit event index, None for a computed moment (the end of the cooling-off period)

    def label(self, locale: str) -> str:
        return LABELS[self.key].get(locale) or LABELS[self.key]["en"]


def moments(events: Sequence[LoggedEvent]) -> list[Moment]:
    """The case's moments in time order (events of other types are left out)."""
    found: list[Moment] = []
    for e in events:
        data: Any = getattr(e.event, "data", None)
        if e.type == "packet.generated":
            found.append(Moment("packet.generated", e.time, "log", e.index))
        elif e.type == "disclosure.presented":
            found.append(Moment(f"presented.{data.how}", e.time, "log", e.index))
        elif e.type == "document.signed":
            role = (
                "seal"
                if data.field.endswith("-seal")
                else "document-timestamp"
                if data.field.endswith("-timestamp")
                else data.role
            )
            found.append(Moment(f"signed.{role}", data.tsa_time, "tsa", e.index))
        elif e.type == "document.timestamped":
            found.append(Moment("signed.archive-timestamp", data.tsa_time, "tsa", e.index))
        elif e.type == "procedure.checkin":
            found.append(Moment(f"checkin.{data.outcome}", data.at, "check-in", e.index))
        elif e.type == "procedure.started":
            found.append(Moment("procedure.started", data.at, "check-in", e.index))
    return sorted(found, key=lambda m: (m.time, m.index if m.index is not None else -1))


# a recorded start may be this much later than the RFC 3161 time of the head after it, or earlier than that of the
# head before its check-in (clock differences, as a head's own time may lead or trail its token), and no more
START_SKEW = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class CoolingOff:
    """The cooling-off judgement: consent signed at ``signed_at`` (RFC 3161), earliest start ``earliest``, start
    ``started``; and what RFC 3161 times prove about the check-in that let it start: it happened after
    ``checked_in_after`` (the token of the head it names) and the start was recorded before ``recorded_before``
    (the token of the first head that holds it). ``given``: the start time came from the reader (the operating
    record), not from the log."""

    period: CoolingOffPeriod
    signed_at: dt.datetime | None
    earliest: dt.datetime | None
    started: dt.datetime | None
    checked_in_after: dt.datetime | None = None
    recorded_before: dt.datetime | None = None
    given: bool = False

    @property
    def verdict(self) -> str:
        """``kept`` (proven), ``too-early``, ``ahead`` (the start was recorded before the time it names),
        ``early-checkin`` (the check-in provably happened only before the period ended), ``before-checkin`` (the
        start was recorded for a time before the RFC 3161 time the check-in provably followed: the procedure did
        not provably follow the gate), ``unbounded`` (no RFC 3161 time bounds the check-in from below), ``no-start``
        or ``unsigned``."""
        if self.signed_at is None or self.earliest is None:
            return "unsigned"
        if self.started is None:
            return "no-start"
        if self.started < self.earliest:
            return "too-early"
        if self.given:
            return "kept"
        if self.recorded_before is not None and self.started > self.recorded_before + START_SKEW:
            return "ahead"
        if self.checked_in_after is None:
            return "unbounded"
        if self.started < self.checked_in_after - START_SKEW:
            return "before-checkin"
        if self.checked_in_after < self.earliest:
            return "early-checkin"
        return "kept"

    @property
    def satisfied(self) -> bool | None:
        """True when the period provably passed, False when the start came too early, None otherwise (no start
        yet, or not proven)."""
        verdict = self.verdict
        return True if verdict == "kept" else False if verdict == "too-early" else None

    @property
    def elapsed(self) -> dt.timedelta | None:
        if self.signed_at is None or self.started is None:
            return None
        return self.started - self.signed_at


def cooling_off(
    period: CoolingOffPeriod,
    signed_at: dt.datetime | None,
    started: dt.datetime | None,
    zone: ZoneInfo,
    *,
    checked_in_after: dt.datetime | None = None,
    recorded_before: dt.datetime | None = None,
    given: bool = False,
) -> CoolingOff:
    earliest = period.earliest(signed_at, zone) if signed_at is not None else None
    return CoolingOff(period, signed_at, earliest, started, checked_in_after, recorded_before, given)


def consent_time(events: Sequence[LoggedEvent], roles: Sequence[str]) -> dt.datetime | None:
    """The latest logged RFC 3161 time of the consenting signatures (patient, guardian) among ``roles``."""
    wanted = [r for r in ("patient", "guardian") if r in roles]
    times: dict[str, dt.datetime] = {}
    for e in events:
        if e.type == "document.signed" and e.event.data.role in wanted:
            times[e.event.data.role] = e.event.data.tsa_time
    if not wanted or any(r not in times for r in wanted):
        return None
    return max(times.values())


def started_at(events: Sequence[LoggedEvent]) -> dt.datetime | None:
    found = [e for e in events if e.type == "procedure.started"]
    return found[-1].event.data.at if found else None
