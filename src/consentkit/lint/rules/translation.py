"""CK120-CK123: every text in every locale, and each locale really translated into its own script."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

from consentkit.lint.context import LintContext
from consentkit.lint.findings import Hit, hit
from consentkit.lint.registry import define_rule
from consentkit.lint.texts import TextField
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

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
MIN_LATIN_WORDS = 3  # shorter identical texts are usually names or units ("PDO", "1 ml") and may stay as they are


def _missing(source: Loaded[Any], fields: Sequence[TextField], locales: Sequence[str], whose: str) -> Iterator[Hit]:
    for text in fields:
        missing = [loc for loc in locales if loc not in text.value]
        if missing:
            names = ", ".join(f"'{m}'" for m in missing)
            yield hit(source, text.loc, f"no {names} text ({whose} locales: {', '.join(locales)})")


@CK120.per_spec
def _spec_locales(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    locales = spec.model.locales
    yield from _missing(spec, ctx.texts(spec), locales, "the spec's")
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


def _file_texts(ctx: LintContext) -> Iterator[tuple[Loaded[Any], list[TextField], list[str]]]:
    """The intake catalogue and policies being reported, with the locales their texts must carry."""
    intake = ctx.intake
    intake_locales = list(intake.model.locales) if intake is not None else []
    if intake is not None and ctx.is_reported(intake.path):
        yield intake, ctx.texts(intake), intake_locales
    for policy in ctx.scan.policies.values():
        if ctx.is_reported(policy.path):
            yield policy, ctx.texts(policy), intake_locales


@CK120.per_library
def _file_locales(ctx: LintContext) -> Iterator[Hit]:
    for source, fields, locales in _file_texts(ctx):
        if locales:
            yield from _missing(source, fields, locales, "the intake's")


def _same(a: str, b: str) -> bool:
    return a == b or a.split() == b.split()


def _chars(found: list[tuple[str, list[str]]], limit: int = 5) -> str:
    shown = ", ".join(f"{c} → {'/'.join(forms)}" for c, forms in found[:limit])
    return shown + (f" and {len(found) - limit} more" if len(found) > limit else "")


ScriptProblem = tuple[str, str, str, str | None]  # rule id, locale, message, needle


@lru_cache(maxsize=65536)
def script_problems(items: tuple[tuple[str, str], ...]) -> tuple[ScriptProblem, ...]:
    """CK121-CK123 problems of one text (its ``(locale, text)`` pairs). Cached: copies of a text cost nothing."""
    from consentkit.lint.hanzi import script_of, tables

    value = dict(items)
    scripts = {loc: script_of(loc) for loc in value}
    chinese = [loc for loc, s in scripts.items() if s.startswith("han")]
    if not chinese:
        return ()
    han = tables()
    out: list[ScriptProblem] = []
    latin = [loc for loc, s in scripts.items() if s == "latin"]
    copied: set[str] = set()
    for zh in chinese:
        for other in latin:
            if not _same(value[zh], value[other]):
                continue
            if _CJK.search(value[zh]):
                copied.add(other)
                out.append(("CK121", other, f"the '{other}' text is the '{zh}' text, in Chinese: translate it", None))
            elif len(_LATIN_WORD.findall(value[zh])) >= MIN_LATIN_WORDS:
                copied.add(zh)
                out.append(("CK121", zh, f"the '{zh}' text is the '{other}' text, untranslated: translate it", None))
    hans = [loc for loc in chinese if scripts[loc] == "hans"]
    hant = [loc for loc in chinese if scripts[loc] != "hans"]
    for s_loc in hans:
        for t_loc in hant:
            if not _same(value[s_loc], value[t_loc]):
                continue
            simplified = han.foreign(value[t_loc], scripts[t_loc])
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
    for loc in chinese:
        if loc in copied:
            continue
        found = han.foreign(value[loc], scripts[loc])
        if not found:
            continue
        if scripts[loc] == "hans":
            out.append(("CK123", loc, f"Traditional characters in the '{loc}' text: {_chars(found)}", found[0][0]))
        else:
            message = f"characters the '{loc}' text should write in Traditional form: {_chars(found)}"
            out.append(("CK122", loc, message, found[0][0]))
    return tuple(out)


def _script_checks(source: Loaded[Any], fields: Sequence[TextField]) -> Iterator[tuple[str, Hit]]:
    """(rule id, hit) for CK121-CK123 over ``fields``."""
    for text in fields:
        if len(text.value) < 2:
            continue
        for rule_id, locale, message, needle in script_problems(tuple(text.value.items())):
            yield rule_id, hit(source, (*text.loc, locale), message, needle=needle)


def _memo_checks(ctx: LintContext, source: Loaded[Any], fields: Sequence[TextField]) -> list[tuple[str, Hit]]:
    """Run the script checks once per file and share the result between CK121, CK122 and CK123."""
    key = f"CK121:{source.path}"
    found = ctx.memo.get(key)
    if found is None:
        found = ctx.memo[key] = list(_script_checks(source, fields))
    return list(found)


def _spec_script(rule_id: str) -> Any:
    def check(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
        for found_id, item in _memo_checks(ctx, spec, ctx.texts(spec)):
            if found_id == rule_id:
                yield item

    return check


def _file_script(rule_id: str) -> Any:
    def check(ctx: LintContext) -> Iterator[Hit]:
        for source, fields, _ in _file_texts(ctx):
            for found_id, item in _memo_checks(ctx, source, fields):
                if found_id == rule_id:
                    yield item

    return check


for _rule in (CK121, CK122, CK123):
    _rule.per_spec(_spec_script(_rule.id))
    _rule.per_library(_file_script(_rule.id))
