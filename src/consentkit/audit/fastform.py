"""A fast path for recognising valid events: one regular expression per event type, generated from the event
models, that matches exactly the canonical bytes of valid events.

``parse_event`` (pydantic, then RFC 8785 re-encoding) is the authority, but costs ~60 µs an event here, which
is a minute for a million-event log. A match here costs a few microseconds and is *sound*: every field is fixed
in sorted order with no whitespace, every string is limited to its pattern's characters (none of which JSON
escapes), integers are short canonical decimals and times are well-formed UTC instants, so matching bytes are
both a valid event and in RFC 8785 form. The converse does not hold — a rare valid event (29 February, a year
outside 2000-2099, a very large index) falls through to ``parse_event``. The generator refuses any construct it
cannot translate exactly (a model validator, a float, an unconstrained string), so a model change cannot make the
fast path accept what pydantic would refuse; a property test checks the two agree.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AfterValidator, BaseModel, PlainSerializer
from pydantic.fields import FieldInfo

_DATE = (
    r"20[0-9]{2}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
TIME = _DATE + r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z"
_INT = r"(?:0|[1-9][0-9]{0,14})"  # < 10^15 < 2^53: inside every index bound we use


class Untranslatable(TypeError):
    """A model uses something the fast path cannot express exactly."""


def _check_pattern(pattern: str) -> None:
    """Refuse a pattern unless it can only match ASCII letters, digits and ``._@:-`` (nothing JSON escapes):
    no wildcard, no negated class, ranges only within A-Z, a-z or 0-9, escapes only ``\\.`` and ``\\-``."""
    groups = ("AZ", "az", "09")
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if pattern[i + 1 : i + 2] not in (".", "-"):
                raise Untranslatable(f"escape in {pattern!r}")
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            elif pattern[i + 1 : i + 2] == "-" and pattern[i + 2 : i + 3] not in ("]", ""):
                low, high = c, pattern[i + 2]
                if not any(g[0] <= low <= high <= g[1] for g in groups):
                    raise Untranslatable(f"range {low}-{high} in {pattern!r}")
                i += 3
                continue
            elif not (c.isascii() and (c.isalnum() or c in "._@:-")):
                raise Untranslatable(f"character {c!r} in {pattern!r}")
        elif c == "[":
            if pattern[i + 1 : i + 2] == "^":
                raise Untranslatable(f"negated class in {pattern!r}")
            in_class = True
        elif c == ".":
            raise Untranslatable(f"wildcard in {pattern!r}")
        elif not (c.isascii() and (c.isalnum() or c in "^$(){},|?:*+@_-")):
            raise Untranslatable(f"character {c!r} in {pattern!r}")
        i += 1


def _string(pattern: str) -> str:
    if not (pattern.startswith("^") and pattern.endswith("$")) or "^" in pattern[1:-1] or "$" in pattern[1:-1]:
        raise Untranslatable(f"pattern {pattern!r} is not anchored at both ends only")
    _check_pattern(pattern)
    return f'"(?:{pattern[1:-1]})"'


def _literal(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Untranslatable(f"literal {value!r}")
    return re.escape(json.dumps(value))


def _bounds(metadata: list[Any]) -> tuple[int, int | None]:
    low, high = 0, None
    for m in metadata:
        if isinstance(m, annotated_types.MinLen):
            low = m.min_length
        elif isinstance(m, annotated_types.MaxLen):
            high = m.max_length
        else:
            raise Untranslatable(f"constraint {m!r} on a list")
    return low, high


def _value(annotation: Any, metadata: list[Any], capture: str | None = None) -> str:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        discriminated = [m for m in extra if isinstance(m, FieldInfo) and m.discriminator]
        if discriminated:
            return _value(base, [*metadata, *[m for m in extra if m not in discriminated]], capture)
        return _value(base, [*metadata, *extra], capture)
    if origin is Literal:
        return "(?:" + "|".join(_literal(v) for v in get_args(annotation)) + ")"
    if origin is Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        return "(?:" + "|".join(_value(arg, [], None) for arg in get_args(annotation)) + ")"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_pattern(annotation)
    if annotation is str:
        patterns = [getattr(m, "pattern", None) for m in metadata]
        if len(metadata) != 1 or not patterns[0]:
            raise Untranslatable("a string without exactly one pattern")
        inner = _string(patterns[0])
        return f'"(?P<{capture}>{inner[1:-1]})"' if capture else inner
    if annotation is int:
        for m in metadata:
            if not (isinstance(m, annotated_types.Ge) and m.ge == 0) and not isinstance(m, annotated_types.Le):
                raise Untranslatable(f"integer constraint {m!r}")
            if isinstance(m, annotated_types.Le) and int(m.le) < 10**15:  # type: ignore[call-overload]
                raise Untranslatable("an integer bound below what the fast path accepts")
        return _INT
    if annotation is dt.datetime:
        kinds = {type(m) for m in metadata}
        if kinds != {AfterValidator, PlainSerializer}:
            raise Untranslatable("a datetime that is not the log's UTC time")
        return f'"(?P<{capture}>{TIME})"' if capture else f'"{TIME}"'
    if origin is tuple:
        args = get_args(annotation)
        if args == ():
            return r"\[\]"
        if len(args) == 2 and args[1] is Ellipsis:
            item = _value(args[0], [])
            low, high = _bounds(metadata)
            if high is None:
                raise Untranslatable("an unbounded list")
            rest = f"(?:,{item}){{{max(low - 1, 0)},{high - 1}}}"
            body = f"{item}{rest}"
            return rf"\[{body}\]" if low >= 1 else rf"\[(?:{body})?\]"
        if metadata:
            raise Untranslatable("constraints on a fixed-length tuple")
        return r"\[" + ",".join(_value(a, []) for a in args) + r"\]"
    raise Untranslatable(f"type {annotation!r}")


def model_pattern(model: type[BaseModel], captures: frozenset[str] = frozenset()) -> str:
    decorators = model.__pydantic_decorators__
    if decorators.model_validators or decorators.field_validators or decorators.validators:
        raise Untranslatable(f"{model.__name__} has validators the fast path cannot check")
    config = model.model_config
    if config.get("extra") != "forbid" or not config.get("strict"):
        raise Untranslatable(f"{model.__name__} is not strict with extra='forbid'")
    parts = []
    for name in sorted(model.model_fields):  # RFC 8785 order (ASCII names: UTF-16 order is code-point order)
        info = model.model_fields[name]
        if info.alias and info.alias != name:
            raise Untranslatable(f"{model.__name__}.{name} has an alias")
        capture = name if name in captures else None
        parts.append(f'"{re.escape(name)}":' + _value(info.annotation, list(info.metadata), capture))
    return r"\{" + ",".join(parts) + r"\}"


class FastForm:
    """The compiled expressions, by event type."""

    def __init__(self, by_type: dict[str, re.Pattern[bytes]]) -> None:
        self.by_type = by_type
        self._names = {p: name for name, p in by_type.items()}

    def type_of(self, match: re.Match[bytes]) -> str:
        return self._names[match.re]

    def match(self, body: bytes) -> re.Match[bytes] | None:
        """A match (groups ``case`` and ``time`` without their quotes, ``refs`` the whole array) only for bytes
        that are a valid, canonical event; None says nothing either way."""
        start = body.rfind(b',"type":"')
        if start < 0:
            return None
        end = body.find(b'"', start + 9)
        pattern = self.by_type.get(body[start + 9 : end].decode("ascii", "replace"))
        return pattern.fullmatch(body) if pattern is not None else None


_CLASS_RUN = re.compile(r"(?<!\\)\](\{\d+(?:,\d+)?\}|\*|\+)(?![+?])")


def possessive(pattern: str) -> str:
    """Every repetition of a character class made possessive (``[a-z]{0,47}+``): the matcher never gives characters
    back, which spares it work on every event (~20 %). A possessive match is always also an ordinary one, so this
    can only make the fast path refuse more, never accept more; and it refuses nothing here, because every run is
    followed by a character its class does not hold (a quote, a comma, a dot)."""
    return _CLASS_RUN.sub(lambda m: "]" + m.group(1) + "+", pattern)


def compile_events(types: dict[str, type[BaseModel]]) -> FastForm:
    captures = frozenset({"case", "time"})
    compiled = {}
    for name, model in types.items():
        pattern = model_pattern(model, captures)
        # refs are the one list verification needs to read back: capture the whole array
        pattern = pattern.replace(r'"refs":\[', r'"refs":(?P<refs>\[', 1)
        pattern = _close_group_after(pattern, r'"refs":(?P<refs>\[')
        compiled[name] = re.compile(possessive(pattern).encode("ascii"))
    return FastForm(compiled)


def _close_group_after(pattern: str, opener: str) -> str:
    """Insert ')' after the bracketed array that starts at ``opener`` (its closing ``\\]`` at depth 0)."""
    i = pattern.index(opener) + len(opener)
    depth = 0
    while i < len(pattern):
        if pattern.startswith(r"\[", i):
            depth += 1
            i += 2
        elif pattern.startswith(r"\]", i):
            if depth == 0:
                return pattern[: i + 2] + ")" + pattern[i + 2 :]
            depth -= 1
            i += 2
        elif pattern[i] == "\\":
            i += 2
        else:
            i += 1
    raise Untranslatable("unbalanced refs array")


REF = re.compile(rb'\{"index":(0|[1-9][0-9]*),"leaf":"sha256:([0-9a-f]{64})"\}')
