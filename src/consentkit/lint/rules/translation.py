"""CK120-CK124: every text in every locale, and each locale really translated into its own script."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from consentkit.lint.context import LintContext
from consentkit.lint.findings import Hit, hit
from consentkit.lint.registry import TextProblem, define_rule
from consentkit.lint.texts import TextInfo
from consentkit.spec.cjk import CJK_CLASS, is_chinese_locale
from consentkit.spec.library import Loaded
from consentkit.spec.models import ProcedureSpec

CK120 = define_rule(
    "CK120",
    "error",
    "missing-locale",
    "a text lacks one of the spec's locales (every text of a spec; intake labels against the intake's locales; "
    "policy texts against the intake's locales), or the spec lacks a locale the workspace or the intake needs",
    fix="add the missing translation; every text is a map with one entry per locale in `locales`",
)
CK121 = define_rule(
    "CK121",
    "warning",
    "untranslated",
    "a text is identical in two locales written in different scripts (English and Chinese; Simplified and "
    "Traditional Chinese when the text holds characters that differ): it was copied, not translated",
    fix="translate the text; for zh-TW, convert Simplified characters to Traditional and check Taiwan's wording",
)
CK122 = define_rule(
    "CK122",
    "warning",
    "simplified-in-traditional",
    "a Traditional Chinese text (zh-TW, zh-HK) contains characters that exist only in Simplified Chinese or that "
    "Taiwan / Hong Kong writes differently (着 → 著)",
    fix="replace the characters with the Traditional forms the message gives",
)
CK123 = define_rule(
    "CK123",
    "warning",
    "traditional-in-simplified",
    "a Simplified Chinese text (zh-CN) contains characters that exist only in Traditional Chinese",
    fix="replace the characters with the Simplified forms the message gives",
)

CK124 = define_rule(
    "CK124",
    "warning",
    "chinese-spacing",
    "a Chinese text has a gap between two Chinese characters or punctuation marks: a line break (a literal block "
    "`|`), a tab or a no-break space. The space a folded block (`>-`) leaves there is removed when the file is "
    "loaded; these are not, and print as a gap",
    fix="join the lines, or write the text as a folded block (`>-`), whose line breaks are dropped between Chinese "
    "characters",
)

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# whitespace after a CJK character and before one; it starts with the whitespace (the look-behind checks the
# character before it) so the engine skips from one whitespace character to the next
_GAP = re.compile(f"[ \t\n\r\u00a0](?<=[{CJK_CLASS}][ \t\n\r\u00a0])[ \t\n\r\u00a0]*(?=[{CJK_CLASS}])")
_GAP_WORDS = {"\n": "a line break", "\r": "a line break", "\t": "a tab", "\u00a0": "a no-break space", " ": "a space"}


@CK124.per_text
def _chinese_gaps(items: tuple[tuple[str, str], ...], info: TextInfo) -> Iterator[TextProblem]:
    for locale, text in items:
        if not is_chinese_locale(locale):
            continue
        found = _GAP.search(text)
        if found is None:
            continue
        gap = found.group(0)
        what = _GAP_WORDS.get(gap[0], "a gap")
        before, after = text[found.start() - 1], text[found.end()]
        yield (
            locale,
            f"{what} between '{before}' and '{after}' prints as a gap in Chinese: join the lines "
            "(a folded block >- drops them)",
            before + gap[0] if gap[0] not in "\n\r" else before,
        )


_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
MIN_LATIN_WORDS = 3  # shorter identical texts are usually names or units ("PDO", "1 ml") and may stay as they are


@CK120.per_text
def _text_locales(items: tuple[tuple[str, str], ...], info: TextInfo) -> Iterator[TextProblem]:
    if not info.locales:
        return
    present = {locale for locale, _ in items}
    missing = [loc for loc in info.locales if loc not in present]
    if missing:
        names = ", ".join(f"'{m}'" for m in missing)
        whose = {"spec": "the spec's locales", "profile": "the locales in consentkit.toml (clinic.locales)"}.get(
            info.kind, "the intake's locales"
        )
        yield None, f"no {names} text ({whose}: {', '.join(info.locales)})", None


@CK120.per_spec
def _spec_locales(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    locales = spec.model.locales
    for needed in ctx.workspace_locales:
        if needed not in locales:
            yield hit(
                spec,
                ("locales",),
                f"locale '{needed}' is in consentkit.toml (clinic.locales) but not in this spec; packets in "
                f"'{needed}' could not be made: add it and its texts",
            )
    if ctx.intake is not None:
        for loc in locales:
            if loc not in ctx.intake.model.locales:
                yield hit(
                    spec,
                    ("locales",),
                    f"locale '{loc}' is not in {ctx.intake.path.name} (locales: "
                    f"{', '.join(ctx.intake.model.locales)}); the intake questions cannot be shown in it",
                )


def _same(a: str, b: str) -> bool:
    """Equal but for whitespace. Texts in two languages usually differ in their first character: that is checked
    before splitting both into words."""
    if a == b:
        return True
    a0, b0 = a.lstrip()[:1], b.lstrip()[:1]
    return a0 == b0 and a.split() == b.split()


def _chars(found: list[tuple[str, list[str]]], limit: int = 5) -> str:
    shown = ", ".join(f"{c} → {'/'.join(forms)}" for c, forms in found[:limit])
    return shown + (f" and {len(found) - limit} more" if len(found) > limit else "")


ScriptProblem = tuple[str, str, str, str | None]  # rule id, locale, message, needle


@dataclass(frozen=True)
class _ScriptPlan:
    """What to compare for one set of locales (it depends on the locales only, so it is worked out once)."""

    chinese: tuple[tuple[str, str], ...]  # (locale, script) of every Chinese locale, in order
    zh_latin: tuple[tuple[str, str], ...]  # every (Chinese, Latin-script) pair
    hans_hant: tuple[tuple[str, str, str], ...]  # every (Simplified, Traditional, its script) pair


@cache
def _script_plan(locales: tuple[str, ...]) -> _ScriptPlan | None:
    from consentkit.lint.hanzi import script_of

    scripts = {loc: script_of(loc) for loc in locales}
    chinese = tuple((loc, s) for loc, s in scripts.items() if s.startswith("han"))
    if not chinese:
        return None
    latin = [loc for loc, s in scripts.items() if s == "latin"]
    hans = [loc for loc, s in chinese if s == "hans"]
    hant = [(loc, s) for loc, s in chinese if s != "hans"]
    return _ScriptPlan(
        chinese,
        tuple((zh, other) for zh, _ in chinese for other in latin),
        tuple((s_loc, t_loc, t_script) for s_loc in hans for t_loc, t_script in hant),
    )


@lru_cache(maxsize=65536)
def script_problems(items: tuple[tuple[str, str], ...]) -> tuple[ScriptProblem, ...]:
    """CK121-CK123 problems of one text (its ``(locale, text)`` pairs). Cached: copies of a text cost nothing."""
    plan = _script_plan(tuple(loc for loc, _ in items))
    if plan is None:
        return ()
    from consentkit.lint.hanzi import tables

    value = dict(items)
    han = tables()
    out: list[ScriptProblem] = []
    copied: set[str] = set()
    for zh, other in plan.zh_latin:
        if not _same(value[zh], value[other]):
            continue
        if _CJK.search(value[zh]):
            copied.add(other)
            out.append(("CK121", other, f"the '{other}' text is the '{zh}' text, in Chinese: translate it", None))
        elif len(_LATIN_WORD.findall(value[zh])) >= MIN_LATIN_WORDS:
            copied.add(zh)
            out.append(("CK121", zh, f"the '{zh}' text is the '{other}' text, untranslated: translate it", None))
    for s_loc, t_loc, t_script in plan.hans_hant:
        if not _same(value[s_loc], value[t_loc]):
            continue
        simplified = han.foreign(value[t_loc], t_script)
        traditional = han.foreign(value[s_loc], "hans")
        if simplified:
            copied.add(t_loc)
            message = (
                f"the '{t_loc}' text is the '{s_loc}' text, still in Simplified characters "
                f"({_chars(simplified)}): convert it"
            )
            out.append(("CK121", t_loc, message, simplified[0][0]))
        elif traditional:
            copied.add(s_loc)
            message = (
                f"the '{s_loc}' text is the '{t_loc}' text, in Traditional characters "
                f"({_chars(traditional)}): convert it"
            )
            out.append(("CK121", s_loc, message, traditional[0][0]))
    for loc, script in plan.chinese:
        if loc in copied:
            continue
        found = han.foreign(value[loc], script)
        if not found:
            continue
        if script == "hans":
            out.append(("CK123", loc, f"Traditional characters in the '{loc}' text: {_chars(found)}", found[0][0]))
        else:
            message = f"characters the '{loc}' text should write in Traditional form: {_chars(found)}"
            out.append(("CK122", loc, message, found[0][0]))
    return tuple(out)


def _script_rule(rule_id: str) -> Any:
    def check(items: tuple[tuple[str, str], ...], info: TextInfo) -> Iterator[TextProblem]:
        if len(items) < 2:
            return
        for found_id, locale, message, needle in script_problems(items):
            if found_id == rule_id:
                yield locale, message, needle

    return check


for _rule in (CK121, CK122, CK123):
    _rule.per_text(_script_rule(_rule.id))
