from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from consentkit.cooling_off import CoolingOffPeriod

TAIPEI = ZoneInfo("Asia/Taipei")


def test_days_are_24_hour_periods() -> None:
    signed = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    period = CoolingOffPeriod(14, False, "policy")
    assert period.earliest(signed, TAIPEI) == dt.datetime(2026, 12, 15, 10, 0, tzinfo=dt.UTC)
    assert not period.satisfied(signed, signed + dt.timedelta(days=14, seconds=-1), TAIPEI)
    assert period.satisfied(signed, signed + dt.timedelta(days=14), TAIPEI)


def test_not_same_day_uses_the_clinic_calendar() -> None:
    # 23:30 in Taipei on 1 December is 15:30 UTC; the next local day starts 30 minutes later.
    signed = dt.datetime(2026, 12, 1, 23, 30, tzinfo=TAIPEI)
    period = CoolingOffPeriod(0, True, "policy")
    assert period.earliest(signed, TAIPEI) == dt.datetime(2026, 12, 2, 0, 0, tzinfo=TAIPEI)
    assert not period.satisfied(signed, dt.datetime(2026, 12, 1, 23, 59, tzinfo=TAIPEI), TAIPEI)


def test_describe_in_three_locales() -> None:
    period = CoolingOffPeriod(15, False, "policy")
    assert "15 天" in period.describe("zh-CN")
    assert "15 days" in period.describe("en")
    assert "不能在簽署當天" in CoolingOffPeriod(0, True, "policy").describe("zh-TW")
