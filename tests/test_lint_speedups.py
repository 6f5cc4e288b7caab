"""The lint's faster text scans give the same answers as the plain code they replace (property tests)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from consentkit.lint.hanzi import tables
from consentkit.lint.needles import gate_pattern
from consentkit.lint.rules.translation import _GAP
from consentkit.spec.cjk import CJK_CLASS, normalise_chinese

ALPHABET = st.sampled_from([*"ab c-中文。，风险保证著着説说 \n\t\u00a0", "\U00020bb7"])
TEXT = st.text(ALPHABET, max_size=30)
NEEDLES = st.lists(st.text(st.sampled_from(list("abc 中风险")), min_size=1, max_size=4), min_size=1, max_size=8)


@given(NEEDLES, TEXT)
@settings(max_examples=400)
def test_trie_gate_finds_exactly_the_texts_holding_a_needle(needles: list[str], text: str) -> None:
    assert (gate_pattern(needles).search(text) is not None) == any(n in text for n in needles)


@given(TEXT)
@settings(max_examples=400)
def test_space_normalisation_equals_the_look_behind_pattern(text: str) -> None:
    plain = re.sub(f"(?<=[{CJK_CLASS}]) +(?=[{CJK_CLASS}])", "", text)
    assert normalise_chinese(text) == plain


@given(TEXT)
@settings(max_examples=400)
def test_gap_pattern_equals_the_plain_one(text: str) -> None:
    plain = re.search(f"([{CJK_CLASS}])([ \\t\\n\\r\\u00a0]+)(?=[{CJK_CLASS}])", text)
    fast = _GAP.search(text)
    assert (fast is None) == (plain is None)
    if fast is not None and plain is not None:
        assert (fast.start() - 1, fast.group(0)) == (plain.start(), plain.group(2))


@given(TEXT)
@settings(max_examples=300)
def test_foreign_characters_gate_agrees_with_the_table(text: str) -> None:
    han = tables()
    for script in ("hans", "hant-tw"):
        table = han.wrong(script)
        expected = list(dict.fromkeys(c for c in text if c in table))
        assert [c for c, _ in han.foreign(text, script)] == expected
