"""Lint rules of the rendering issue: CK200 (a character the document fonts cannot draw) and CK210 (a template
that fails for some procedure x locale x document), in the same runner as every other rule."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import pytest

from consentkit.lint import lint_paths
from consentkit.resources import builtin_dir
from consentkit.workspace import Workspace, init_workspace

BUILTIN = builtin_dir("procedures")


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "ws")
    shutil.copy(BUILTIN / "botulinum-toxin.yaml", ws.procedures_dir / "botulinum-toxin.yaml")
    return ws


def _findings(ws: Workspace, rule: str, *, use_cache: bool = False) -> list[object]:
    report = lint_paths([ws.root], workspace_dir=ws.root, use_cache=use_cache)
    return [f for f in report.findings if f.rule == rule]


def test_builtin_library_renders_and_is_covered_by_the_fonts() -> None:
    report = lint_paths([BUILTIN])
    assert [f for f in report.findings if f.rule in ("CK200", "CK210")] == []


def test_ck200_names_the_character_file_and_line(ws: Workspace) -> None:
    spec = ws.procedures_dir / "botulinum-toxin.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("en: Headache}", "en: Headache \ue123}", 1), encoding="utf-8")
    found = _findings(ws, "CK200")
    assert len(found) == 1
    f = found[0]
    assert f.severity == "error"  # type: ignore[attr-defined]
    assert "U+E123" in f.message and "Source Sans 3" in f.message  # type: ignore[attr-defined]
    assert f.field == "risks[2].title.en"  # type: ignore[attr-defined]
    assert "Headache" in (f.source or "")  # type: ignore[attr-defined]


def test_ck210_catches_a_broken_workspace_template(ws: Workspace) -> None:
    shutil.copytree(builtin_dir("templates") / "html", ws.templates_dir / "html")
    page = ws.templates_dir / "html" / "disclosure.html.j2"
    page.write_text(page.read_text(encoding="utf-8").replace("{{ r.management }}", "{{ r.managment }}"))
    found = _findings(ws, "CK210")
    assert found, "a template with an undefined name must fail lint"
    message = found[0].message  # type: ignore[attr-defined]
    assert "disclosure.html.j2:" in message and "managment" in message
    assert found[0].severity == "error"  # type: ignore[attr-defined]


def test_ck210_catches_a_broken_docx_template(ws: Workspace) -> None:
    import docx

    (ws.templates_dir / "docx").mkdir()
    document = docx.Document(str(builtin_dir("templates") / "docx" / "care-guide.docx"))
    document.add_paragraph("{{ main.clinic.fax }}")
    document.save(str(ws.templates_dir / "docx" / "care-guide.docx"))
    found = _findings(ws, "CK210")
    assert any("care-guide.docx" in f.message and "fax" in f.message for f in found)  # type: ignore[attr-defined]


def test_the_lint_cache_notices_a_changed_template(ws: Workspace) -> None:
    if "use_cache" not in inspect.signature(lint_paths).parameters:
        pytest.skip("this lint has no finding cache")
    assert _findings(ws, "CK210", use_cache=True) == []
    shutil.copytree(builtin_dir("templates") / "html", ws.templates_dir / "html")
    page = ws.templates_dir / "html" / "consent.html.j2"
    page.write_text(page.read_text(encoding="utf-8").replace("{{ v.physician_statement }}", "{{ v.nope }}"))
    assert _findings(ws, "CK210", use_cache=True) != []
