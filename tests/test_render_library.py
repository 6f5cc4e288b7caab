"""Every procedure of the built-in library renders in every locale, document and format (specs added to
procedures/ are picked up automatically). HTML and DOCX for all; PDF for one document per procedure here, and for
every combination in the slow test."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from _packet_fixtures import docx_text, squash
from consentkit.render.context import DOCS
from consentkit.render.labels import pick
from consentkit.render.specimen import render_document, specimen_input
from consentkit.resources import builtin_dir
from consentkit.spec.library import load_library

LIBRARY = load_library([builtin_dir("procedures")])
PROCEDURES = sorted(LIBRARY.procedures)
COMBOS = [(p, loc) for p in PROCEDURES for loc in LIBRARY.procedures[p].model.locales]


def _risk_titles(procedure: str, locale: str) -> list[str]:
    return [pick(r.title, locale) for r in LIBRARY.procedures[procedure].model.risks]


@pytest.mark.parametrize(("procedure", "locale"), COMBOS)
def test_html_and_docx_render(procedure: str, locale: str) -> None:
    inp, roots = specimen_input(procedure, (locale,))
    for doc in DOCS:
        html = render_document(inp, doc, "html", roots).decode("utf-8")
        text = docx_text(render_document(inp, doc, "docx", roots))
        if doc != "care-guide":
            for title in _risk_titles(procedure, locale):
                escaped = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
                assert escaped in html, (doc, title)
                assert title in text, (doc, title)
        assert "{{" not in text and "{%" not in text


def _pdf_check(procedure: str, locale: str, doc: str, tmp_path: Path) -> None:
    inp, roots = specimen_input(procedure, (locale,))
    path = tmp_path / f"{procedure}-{locale}-{doc}.pdf"
    path.write_bytes(render_document(inp, doc, "pdf", roots))
    text = squash(
        subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    )
    if doc != "care-guide":
        for title in _risk_titles(procedure, locale):
            assert squash(title) in text, title
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Kurinto" in fonts or "Source" in fonts
    assert all(" yes yes " in row for row in fonts.splitlines()[2:])
    assert subprocess.run(["qpdf", "--check", str(path)], capture_output=True).returncode == 0


@pytest.mark.parametrize(
    ("procedure", "locale", "doc"),
    [
        (p, *c)
        for p, c in zip(
            PROCEDURES, itertools.cycle([(loc, d) for d in DOCS for loc in ("zh-CN", "zh-TW", "en")]), strict=False
        )
    ],
)
def test_pdf_renders(procedure: str, locale: str, doc: str, tmp_path: Path) -> None:
    _pdf_check(procedure, locale, doc, tmp_path)


@pytest.mark.slow
def test_every_pdf_renders(tmp_path: Path) -> None:
    for procedure, locale in COMBOS:
        for doc in DOCS:
            _pdf_check(procedure, locale, doc, tmp_path)
