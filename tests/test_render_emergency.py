"""The emergency number follows the clinic's jurisdiction, not the reader's language: spec texts say "call the
emergency number" and the red-flags box prints the policy's number beside the clinic's urgent line."""

from __future__ import annotations

import re

import pytest

from _packet_fixtures import docx_text
from consentkit.render.html import render_html
from consentkit.render.specimen import SAMPLE_CLINIC, preview_input, render_document
from consentkit.resources import builtin_dir
from consentkit.sign.profile import load_profile
from consentkit.spec.library import load_library

LIBRARY = load_library([builtin_dir("procedures")])
PROFILE = load_profile((builtin_dir("signatures"),), "default").model
ROOTS = (builtin_dir("templates"),)
NUMBERS = {"cn": "120", "tw": "119", "uk": "999 or 112", "fr": "15 or 112", "us": "911"}
DIALLED = re.compile(r"(拨打|撥打|call|dial)\s*\d{2,4}", re.IGNORECASE)


def test_no_spec_text_names_a_number_to_dial() -> None:
    found = []
    for spec_id, loaded in LIBRARY.procedures.items():
        text = loaded.model.model_dump_json()
        found += [f"{spec_id}: {m.group()}" for m in DIALLED.finditer(text)]
    assert found == []


@pytest.mark.parametrize(("jurisdiction", "locale"), [("cn", "zh-TW"), ("tw", "zh-CN"), ("us", "zh-CN"), ("fr", "en")])
def test_red_flags_box_prints_the_jurisdictions_number(jurisdiction: str, locale: str) -> None:
    policy = LIBRARY.policy(jurisdiction).model
    clinic = SAMPLE_CLINIC.model_copy(update={"jurisdiction": jurisdiction})
    inp = preview_input(
        LIBRARY, "botulinum-toxin", (locale,), clinic=clinic, policy=policy, profile=PROFILE, sample_patient=True
    )
    expected = NUMBERS[jurisdiction]
    if locale != "en":
        expected = expected.replace(" or ", " 或 ")
    for doc in ("disclosure", "care-guide"):
        html = render_html(inp, doc, ROOTS)
        box = html[html.index('class="box alert"') :]
        assert f'<span class="urgent">{expected}</span>' in box, (doc, jurisdiction)
        others = {n for j, v in NUMBERS.items() if j != jurisdiction for n in v.split(" or ")} - set(expected.split())
        assert not any(re.search(rf"(?<!\d){n}(?!\d)", box) for n in others), (doc, others)
        assert expected in docx_text(render_document(inp, doc, "docx", ROOTS))
