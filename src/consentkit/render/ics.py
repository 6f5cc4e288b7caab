"""The patient's calendar (RFC 5545): the procedure, every dated preparation step, every timed aftercare rule and
every follow-up visit or call, in the clinic's time zone.

Written by hand (it is a small, fixed shape): CRLF line ends, lines folded at 75 octets without splitting a UTF-8
character, TEXT values escaped, a stable UID per event, DTSTAMP in UTC. Timed events carry TZID with a VTIMEZONE
when the zone keeps one UTC offset over the events' years (Asia/Shanghai, Asia/Taipei); otherwise they are written
in UTC, which every calendar shows in the reader's zone. Day-based items are all-day events on the clinic's dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from consentkit.render.i18n import N_, Translator
from consentkit.render.labels import pick
from consentkit.render.timing import is_timed, shift
from consentkit.spec.models import ProcedureSpec, duration_hours


@dataclass(frozen=True)
class Event:
    uid: str
    summary: str
    description: str
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date
    alarm_before: dt.timedelta | None = None


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line into chunks of at most 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    out: list[str] = []
    current = ""
    size = 0
    limit = 75
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += ch
        size += width
    out.append(current)
    return "\r\n".join(out)


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _fixed_offset(zone: ZoneInfo, moments: list[dt.datetime]) -> dt.timedelta | None:
    """The zone's single UTC offset over the years of ``moments``, or None if it changes (daylight saving)."""
    years = {m.astimezone(zone).year for m in moments}
    offsets = set()
    for year in range(min(years) - 1, max(years) + 2):
        for month in (1, 4, 7, 10):
            offsets.add(dt.datetime(year, month, 1, 12, tzinfo=zone).utcoffset())
    offsets.update(m.astimezone(zone).utcoffset() for m in moments)
    return offsets.pop() if len(offsets) == 1 else None


def _offset_text(offset: dt.timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def _each(translators: Sequence[Translator], sep: str, message: str | None, **params: str | Mapping[str, str]) -> str:
    """``message`` (or, without one, the ``text`` parameter) in each of the packet's locales, joined by ``sep``
    (a bilingual packet's calendar carries both languages); spec texts (locale maps) are picked per locale."""
    out = []
    for t in translators:
        values = {k: v if isinstance(v, str) else pick(v, t.locale) for k, v in params.items()}
        out.append(t(message, **values) if message else values["text"])
    return sep.join(dict.fromkeys(out))


def aftercare_end(planned_at: dt.datetime, lasts: str, zone: ZoneInfo) -> dt.datetime | dt.date:
    """When a rule that lasts ``lasts`` from the procedure ends, as the care guide prints it ("for 1 day, until
    Wed, 9 Dec 2026"): a moment for hour-based rules, else the last calendar day it still applies."""
    end = shift(planned_at, lasts, +1, zone)
    return end if is_timed(lasts) else end.date()


def events_for(
    spec: ProcedureSpec,
    planned_at: dt.datetime,
    zone: ZoneInfo,
    translators: Sequence[Translator],
    packet_id: str,
    applies: object,
    clinic_phone: str,
) -> list[Event]:
    """Every calendar event of a patient's packet, its texts in each of the packet's locales. ``applies`` is
    ``ResolvedCase.applies``. Day-based events are all-day and their DTEND is exclusive, so a rule printed
    "until 9 Dec" ends on 10 Dec 00:00: the calendar shows the same days as the care guide."""
    assert callable(applies)
    local = planned_at.astimezone(zone)
    one_day = dt.timedelta(days=1)
    events = [
        Event(
            f"{packet_id}-procedure",
            _each(translators, " / ", N_("Procedure: %(title)s"), title=spec.title),
            _each(translators, "\n", N_("Your procedure. Questions: %(phone)s"), phone=clinic_phone),
            local,
            local + dt.timedelta(hours=1),
            one_day,
        )
    ]
    for ins in spec.preparation.instructions:
        if ins.before is None or not applies(ins.applies_if):
            continue
        summary = _each(translators, " / ", N_("Before your procedure: %(text)s"), text=ins.text)
        text = _each(translators, "\n", None, text=ins.text)
        at = shift(planned_at, ins.before, -1, zone)
        uid = f"{packet_id}-prep-{ins.id}"
        if is_timed(ins.before):
            events.append(Event(uid, summary, text, at, at + dt.timedelta(minutes=15), dt.timedelta(minutes=30)))
        else:
            events.append(Event(uid, summary, text, at.date(), at.date() + one_day, dt.timedelta(hours=6)))
    for _topic, items in spec.aftercare.topics():
        for item in items:
            if item.lasts is None or not applies(item.applies_if):
                continue
            summary = _each(translators, " / ", N_("Aftercare: %(text)s"), text=item.text)
            text = _each(translators, "\n", None, text=item.text)
            end = aftercare_end(planned_at, item.lasts, zone)
            uid = f"{packet_id}-care-{item.id}"
            if isinstance(end, dt.datetime):
                events.append(Event(uid, summary, text, local, end))
            else:  # the last day included: DTEND is the day after it
                events.append(Event(uid, summary, text, local.date(), end + one_day))
    for f in sorted(spec.follow_up, key=lambda f: duration_hours(f.at)):
        if not applies(f.applies_if):
            continue
        template = (
            N_("Follow-up visit: %(purpose)s") if f.kind == "visit" else N_("Phone call from the clinic: %(purpose)s")
        )
        summary = _each(translators, " / ", template, purpose=f.purpose)
        described = []
        for t in translators:
            purpose = pick(f.purpose, t.locale)
            if f.sutures:
                purpose = t(N_("Stitches are removed at this visit.")) + " " + purpose
            described.append(purpose + " " + t(N_("We will confirm the time. Clinic: %(phone)s"), phone=clinic_phone))
        description = "\n".join(dict.fromkeys(described))
        at = shift(planned_at, f.at, +1, zone)
        uid = f"{packet_id}-follow-up-{f.id}"
        if is_timed(f.at):
            events.append(Event(uid, summary, description, at, at + dt.timedelta(minutes=30), dt.timedelta(hours=2)))
        else:
            events.append(Event(uid, summary, description, at.date(), at.date() + one_day, one_day))
    return events


def calendar_text(events: list[Event], zone: ZoneInfo, stamp: dt.datetime, *, name: str, lang: str | None) -> str:
    """``lang``: the LANGUAGE of every text, None when they hold two languages (a bilingual packet)."""
    timed = [e.start for e in events if isinstance(e.start, dt.datetime)] + [
        e.end for e in events if isinstance(e.end, dt.datetime)
    ]
    offset = _fixed_offset(zone, timed) if timed else None
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//consentkit//consent packet//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        f"X-WR-TIMEZONE:{zone.key}",
    ]
    if offset is not None:
        text = _offset_text(offset)
        lines += [
            "BEGIN:VTIMEZONE",
            f"TZID:{zone.key}",
            "BEGIN:STANDARD",
            "DTSTART:19700101T000000",
            f"TZOFFSETFROM:{text}",
            f"TZOFFSETTO:{text}",
            "END:STANDARD",
            "END:VTIMEZONE",
        ]

    def when(prop: str, value: dt.datetime | dt.date) -> str:
        if isinstance(value, dt.datetime):
            if offset is not None:
                return f"{prop};TZID={zone.key}:{value.astimezone(zone).strftime('%Y%m%dT%H%M%S')}"
            return f"{prop}:{_utc(value)}"
        return f"{prop};VALUE=DATE:{value.strftime('%Y%m%d')}"

    language = f";LANGUAGE={lang}" if lang else ""
    for e in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{e.uid}@consentkit",
            f"DTSTAMP:{_utc(stamp)}",
            when("DTSTART", e.start),
            when("DTEND", e.end),
            f"SUMMARY{language}:{escape_text(e.summary)}",
            f"DESCRIPTION{language}:{escape_text(e.description)}",
            "TRANSP:" + ("OPAQUE" if isinstance(e.start, dt.datetime) else "TRANSPARENT"),
        ]
        if e.alarm_before is not None:
            lines += [
                "BEGIN:VALARM",
                "ACTION:DISPLAY",
                f"DESCRIPTION:{escape_text(e.summary)}",
                f"TRIGGER:-PT{int(e.alarm_before.total_seconds() // 60)}M",
                "END:VALARM",
            ]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
