"""Times people type on the command line (``--at``, ``--procedure-at``): ISO 8601, with a zone or in the clinic's."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from consentkit.errors import InputError


def parse_time(text: str, zone: ZoneInfo, option: str) -> dt.datetime:
    """``2026-12-10T09:00:00+08:00``, or ``2026-12-10 09:00`` in ``zone``; aware UTC back."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option}: {text!r} is not a time; write it like 2026-12-10T09:00:00+08:00 or '2026-12-10 09:00' "
            f"(then it is {zone.key} time)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC)
