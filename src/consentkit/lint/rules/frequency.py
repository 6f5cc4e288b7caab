"""CK134: a natural frequency written in a risk's text ("about 1 in 60", "每 60 人中有 1 人") must agree with the
risk's `rate`, or, without a rate, with its CIOMS band. The patient reads both the figure in the text and the
frequency line the documents print from `rate`/`band` ("How often: about 1 in 60 people",
:func:`consentkit.render.frequency.rate_figure`); they must tell the same story, so the printed figure itself
always agrees, and it is the one the message suggests."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from consentkit.lint.context import LintContext
from consentkit.lint.findings import Hit, hit
from consentkit.lint.registry import define_rule
from consentkit.render.frequency import rate_figure
from consentkit.spec.cjk import is_chinese_locale
from consentkit.spec.library import Loaded
from consentkit.spec.models import BAND_RANGES, ProcedureSpec

CK134 = define_rule(
    "CK134",
    "error",
    "natural-frequency",
    'a natural frequency in a risk\'s text ("about 1 in 120", "每 120 人中有 1 人") disagrees with the risk\'s '
    "`rate` by more than 15%, or, when the risk has no rate, lies outside its CIOMS `band`",
    fix="write the figure the document prints beside the text (rate 0.007: about 1 in 120), or correct the rate or "
    "the band",
)

TOLERANCE = 1.15
"""How far a written figure may be from the rate, as a factor either way: "about 1 in 60" for 1.5% is fine
(1.67%), "about 1 in 120" for 0.7% is not (0.83%, 19% more)."""

_N = r"\d{1,3}(?:,\d{3})+|\d+"
# "about 1 in 60 (women)", "9 to 15 in 100", "more than 1 in 10", "1 in 4,000 treatments" -- but not a share of a
# group that is not everyone treated: "6 in 10 of them", "about 1 in 4 deaths", "3 in 10 cases"
_EN = re.compile(
    rf"(?:(?P<bound>more than|over|fewer than|less than|under)\s+)?"
    rf"\b(?P<a>{_N})(?:\s*(?:to|-|–)\s*(?P<b>{_N}))?\s+in\s+(?:every\s+)?(?P<n>{_N})\b(?!\s*%)"
    r"(?!,\d)(?!\s+(?:of|cases|deaths|reports|complications)\b)"
)
_EN_GATE = re.compile(r"\sin\s")
# "每 60 人中有 1 人", "每 10 万人中有 19 人", "每 10 人中超过 1 人", "每 30 次治疗中有 1 次" -- not "每 10 例中有 6 例"
# (a share of reported cases)
_ZH = re.compile(
    rf"每?\s*(?P<n>{_N})\s*(?P<wan>[万萬])?\s*(?:名|位|个|個)?(?:人|女性|男性|患者|病人|次治疗|次治療|次)中"
    rf"\s*(?:大约|大約|约|約)?(?:有)?\s*(?P<bound>超过|超過|不到|少于|少於)?\s*(?:大约|大約|约|約)?"
    rf"\s*(?P<a>{_N})(?:\s*(?:到|至|-|–)\s*(?P<b>{_N}))?\s*(?:名|位|个|個)?(?:人|次)"
)


@dataclass(frozen=True)
class Figure:
    """A written frequency: ``low``..``high`` as fractions (equal for "1 in 60"), ``text`` as written."""

    text: str
    low: float
    high: float
    needle: str


def figures(text: str, locale: str) -> list[Figure]:
    """The natural frequencies written in ``text``: "about 1 in 60", "9 to 15 in 100", "more than 1 in 10",
    "每 60 人中有 1 人", "每 10 万人中有 19 人", "每 10 人中超过 1 人"."""
    pattern = _ZH if is_chinese_locale(locale) else _EN if locale.startswith("en") else None
    # every figure holds "中" (每 N 人中) or "in" between spaces (1 in N): most texts hold neither, and these
    # tests cost far less than the full pattern's scan
    if pattern is None or ("中" not in text if pattern is _ZH else _EN_GATE.search(text) is None):
        return []
    out = []
    for found in pattern.finditer(text):
        n = _int(found.group("n")) * (10_000 if found.groupdict().get("wan") else 1)
        a = _int(found.group("a"))
        b = _int(found.group("b")) if found.group("b") else a
        if n == 0 or a == 0 or a > n or b > n or b < a:
            continue
        low, high = a / n, b / n
        bound = found.group("bound") or ""
        if bound in ("more than", "over", "超过", "超過"):
            high = 1.0
        elif bound in ("fewer than", "less than", "under", "不到", "少于", "少於"):
            low = 0.0
        out.append(Figure(found.group(0).strip(), low, high, found.group("n")))
    return out


def _int(digits: str) -> int:
    return int(digits.replace(",", ""))


def agrees(figure: Figure, rate: float | None, band: str) -> bool:
    """Whether ``figure`` tells the same frequency as ``rate`` (within :data:`TOLERANCE`, or exactly the figure the
    document prints for it) or lies in ``band``."""
    if rate is not None:
        n, d = rate_figure(rate)
        if figure.low == figure.high and math.isclose(figure.low, n / d):
            return True  # the printed figure, which rounds so as never to understate (up to 25% above the rate)
        return figure.low / TOLERANCE <= rate <= figure.high * TOLERANCE
    low, high = BAND_RANGES[band]
    return figure.high >= low / TOLERANCE and figure.low < high * TOLERANCE


def natural(rate: float) -> str:
    """``rate`` as the figure a text should carry: the one the document prints beside it (0.007 → "about 1 in
    120", 0.015 → "about 1 in 60", 0.25 → "about 3 in 10"; see :mod:`consentkit.render.frequency`)."""
    n, d = rate_figure(rate)
    return f"{'more than' if rate > 0.9 else 'about'} {n} in {d:,}"


def _percent(value: float) -> str:
    return f"{value * 100:.3g}%"


@CK134.per_spec
def _natural_frequencies(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    for i, risk in enumerate(spec.model.risks):
        for locale, text in risk.text.items():
            found = figures(text, locale)
            # a text may quote several studies ("1 in 200 early on; 8 to 19 in 100 later: we use about 1 in 7");
            # it is wrong only when none of its figures tells the rate
            if not found or any(agrees(f, risk.rate, risk.band) for f in found):
                continue
            first = found[0]
            if risk.rate is not None:
                message = (
                    f"'{first.text}' ({_percent(first.low)}) disagrees with rate {risk.rate} ({_percent(risk.rate)}); "
                    f"the document prints {natural(risk.rate)} beside it: write that, or correct the rate"
                )
            else:
                message = (
                    f"'{first.text}' ({_percent(first.low)}) lies outside the '{risk.band}' band: correct the text "
                    "or the band"
                )
            yield hit(spec, ("risks", i, "text", locale), message, needle=first.needle)
