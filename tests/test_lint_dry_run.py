"""CK210's dry run covers a minor's packet (guardian) and a bilingual packet, not only one-locale adults."""

from __future__ import annotations

from pathlib import Path

import pytest

from consentkit.lint import lint_paths
from consentkit.lint.rules.rendering import _samples
from consentkit.resources import builtin_dir
from consentkit.workspace import Workspace, init_workspace

TEMPLATES = builtin_dir("templates") / "html"


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "ws")
    (ws.templates_dir / "html").mkdir(parents=True)
    return ws


def _override(ws: Workspace, name: str, old: str, new: str) -> None:
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    assert old in text
    (ws.templates_dir / "html" / name).write_text(text.replace(old, new, 1), encoding="utf-8")


def _ck210(ws: Workspace, procedure: str) -> list[str]:
    spec = builtin_dir("procedures") / f"{procedure}.yaml"
    report = lint_paths([spec], workspace_dir=ws.root, select=["CK210"], base=ws.root)
    return [f.message for f in report.findings]


def test_a_typo_in_the_guardian_macro_is_found(ws: Workspace) -> None:
    _override(ws, "_macros.html.j2", "v.guardian.relationship", "v.guardian.relationshp")
    found = _ck210(ws, "laser-hair-removal")
    assert found, "the guardian path was not rendered"
    assert all("for a sample minor with a guardian, bilingual, in zh-CN+en" in m for m in found), found
    assert any("relationshp" in m and "_macros.html.j2" in m for m in found)


def test_a_fault_only_in_bilingual_packets_is_found(ws: Workspace) -> None:
    _override(
        ws,
        "_base.html.j2",
        "{% for v in views %}",
        "{% if views|length > 1 %}{{ views[1].nmae }}{% endif %}{% for v in views %}",
    )
    found = _ck210(ws, "rhinoplasty")
    assert found and all("bilingual" in m and "zh-CN+en" in m for m in found), found


def test_a_procedure_refused_for_minors_still_gets_a_bilingual_packet(ws: Workspace) -> None:
    # the uk policy prohibits ha-filler for minors: the bilingual packet is an adult's there
    config = ws.root / "consentkit.toml"
    config.write_text(config.read_text().replace('jurisdiction = "cn"', 'jurisdiction = "uk"'))
    _override(
        ws,
        "_base.html.j2",
        "{% for v in views %}",
        "{% if views|length > 1 %}{{ views[1].nmae }}{% endif %}{% for v in views %}",
    )
    found = _ck210(ws, "ha-filler")
    assert found and all("for a sample patient, bilingual, in zh-CN+en" in m for m in found), found


def test_the_builtin_library_passes_every_sample() -> None:
    report = lint_paths([builtin_dir("procedures")], select=["CK210"], use_cache=False)
    assert report.findings == []


def test_samples_render_as_many_documents_as_before() -> None:
    samples = list(_samples(["zh-CN", "zh-TW", "en"]))
    assert samples[-1] == (["zh-CN", "en"], "minor", "for a sample minor with a guardian, bilingual,")
    assert len(samples) == 6  # 3 specimens, 2 one-locale adults, 1 bilingual minor: 36 renders, as before
    assert [s[1] for s in _samples(["en"])] == ["specimen", "adult", "minor"]
