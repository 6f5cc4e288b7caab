"""CK130-CK133: conditions that name something that does not exist, duplicate ids, rates outside their band,
references to references that do not exist."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from consentkit.lint.context import LintContext
from consentkit.lint.findings import Hit, hit
from consentkit.lint.registry import define_rule
from consentkit.lint.texts import field_plan
from consentkit.spec.conditions import Condition, ConditionError, parse_condition
from consentkit.spec.library import Loaded, spec_conditions
from consentkit.spec.models import BAND_RANGES, BANDS, ProcedureSpec
from consentkit.spec.yamlfile import KeyPath

CK130 = define_rule(
    "CK130",
    "error",
    "condition",
    "an `applies_if` condition names an unknown option or intake question, or compares a value of the wrong kind "
    "(a choice that does not exist, a number with a yes/no question)",
    fix="use an id from procedures/intake.yaml or one of the spec's own options, and a value of its kind",
)
CK131 = define_rule(
    "CK131",
    "error",
    "duplicate-id",
    "an id is used twice in one list (risks, options and their choices, aftercare items across topics, red flags, "
    "follow-up...), an option id is also an intake question id, or two spec files define one procedure id",
    fix="give each item its own id; rename or delete one of two files with the same id",
)
CK132 = define_rule(
    "CK132",
    "error",
    "rate-band",
    "a risk's `rate` lies outside the range of its CIOMS `band` (very common ≥ 10%, common 1-10%, uncommon "
    "0.1-1%, rare 0.01-0.1%, very rare < 0.01%)",
    fix="correct the rate or the band so they agree; the patient sees both",
)
CK133 = define_rule(
    "CK133",
    "error",
    "unknown-reference",
    "a risk cites a reference id (`risks[].references`) that the spec's `references` list does not define",
    fix="add the reference to `references` or correct the id",
)


@CK130.per_spec
def _conditions(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    symbols = ctx.symbols(spec.model)
    if symbols is None:
        return  # no intake catalogue could be loaded: CK100/CK101 says why
    for loc, source in spec_conditions(spec.model):
        try:
            _parsed(source).check(symbols)
        except ConditionError as exc:
            yield hit(spec, loc, f"condition {source!r}: {_shorter(str(exc), symbols)}")


def _shorter(message: str, symbols: dict[str, Any]) -> str:
    """Replace the full list of known names in 'unknown name' messages by the closest ones."""
    found = re.match(r"unknown name '([^']+)'.*?\)( \(at column \d+\))?$", message)
    if not found:
        return message
    name = found.group(1)
    close = difflib.get_close_matches(name, list(symbols), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else "; see procedures/intake.yaml"
    return f"unknown name '{name}' (not an intake question or an option of this spec{hint})"


@lru_cache(maxsize=16384)
def _parsed(source: str) -> Condition:
    return parse_condition(source)


def _duplicates(items: Sequence[Any], loc: KeyPath, doc_lines: Any, what: str) -> Iterator[tuple[KeyPath, str]]:
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        item_id = getattr(item, "id", None)
        if not isinstance(item_id, str):
            continue
        if item_id in first:
            line = doc_lines.get((*loc, first[item_id], "id"))
            where = f" (first at line {line})" if line else ""
            yield (*loc, i, "id"), f"duplicate id '{item_id}' in {what}{where}; give each its own id"
        else:
            first[item_id] = i


def _walk_lists(model: BaseModel, loc: KeyPath, doc_lines: Any) -> Iterator[tuple[KeyPath, str]]:
    for name, key, kind in field_plan(type(model)):
        value = getattr(model, name)
        if value is None:
            continue
        here = (*loc, key)
        if kind == "model":
            yield from _walk_lists(value, here, doc_lines)
        elif kind == "model-list":
            yield from _duplicates(value, here, doc_lines, ".".join(str(p) for p in here if isinstance(p, str)))
            for i, item in enumerate(value):
                yield from _walk_lists(item, (*here, i), doc_lines)


@CK131.per_spec
def _spec_ids(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    lines = spec.doc.lines
    for loc, message in _walk_lists(spec.model, (), lines):
        yield hit(spec, loc, message)
    # aftercare item ids share one namespace across topics (they key the care guide's checklist)
    seen: dict[str, KeyPath] = {}
    for topic, items in spec.model.aftercare.topics():
        for i, item in enumerate(items):
            loc = ("aftercare", topic, i, "id")
            if item.id in seen and seen[item.id][1] != topic:
                yield hit(
                    spec,
                    loc,
                    f"aftercare id '{item.id}' is also used in aftercare.{seen[item.id][1]} "
                    f"(line {lines.get(seen[item.id])}); aftercare ids must differ across topics",
                )
            seen.setdefault(item.id, loc)
    if ctx.intake is not None:
        intake_ids = {q.id for q in ctx.intake.model.questions}
        for i, option in enumerate(spec.model.options):
            if option.id in intake_ids:
                yield hit(
                    spec,
                    ("options", i, "id"),
                    f"option id '{option.id}' is also an intake question id; a condition could not tell them "
                    "apart: rename the option",
                )


@CK131.per_library
def _file_ids(ctx: LintContext) -> Iterator[Hit]:
    for loaded in (ctx.intake, *ctx.scan.policies.values()):
        if loaded is not None and ctx.is_reported(loaded.path):
            for loc, message in _walk_lists(loaded.model, (), loaded.doc.lines):
                yield hit(loaded, loc, message)
    for stem, files in ctx.scan.shadowed.items():
        reported = [f for f in files if ctx.is_reported(f)]
        if not reported:
            continue
        folders = {f.parent for f in reported}
        clash = [f for f in files if f in reported or f.parent in folders]
        if len(clash) < 2:
            continue
        used_path = clash[0]  # as the library loads them: earlier root first, then file name order
        for path in reported:
            others = ", ".join(str(f) for f in clash if f != path)
            if used_path == path:
                message = f"procedure id '{stem}' is also defined by {others}; this file is used, the other ignored"
            else:
                message = (
                    f"procedure id '{stem}' is also defined by {others}; this file is ignored ({used_path} is used)"
                )
            yield Hit(message + ": delete or rename one", path=Path(path), line=_id_line(path), field="id")


def _id_line(path: Path) -> int:
    """The line of the top-level ``id:`` key, read from the file (the spec may not be loaded in this process)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            for number, row in enumerate(fh, start=1):
                if row.startswith("id:"):
                    return number
                if number > 200:
                    break
    except OSError:
        pass
    return 1


def _percent(rate: float) -> str:
    pct = rate * 100
    return f"{pct:.3g}%"


def band_of(rate: float) -> str:
    return next(b for b in BANDS if BAND_RANGES[b][0] <= rate < BAND_RANGES[b][1])


@CK132.per_spec
def _rate_band(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    for i, risk in enumerate(spec.model.risks):
        if risk.rate is None:
            continue
        low, high = BAND_RANGES[risk.band]
        if low <= risk.rate < high:
            continue
        yield hit(
            spec,
            ("risks", i, "rate"),
            f"rate {risk.rate} ({_percent(risk.rate)}) is outside the '{risk.band}' band "
            f"({_percent(low)} to {_percent(min(high, 1.0))}); it is '{band_of(risk.rate)}': correct the band or "
            "the rate",
        )


@CK133.per_spec
def _risk_references(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    known = {ref.id for ref in spec.model.references}
    for i, risk in enumerate(spec.model.risks):
        for j, ref in enumerate(risk.references):
            if ref not in known:
                listed = ", ".join(sorted(known)) or "none"
                yield hit(
                    spec,
                    ("risks", i, "references", j),
                    f"risk '{risk.id}' cites reference '{ref}', which `references` does not define (defined: {listed})",
                )
