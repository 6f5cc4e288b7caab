"""The clock the audit log and the workflow read: the machine's UTC clock.

``consentkit demo`` tells a story that takes weeks — a check-in after a 15-day cooling-off period — in seconds. It
runs its later steps under :func:`simulated`, which moves this clock by an offset for the code inside the ``with``
block only (a context variable, so nothing else in the process is affected afterwards), and gives its audit log an
embedded TSA that reads the same clock, so the tokens agree with the times in the events. Nothing in a workspace's
configuration reaches this: only code that calls :func:`simulated` itself (the demo, and tests) moves the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_OFFSET: ContextVar[dt.timedelta] = ContextVar("consentkit_clock_offset", default=dt.timedelta(0))


def now() -> dt.datetime:
    """The current time, aware UTC (moved by the offset of an enclosing :func:`simulated`)."""
    return dt.datetime.now(dt.UTC) + _OFFSET.get()


@contextmanager
def simulated(reads: dt.datetime) -> Iterator[dt.timedelta]:
    """Inside the block, :func:`now` reads ``reads`` now and runs on from there; yields the offset."""
    offset = reads.astimezone(dt.UTC) - dt.datetime.now(dt.UTC)
    token = _OFFSET.set(offset)
    try:
        yield offset
    finally:
        _OFFSET.reset(token)
