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
from consentkit.render.context import RenderInput
from consentkit.render.specimen import render_document, specimen_input

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def preview() -> tuple[RenderInput, tuple[Path, ...]]:
    return specimen_input("rhinoplasty", ("zh-CN", "en"), now=NOW)


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
