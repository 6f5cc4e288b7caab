"""Literal strings that every match of a regular expression must contain, found by walking its parse tree.

A text without any of them cannot match, so ``any(n in text for n in needles)`` (fast substring search in C) lets
the wording rules skip the slow alternation of a hundred phrases for most texts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from re import _compiler as sre_compile  # type: ignore[attr-defined]
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any


def _required(items: Sequence[tuple[Any, Any]]) -> frozenset[str] | None:
    """Strings one of which every match of the sequence ``items`` contains, or None when nothing is required."""
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append(frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is c.LITERAL:
            run.append(chr(av))
            continue
        flush()
        sub: frozenset[str] | None = None
        if op is c.SUBPATTERN:
            sub = _required(av[-1])
        elif op is c.BRANCH:
            alternatives = [_required(branch) for branch in av[1]]
            if all(alternatives):
                sub = frozenset().union(*alternatives)  # type: ignore[arg-type]
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
            sub = _required(av[2])
        if sub:
            candidates.append(sub)
    flush()
    if not candidates:
        return None
    # the set whose shortest string is longest: the most selective requirement
    return max(candidates, key=lambda strings: (min(len(s) for s in strings), -len(strings)))


def parse_pattern(pattern: str) -> Any:
    """The parse tree of ``pattern`` (parse once, then both :func:`needles_in` and :func:`compile_parsed`)."""
    return sre_parse.parse(pattern)


def compile_parsed(parsed: Any) -> re.Pattern[str]:
    """Compile a tree from :func:`parse_pattern` without parsing it again."""
    compiled: re.Pattern[str] = sre_compile.compile(parsed)
    return compiled


def needles_in(parsed: Any) -> tuple[str, ...]:
    """Needles for a parsed pattern; ``("",)`` (always passes) when the pattern requires no literal."""
    found = _required(list(parsed))
    if not found:
        return ("",)
    # drop needles that contain another needle: the shorter one already lets the text through
    kept: list[str] = []
    for needle in sorted(found, key=len):
        if not any(k in needle for k in kept):
            kept.append(needle)
    return tuple(kept)


def needles_of(pattern: str) -> tuple[str, ...]:
    """Needles of ``pattern``: ``needles_of("(?:no|zero) risks?") == ("risk",)``."""
    return needles_in(parse_pattern(pattern))


def gate_pattern(needles: Sequence[str]) -> re.Pattern[str]:
    """A pattern that finds any of ``needles`` (non-empty literals), written as a trie: ``风(?:险|格)|效果`` rather
    than ``风险|风格|效果``, so at each position the regular expression engine tries only the needles that start
    with the character there. Only whether a needle occurs matters, so a needle that extends another is dropped."""
    root: dict[str, Any] = {}
    for needle in sorted(set(needles), key=len):
        node = root
        for char in needle:
            if "" in node:
                break  # a shorter needle already covers this one
            node = node.setdefault(char, {})
        else:
            node.clear()
            node[""] = True
    return re.compile(_trie_source(root))


def _trie_source(node: dict[str, Any]) -> str:
    if "" in node:
        return ""
    branches = [re.escape(char) + _trie_source(child) for char, child in sorted(node.items())]
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
