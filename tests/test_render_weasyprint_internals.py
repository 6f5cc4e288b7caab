"""render/pdf.py patches WeasyPrint 70 internals: fail loudly when one is missing or its parameters changed."""

from __future__ import annotations

import inspect
from importlib.metadata import version

import pytest

from consentkit.errors import RenderError
from consentkit.render import _weasyprint_internals as internals
from consentkit.render import pdf, speedups


def test_the_internals_pdf_py_patches_are_still_what_it_expects() -> None:
    assert internals.check_internals() == []
    # and the version is the one the pin allows (a forced install of another one fails here first)
    assert version("weasyprint").startswith(f"{internals.WRITTEN_FOR}."), version("weasyprint")


def test_the_pin_in_pyproject_and_constraints_agree() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    assert '"weasyprint>=70,<71"' in (root / "pyproject.toml").read_text()
    assert "weasyprint==70." in (root / "constraints.txt").read_text()


def test_each_patch_replaces_a_checked_target_with_the_same_parameters() -> None:
    import pydyf
    from weasyprint.pdf import fonts, tags

    pdf._tag_languages_and_descriptions()
    speedups.install()
    expected = internals.FUNCTIONS
    for name, current in {
        "weasyprint.pdf.tags._build_box_tree": tags._build_box_tree,
        "weasyprint.pdf.fonts.get_pango_font_hb_face": fonts.get_pango_font_hb_face,
        "weasyprint.pdf.fonts.get_hb_object_data": fonts.get_hb_object_data,
        "weasyprint.pdf.fonts.Font._harfbuzz_subset": fonts.Font._harfbuzz_subset,
        "pydyf.PDF.write": pydyf.PDF.write,
    }.items():
        assert current.__module__ in (pdf.__name__, speedups.__name__), f"{name} is not patched"
        # the check reads WeasyPrint's parameters through __wrapped__; the replacement accepts the same call
        assert tuple(inspect.signature(current).parameters) == expected[name]
        replacement = inspect.signature(current, follow_wrapped=False)
        replacement.bind(*expected[name])


def test_a_missing_or_changed_internal_stops_the_engine_naming_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "weasyprint.text.line_break.Layout.reactivate"
    monkeypatch.setitem(internals.FUNCTIONS, name, ("self", "style", "context"))
    assert internals.check_internals() == [
        f"{name} takes ('self', 'style'), consentkit was written for ('self', 'style', 'context')"
    ]
    monkeypatch.setitem(internals.FUNCTIONS, "weasyprint.pdf.tags._gone", ("box",))
    monkeypatch.setattr(internals, "ATTRIBUTES", ("weasyprint.text.ffi.harfbuzz.hb_no_such_function",))
    monkeypatch.setitem(internals.SOURCES, "weasyprint.document.Page.__init__", ("self._box = ",))
    problems = internals.check_internals()
    assert "weasyprint.pdf.tags._gone is missing" in problems
    assert "weasyprint.text.ffi.harfbuzz.hb_no_such_function is missing" in problems
    assert "weasyprint.document.Page.__init__ no longer contains 'self._box = '" in problems

    internals.require_internals.cache_clear()
    try:
        with pytest.raises(RenderError, match=rf"WeasyPrint {version('weasyprint')} is not the version .* \(70\.x\)"):
            pdf.PdfEngine(())
    finally:
        internals.require_internals.cache_clear()


def test_a_changed_user_agent_stylesheet_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from weasyprint import html

    monkeypatch.setattr(html, "UA", html.UA.replace("::note-call {", "::note-call, x {"))
    assert internals.check_internals() == ["weasyprint.html.UA no longer has one line starting '::note-call {'"]
