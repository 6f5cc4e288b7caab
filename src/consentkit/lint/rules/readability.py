"""CK190: texts a frightened patient can read.

English, Flesch-Kincaid grade (0.39 × words/sentence + 11.8 × syllables/word − 15.59). The formula was made for
passages; on one 20-word sentence it swings by several grades, so the unit is the *section* (all the English of
``risks``, of ``description``, of ``aftercare.wound_care``…, when it has at least 20 words): above grade 8 (NIH/NCI
guidance for consent forms) is a warning, reported at the section's hardest text. A single text of 20+ words above
grade 12 is reported on its own, so one dense paragraph cannot hide in an easy section. Names that cannot be made
simpler (the words of the procedure's title, common medicine names) count as two syllables at most.

Chinese: each sentence (split on 。！？；) has at most 40 characters, counting Han characters and each run of Latin
letters or digits as one (no official formula exists; regulatory.md §6 suggests a mean of ~25).
Titles and labels are not sentences and are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from consentkit.lint.context import LintContext
from consentkit.lint.findings import Hit, hit
from consentkit.lint.registry import TextProblem, define_rule
from consentkit.lint.syllables import syllables
from consentkit.lint.texts import TextField, TextInfo
from consentkit.spec.library import Loaded
from consentkit.spec.models import ProcedureSpec

MAX_GRADE = 8.0
MAX_TEXT_GRADE = 12.0
MIN_WORDS = 20
MAX_ZH_CHARS = 40
PLAIN_NAMES = frozenset(
    [
        "emergency",
        "anaesthetic",
        "anesthetic",
        "anaesthesia",
        "anesthesia",
        "paracetamol",
        "acetaminophen",
        "ibuprofen",
        "aspirin",
        "antibiotic",
        "antibiotics",
        "hyaluronic",
        "botulinum",
        "isotretinoin",
        "radiofrequency",
        "liposuction",
        "rhinoplasty",
        "blepharoplasty",
        "polydioxanone",
        "hyaluronidase",
    ]
)

CK190 = define_rule(
    "CK190",
    "warning",
    "readability",
    f"hard to read: an English section above grade {MAX_GRADE:g} (Flesch-Kincaid), one English text above grade "
    f"{MAX_TEXT_GRADE:g}, or a Chinese sentence longer than {MAX_ZH_CHARS} characters",
    fix="use shorter sentences and everyday words; split a long sentence in two",
)

_ABBREVIATIONS = re.compile(r"\b(?:e\.g|i\.e|etc|vs|approx|Dr|Mr|Mrs|Ms|No|Fig|min|max)\.", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|[;:](?=\s)|\s[—–]\s")
_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*|\d+(?:[.,]\d+)*")
_ZH_SENTENCE = re.compile(r"[^。！？；!?;\n]+")
_ZH_UNIT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z0-9][A-Za-z0-9.%-]*")


@dataclass(frozen=True)
class Grade:
    grade: float
    words: int
    sentences: int
    syllables: int


_ABBREVIATION_TEXTS = (
    "e.g.",
    "i.e.",
    "etc.",
    "vs.",
    "approx.",
    "dr.",
    "mr.",
    "mrs.",
    "ms.",
    "no.",
    "fig.",
    "min.",
    "max.",
)
"""What :data:`_ABBREVIATIONS` can match, as plain substrings of the lower-cased text: most texts hold none, and
these few substring tests cost a tenth of the case-insensitive regular expression's scan."""
_SYLLABLES: dict[str, int] = {}  # word as written → syllables(word): texts repeat their words


@lru_cache(maxsize=65536)
def _counts(text: str, names: frozenset[str]) -> tuple[int, int, int]:
    lowered = text.lower()
    if any(a in lowered for a in _ABBREVIATION_TEXTS):
        cleaned = _ABBREVIATIONS.sub(lambda m: m.group(0)[:-1], text)
    else:
        cleaned = text
    n_sentences = max(sum(1 for s in _SENTENCE_END.split(cleaned) if _WORD.search(s)), 1)
    words = _WORD.findall(cleaned)
    n_syllables = 0
    known = _SYLLABLES
    for word in words:
        count = known.get(word)
        if count is None:
            # a number: one syllable per digit, at most three (3 → one, 15 → fif-teen, 100 → one hun-dred)
            count = min(len(word), 3) if word[0].isdigit() else syllables(word)
            if len(known) < 200_000:
                known[word] = count
        if count > 2 and not word[0].isdigit() and word.lower() in names:
            count = 2  # a name of the procedure or a medicine: two at most
        n_syllables += count
    return len(words), n_sentences, n_syllables


def _grade(words: int, sentences: int, syllable_count: int) -> Grade:
    if not words:
        return Grade(0.0, 0, sentences, 0)
    grade = 0.39 * words / sentences + 11.8 * syllable_count / words - 15.59
    return Grade(round(grade, 1), words, sentences, syllable_count)


@lru_cache(maxsize=65536)
def flesch_kincaid(text: str, names: frozenset[str] = PLAIN_NAMES) -> Grade:
    """Flesch-Kincaid grade of ``text``. A number counts one syllable per digit (at most three); ``names`` count
    two at most."""
    return _grade(*_counts(text, names))


@lru_cache(maxsize=65536)
def long_chinese_sentences(text: str, limit: int = MAX_ZH_CHARS) -> tuple[tuple[str, int], ...]:
    """(sentence, length) for each sentence of ``text`` longer than ``limit``."""
    if len(text) <= limit:
        return ()
    found = []
    for match in _ZH_SENTENCE.finditer(text):
        sentence = match.group(0).strip()
        if len(sentence) <= limit:
            continue
        length = len(_ZH_UNIT.findall(sentence))
        if length > limit:
            found.append((sentence, length))
    return tuple(found)


def _excerpt(sentence: str, size: int = 12) -> str:
    return sentence if len(sentence) <= size else sentence[:size] + "…"


@lru_cache(maxsize=1024)
def _names(titles: tuple[str, ...]) -> frozenset[str]:
    return PLAIN_NAMES | {w.lower() for text in titles for w in _WORD.findall(text)}


@CK190.per_text
def _chinese(items: tuple[tuple[str, str], ...], info: TextInfo) -> Iterator[TextProblem]:
    if info.kind != "spec" or info.is_heading:
        return
    for locale, value in items:
        if locale.startswith("zh"):
            for sentence, length in long_chinese_sentences(value):
                shown = _excerpt(sentence)
                yield (
                    locale,
                    f"sentence of {length} characters (aim for {MAX_ZH_CHARS} or fewer): '{shown}'; split it",
                    sentence[:6],
                )


@CK190.per_spec
def _readability(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    names = _names(tuple(spec.model.title.values()))
    # per section and locale: the texts with their grades (summed only for sections long enough to grade)
    sections: dict[tuple[object, ...], list[tuple[TextField, str, Grade]]] = {}
    for text in ctx.texts(spec):
        if text.is_heading:
            continue
        for locale, value in text.value.items():
            if not locale.startswith("en"):
                continue
            grade = flesch_kincaid(value, names)
            loc = text.loc
            group: tuple[object, ...] = (
                (loc[0], loc[1], locale) if len(loc) > 1 and isinstance(loc[1], str) else (loc[0], locale)
            )
            found = sections.get(group)
            if found is None:
                found = sections[group] = []
            found.append((text, locale, grade))
            if grade.words >= MIN_WORDS and grade.grade > MAX_TEXT_GRADE:
                yield hit(
                    spec,
                    (*loc, locale),
                    f"this text reads at grade {grade.grade:g} (Flesch-Kincaid; aim for {MAX_GRADE:g} or below): "
                    f"{grade.words} words in {grade.sentences} sentence(s); use shorter sentences and words",
                )
    for section, graded in sections.items():
        words = sum(g.words for _, _, g in graded)
        if words < MIN_WORDS:
            continue
        total = _grade(words, sum(g.sentences for _, _, g in graded), sum(g.syllables for _, _, g in graded))
        if total.grade <= MAX_GRADE:
            continue
        text, locale, hardest = max(graded, key=lambda item: (item[2].words >= 5, item[2].grade))
        if hardest.grade > MAX_TEXT_GRADE and hardest.words >= MIN_WORDS:
            continue  # already reported on its own
        name = ".".join(str(p) for p in section[:-1])
        yield hit(
            spec,
            (*text.loc, locale),
            f"the English of '{name}' reads at grade {total.grade:g} (Flesch-Kincaid over {total.words} words; aim "
            f"for {MAX_GRADE:g} or below); hardest here, grade {hardest.grade:g}: use shorter sentences and words",
        )
