"""CK134: natural frequencies written in risk texts agree with the risk's rate (within 15%) or its band."""

from __future__ import annotations

from pathlib import Path

import pytest

from _lint_fixtures import line_of, lint, minimal_spec, only, text, write_spec
from consentkit.lint.rules.frequency import figures, natural


def _spec_with(rate: float | None, band: str, cn: str, tw: str, en: str) -> dict[str, object]:
    spec = minimal_spec()
    risk = spec["risks"][1]
    risk["band"] = band
    risk.pop("rate", None)
    if rate is not None:
        risk["rate"] = rate
    risk["text"] = text(cn, tw, en)
    return spec


def test_ck134_figure_far_from_the_rate_in_every_locale(tmp_path: Path) -> None:
    spec = _spec_with(
        0.007,
        "uncommon",
        "大约每 200 人中有 1 人发生。",
        "大約每 200 人中有 1 人發生。",
        "It happens to about 1 in 200 women.",
    )
    path = write_spec(tmp_path, spec)
    found = only(lint(path), "CK134")
    assert sorted(f.field for f in found) == ["risks[1].text.en", "risks[1].text.zh-CN", "risks[1].text.zh-TW"]
    en = next(f for f in found if f.field == "risks[1].text.en")
    assert en.line == line_of(path, "about 1 in 200") and en.severity == "error"
    assert "'1 in 200' (0.5%) disagrees with rate 0.007 (0.7%); the document prints about 1 in 120 beside it" in (
        en.message
    )
    for n in (120, 140):  # what the document prints (never understating), and 1/rate
        fixed = _spec_with(
            0.007,
            "uncommon",
            f"大约每 {n} 人中有 1 人发生。",
            f"大約每 {n} 人中有 1 人發生。",
            f"About 1 in {n} women.",
        )
        assert only(lint(write_spec(tmp_path, fixed)), "CK134") == [], n


def test_the_printed_figure_always_agrees_with_its_rate() -> None:
    """The document prints "about 1 in N" beside the risk's text (N rounded so as never to understate, up to 25%
    above the rate): a text carrying that same figure is never flagged. Before, rate 0.007 printed "about 1 in
    120" and CK134 rejected "1 in 120" in the text, so the library's texts said 1 in 140 beside a printed 1 in 120."""
    from consentkit.lint.rules.frequency import agrees
    from consentkit.render.frequency import rate_phrase
    from consentkit.render.i18n import Translator
    from consentkit.spec.models import BAND_RANGES

    english = Translator("en", {}, None)
    for i in range(1, 10_000):
        rate = i / 10_000
        band = next(b for b, (low, high) in BAND_RANGES.items() if low <= rate < high)
        written = rate_phrase(rate, english).replace(" people", "")
        (figure,) = figures(f"It happens to {written} women.", "en")
        assert agrees(figure, rate, band), (rate, written)
        assert natural(rate) == written  # what the message suggests


def test_ck134_within_fifteen_percent_passes(tmp_path: Path) -> None:
    spec = _spec_with(0.015, "common", "大约每 60 人中有 1 人。", "大約每 60 人中有 1 人。", "About 1 in 60 women.")
    assert only(lint(write_spec(tmp_path, spec)), "CK134") == []


def test_ck134_without_a_rate_the_band_decides(tmp_path: Path) -> None:
    spec = _spec_with(None, "rare", "大约每 50 人中有 1 人。", "大約每 5,000 人中有 1 人。", "About 1 in 5,000.")
    found = only(lint(write_spec(tmp_path, spec)), "CK134")
    assert [f.field for f in found] == ["risks[1].text.zh-CN"]
    assert "lies outside the 'rare' band" in found[0].message


def test_ck134_one_agreeing_figure_is_enough(tmp_path: Path) -> None:
    spec = _spec_with(
        0.135,
        "very-common",
        "早期每 200 人中有 1 人；长期每 100 人中有 8 到 19 人，大约每 7 人中有 1 人。",
        "早期每 200 人中有 1 人；長期每 100 人中有 8 到 19 人，大約每 7 人中有 1 人。",
        "About 1 in 200 early on; 8 to 19 in 100 later: about 1 in 7.",
    )
    assert only(lint(write_spec(tmp_path, spec)), "CK134") == []


@pytest.mark.parametrize(
    ("locale", "sentence", "expected"),
    [
        ("en", "about 1 in 4,000 treatments", [(1 / 4000, 1 / 4000)]),
        ("en", "9 to 15 in 100 people", [(0.09, 0.15)]),
        ("en", "More than 6 in 10 of them went blind. About 1 in 4 deaths.", []),
        ("zh-CN", "大约每 10 万人中有 19 人死亡", [(19 / 100_000, 19 / 100_000)]),
        ("zh-TW", "每 30 次治療中有 1 次", [(1 / 30, 1 / 30)]),
        ("zh-CN", "其中每 10 例中有超过 6 例失明", []),
        ("fr", "1 sur 100", []),
    ],
)
def test_figures(locale: str, sentence: str, expected: list[tuple[float, float]]) -> None:
    found = [bound for f in figures(sentence, locale) for bound in (f.low, f.high)]
    assert found == pytest.approx([bound for pair in expected for bound in pair])


def test_more_than_is_a_lower_bound() -> None:
    (figure,) = figures("每 10 人中超过 1 人会出现", "zh-CN")
    assert (figure.low, figure.high) == (0.1, 1.0)


@pytest.mark.parametrize(
    ("rate", "phrase"),
    [(0.007, "about 1 in 120"), (0.015, "about 1 in 60"), (0.00019, "about 1 in 5,000"), (0.25, "about 3 in 10")],
)
def test_natural(rate: float, phrase: str) -> None:
    assert natural(rate) == phrase


def test_library_texts_agree_with_their_rates() -> None:
    from consentkit.lint import lint_paths
    from consentkit.resources import builtin_dir

    report = lint_paths([builtin_dir("procedures")], select=["CK134"], use_cache=False)
    assert report.findings == []


def test_library_texts_carry_the_printed_figure() -> None:
    """Each risk text of the library that gives a natural frequency gives the one printed beside it ("How often:
    about 1 in 60 people" and "This happens to about 1 in 60 women", not 1 in 67)."""
    import math

    from consentkit.render.frequency import rate_figure
    from consentkit.resources import builtin_dir
    from consentkit.spec.library import load_library

    checked, wrong = 0, []
    for spec_id, loaded in load_library([builtin_dir("procedures")]).procedures.items():
        for risk in loaded.model.risks:
            if risk.rate is None:
                continue
            n, d = rate_figure(risk.rate)
            for locale, value in risk.text.items():
                found = figures(value, locale)
                checked += bool(found)
                if found and not any(f.low == f.high and math.isclose(f.low, n / d) for f in found):
                    wrong.append(f"{spec_id} {risk.id} {locale}: {[f.text for f in found]}, printed {n} in {d}")
    assert checked >= 20 and wrong == []
