"""CK160, CK170, CK171: dates and time lines: review due, recovery phases and follow-up in order."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date

from consentkit.lint.context import LintContext
from consentkit.lint.findings import Hit, hit
from consentkit.lint.registry import define_rule
from consentkit.spec.library import Loaded
from consentkit.spec.models import ProcedureSpec, duration_hours

CK160 = define_rule(
    "CK160",
    "warning",
    "review-due",
    "the spec's clinical review is overdue (`review.last_reviewed` + `interval_months` is before today), dated in the "
    "future, or there is no `review` block",
    fix="have the owner review the content against current evidence, then update `review.last_reviewed`",
)
CK170 = define_rule(
    "CK170",
    "error",
    "timeline-order",
    "recovery phases go backwards in time or end before they start, or follow-up visits are not in strictly "
    "increasing order",
    fix="order `recovery` by `from` and make each `to` at least its `from`; order `follow_up` by `at` without "
    "repeating a time",
)
CK171 = define_rule(
    "CK171",
    "error",
    "follow-up",
    "no follow-up schedule (`follow_up`): the patient gets no appointments and no calendar file",
    fix="add at least one `follow_up` visit or call with `at` (e.g. `7d`) and its purpose",
)


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@CK160.per_spec
def _review(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    review = spec.model.review
    if review is None:
        yield hit(
            spec,
            ("id",),
            "no `review` block: add `review: {owner: ..., last_reviewed: YYYY-MM-DD, interval_months: 12}`",
        )
        return
    due = add_months(review.last_reviewed, review.interval_months)
    if due < ctx.today:
        yield hit(
            spec,
            ("review", "last_reviewed"),
            f"review overdue since {due.isoformat()} (last reviewed {review.last_reviewed.isoformat()}, every "
            f"{review.interval_months} months); review the content and update last_reviewed",
        )
    elif review.last_reviewed > ctx.today:
        yield hit(
            spec,
            ("review", "last_reviewed"),
            f"last_reviewed {review.last_reviewed.isoformat()} is in the future (today is {ctx.today.isoformat()}); "
            "write the date the review happened",
        )


@CK170.per_spec
def _order(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    previous_start: float | None = None
    previous_id = ""
    for i, phase in enumerate(spec.model.recovery):
        start, end = duration_hours(phase.start), duration_hours(phase.end)
        if end < start:
            yield hit(
                spec,
                ("recovery", i, "to"),
                f"phase '{phase.id}' ends ({phase.end}) before it starts ({phase.start})",
            )
        if previous_start is not None and start < previous_start:
            yield hit(
                spec,
                ("recovery", i, "from"),
                f"phase '{phase.id}' starts at {phase.start}, before the phase above it ('{previous_id}'); "
                "list phases in time order",
            )
        previous_start, previous_id = start, phase.id
    previous_at: float | None = None
    for i, visit in enumerate(spec.model.follow_up):
        at = duration_hours(visit.at)
        if previous_at is not None and at <= previous_at:
            before = spec.model.follow_up[i - 1]
            yield hit(
                spec,
                ("follow_up", i, "at"),
                f"follow-up '{visit.id}' at {visit.at} is not after '{before.id}' at {before.at}; "
                "list follow-ups in time order, one per time",
            )
        previous_at = at


@CK171.per_spec
def _follow_up(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    if spec.model.follow_up:
        return
    loc = ("follow_up",) if ("follow_up",) in spec.doc.lines else ("id",)
    yield hit(spec, loc, "no follow-up schedule: add `follow_up` visits or calls (`at: 7d`, purpose)")
