"""Dates in the patient's documents: durations from the spec (``7d``, ``8h``, ``3mo``) applied to the planned
procedure time, shown in the clinic's time zone with the zone named."""

from __future__ import annotations

import calendar
import datetime as dt
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
        from babel.dates import format_skeleton

        if isinstance(value, dt.datetime):
            value = value.astimezone(self.zone)
        return str(format_skeleton("yMMMEd", value, locale=self.t.babel_locale))

    def plain_date(self, value: dt.date) -> str:
        from babel.dates import format_skeleton

        return str(format_skeleton("yMMMd", value, locale=self.t.babel_locale))

    def time(self, value: dt.datetime) -> str:
        from babel.dates import format_time

        return str(format_time(value.astimezone(self.zone), "HH:mm", locale=self.t.babel_locale))

    def zone_name(self, at: dt.datetime) -> str:
        from babel.dates import get_timezone_name

        return str(get_timezone_name(at.astimezone(self.zone), locale=self.t.babel_locale))

    def datetime(self, value: dt.datetime) -> str:
        """ "Tue, 8 Dec 2026, 14:30 (China Standard Time)"."""
        return self.t(
            N_("%(date)s, %(time)s (%(zone)s)"),
            date=self.date(value),
            time=self.time(value),
            zone=self.zone_name(value),
        )
