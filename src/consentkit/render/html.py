"""HTML of one document from its context (the input of the PDF renderer, and the ``--format html`` output)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from consentkit.errors import RenderError
from consentkit.render.context import DocKind, RenderInput, build_context
from consentkit.render.env import CSS_DIR, render_template, resolve
from consentkit.render.fonts import FontSet, fonts_for
from consentkit.render.i18n import Translator, translator

STYLESHEET = f"{CSS_DIR}/document.css"


def standalone_css(template_roots: Sequence[Path], locales: Sequence[str], *, portable: bool = True) -> str:
    """The stylesheet with its @font-face rules. ``portable`` (HTML that stands on its own, maybe on another
    machine): fonts by their installed names first, this machine's files as the fallback; the PDF engine uses
    the files only."""
    fonts = fonts_for(template_roots)
    css = resolve(template_roots, STYLESHEET).read_text(encoding="utf-8")
    return fonts.font_face_css(locales, portable=portable) + css


def translators_for(template_roots: Sequence[Path], locales: Sequence[str]) -> list[Translator]:
    return [translator(template_roots, loc) for loc in locales]


def document_context(
    inp: RenderInput, doc: DocKind, template_roots: Sequence[Path], fonts: FontSet | None = None
) -> dict[str, Any]:
    fonts = fonts or fonts_for(template_roots)
    context = build_context(inp, translators_for(template_roots, inp.locales), fonts, doc)
    context["font_family"] = Markup(context["font_family"])  # noqa: S704 - family names from fonts.yaml
    return context


def render_html(
    inp: RenderInput,
    doc: DocKind,
    template_roots: Sequence[Path],
    *,
    stylesheet: str | None = None,
    fonts: FontSet | None = None,
    env: SandboxedEnvironment | None = None,
) -> str:
    """The document as HTML. ``stylesheet``, when given, is inlined (standalone HTML); the PDF engine passes its
    parsed stylesheet separately instead. ``fonts`` and ``env`` save looking them up again (see
    :func:`~consentkit.render.env.render_template`)."""
    context = document_context(inp, doc, template_roots, fonts)
    # the stylesheet is our own CSS file (trusted like the templates), only kept from closing the <style> element
    context["stylesheet"] = Markup(stylesheet.replace("</", "<\\/")) if stylesheet else ""  # noqa: S704
    html = render_template(template_roots, f"{doc}.html.j2", context, env=env)
    if "<html" not in html:
        raise RenderError(f"{doc}.html.j2 did not produce an HTML document")
    return html
