"""The patient's calendar (RFC 5545): the procedure, every dated preparation step, every timed aftercare rule and
every follow-up visit or call, in the clinic's time zone.

Written by hand (it is a small, fixed shape): CRLF line ends, lines folded at 75 octets without splitting a UTF-8
character, TEXT values escaped, a stable UID per event, DTSTAMP in UTC. Timed events carry TZID with a VTIMEZONE
when the zone keeps one UTC offset over the events' years (Asia/Shanghai, Asia/Taipei); otherwise they are written
in UTC, which every calendar shows in the reader's zone. Day-based items are all-day events on the clinic's dates.
"""

from __future__ import annotations

import datetime as dt
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


def events_for(
    spec: ProcedureSpec,
    planned_at: dt.datetime,
    zone: ZoneInfo,
    t: Translator,
    packet_id: str,
    applies: object,
    clinic_phone: str,
) -> list[Event]:
    """Every calendar event of a patient's packet. ``applies`` is ``ResolvedCase.applies``."""
    assert callable(applies)
    loc = t.locale
    local = planned_at.astimezone(zone)
    title = pick(spec.title, loc)
    events = [
        Event(
            f"{packet_id}-procedure",
            t(N_("Procedure: %(title)s"), title=title),
            t(N_("Your procedure. Questions: %(phone)s"), phone=clinic_phone),
            local,
            local + dt.timedelta(hours=1),
            dt.timedelta(days=1),
        )
    ]
    for ins in spec.preparation.instructions:
        if ins.before is None or not applies(ins.applies_if):
            continue
        text = pick(ins.text, loc)
        summary = t(N_("Before your procedure: %(text)s"), text=text)
        if is_timed(ins.before):
            at = shift(planned_at, ins.before, -1, zone)
            events.append(
                Event(
                    f"{packet_id}-prep-{ins.id}",
                    summary,
                    text,
                    at,
                    at + dt.timedelta(minutes=15),
                    dt.timedelta(minutes=30),
                )
            )
        else:
            day = shift(planned_at, ins.before, -1, zone).date()
            events.append(
                Event(
                    f"{packet_id}-prep-{ins.id}", summary, text, day, day + dt.timedelta(days=1), dt.timedelta(hours=6)
                )
            )
    for _topic, items in spec.aftercare.topics():
        for item in items:
            if item.lasts is None or not applies(item.applies_if):
                continue
            text = pick(item.text, loc)
            end = shift(planned_at, item.lasts, +1, zone)
            summary = t(N_("Aftercare: %(text)s"), text=text)
            if is_timed(item.lasts):
                events.append(Event(f"{packet_id}-care-{item.id}", summary, text, local, end))
            else:
                events.append(Event(f"{packet_id}-care-{item.id}", summary, text, local.date(), end.date()))
    for f in sorted(spec.follow_up, key=lambda f: duration_hours(f.at)):
        if not applies(f.applies_if):
            continue
        purpose = pick(f.purpose, loc)
        template = (
            N_("Follow-up visit: %(purpose)s") if f.kind == "visit" else N_("Phone call from the clinic: %(purpose)s")
        )
        at = shift(planned_at, f.at, +1, zone)
        if f.sutures:
            purpose = t(N_("Stitches are removed at this visit.")) + " " + purpose
        description = purpose + " " + t(N_("We will confirm the time. Clinic: %(phone)s"), phone=clinic_phone)
        if is_timed(f.at):
            events.append(
                Event(
                    f"{packet_id}-follow-up-{f.id}",
                    t(template, purpose=pick(f.purpose, loc)),
                    description,
                    at,
                    at + dt.timedelta(minutes=30),
                    dt.timedelta(hours=2),
                )
            )
        else:
            day = at.date()
            events.append(
                Event(
                    f"{packet_id}-follow-up-{f.id}",
                    t(template, purpose=pick(f.purpose, loc)),
                    description,
                    day,
                    day + dt.timedelta(days=1),
                    dt.timedelta(days=1),
                )
            )
    return events


def calendar_text(events: list[Event], zone: ZoneInfo, stamp: dt.datetime, *, name: str, lang: str) -> str:
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

    for e in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{e.uid}@consentkit",
            f"DTSTAMP:{_utc(stamp)}",
            when("DTSTART", e.start),
            when("DTEND", e.end),
            f"SUMMARY;LANGUAGE={lang}:{escape_text(e.summary)}",
            f"DESCRIPTION;LANGUAGE={lang}:{escape_text(e.description)}",
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
