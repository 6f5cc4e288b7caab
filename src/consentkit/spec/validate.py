"""Turn pydantic's validation errors into messages that name file, line and field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from consentkit.errors import InputError, MultiInputError, SourceLocation
from consentkit.spec.models import SEMVER_PATTERN
from consentkit.spec.yamlfile import KeyPath, YamlDocument, format_path

M = TypeVar("M", bound=BaseModel)


def _what(value: Any) -> str:
    """The value as a person would name it: ``true``, ``the number 5``, ``text '5'``, ``a list``."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    shown = repr(value) if isinstance(value, str) else str(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    if isinstance(value, str):
        return f"text {shown}"
    if isinstance(value, int | float):
        return f"the number {shown}"
    if isinstance(value, dt.datetime):
        return f"the date and time {shown}"
    if isinstance(value, dt.date):
        return f"the date {shown}"
    return shown


def _allowed_fields(model: type[BaseModel], loc: KeyPath) -> list[str]:
    """Field names (as written in YAML) allowed at ``loc``'s parent, for 'unknown field' messages."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            return []
        match = next((f for n, f in fields.items() if (f.alias or n) == part), None)
        if match is None:
            return []
        current = _model_in(match.annotation)
    if current is None or not hasattr(current, "model_fields"):
        return []
    return [f.alias or n for n, f in current.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def describe(error: Any, model: type[BaseModel]) -> str:
    """One human sentence for one pydantic error dict."""
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    loc = tuple(error["loc"])
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc)
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return f"unknown field '{loc[-1]}'{hint}"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        expected = ctx.get("expected", "").replace("'", "")
        return f"{value!r} is not one of {expected}"
    if kind == "string_pattern_mismatch" and loc and isinstance(value, str) and value == loc[-1] and " " in value:
        return f"'{value}' looks like the end of a text cut at a comma inside {{...}}; put that text in quotes"
    if kind == "string_pattern_mismatch":
        return f"{value!r} does not have the expected form ({_pattern_words(ctx.get('pattern', ''))})"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is too long (more than {ctx.get('max_length')} characters)"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind in (
        "string_type",
        "int_type",
        "float_type",
        "bool_type",
        "list_type",
        "dict_type",
        "date_type",
        "datetime_type",
        "model_type",
        "model_attributes_type",
        "int_from_float",
    ):
        expected = {
            "string_type": "text",
            "int_type": "a whole number",
            "float_type": "a number",
            "bool_type": "true or false (yes/no)",
            "list_type": "a list",
            "dict_type": "a mapping",
            "model_type": "a mapping",
            "model_attributes_type": "a mapping",
            "date_type": "a date written YYYY-MM-DD",
            "datetime_type": "a date and time written YYYY-MM-DDTHH:MM:SS+08:00",
            "int_from_float": "a whole number",
        }[kind]
        hint = " (put it in quotes)" if kind == "string_type" and isinstance(value, int | float | bool) else ""
        return f"expected {expected}, got {_what(value)}{hint}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{value!r}: {error['msg'].lower()}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


def _pattern_words(pattern: str) -> str:
    known = {
        r"^[a-z0-9][a-z0-9-]{0,62}$": "a lower-case id of letters, digits and hyphens, like 'nasal-swelling'",
        SEMVER_PATTERN: "a version like 1.2.0 or 2.0.0-beta.1 (Semantic Versioning, no leading zeros)",
        r"^\d{1,4}(h|d|w|mo|y)$": "a duration like 8h, 7d, 2w, 3mo or 1y",
        r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2})?$": "a locale like zh-CN, zh-TW or en",
        r"^[a-z]{2}$": "a two-letter jurisdiction code like cn",
    }
    return known.get(pattern, f"pattern {pattern}")


def clean_loc(loc: Sequence[Any]) -> KeyPath:
    """Drop pydantic's internal markers ('[key]', 'function-after[...]') from an error location."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (part == "[key]" or ("[" in part and part.endswith("]"))):
            continue
        out.append(part)
    return tuple(out)


def validate_document(
    model: type[M],
    doc: YamlDocument,
    *,
    error: Callable[..., InputError] = InputError,
    context: dict[str, Any] | None = None,
) -> M:
    """Build ``model`` from ``doc.data`` or raise a :class:`MultiInputError` with one entry per problem."""
    try:
        return model.model_validate(doc.data, context=context)
    except ValidationError as exc:
        problems = []
        seen: set[tuple[str | int, ...]] = set()
        for err in exc.errors(include_url=False):
            loc = clean_loc(err["loc"])
            if loc in seen:  # one message per field: the first is the useful one
                continue
            seen.add(loc)
            line = doc.line_of(loc)
            problems.append(
                error(describe(err, model), location=SourceLocation(doc.path, line, format_path(loc) or None))
            )
        problems.sort(key=lambda p: (p.location.line or 0) if p.location else 0)
        raise MultiInputError(problems) from None
