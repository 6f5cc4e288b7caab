"""Which Chinese characters belong to which script, from OpenCC's character dictionaries.

The tables come from ``opencc-python-reimplemented`` (pure Python, Apache-2.0), read directly: we need "is this
character wrong in a Simplified / Taiwan / Hong Kong text", not phrase conversion. A character is *Simplified-only*
for a region when none of its Traditional forms (after the region's variant table) is the character itself, so
ambiguous ones such as 干 (乾/幹/干), 后 (後/后) or 台 (臺/台) never count. Loading takes about 10 ms, done once and
only when a text has both Simplified and Traditional versions.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from consentkit.errors import ConfigError

Script = str  # "latin", "hans", "hant", "hant-tw", "hant-hk"


@cache
def script_of(locale: str) -> Script:
    """The writing system of a locale tag: ``zh-CN`` → hans, ``zh-TW`` → hant-tw, ``en`` → latin."""
    parts = locale.split("-")
    if parts[0] != "zh":
        return "other" if parts[0] in ("ja", "ko") else "latin"
    if "Hant" in parts or any(p in ("TW", "HK", "MO") for p in parts):
        if "TW" in parts:
            return "hant-tw"
        if "HK" in parts or "MO" in parts:
            return "hant-hk"
        return "hant"
    return "hans"


STANDARD_ALSO: dict[Script, frozenset[str]] = {
    # OpenCC's orthodox forms are not always the regional standard: Taiwan's medical term for herpes is 疱疹
    # (National Academy for Educational Research terminology), not 皰疹. Add a character here only with a source.
    "hant-tw": frozenset("疱"),
    "hant-hk": frozenset("疱"),
}


def _dictionary_dir() -> Path:
    spec = importlib.util.find_spec("opencc")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        folder = Path(location) / "dictionary"
        if (folder / "STCharacters.txt").is_file():
            return folder
    raise ConfigError(
        "the Chinese character tables are missing: install 'opencc-python-reimplemented' (a dependency of consentkit)"
    )


def _read(folder: Path, name: str) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    with (folder / name).open(encoding="utf-8") as fh:
        for line in fh:
            key, _, forms = line.rstrip("\n").partition("\t")
            if key and forms:
                table[key] = forms.split(" ")
    return table


class HanziTables:
    """Which characters do not belong in a text of a given script, and the forms to use instead."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._st: dict[str, list[str]] | None = None
        self._wrong: dict[Script, dict[str, list[str]]] = {}
        self._gates: dict[Script, re.Pattern[str]] = {}

    def wrong(self, script: Script) -> dict[str, list[str]]:
        """Characters wrong in a ``script`` text → the forms to use (built on first use, ~5 ms each)."""
        table = self._wrong.get(script)
        if table is None:
            table = self._wrong[script] = self._build(script)
            self._gates[script] = _gate(table)
        return table

    def _build(self, script: Script) -> dict[str, list[str]]:
        if script == "hans":
            return {c: forms for c, forms in _read(self.folder, "TSCharacters.txt").items() if c not in forms}
        variants_file = {"hant-tw": "TWVariants.txt", "hant-hk": "HKVariants.txt"}.get(script)
        if script not in ("hant", "hant-tw", "hant-hk"):
            return {}
        if self._st is None:
            self._st = _read(self.folder, "STCharacters.txt")
        variants = _read(self.folder, variants_file) if variants_file else {}
        table: dict[str, list[str]] = {}
        for char, forms in self._st.items():
            regional = list(dict.fromkeys(variants.get(f, [f])[0] for f in forms))
            if char not in regional:
                table[char] = regional
        for char, forms in variants.items():  # e.g. Taiwan writes 著 for 着, 裡 for 裏
            if char not in forms:
                table.setdefault(char, forms)
        for char in STANDARD_ALSO.get(script, ()):
            table.pop(char, None)
        return table

    def foreign(self, text: str, script: Script) -> list[tuple[str, list[str]]]:
        """Characters of ``text`` that are wrong for ``script``, in order of first appearance."""
        table = self.wrong(script)
        if not table or self._gates[script].search(text) is None:
            return []
        seen: dict[str, list[str]] = {}
        for char in text:
            if char in table and char not in seen:
                seen[char] = table[char]
        return list(seen.items())


def _gate(chars: Iterable[str]) -> re.Pattern[str]:
    """A pattern that finds any of ``chars`` (plus any character beyond the BMP, checked one by one after): one
    character class is a bitmap scan in C, far faster than ``frozenset.isdisjoint(text)``; a class holding astral
    characters would not be a bitmap, hence the separate, rarely matching branch."""
    bmp = sorted(c for c in chars if ord(c) <= 0xFFFF)
    return re.compile("[" + "".join(re.escape(c) for c in bmp) + "]|[\U00010000-\U0010ffff]")


@cache
def tables() -> HanziTables:
    return HanziTables(_dictionary_dir())
