"""Editable DOCX copies of the documents, from docxtpl templates (``templates/docx/<doc>.docx``, built by
``scripts/build_docx_templates.py``) over the same context as the HTML, rendered in Jinja's sandbox with
autoescape (a name like ``<script>`` or ``{{ 7*7 }}`` prints literally)."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from consentkit.errors import RenderError
from consentkit.render.compiled import cached_texts, compiled_from_string
from consentkit.render.context import DocKind, RenderInput
from consentkit.render.env import DOCX_DIR, resolve
from consentkit.render.fonts import FontSet
from consentkit.render.html import document_context

# Word needs fonts the reader's machine has; these are the usual ones for each script.
EAST_ASIAN_FONT = {"zh-CN": "Microsoft YaHei", "zh-TW": "Microsoft JhengHei", "zh-HK": "Microsoft JhengHei"}


class _DocxEnvironment(SandboxedEnvironment):
    """docxtpl compiles each part's XML with ``from_string`` on every render; the XML of a template file never
    changes, so the compiled template is kept (same output, a fifth of the time), in this process and between
    processes (:mod:`consentkit.render.compiled`)."""

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=True)
        self._compiled: dict[str, Template] = {}

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Template:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        if source not in self._compiled:
            if len(self._compiled) > 64:
                self._compiled.clear()
            self._compiled[source] = compiled_from_string(self, source, "documents-docx")
        return self._compiled[source]


_PATCHED: dict[str, str] = {}


@cache
def _template_class() -> Any:
    """docxtpl's template, remembering its XML clean-up (``patch_xml``, a dozen regular expressions over each
    part's XML, 10 ms a document): a pure function of the template file's XML, which never changes."""
    from docxtpl import DocxTemplate

    class CachedDocxTemplate(DocxTemplate):  # type: ignore[misc]
        def patch_xml(self, src_xml: str) -> str:
            patched = _PATCHED.get(src_xml)
            if patched is None:
                if len(_PATCHED) > 32:
                    _PATCHED.clear()
                patched = _PATCHED[src_xml] = super().patch_xml(src_xml)
            return patched

    return CachedDocxTemplate


@cache
def _env() -> _DocxEnvironment:
    return _DocxEnvironment()


@cache
def _template_bytes(path: Path, mtime_ns: int) -> bytes:
    return path.read_bytes()


def page_words(pattern: str) -> list[str]:
    """ "第 %(page)s 页，共 %(pages)s 页" → the three texts around the PAGE and NUMPAGES fields."""
    parts = re.split(r"%\(pages?\)s", pattern)
    return [*parts, "", "", ""][:3]


@cache
def _template_parts(path: Path, mtime_ns: int) -> tuple[str, ...]:
    """The Jinja sources docxtpl makes of a template file: the body, then each header and footer (kept between
    processes, keyed by the file's bytes and docxtpl's version)."""
    from importlib.metadata import version

    data = _template_bytes(path, mtime_ns)

    def make() -> tuple[str, ...]:
        from docxtpl import DocxTemplate

        template = DocxTemplate(io.BytesIO(data))
        template.init_docx()
        parts = [template.patch_xml(template.get_xml())]
        for uri in (template.HEADER_URI, template.FOOTER_URI):
            for _key, part in template.get_headers_footers(uri):
                parts.append(template.patch_xml(template.get_part_xml(part)))
        return tuple(parts)

    key = f"docxtpl {version('docxtpl')} {hashlib.sha256(data).hexdigest()}"
    return cached_texts("docx-parts", key, make)


def dry_run_docx(
    inp: RenderInput, doc: DocKind, template_roots: Sequence[Path], *, fonts: FontSet | None = None
) -> None:
    """Render a DOCX template's Jinja parts without building the file (lint CK210): fails like
    :func:`render_docx` would on an undefined name or a template error, in a fraction of the time."""
    path = resolve(template_roots, f"{DOCX_DIR}/{doc}.docx")
    context = document_context(inp, doc, template_roots, fonts)
    context["page_words"] = page_words(context["main"]["_"]("Page %(page)s of %(pages)s"))
    env = _env()
    try:
        for source in _template_parts(path, path.stat().st_mtime_ns):
            env.from_string(source).render(context)
    except TemplateError as exc:
        raise RenderError(f"{path}: template failed: {exc}") from exc
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise RenderError(f"{path}: template failed: {type(exc).__name__}: {exc}") from exc


def render_docx(inp: RenderInput, doc: DocKind, template_roots: Sequence[Path]) -> bytes:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    path = resolve(template_roots, f"{DOCX_DIR}/{doc}.docx")
    context = document_context(inp, doc, template_roots)
    context["page_words"] = page_words(context["main"]["_"]("Page %(page)s of %(pages)s"))
    template = _template_class()(io.BytesIO(_template_bytes(path, path.stat().st_mtime_ns)))
    try:
        template.render(context, jinja_env=_env(), autoescape=True)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise RenderError(f"{path}: template failed{f' near line {line}' if line else ''}: {exc}") from exc
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise RenderError(f"{path}: template failed: {type(exc).__name__}: {exc}") from exc

    # Language and East Asian font of the whole document follow its first locale.
    locale = inp.locales[0]
    document = template.docx
    rpr = document.styles["Normal"].element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    if locale in EAST_ASIAN_FONT:
        fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT[locale])
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-GB")
    lang.set(qn("w:eastAsia"), locale)
    # The same metadata as the PDF (title, author, description, keywords), never the template's own.
    main = context["main"]
    core = document.core_properties
    core.title = f"{main['docs'][doc]} — {main['procedure']['title']}"
    core.subject = f"{main['procedure']['title']} v{main['procedure']['version']}"
    core.author = core.last_modified_by = main["clinic"]["name"]
    core.comments = f"{main['docs'][doc]}: {main['procedure']['title']} ({context['doc_id']})"
    core.keywords = f"consentkit, {doc}, {context['doc_id']}"
    core.identifier = context["doc_id"]
    core.category = context["stamp"]
    core.language = main["lang"]
    core.created = core.modified = inp.generated_at
    core.revision = 1
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()
