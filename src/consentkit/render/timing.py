"""Dates in the patient's documents: durations from the spec (``7d``, ``8h``, ``3mo``) applied to the planned
procedure time, shown in the clinic's time zone with the zone named."""

from __future__ import annotations

import calendar
import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from consentkit.render.i18n import N_, Translator
from consentkit.spec.models import duration_parts

UNIT_WORDS = {
    "h": (N_("%(n)s hour"), N_("%(n)s hours")),
    "d": (N_("%(n)s day"), N_("%(n)s days")),
    "w": (N_("%(n)s week"), N_("%(n)s weeks")),
    "mo": (N_("%(n)s month"), N_("%(n)s months")),
    "y": (N_("%(n)s year"), N_("%(n)s years")),
}


def shift(moment: dt.datetime, duration: str, sign: int, zone: ZoneInfo) -> dt.datetime:
    """``moment`` ± ``duration``; days, weeks, months and years move on the clinic's calendar (same wall-clock
    time), hours move on the absolute time line. Returns an aware datetime in ``zone``."""
    amount, unit = duration_parts(duration)
    local = moment.astimezone(zone)
    if unit == "h":
        return (moment + sign * dt.timedelta(hours=amount)).astimezone(zone)
    if unit in ("d", "w"):
        days = amount * (7 if unit == "w" else 1)
        day = local.date() + sign * dt.timedelta(days=days)
    else:
        months = amount * (12 if unit == "y" else 1) * sign
        index = local.year * 12 + (local.month - 1) + months
        year, month = divmod(index, 12)
        month += 1
        day = dt.date(year, month, min(local.day, calendar.monthrange(year, month)[1]))
    return dt.datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=zone)


def is_timed(duration: str) -> bool:
    """Hour-based durations carry a time of day; the others a calendar date."""
    return duration_parts(duration)[1] == "h"


def span_words(duration: str, t: Translator) -> str:
    amount, unit = duration_parts(duration)
    one, many = UNIT_WORDS[unit]
    return t(one if amount == 1 else many, n=amount)


class Clock:
    """Formats dates and times in one locale and the clinic's zone."""

    def __init__(self, t: Translator, zone: ZoneInfo) -> None:
        self.t = t
        self.zone = zone

    def date(self, value: dt.date | dt.datetime) -> str:
        if isinstance(value, dt.datetime):
            value = value.astimezone(self.zone)
        return _babel("skeleton", "yMMMEd", value, _tz(value), self.t.babel_locale)

    def plain_date(self, value: dt.date) -> str:
        return _babel("skeleton", "yMMMd", value, _tz(value), self.t.babel_locale)

    def time(self, value: dt.datetime) -> str:
        local = value.astimezone(self.zone)
        return _babel("time", "HH:mm", local, local.tzinfo, self.t.babel_locale)

    def zone_name(self, at: dt.datetime) -> str:
        local = at.astimezone(self.zone)
        return _babel("zone", "", local, local.tzinfo, self.t.babel_locale)

    def time_and_zone(self, value: dt.datetime) -> str:
        """ "14:30 (China Standard Time)"."""
        return self.t(N_("%(time)s (%(zone)s)"), time=self.time(value), zone=self.zone_name(value))

    def datetime(self, value: dt.datetime) -> str:
        """ "Tue, 8 Dec 2026, 14:30 (China Standard Time)"."""
        return self.t(
            N_("%(date)s, %(time)s (%(zone)s)"),
            date=self.date(value),
            time=self.time(value),
            zone=self.zone_name(value),
        )


def _tz(value: dt.date | dt.datetime) -> object:
    return value.tzinfo if isinstance(value, dt.datetime) else None


@lru_cache(maxsize=4096)
def _babel(kind: str, pattern: str, value: dt.date | dt.datetime, tz: object, locale: str) -> str:
    """Babel's formatting, kept per (value, zone, locale): a pure function of these (``tz`` is part of the key
    because aware datetimes of one instant in two zones compare equal), and a view formats each follow-up date
    several times at 0.1 ms a call."""
    from babel.dates import format_skeleton, format_time, get_timezone_name

    if kind == "skeleton":
        return str(format_skeleton(pattern, value, locale=locale))
    assert isinstance(value, dt.datetime)
    if kind == "time":
        return str(format_time(value, pattern, locale=locale))
    return str(get_timezone_name(value, locale=locale))
