"""Safe YAML loading that remembers where every value came from.

PyYAML's ``safe_load`` forgets line numbers, silently keeps the last of two duplicate keys, and happily expands
an alias bomb into gigabytes. Here the data is built by hand from the parser's events (or, for rare features such
as merge keys, from composed nodes) so that each value's key path maps to its 1-based line, duplicate keys are an
error, and size, depth and node-count limits hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from consentkit.errors import InputError, SourceLocation
from consentkit.spec.cjk import is_chinese_locale, normalise_chinese

KeyPath = tuple[str | int, ...]

# libyaml's composer is ~15x faster than the pure-Python one (3.5 ms vs 55 ms for a 19 KB spec)
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FILE_BYTES = 2 * 1024 * 1024  # a full procedure spec in three languages is ~60 KB
MAX_NODES = 200_000
MAX_DEPTH = 64


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: the plain data, the file's text, and the line of every key path."""

    path: Path
    data: Any
    text: str
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def line_of(self, loc: KeyPath) -> int | None:
        """The line of ``loc``, or of its nearest ancestor that has one."""
        loc = tuple(loc)
        while True:
            if loc in self.lines:
                return self.lines[loc]
            if not loc:
                return None
            loc = loc[:-1]

    def location(self, loc: KeyPath) -> SourceLocation:
        return SourceLocation(self.path, self.line_of(loc), format_path(loc) or None)

    def source_line(self, line: int | None) -> str | None:
        if line is None:
            return None
        rows = self.text.splitlines()
        return rows[line - 1] if 0 < line <= len(rows) else None


def format_path(loc: KeyPath) -> str:
    """``("risks", 3, "band")`` → ``risks[3].band``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _text_for(key: str, value: Any) -> Any:
    """A text under a Chinese locale key (``zh-CN: >- ...``) without the spaces folding put between Chinese
    characters (see :mod:`consentkit.spec.cjk`); any other value as it is."""
    if type(value) is str and " " in value and is_chinese_locale(key):
        return normalise_chinese(value)
    return value


class YamlError(InputError):
    """The YAML itself is unusable: unparseable, too big, not the expected shape."""


class _BadValue(YamlError):
    """A value YAML cannot read (an impossible date like 1990-13-45); the field is added where it is known."""


class _Builder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[KeyPath, int] = {}
        self.count = 0
        self.constructor = SafeConstructor()

    def fail(self, node: yaml.Node, message: str) -> YamlError:
        return YamlError(message, location=SourceLocation(self.path, node.start_mark.line + 1))

    def build(self, node: yaml.Node, loc: KeyPath, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(node, f"more than {MAX_NODES:,} values (YAML aliases expanding?); refusing to load")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested deeper than {MAX_DEPTH} levels")
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)  # resolves YAML merge keys (<<)
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.fail(key_node, "a key must be a plain word, not a list or mapping")
                key = str(key_node.value)  # keep 'no', 'on', '1' as written, never bool/int
                if key in out:
                    raise self.fail(key_node, f"duplicate key '{key}' (the first is kept by most tools; say it once)")
                self.lines[(*loc, key)] = key_node.start_mark.line + 1
                out[key] = _text_for(key, self.build(value_node, (*loc, key), depth + 1))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode):
            try:
                return self.constructor.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError) as exc:  # e.g. an impossible date like 2026-02-30
                reason = getattr(exc, "problem", None) or exc
                where = SourceLocation(self.path, node.start_mark.line + 1, format_path(loc) or None)
                raise _BadValue(f"cannot read value {node.value!r}: {reason}", location=where) from exc
        raise self.fail(node, f"unsupported YAML node {type(node).__name__}")


_IMPLICIT = Resolver.yaml_implicit_resolvers  # first character → [(tag, regexp)], as PyYAML resolves plain scalars
_STR = "tag:yaml.org,2002:str"


class _Unusual(Exception):
    """The document uses a YAML feature the fast event builder leaves to the node builder (merge keys, tags on
    collections, alias keys)."""


class _EventBuilder:
    """Builds data and line map straight from the parser's events, without composing a node graph first.

    Same result as :class:`_Builder` for everything a spec contains, about 3x faster: composing nodes and resolving
    each one through PyYAML's Python resolver dominated the load time of a spec (see bench/bench_lint.py). Aliases
    reuse the anchored value (not a copy) and count its size again against ``MAX_NODES``, so a bomb still stops."""

    def __init__(self, path: Path, parser: Any) -> None:
        self.path = path
        self.next_event = parser.get_event
        self.lines: dict[KeyPath, int] = {}
        self.count = 0
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.constructor = SafeConstructor()

    def fail(self, event: Event, message: str) -> YamlError:
        mark = event.start_mark
        return YamlError(message, location=SourceLocation(self.path, mark.line + 1 if mark is not None else None))

    def build(self, event: Event, loc: KeyPath, depth: int) -> Any:
        first = self.count
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(event, f"more than {MAX_NODES:,} values (YAML aliases expanding?); refusing to load")
        if depth > MAX_DEPTH:
            raise self.fail(event, f"nested deeper than {MAX_DEPTH} levels")
        mark = event.start_mark
        self.lines.setdefault(loc, mark.line + 1 if mark is not None else 1)
        kind = type(event)
        value: Any
        if kind is ScalarEvent:
            value = self.located_scalar(event, loc)  # type: ignore[arg-type]
        elif kind is MappingStartEvent:
            if event.tag is not None:  # type: ignore[attr-defined]
                raise _Unusual
            value = {}
            while True:
                key_event = self.next_event()
                key_kind = type(key_event)
                if key_kind is MappingEndEvent:
                    break
                if key_kind is AliasEvent:
                    raise _Unusual
                if key_kind is not ScalarEvent:
                    raise self.fail(key_event, "a key must be a plain word, not a list or mapping")
                key = str(key_event.value)  # keep 'no', 'on', '1' as written, never bool/int
                if key == "<<" and key_event.implicit[0] and key_event.tag is None:
                    raise _Unusual
                if key in value:
                    raise self.fail(key_event, f"duplicate key '{key}' (the first is kept by most tools; say it once)")
                key_mark = key_event.start_mark
                here = (*loc, key)
                self.lines[here] = key_mark.line + 1 if key_mark is not None else 1
                item = self.next_event()
                if type(item) is ScalarEvent and item.anchor is None and depth < MAX_DEPTH:
                    # the common case, inline: a plain value (its line is the key's, recorded above)
                    self.count += 1
                    if self.count > MAX_NODES:
                        raise self.fail(item, f"more than {MAX_NODES:,} values; refusing to load")
                    plain = item.tag is None and not item.implicit[0]
                    scalar = item.value if plain else self.located_scalar(item, here)
                    value[key] = _text_for(key, scalar) if key[:2] == "zh" else scalar
                else:
                    built = self.build(item, here, depth + 1)
                    value[key] = _text_for(key, built) if key[:2] == "zh" else built
        elif kind is SequenceStartEvent:
            if event.tag is not None:  # type: ignore[attr-defined]
                raise _Unusual
            value = []
            while True:
                item = self.next_event()
                if type(item) is SequenceEndEvent:
                    break
                value.append(self.build(item, (*loc, len(value)), depth + 1))
        elif kind is AliasEvent:
            anchored = self.anchors.get(event.anchor)  # type: ignore[attr-defined]
            if anchored is None:
                raise self.fail(event, f"YAML cannot be parsed: found undefined alias '{event.anchor}'")  # type: ignore[attr-defined]
            self.count += anchored[1] - 1
            if self.count > MAX_NODES:
                raise self.fail(event, f"more than {MAX_NODES:,} values (YAML aliases expanding?); refusing to load")
            return anchored[0]
        else:
            raise self.fail(event, f"unsupported YAML event {kind.__name__}")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.anchors[anchor] = (value, self.count - first)
        return value

    def scalar(self, event: ScalarEvent) -> Any:
        value = event.value
        tag = event.tag
        if tag is None:
            if not event.implicit[0]:  # quoted or block scalar without a tag: text
                return value
            for candidate, regexp in _IMPLICIT.get(value[:1], ()):
                if regexp.match(value):
                    tag = candidate
                    break
            else:
                return value
        elif tag == "!":
            raise _Unusual
        if tag == _STR:
            return value
        node = ScalarNode(tag, value, style=event.style)
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:  # e.g. an impossible date like 2026-02-30
            reason = getattr(exc, "problem", None) or exc
            mark = event.start_mark
            where = SourceLocation(self.path, mark.line + 1 if mark is not None else None)
            raise _BadValue(f"cannot read value {value!r}: {reason}", location=where) from exc

    def located_scalar(self, event: ScalarEvent, loc: KeyPath) -> Any:
        """:meth:`scalar`, its error naming the field."""
        try:
            return self.scalar(event)
        except _BadValue as exc:
            where = SourceLocation(self.path, exc.location.line if exc.location else None, format_path(loc) or None)
            raise _BadValue(exc.message, location=where) from exc

    def document(self) -> tuple[Any, bool]:
        """The single document's data, and whether the stream held a document at all."""
        event = self.next_event()  # StreamStartEvent
        event = self.next_event()
        if type(event) is StreamEndEvent:
            return None, False
        root = self.build(self.next_event(), (), 0)
        self.next_event()  # DocumentEndEvent
        event = self.next_event()
        if type(event) is DocumentStartEvent:
            raise self.fail(
                event, "YAML cannot be parsed: expected a single document in the stream but found another document"
            )
        return root, True


class _DataBuilder(_EventBuilder):
    """The same pass without recording lines: a third faster. Lines are found again, lazily, only for a file that
    has a problem to report (:class:`_LazyLines`); most files never need them."""

    def build(self, event: Event, loc: KeyPath, depth: int) -> Any:
        first = self.count
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(event, f"more than {MAX_NODES:,} values (YAML aliases expanding?); refusing to load")
        if depth > MAX_DEPTH:
            raise self.fail(event, f"nested deeper than {MAX_DEPTH} levels")
        kind = type(event)
        value: Any
        next_event = self.next_event
        if kind is ScalarEvent:
            value = self.scalar(event)  # type: ignore[arg-type]
        elif kind is MappingStartEvent:
            if event.tag is not None:  # type: ignore[attr-defined]
                raise _Unusual
            value = {}
            while True:
                key_event = next_event()
                key_kind = type(key_event)
                if key_kind is MappingEndEvent:
                    break
                if key_kind is AliasEvent:
                    raise _Unusual
                if key_kind is not ScalarEvent:
                    raise self.fail(key_event, "a key must be a plain word, not a list or mapping")
                key = key_event.value  # always text: PyYAML's scalar events carry the characters as written
                if key == "<<" and key_event.implicit[0] and key_event.tag is None:
                    raise _Unusual
                if key in value:
                    raise self.fail(key_event, f"duplicate key '{key}' (the first is kept by most tools; say it once)")
                item = next_event()
                if type(item) is ScalarEvent and item.anchor is None and depth < MAX_DEPTH:
                    self.count += 1
                    if self.count > MAX_NODES:
                        raise self.fail(item, f"more than {MAX_NODES:,} values; refusing to load")
                    scalar = item.value if item.tag is None and not item.implicit[0] else self.scalar(item)
                    value[key] = _text_for(key, scalar) if key[:2] == "zh" else scalar
                else:
                    built = self.build(item, loc, depth + 1)
                    value[key] = _text_for(key, built) if key[:2] == "zh" else built
        elif kind is SequenceStartEvent:
            if event.tag is not None:  # type: ignore[attr-defined]
                raise _Unusual
            value = []
            while True:
                item = next_event()
                if type(item) is SequenceEndEvent:
                    break
                value.append(self.build(item, loc, depth + 1))
        elif kind is AliasEvent:
            anchored = self.anchors.get(event.anchor)  # type: ignore[attr-defined]
            if anchored is None:
                raise self.fail(event, f"YAML cannot be parsed: found undefined alias '{event.anchor}'")  # type: ignore[attr-defined]
            self.count += anchored[1] - 1
            if self.count > MAX_NODES:
                raise self.fail(event, f"more than {MAX_NODES:,} values (YAML aliases expanding?); refusing to load")
            return anchored[0]
        else:
            raise self.fail(event, f"unsupported YAML event {kind.__name__}")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.anchors[anchor] = (value, self.count - first)
        return value


class _LazyLines(Mapping[KeyPath, int]):
    """The line map of a document, computed on first use by a second, line-recording pass over the text."""

    def __init__(self, text: str, path: Path) -> None:
        self._text = text
        self._path = path
        self._lines: Mapping[KeyPath, int] | None = None

    def _map(self) -> Mapping[KeyPath, int]:
        if self._lines is None:
            self._lines = _line_map(self._text, self._path)
        return self._lines

    def __getitem__(self, key: KeyPath) -> int:
        return self._map()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._map()

    def __iter__(self) -> Iterator[KeyPath]:
        return iter(self._map())

    def __len__(self) -> int:
        return len(self._map())


def _line_map(text: str, path: Path) -> Mapping[KeyPath, int]:
    parser = _COMPOSER(text)
    try:
        builder = _EventBuilder(path, parser)
        builder.document()
        return builder.lines
    except _Unusual:
        pass
    except (yaml.YAMLError, YamlError, RecursionError):
        return {}
    finally:
        parser.dispose()
    try:
        return _parse_with_nodes(text, path).lines
    except (YamlError, RecursionError):
        return {}


# What YAML 1.1 accepts in a stream (PyYAML's reader): tab, line breaks, printable ASCII, NEL and the rest of Unicode
# apart from C1 controls, surrogates and U+FFFE/U+FFFF.
_NOT_YAML = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CONTROL_NAMES = {0: "NUL", 0x1B: "ESC", 0x08: "backspace", 0x0C: "form feed", 0x7F: "DEL"}


def _bad_character(text: str, path: Path) -> YamlError | None:
    """A character YAML does not allow (NUL, ESC and other controls), reported at its own line and column."""
    found = _NOT_YAML.search(text)
    if found is None:
        return None
    code = ord(found.group())
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    name = _CONTROL_NAMES.get(code, "control character" if code < 0xA0 else "character")
    return YamlError(
        f"YAML cannot be parsed: the {name} U+{code:04X} in column {column} is not allowed in YAML; delete it "
        "(it often comes from copying text out of another program)",
        location=SourceLocation(path, line),
    )


_OPENED = {
    "while scanning a quoted scalar": "a quoted text",
    "while parsing a flow sequence": "a [ list",
    "while parsing a flow mapping": "a { mapping",
}
_CLOSING = {"a quoted text": "closing quote", "a [ list": "closing ]", "a { mapping": "closing }"}


def _syntax_error(exc: yaml.YAMLError, path: Path, text: str) -> YamlError:
    """PyYAML's error as one line, at a line that exists in the file."""
    bad = _bad_character(text, path)
    if bad is not None:
        return bad
    last = max(1, len(text.splitlines()))
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = " ".join(str(p).strip() for p in (exc.context, exc.problem) if p) or "invalid YAML"
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and "end of stream" in (exc.problem or ""):
            # an unclosed quote or bracket runs to the end of the file: the useful line is where it was opened
            mark = exc.context_mark
            opened = _OPENED.get(str(exc.context), "a value")
            problem = f"{opened} starts on this line and is never closed; add the {_CLOSING.get(opened, 'end')}"
        line = min(mark.line + 1, last) if mark is not None else None
        return YamlError(f"YAML cannot be parsed: {' '.join(problem.split())}", location=SourceLocation(path, line))
    first = str(getattr(exc, "reason", "") or exc).splitlines()[0] if str(exc) else "invalid YAML"
    return YamlError(f"YAML cannot be parsed: {first}", location=SourceLocation(path))


def parse_yaml(text: str, path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> YamlDocument:
    """Parse ``text`` (already read from ``path``) into a :class:`YamlDocument`."""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise YamlError(
            f"file is larger than {max_bytes // 1024} KiB; is it the right file?", location=SourceLocation(path)
        )
    parser = _COMPOSER(text)
    try:
        events = _DataBuilder(path, parser)
        data, found = events.document()
        if not found:
            return YamlDocument(path=path, data=None, text=text, lines={})
        return YamlDocument(path=path, data=data, text=text, lines=_LazyLines(text, path))
    except _Unusual:
        pass
    except _BadValue as exc:
        raise _located(text, path) or exc from None
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, path, text) from exc
    except RecursionError as exc:
        raise YamlError("YAML is nested too deeply", location=SourceLocation(path)) from exc
    finally:
        parser.dispose()
    return _parse_with_nodes(text, path)


def _located(text: str, path: Path) -> _BadValue | None:
    """The unreadable value's error again, from the line-recording pass, which knows the field's name."""
    parser = _COMPOSER(text)
    try:
        _EventBuilder(path, parser).document()
    except _BadValue as exc:
        return exc
    except (_Unusual, yaml.YAMLError, YamlError, RecursionError):
        return None
    finally:
        parser.dispose()
    return None


def _parse_with_nodes(text: str, path: Path) -> YamlDocument:
    """The general path: compose the node graph, then build (merge keys, tagged collections)."""
    try:
        root = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, path, text) from exc
    if root is None:
        return YamlDocument(path=path, data=None, text=text, lines={})
    builder = _Builder(path)
    try:
        data = builder.build(root, (), 0)
    except RecursionError as exc:
        raise YamlError("YAML is nested too deeply", location=SourceLocation(path)) from exc
    return YamlDocument(path=path, data=data, text=text, lines=builder.lines)


def read_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 text file a person wrote, refusing huge or binary files with a clear message."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise YamlError(
                f"file is {size / 1024 / 1024:.1f} MiB, larger than the {max_bytes // 1024} KiB limit; "
                "is it the right file?",
                location=SourceLocation(path),
            )
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise YamlError("file not found", location=SourceLocation(path)) from exc
    except IsADirectoryError as exc:
        raise YamlError("is a directory, expected a YAML file", location=SourceLocation(path)) from exc
    except OSError as exc:
        raise YamlError(f"cannot read file: {exc.strerror}", location=SourceLocation(path)) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlError("not UTF-8 text (save the file as UTF-8)", location=SourceLocation(path, line)) from exc


def load_yaml(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> YamlDocument:
    return parse_yaml(read_text(path, max_bytes=max_bytes), path, max_bytes=max_bytes)


_TOP_LEVEL = {
    "NoneType": "is empty",
    "list": "is a list (its lines start with '- ')",
    "str": "is a single text",
    "int": "is a single number",
    "float": "is a single number",
    "bool": "is a single true/false",
}


def load_mapping(path: Path, *, what: str, max_bytes: int = MAX_FILE_BYTES) -> YamlDocument:
    """Load a YAML file whose top level must be a mapping (every spec, case, policy and profile is)."""
    doc = load_yaml(path, max_bytes=max_bytes)
    if not isinstance(doc.data, dict):
        kind = _TOP_LEVEL.get(type(doc.data).__name__, "a single value")
        raise YamlError(
            f"a {what} must be a YAML mapping of fields (key: value lines), but this file {kind}",
            location=SourceLocation(path, 1),
        )
    return doc
