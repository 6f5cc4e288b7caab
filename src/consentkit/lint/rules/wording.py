"""CK140, CK150, CK151: placeholders left in, promise or minimising words, liability waivers.

The word lists live in :mod:`consentkit.lint.phrases`. One combined regular expression per language finds every
candidate in one pass; each candidate is then checked for a negation ("not guaranteed", "不能保证"), a condition
("if there are no complications", "如果没有并发症") or, for permanence, a possibility ("may be permanent", "可能永久")
in the same clause, which turn a promise into an honest statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

from consentkit.lint import phrases
from consentkit.lint.context import LintContext
from consentkit.lint.findings import Hit, hit
from consentkit.lint.needles import compile_parsed, gate_pattern, needles_in, parse_pattern
from consentkit.lint.phrases import Concept
from consentkit.lint.registry import TextProblem, define_rule
from consentkit.lint.texts import TextInfo
from consentkit.spec.library import Loaded
from consentkit.spec.models import ProcedureSpec

CK140 = define_rule(
    "CK140",
    "error",
    "placeholder",
    "a placeholder was left in a text: [X], XX, XXX, TODO, TBD, FIXME, ___, 某某, XX医院, 〇〇, a '…' blank, <name>, "
    "{{ field }}",
    fix="write the real text; a patient must never read a blank",
)
CK150 = define_rule(
    "CK150",
    "error",
    "promise",
    "promise or minimising language outside a risk statement: guarantees, absolute safety, no side effects, "
    "permanence, trivialising (painless, no downtime), superlatives, promotional success rates (广告法 Art 9/16, "
    "SAMR 2021 guide, 醫療法 Art 86, UK CAP code)",
    fix="say what usually happens, how often, and for how long; harm words belong in `risks`",
)
CK151 = define_rule(
    "CK151",
    "error",
    "waiver",
    "liability-waiver wording anywhere, risks included: 风险自担, 后果自负, 免责, 風險自負, 後果自負, 免責, "
    "at your own risk, we are not liable, not responsible for",
    fix="remove it: consent informs the patient; it does not transfer the clinic's duty of care",
)

_CLAUSE_BREAK = re.compile(r"[.;:!?,()\n，。；：！？、（）]")
_EN_WORD = re.compile(r"[A-Za-z']+")


@dataclass(frozen=True)
class _Matcher:
    """One concept's phrases in one language, with the needles that gate them (see consentkit.lint.needles)."""

    concept: Concept
    pattern: re.Pattern[str]
    needles: tuple[str, ...]
    gate: re.Pattern[str] | None  # the needles as one literal alternation (fast for Chinese)

    def may_match(self, text: str) -> bool:
        if self.gate is not None:
            return self.gate.search(text) is not None
        return any(needle in text for needle in self.needles)


@cache
def _language(locale: str) -> str | None:
    if locale.startswith("zh"):
        return "zh"
    if locale.startswith("en"):
        return "en"
    return None


@cache
def _matchers(concept_keys: tuple[str, ...], language: str, in_risk: bool = False) -> tuple[_Matcher, ...]:
    """Per concept: a cheap needle test, then the full alternation only for texts that pass it (most do not).
    ``in_risk``: a concept's narrower ``risk_phrases`` replace its phrases."""
    out = []
    for concept in (*phrases.PROMISES, phrases.WAIVER):
        if concept.key not in concept_keys:
            continue
        lists = concept.risk_phrases if in_risk and concept.risk_phrases is not None else concept.phrases
        if language == "en":
            sources = lists.get("en", ())
        else:
            sources = tuple(dict.fromkeys((*lists.get("zh-CN", ()), *lists.get("zh-TW", ()))))
        if not sources:
            continue
        parsed = parse_pattern("|".join(f"(?:{s})" for s in sources))
        needles = needles_in(parsed)
        gate = None
        if "" not in needles:  # one literal alternation: a regular expression scan beats a substring test per needle
            gate = gate_pattern(needles)
        out.append(_Matcher(concept, compile_parsed(parsed), needles, gate))
    return tuple(out)


@cache
def _union_gate(concept_keys: tuple[str, ...], language: str) -> re.Pattern[str] | None:
    """All concepts' needles (risk phrases' too) in one literal alternation: a text that fails it skips the
    per-concept tests."""
    matchers = _matchers(concept_keys, language) + _matchers(concept_keys, language, True)
    if any(m.gate is None for m in matchers):
        return None
    return gate_pattern([n for m in matchers for n in m.needles])


def _bounded(text: str, start: int, end: int) -> bool:
    """An English match must be whole words: no letter, digit or hyphen just before or after it."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or before in "-_") and not (after.isalnum() or after in "-_")


def _clause_before(text: str, start: int) -> str:
    before = text[:start]
    cuts = [m.end() for m in _CLAUSE_BREAK.finditer(before)]
    return before[cuts[-1] :] if cuts else before


def _qualified(concept: Concept, text: str, start: int, language: str) -> bool:
    """True when a negation, condition or (for hedged concepts) possibility in the clause qualifies the match."""
    clause = _clause_before(text, start)
    if language == "en":
        words = [w.lower() for w in _EN_WORD.findall(clause)]
        near = words[-4:]
        if concept.negatable and any(w in phrases.NEGATIONS_EN for w in near):
            return True
        if concept.negatable and any(w in phrases.CONDITIONALS_EN for w in words[-8:]):
            return True
        return concept.hedged and any(w in phrases.HEDGES_EN for w in words[-6:])
    window = clause[-8:]
    for word in phrases.NOT_NEGATIONS_ZH:
        window = window.replace(word, "＊" * len(word))
    if concept.negatable and any(n in window for n in phrases.NEGATIONS_ZH):
        return True
    if concept.negatable and (any(c in clause for c in phrases.CONDITIONALS_ZH) or clause.endswith("如")):
        return True
    return concept.hedged and any(h in clause for h in phrases.HEDGES_ZH)


ALL_KEYS = tuple(c.key for c in (*phrases.PROMISES, phrases.WAIVER))


@lru_cache(maxsize=65536)
def _may_hold_wording(text: str, language: str) -> bool:
    """Whether ``text`` holds a needle of any concept (promises and waivers): three texts in four hold none, and
    this one scan, cached, then answers CK150 and CK151 both without looking further."""
    gate = _union_gate(ALL_KEYS, language)
    return gate is None or gate.search(text.lower() if language == "en" else text) is not None


@lru_cache(maxsize=65536)
def find_wording(
    text: str, locale: str, concept_keys: tuple[str, ...], section: str = "", in_risk: bool = False
) -> tuple[tuple[Concept, str], ...]:
    """(concept, matched words) for each unqualified match of ``concept_keys`` in ``text``; ``in_risk``: the text is
    part of a risk statement. Cached: the same text in many specs (a clinic's copies of built-in procedures) is
    checked once."""
    language = _language(locale)
    if language is None:
        return ()
    haystack = text
    if language == "en":
        haystack = text.lower()
        if len(haystack) != len(text):  # a rare letter whose lower case is longer: keep positions right
            haystack = text
    if not _may_hold_wording(text, language):
        return ()
    found: list[tuple[Concept, str]] = []
    for matcher in _matchers(concept_keys, language, in_risk):
        concept = matcher.concept
        if section in concept.allowed_in or not matcher.may_match(haystack):
            continue
        for match in matcher.pattern.finditer(haystack):
            start, end = match.span()
            if language == "en" and not _bounded(text, start, end):
                continue
            if concept.not_after and haystack[:start].endswith(concept.not_after):
                continue
            if _qualified(concept, text, start, language):
                continue
            found.append((concept, text[start:end]))
    found.sort(key=lambda item: text.find(item[1]))
    return tuple(found)


PROMISE_KEYS = tuple(c.key for c in phrases.PROMISES)
RISK_PROMISE_KEYS = tuple(c.key for c in phrases.PROMISES if c.in_risks)
"""Inside a risk statement harm words are right ("permanent scarring can occur", "blindness is usually permanent"),
but a guarantee, a safety claim or a word that plays the risk down is not ("the risk is minimal", "风险很小")."""
WAIVER_KEYS = (phrases.WAIVER.key,)


def _wording(
    items: tuple[tuple[str, str], ...], section: str, keys: tuple[str, ...], in_risk: bool = False
) -> Iterator[TextProblem]:
    for locale, value in items:
        language = _language(locale)
        if language is None or not _may_hold_wording(value, language):
            continue  # the common case, answered from one cached scan per text
        reported: set[str] = set()
        for concept, words in find_wording(value, locale, keys, section, in_risk):
            if concept.key not in reported:
                reported.add(concept.key)
                yield locale, f"'{words}' reads as {concept.reads_as}; {concept.advice}", words


@CK150.per_text
def _promises(items: tuple[tuple[str, str], ...], info: TextInfo) -> Iterator[TextProblem]:
    if info.kind == "spec":
        keys = RISK_PROMISE_KEYS if info.in_risk else PROMISE_KEYS
        yield from _wording(items, info.section, keys, info.in_risk)


@CK151.per_text
def _waiver(items: tuple[tuple[str, str], ...], info: TextInfo) -> Iterator[TextProblem]:
    yield from _wording(items, info.section, WAIVER_KEYS)


_TRIGGER = re.compile("|".join(re.escape(t) for t in sorted(phrases.PLACEHOLDER_TRIGGERS, key=len, reverse=True)))
_PLACEHOLDER = re.compile("|".join(f"(?:{p})" for p in phrases.PLACEHOLDERS))


@lru_cache(maxsize=65536)
def find_placeholder(text: str) -> str | None:
    if _TRIGGER.search(text) is None:
        return None
    match = _PLACEHOLDER.search(text)
    return match.group(0) if match else None


PLACEHOLDER_MESSAGE = "placeholder '{}' left in the text; write the real words"


@CK140.per_text
def _placeholders(items: tuple[tuple[str, str], ...], info: TextInfo) -> Iterator[TextProblem]:
    for locale, value in items:
        found = find_placeholder(value)
        if found:
            yield locale, PLACEHOLDER_MESSAGE.format(found), found


@CK140.per_spec
def _plain_placeholders(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    model = spec.model
    plain: list[tuple[tuple[str | int, ...], str]] = [
        (("references", i, "citation"), ref.citation) for i, ref in enumerate(model.references)
    ]
    if model.review is not None:
        plain.append((("review", "owner"), model.review.owner))
    for loc, value in plain:
        found = find_placeholder(value)
        if found:
            yield hit(spec, loc, PLACEHOLDER_MESSAGE.format(found), needle=found)
