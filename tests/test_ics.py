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
    locales = locale.split("+")
    events = events_for(
        SPEC,
        PLANNED.astimezone(dt.UTC),
        zone,
        [translator((builtin_dir("templates"),), loc) for loc in locales],
        "PK-1",
        lambda cond: cond is None or "upper" in cond,
        "+86 21 5555 0100",
    )
    return calendar_text(events, zone, STAMP, name="Botulinum toxin", lang=locale if len(locales) == 1 else None)


def _event(lines: list[str], uid: str) -> list[str]:
    start = lines.index(f"UID:{uid}@consentkit")
    return lines[start : lines.index("END:VEVENT", start)]


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


def test_day_based_aftercare_covers_its_last_day() -> None:
    """ "No rubbing for 1 day" after a procedure on 8 Dec lasts until 9 Dec (the care guide's date): DTEND is
    exclusive, so the all-day event ends on 10 Dec; a 7-day rule runs to 15 Dec, DTEND 16 Dec."""
    lines = _unfold(_calendar())
    rubbing = _event(lines, "PK-1-care-no-rubbing")
    assert "DTSTART;VALUE=DATE:20261208" in rubbing and "DTEND;VALUE=DATE:20261210" in rubbing
    others = _event(lines, "PK-1-care-other-treatments")
    assert "DTSTART;VALUE=DATE:20261208" in others and "DTEND;VALUE=DATE:20261216" in others
    upright = _event(lines, "PK-1-care-stay-upright")  # hour-based: a timed event ending 4 hours later
    assert "DTEND;TZID=Asia/Shanghai:20261208T183000" in upright


def test_bilingual_calendar_carries_both_languages() -> None:
    lines = _unfold(_calendar(locale="zh-CN+en"))
    rubbing = _event(lines, "PK-1-care-no-rubbing")
    summary = next(line for line in rubbing if line.startswith("SUMMARY"))
    assert summary.startswith("SUMMARY:术后护理") and " / Aftercare: " in summary, summary
    description = next(line for line in rubbing if line.startswith("DESCRIPTION"))
    assert "\\n" in description and "rub" in description
    assert not any(";LANGUAGE=" in line for line in lines)
    visit = next(line for line in lines if line.startswith("SUMMARY:") and "Follow-up visit:" in line)
    assert "复诊" in visit
