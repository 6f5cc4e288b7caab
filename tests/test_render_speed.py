"""The rendering shortcuts (bench/bench_packet.py, docs/rendering.md "Performance") change time, never content:
each is compared here with WeasyPrint's or docxtpl's own behaviour on the same input."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from consentkit.render import docx as docx_module
from consentkit.render import pdf as pdf_module
from consentkit.render import speedups
from consentkit.render.context import DOCS, RenderInput
from consentkit.render.specimen import render_document, specimen_input

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def preview() -> tuple[RenderInput, tuple[Path, ...]]:
    return specimen_input("rhinoplasty", ("zh-CN", "en"), now=NOW)


def _pdfs(inp: RenderInput, roots: tuple[Path, ...]) -> list[bytes]:
    """The three documents as PDFs."""
    return [render_document(inp, doc, "pdf", roots) for doc in DOCS]


def _normalised(data: bytes, tmp_path: Path, name: str) -> bytes:
    """The PDF with every stream decompressed: equal bytes mean equal content."""
    raw, flat = tmp_path / f"{name}.pdf", tmp_path / f"{name}-qdf.pdf"
    raw.write_bytes(data)
    subprocess.run(
        ["qpdf", "--qdf", "--object-streams=disable", "--compress-streams=n", "--decode-level=generalized",
         str(raw), str(flat)],
        check=True,
    )  # fmt: skip
    # the trailer's /ID is derived from the file's bytes (its compressed streams included): left out
    return re.sub(rb"/ID \[<[0-9a-f]+><[0-9a-f]+>\]", b"/ID []", flat.read_bytes())


def test_trimmed_user_agent_stylesheet_gives_the_same_pdf(
    preview: tuple[RenderInput, tuple[Path, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from weasyprint import HTML
    from weasyprint import html as weasy_html

    assert pdf_module._document_ua_stylesheet() is not weasy_html.UA_STYLESHEET  # active for this WeasyPrint
    inp, roots = preview
    ours = render_document(inp, "care-guide", "pdf", roots)
    monkeypatch.setattr(pdf_module, "_html_class", lambda: HTML)
    assert render_document(inp, "care-guide", "pdf", roots) == ours


def test_kept_font_files_give_the_same_pdf(
    preview: tuple[RenderInput, tuple[Path, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from weasyprint.pdf import fonts
    from weasyprint.text import fonts as text_fonts

    inp, roots = preview
    ours = render_document(inp, "consent", "pdf", roots)
    assert fonts.get_hb_object_data is not text_fonts.get_hb_object_data  # the reuse is installed
    monkeypatch.setattr(fonts, "get_hb_object_data", text_fonts.get_hb_object_data)
    monkeypatch.setattr(fonts, "get_pango_font_hb_face", text_fonts.get_pango_font_hb_face)
    assert render_document(inp, "consent", "pdf", roots) == ours


def test_lighter_compression_keeps_the_content(
    preview: tuple[RenderInput, tuple[Path, ...]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import zlib

    import pydyf

    inp, roots = preview
    ours = render_document(inp, "disclosure", "pdf", roots)
    monkeypatch.setattr(pydyf, "zlib", zlib)  # pydyf's own level 9
    theirs = render_document(inp, "disclosure", "pdf", roots)
    assert ours != theirs
    assert _normalised(ours, tmp_path, "ours") == _normalised(theirs, tmp_path, "theirs")


def test_serialising_each_object_once_gives_the_same_pdf(
    preview: tuple[RenderInput, tuple[Path, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pydyf serialises every object twice (the second time for the file identifier); the kept bytes give the very
    same file, identifier included, for a whole bilingual packet's worth of objects."""
    import pydyf

    inp, roots = preview
    ours = render_document(inp, "consent", "pdf", roots)
    assert speedups._SERIALISED is None  # only while a PDF is written
    write_once = pydyf.PDF.write
    assert write_once.__module__ == speedups.__name__  # the patch is installed
    monkeypatch.setattr(pydyf.PDF, "write", write_once.__wrapped__)
    for cls in (pydyf.Stream, pydyf.Dictionary, pydyf.Array):
        monkeypatch.setattr(cls, "data", property(cls.__dict__["data"].fget.__wrapped__))
    theirs = render_document(inp, "consent", "pdf", roots)
    assert b"/ID [" in ours
    assert ours == theirs


@pytest.mark.parametrize("locales", [("zh-CN", "en"), ("zh-TW",)])
def test_one_subsetting_pass_gives_the_same_fonts_and_pdf(
    locales: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """WeasyPrint subsets each font twice; one pass without hinting gives the same font files, so the same PDF, for
    every declared font the built-in templates use (Kurinto Sans SC/TC regular and bold, Source Sans 3, Noto Sans CJK
    for the characters Kurinto lacks), and no font needed WeasyPrint's second pass."""
    from weasyprint.pdf import fonts

    inp, roots = specimen_input("rhinoplasty", locales, now=NOW)
    render_document(inp, "consent", "pdf", roots)  # the engine installs the shortcuts
    one_pass = fonts.Font._harfbuzz_subset
    assert one_pass.__module__ == speedups.__name__  # the patch is installed
    two_passes = one_pass.__wrapped__
    fell_back: list[str] = []
    subsets: dict[str, list[bytes]] = {}

    def counted(self: Any, to_unicode: Any, hinting: Any) -> None:
        fell_back.append(self.family)
        two_passes(self, to_unicode, hinting)

    def kept(subset: Any) -> Any:
        def run(self: Any, to_unicode: Any, hinting: Any) -> None:
            subset(self, to_unicode, hinting)
            subsets.setdefault(f"{self.family} {self.weight}", []).append(self.file_content)

        return run

    monkeypatch.setattr(one_pass, "__wrapped__", counted)
    monkeypatch.setattr(fonts.Font, "_harfbuzz_subset", kept(one_pass))
    ours = _pdfs(inp, roots)
    assert not [family for family in fell_back if "Kurinto" in family or "CJK" in family]
    monkeypatch.setattr(fonts.Font, "_harfbuzz_subset", kept(two_passes))
    theirs = _pdfs(inp, roots)
    for family, files in subsets.items():
        half = len(files) // 2
        assert files[:half] == files[half:], family
    assert any(f.startswith("Kurinto") for f in subsets)
    assert ours == theirs


@pytest.mark.parametrize("locales", [("zh-CN", "en"), ("zh-TW",)])
def test_inline_percentages_give_the_same_pdf(locales: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    """The faster resolve_percentages sets the same used values: the same PDFs as WeasyPrint's own, for the three
    documents (tables, lists, the chart, margin boxes, pages)."""
    import importlib

    from weasyprint.layout import percent

    inp, roots = specimen_input("rhinoplasty", locales, now=NOW)
    ours = _pdfs(inp, roots)
    fast = percent.resolve_percentages
    assert fast.__module__ == speedups.__name__  # the patch is installed (by the engine)
    monkeypatch.setattr(percent, "resolve_percentages", fast.__wrapped__)
    for name in speedups.PERCENTAGE_USERS:
        module = importlib.import_module(f"weasyprint.layout.{name}")
        assert module.resolve_percentages is fast, name
        monkeypatch.setattr(module, "resolve_percentages", fast.__wrapped__)
    theirs = _pdfs(inp, roots)
    assert ours == theirs


@pytest.mark.parametrize("locales", [("zh-CN", "en"), ("zh-TW",)])
def test_shared_pango_contexts_give_the_same_pdf(locales: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    """Layouts made on a shared Pango context with a shared font description shape text exactly as WeasyPrint's own
    set-up does: the same PDFs for the three documents (two scripts, bold, the chart's text, underlined links)."""
    from weasyprint.text import line_break

    inp, roots = specimen_input("rhinoplasty", locales, now=NOW)
    ours = _pdfs(inp, roots)
    shared = line_break.Layout.setup
    assert shared.__module__ == speedups.__name__  # the patch is installed (by the engine)
    monkeypatch.setattr(line_break.Layout, "setup", shared.__wrapped__)
    theirs = _pdfs(inp, roots)
    assert ours == theirs


LESS_COMMON = """<html lang="en"><body style="font-family: 'Source Sans 3', 'Kurinto Sans SC'">
  <p style="text-decoration: underline">Underlined 1 in 100</p>
  <p style="text-decoration: line-through overline; font-size: 13pt">Struck 38.5 °C</p>
  <p dir="rtl" lang="ar">abc, 123 (def) ghi.</p>
  <p style="font-variant-numeric: tabular-nums; font-kerning: none">0123456789 AV To</p>
  <p style="letter-spacing: 0.5pt; word-spacing: 3pt; text-align: justify">Some justified text that goes on and on
     across the page so that it wraps onto a second line and spreads its words out evenly.</p>
  <p lang="zh-Hant">術後護理 <span lang="zh-Hans">术后护理</span></p>
  <p style="font-language-override: 'TRK'">override</p>
</body></html>"""


def test_shared_pango_contexts_give_the_same_pdf_for_less_common_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the built-in documents do not use: decorations (the cached font metrics), right-to-left text, font
    features, letter and word spacing, justification, languages, a language override (WeasyPrint's own set-up)."""
    from weasyprint import HTML
    from weasyprint.text import line_break

    from consentkit.render.pdf import engine_for
    from consentkit.render.specimen import specimen_input as _input

    engine_for(_input("rhinoplasty", ("en",), now=NOW)[1])  # installs the shortcuts
    html = LESS_COMMON
    shared = line_break.Layout.setup
    assert shared.__module__ == speedups.__name__
    ours = HTML(string=html).write_pdf()
    monkeypatch.setattr(line_break.Layout, "setup", shared.__wrapped__)
    theirs = HTML(string=html).write_pdf()
    assert ours == theirs


@pytest.mark.parametrize("locales", [("zh-CN", "en"), ("zh-TW",)])
def test_kept_pango_layouts_give_the_same_pdf(locales: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawing with the layouts kept from laying out, and the care guide drawn twice with the same ones, gives the
    PDFs WeasyPrint's free-and-set-up-again gives; so does the page of less common text (justified and spaced text
    is freed and set up again)."""
    from weasyprint import HTML
    from weasyprint.formatting_structure.boxes import TextBox
    from weasyprint.text import line_break

    from consentkit.render.html import render_html

    inp, roots = specimen_input("rhinoplasty", locales, now=NOW)
    engine = pdf_module.engine_for(tuple(Path(r).resolve() for r in roots))

    def html_for(doc: Any) -> str:
        return render_html(inp, doc, roots, fonts=engine.fonts)

    docs = [engine.layout(html_for(doc), inp.locales, doc) for doc in DOCS]
    texts = [b for d in docs for p in d.pages for b in p._page_box.descendants() if isinstance(b, TextBox)]
    kept = sum(getattr(b.pango_layout, "consentkit_kept", None) is not None for b in texts if b.pango_layout)
    assert kept > 0.9 * len(texts)  # the shortcut is taken
    common = {"title": "t", "lang": "zh", "author": "a", "created": NOW}
    ours = [engine.write([d], **common) for d in docs] + [engine.write(docs, **common)]
    ours.append(HTML(string=LESS_COMMON).write_pdf())
    deactivate, reactivate = line_break.Layout.deactivate, line_break.Layout.reactivate
    assert deactivate.__module__ == speedups.__name__
    monkeypatch.setattr(line_break.Layout, "deactivate", deactivate.__wrapped__)
    monkeypatch.setattr(line_break.Layout, "reactivate", reactivate.__wrapped__)
    docs = [engine.layout(html_for(doc), inp.locales, doc) for doc in DOCS]
    theirs = [engine.write([d], **common) for d in docs] + [engine.write(docs, **common)]
    theirs.append(HTML(string=LESS_COMMON).write_pdf())
    assert ours == theirs


def _parts(data: bytes) -> str:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return hashlib.sha256(b"".join(archive.read(n) for n in sorted(archive.namelist()))).hexdigest()


def test_cached_docx_clean_up_gives_the_same_docx(
    preview: tuple[RenderInput, tuple[Path, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from docxtpl import DocxTemplate

    inp, roots = preview
    ours = [_parts(render_document(inp, "consent", "docx", roots)) for _ in range(2)]
    monkeypatch.setattr(docx_module, "_template_class", lambda: DocxTemplate)
    theirs: Any = _parts(render_document(inp, "consent", "docx", roots))
    assert ours == [theirs, theirs]
