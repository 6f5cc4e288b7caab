"""The fast event-based YAML builder gives the same data, lines and errors as the node-based one."""

from __future__ import annotations

from pathlib import Path

import pytest

from consentkit.resources import builtin_dir
from consentkit.spec.yamlfile import YamlDocument, YamlError, _parse_with_nodes, parse_yaml

TRICKY = [
    "a: 1\nb: 1.5\nc: true\nd: no\ne: ~\nf:\ng: 2026-01-02\nh: 2026-01-02T10:00:00Z\ni: '1'\nj: !!str 12\nk: 0x1F\n",
    "l: .inf\nm: [1, two, {x: y}]\n'no': 1\n1: x\n",
    "a: |\n  text\n  more\nb: >-\n  folded\n  here\n",
    "",
    "# only a comment\n",
    "---\na: 1\n...\n",
    "- 1\n- 2\n",
    "just text",
    "a: 2026-02-30\n",
    "a: !foo x\n",
    "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",
    "a: 1\n---\nb: 2\n",
    "? [a, b]\n: 1\n",
    "a: =\n",
    "a: 1\na: 2\n",
    "a: !!set {x, y}\n",
    "a: !!binary aGVsbG8=\n",
    "a: ! x\n",
    "a: [1, 2\n",
]


def _outcome(parse: object, text: str) -> tuple[object, ...]:
    assert callable(parse)
    try:
        doc: YamlDocument = parse(text, Path("x.yaml"))
    except YamlError as err:
        return ("error", err.location.line if err.location else None, err.message.split(":")[0])
    return ("ok", doc.data, dict(doc.lines))


@pytest.mark.parametrize("text", TRICKY)
def test_fast_builder_matches_node_builder(text: str) -> None:
    assert _outcome(parse_yaml, text) == _outcome(_parse_with_nodes, text)


def test_fast_builder_matches_on_the_library() -> None:
    files = sorted(builtin_dir("procedures").rglob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert _outcome(parse_yaml, text) == _outcome(_parse_with_nodes, text), path


def test_alias_reuses_value_and_points_at_the_alias() -> None:
    doc = parse_yaml("a: &x {p: 1}\nb: *x\n", Path("x.yaml"))
    assert doc.data == {"a": {"p": 1}, "b": {"p": 1}}
    assert doc.line_of(("b", "p")) == 2  # inside an alias: the alias's line


def test_undefined_alias_names_the_anchor() -> None:
    with pytest.raises(YamlError, match="undefined alias 'nope'") as err:
        parse_yaml("a: 1\nb: *nope\n", Path("x.yaml"))
    assert err.value.location is not None and err.value.location.line == 2


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(YamlError, match="nested deeper"):
        parse_yaml("a: " + "[" * 200 + "]" * 200 + "\n", Path("x.yaml"))
