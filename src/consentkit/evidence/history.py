"""A case's history as the audit log tells it: events with their leaf index and hash, and the questions the gate,
the evidence bundle and its verifier ask of them (which packet.generated is this packet's, which signatures were
recorded after it, which file the log recorded last, when did the procedure start)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from consentkit.audit.events import EventRef, ref


@dataclass(frozen=True)
class LoggedEvent:
    index: int
    leaf: bytes
    event: Any  # a parsed audit event (consentkit.audit.events)

    @property
    def type(self) -> str:
        return str(self.event.type)

    @property
    def time(self) -> dt.datetime:
        value: dt.datetime = self.event.time
        return value

    def ref(self) -> EventRef:
        return ref(self.index, self.leaf)

    def document(self, name: str) -> str | None:
        """The hex SHA-256 this event records for the file ``name``, if any."""
        for doc in self.event.documents:
            if doc.name == name:
                return str(doc.sha256).removeprefix("sha256:")
        return None


def from_stored(stored: Iterable[Any]) -> list[LoggedEvent]:
    """Events read from the log (``AuditLog.case_events``), parsed."""
    return [LoggedEvent(s.index, s.leaf, s.event) for s in stored]


def packet_generated_for(events: Sequence[LoggedEvent], manifest_sha256: str) -> LoggedEvent | None:
    """The packet.generated event that recorded this manifest (hex SHA-256 of manifest.json), the latest if twice."""
    found = [e for e in events if e.type == "packet.generated" and e.document("manifest.json") == manifest_sha256]
    return found[-1] if found else None


def after(events: Sequence[LoggedEvent], start: LoggedEvent | None, kind: str) -> list[LoggedEvent]:
    """Events of type ``kind`` logged after ``start`` (all of them when ``start`` is None), in log order."""
    first = -1 if start is None else start.index
    return [e for e in events if e.type == kind and e.index > first]


def latest(events: Sequence[LoggedEvent], kind: str, start: LoggedEvent | None = None) -> LoggedEvent | None:
    found = after(events, start, kind)
    return found[-1] if found else None


# the events that record the packet file as it then stood: each signature (the seal's document timestamp too) and
# each archival timestamp renewal; the latest of them names the file the packet must be now
FILE_EVENTS = ("document.signed", "document.timestamped")


def file_events(events: Sequence[LoggedEvent], start: LoggedEvent | None) -> list[LoggedEvent]:
    """The events after ``start`` that recorded the packet file, in log order."""
    first = -1 if start is None else start.index
    return [e for e in events if e.type in FILE_EVENTS and e.index > first]


def latest_file(events: Sequence[LoggedEvent], start: LoggedEvent | None) -> LoggedEvent | None:
    """The last event after ``start`` that recorded the packet file: its ``packet.pdf`` is the file as it must be."""
    found = file_events(events, start)
    return found[-1] if found else None


def renewal_problems(events: Sequence[LoggedEvent], start: LoggedEvent | None) -> list[str]:
    """Each archival timestamp renewal (``document.timestamped``) must have renewed the file the log recorded just
    before it: else a changed file could be renewed and then pass as the latest."""
    problems = []
    recorded = file_events(events, start)
    for n, e in enumerate(recorded):
        if e.type != "document.timestamped":
            continue
        before = recorded[n - 1].document("packet.pdf") if n else None
        if e.event.data.previous != f"sha256:{before}":
            problems.append(
                f"event {e.index} (document.timestamped) renewed a file the log had not recorded last (changed first?)"
            )
    return problems
