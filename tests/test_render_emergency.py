"""The emergency number follows the clinic's jurisdiction, not the reader's language: spec texts say "call the
emergency number" and the red-flags box prints the policy's number beside the clinic's urgent line."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_a_policy_without_an_emergency_number_is_a_lint_error(tmp_path: Path) -> None:
    """The red-flags box would say "your local emergency number" and name none: the field is required."""
    from _lint_fixtures import line_of, lint, only

    policies = tmp_path / "policies"
    policies.mkdir()
    text = (builtin_dir("procedures") / "policies" / "cn.yaml").read_text(encoding="utf-8")
    path = policies / "hk.yaml"
    kept = [line for line in text.splitlines() if not line.startswith("emergency_numbers:")]
    path.write_text("\n".join(kept).replace("jurisdiction: cn", "jurisdiction: hk") + "\n", encoding="utf-8")
    found = only(lint(tmp_path), "CK100")
    assert [(Path(f.file).name, f.field, f.severity) for f in found] == [("hk.yaml", "emergency_numbers", "error")]
    assert "required field is missing" in found[0].message
    path.write_text(path.read_text(encoding="utf-8") + "emergency_numbers: []\n", encoding="utf-8")
    found = only(lint(tmp_path), "CK100")
    assert [(f.field, f.line) for f in found] == [("emergency_numbers", line_of(path, "emergency_numbers"))]
    assert "needs at least 1 item" in found[0].message
