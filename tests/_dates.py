"""Case dates that stay valid whatever day the suite runs on.

`consentkit packet` refuses a planned time in the past or inside the cooling-off period, so a case file with fixed
dates (examples/case-botulinum-toxin.yaml plans 8 Dec 2026) would start failing once that day is near. Tests that
check exact printed dates build the example as written with ``now=EXAMPLE_NOW``; every other test moves the planned
time forward by whole weeks (weekday and clock time kept) until it is at least three weeks away.
"""

from __future__ import annotations

import datetime as dt
import math
import re

# 12:00 in Beijing on 1 Dec 2026: after the example's consultation (10:00), a week before its planned time
EXAMPLE_NOW = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)
LEAD = dt.timedelta(days=21)  # longer than any cooling-off period in the built-in policies and specs

_PLANNED = re.compile(r"^(planned_at:\s*)(\S+)\s*$", re.MULTILINE)


def future_planned(planned: dt.datetime, now: dt.datetime | None = None) -> dt.datetime:
    """``planned`` moved forward by whole weeks so that it is at least :data:`LEAD` after ``now``."""
    now = now or dt.datetime.now(dt.UTC)
    short = now + LEAD - planned
    weeks = max(0, math.ceil(short / dt.timedelta(weeks=1)))
    return planned + dt.timedelta(weeks=weeks)


def future_case_text(text: str) -> str:
    """A case file's YAML with its ``planned_at`` line moved forward (see :func:`future_planned`)."""

    def move(match: re.Match[str]) -> str:
        planned = dt.datetime.fromisoformat(match.group(2))
        return f"{match.group(1)}{future_planned(planned).isoformat()}"

    moved, count = _PLANNED.subn(move, text)
    assert count == 1, "expected one planned_at line"
    return moved
