"""The patient's calendar (RFC 5545): structure, folding, escaping, dates in the clinic's zone."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from consentkit.render.i18n import translator
from consentkit.render.ics import calendar_text, escape_text, events_for, fold
from consentkit.resources import builtin_dir
from consentkit.spec.library import load_library

SPEC = load_library([builtin_dir("procedures")]).procedure("botulinum-toxin").model
ZONE = ZoneInfo("Asia/Shanghai")
PLANNED = dt.datetime(2026, 12, 8, 14, 30, tzinfo=ZONE)
STAMP = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def _calendar(zone: ZoneInfo = ZONE, locale: str = "en") -> str:
    t = translator((builtin_dir("templates"),), locale)
    events = events_for(
        SPEC,
        PLANNED.astimezone(dt.UTC),
        zone,
        t,
        "PK-1",
        lambda cond: cond is None or "upper" in cond,
        "+86 21 5555 0100",
    )
    return calendar_text(events, zone, STAMP, name="Botulinum toxin", lang=locale)


def _unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def test_lines_end_with_crlf_and_fit_75_octets() -> None:
    text = _calendar(locale="zh-CN")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75


def test_structure_and_events() -> None:
    lines = _unfold(_calendar())
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT")
    uids = [line for line in lines if line.startswith("UID:")]
    assert len(uids) == len(set(uids)) == lines.count("BEGIN:VEVENT")
    assert all(re.fullmatch(r"DTSTAMP:\d{8}T\d{6}Z", line) for line in lines if line.startswith("DTSTAMP"))
    assert "TZID:Asia/Shanghai" in lines  # VTIMEZONE for a zone without daylight saving
    assert "DTSTART;TZID=Asia/Shanghai:20261208T143000" in lines  # the procedure
    assert "DTSTART;VALUE=DATE:20261201" in lines  # stop aspirin 7 days before
    assert "DTSTART;VALUE=DATE:20261207" in lines  # no alcohol 1 day before
    assert "DTSTART;VALUE=DATE:20261222" in lines  # 2-week visit
    assert "DTSTART;VALUE=DATE:20270308" in lines  # 3-month call
    assert "DTEND;TZID=Asia/Shanghai:20261208T183000" in lines  # stay upright for 4 hours
    assert any(line.startswith("SUMMARY;LANGUAGE=en:Follow-up visit:") for line in lines)
    assert any(line.startswith("SUMMARY;LANGUAGE=en:Phone call from the clinic:") for line in lines)


def test_daylight_saving_zone_uses_utc() -> None:
    text = _calendar(ZoneInfo("Europe/London"))
    assert "BEGIN:VTIMEZONE" not in text
    assert re.search(r"DTSTART:\d{8}T\d{6}Z", text)


def test_escaping() -> None:
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


@given(st.text(min_size=0, max_size=400))
def test_fold_round_trips_without_splitting_characters(value: str) -> None:
    value = value.replace("\r", "").replace("\n", "")
    folded = fold("DESCRIPTION:" + value)
    for line in folded.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    assert folded.replace("\r\n ", "") == "DESCRIPTION:" + value
