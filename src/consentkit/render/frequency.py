"""Natural frequencies ("about 1 in 25") for risks, in the patient's language.

Rounding never understates a risk: a rate is turned into "1 in N" with N the largest *round* number not above
1/rate, so the printed frequency is always at least the true rate (rate 0.03 → 1/0.03 = 33.3 → "about 1 in 30",
3.3 %). Rates of 20 % and more read "about k in 10" with k rounded up (0.25 → "about 3 in 10"). Without a rate
the CIOMS band's range is printed ("between 1 in 100 and 1 in 10").
"""

from __future__ import annotations

import math
from functools import lru_cache

from consentkit.render.i18n import N_, Translator

# Round denominators, per decade; N is chosen from these (times a power of ten) rounding down.
_ROUND = (10, 12, 15, 20, 25, 30, 40, 50, 60, 70, 80)

BAND_NAMES = {
    "very-common": N_("Very common"),
    "common": N_("Common"),
    "uncommon": N_("Uncommon"),
    "rare": N_("Rare"),
    "very-rare": N_("Very rare"),
}


def round_denominator(rate: float) -> int:
    """The largest round N with 1/N >= rate (never understating). ``rate`` is a fraction in (0, 0.2)."""
    if not 0 < rate < 1:
        raise ValueError(f"rate must be in (0, 1): {rate}")
    exact = 1 / rate
    if exact < 10:
        return max(1, math.floor(exact + 1e-9))
    scale = 10 ** math.floor(math.log10(exact) - 1)
    best = 10 * scale
    for base in _ROUND:
        for factor in (scale, scale * 10):
            candidate = base * factor
            if candidate <= exact + 1e-9 and candidate > best:
                best = candidate
    return int(best)


def _num(value: int, t: Translator) -> str:
    return _decimal(value, t.babel_locale)


@lru_cache(maxsize=1024)
def _decimal(value: int, locale: str) -> str:
    """Babel's grouping ("3,000" / "3,000" / "3.000"), a pure function of its arguments, so kept: a locale view
    formats the same few band limits dozens of times and Babel takes 0.1 ms a call."""
    from babel.numbers import format_decimal

    return str(format_decimal(value, locale=locale))


def rate_figure(rate: float) -> tuple[int, int]:
    """The ``(n, d)`` of the printed "about n in d" (above 90 %: "more than 9 in 10"): (1, 60) for 0.015."""
    if rate > 0.9:
        return 9, 10
    if rate >= 0.2:
        return min(9, math.ceil(rate * 10 - 1e-9)), 10
    return 1, round_denominator(rate)


def rate_phrase(rate: float, t: Translator) -> str:
    """ "about 1 in 25" / "大约每 25 人中有 1 人"."""
    n, d = rate_figure(rate)
    if rate > 0.9:
        return t(N_("more than %(n)s in %(d)s people"), n=n, d=d)
    return t(N_("about %(n)s in %(d)s people"), n=n, d=_num(d, t))


def band_phrase(band: str, t: Translator) -> str:
    """The CIOMS band's range in words."""
    if band == "very-common":
        return t(N_("more than 1 in %(d)s people"), d=_num(10, t))
    if band == "very-rare":
        return t(N_("fewer than 1 in %(d)s people"), d=_num(10000, t))
    high, low = {"common": (10, 100), "uncommon": (100, 1000), "rare": (1000, 10000)}[band]
    return t(N_("between 1 in %(low)s and 1 in %(high)s people"), low=_num(low, t), high=_num(high, t))


def frequency_phrase(band: str, rate: float | None, t: Translator) -> str:
    return rate_phrase(rate, t) if rate is not None else band_phrase(band, t)
