"""The cooling-off (reflection) period between the patient's signed disclosure and the procedure.

The period that applies is the longer of the spec's and the jurisdiction policy's for the procedure's category,
and a policy may also forbid the calendar day of signing (Taiwan: "not the same day as the explanation"). Days are
whole 24-hour periods from the time the patient's signature was timestamped; calendar days are the clinic's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from consentkit.spec.models import Policy, ProcedureSpec


@dataclass(frozen=True)
class CoolingOffPeriod:
    days: int
    not_same_day: bool
    source: str  # which rule set the length: "spec", "policy" or "spec and policy"

    def earliest(self, signed_at: dt.datetime, zone: ZoneInfo) -> dt.datetime:
        """The first moment the procedure may start, for a signature timestamped at ``signed_at`` (aware)."""
        if signed_at.tzinfo is None:
            raise ValueError("signed_at must be timezone-aware")
        earliest = signed_at + dt.timedelta(days=self.days)
        if self.not_same_day:
            local = signed_at.astimezone(zone)
            next_midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
            earliest = max(earliest, next_midnight)
        return earliest.astimezone(dt.UTC)

    def satisfied(self, signed_at: dt.datetime, procedure_at: dt.datetime, zone: ZoneInfo) -> bool:
        return procedure_at >= self.earliest(signed_at, zone)

    def describe(self, locale: str) -> str:
        """The rule in words, e.g. "14 days after the patient signs"."""
        zh_cn, zh_tw, en = _describe(self.days, self.not_same_day)
        return {"zh-CN": zh_cn, "zh-TW": zh_tw}.get(locale, en)


def _describe(days: int, not_same_day: bool) -> tuple[str, str, str]:
    if days == 0 and not not_same_day:
        return ("签署后即可进行，无强制等待期", "簽署後即可進行，無強制等待期", "no waiting period after signing")
    if days == 0:
        return ("不能在签署当天进行", "不能在簽署當天進行", "not on the same day as signing")
    tail_cn = "，且不能在签署当天" if not_same_day else ""
    tail_tw = "，且不能在簽署當天" if not_same_day else ""
    tail_en = ", and not on the day of signing" if not_same_day else ""
    unit_en = "day" if days == 1 else "days"
    return (
        f"患者签署后至少 {days} 天（{days * 24} 小时）{tail_cn}",
        f"病人簽署後至少 {days} 天（{days * 24} 小時）{tail_tw}",
        f"at least {days} {unit_en} ({days * 24} hours) after the patient signs{tail_en}",
    )


def cooling_off_period(spec: ProcedureSpec, policy: Policy) -> CoolingOffPeriod:
    spec_days = spec.cooling_off.days if spec.cooling_off else 0
    rule = policy.cooling_off_for(spec.category)
    days = max(spec_days, rule.days)
    source = "spec and policy" if spec_days == rule.days else "spec" if spec_days > rule.days else "policy"
    return CoolingOffPeriod(days, rule.not_same_day, source)
