from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from consentkit import cooling_off
from consentkit.cooling_off import CoolingOffPeriod
from consentkit.render.i18n import catalogue_path, translator
from consentkit.resources import builtin_dir

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


def test_wording_comes_from_the_catalogues(tmp_path: Path) -> None:
    """The rule's wording is a gettext message with plural forms; a workspace's catalogue changes it."""
    assert CoolingOffPeriod(1, False, "spec").describe("en") == "at least 1 day (24 hours) after the patient signs"
    assert CoolingOffPeriod(2, True, "spec").describe("en") == (
        "at least 2 days (48 hours) after the patient signs, and not on the day of signing"
    )
    assert CoolingOffPeriod(1, False, "spec").describe("zh-CN") == "患者签署后至少 1 天（24 小时）"
    source = catalogue_path(builtin_dir("templates"), "zh-CN")
    text = source.read_text(encoding="utf-8").replace("患者签署后至少 %(n)s 天", "签字后至少等 %(n)s 天")
    own = catalogue_path(tmp_path, "zh-CN")
    own.parent.mkdir(parents=True)
    own.write_text(text, encoding="utf-8")
    t = translator((tmp_path, builtin_dir("templates")), "zh-CN")
    assert CoolingOffPeriod(3, False, "spec").describe("zh-CN", t) == "签字后至少等 3 天（72 小时）"


def test_cooling_off_wording_is_not_in_the_code() -> None:
    code = (Path(cooling_off.__file__)).read_text(encoding="utf-8")
    for fixed in ("签署", "簽署", "小时", "小時"):
        assert fixed not in code


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt is not installed (bootstrap.sh)")
def test_msgfmt_accepts_every_catalogue() -> None:
    """GNU gettext's own check: header present and well formed, formats and plural forms consistent. The .pot's
    header keeps the template's placeholders (translator, team), which msgfmt only warns about."""
    root = builtin_dir("templates") / "i18n"
    files = [root / "consentkit.pot", *sorted(root.glob("*/LC_MESSAGES/consentkit.po"))]
    assert len(files) == 4
    for path in files:
        result = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        if path.suffix == ".po":
            assert result.stderr == "", result.stderr
