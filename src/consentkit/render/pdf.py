"""PDF output with WeasyPrint: one engine per process (one ``FontConfiguration``, parsed stylesheets reused),
local files only, every WeasyPrint warning turned into a :class:`RenderError`, PDF/A-3b with tags.

The engine is patient-independent and cached per process; what it caches (fonts, parsed CSS) does not change the
output, only the time it takes.
"""

from __future__ import annotations

import atexit
import copy
import datetime as dt
import gc
import logging
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from html import unescape
from pathlib import Path
from typing import Any

from consentkit.errors import RenderError
from consentkit.render import speedups
from consentkit.render._weasyprint_internals import UA_MARKER, UA_UNUSED, require_internals
from consentkit.render.env import HTML_DIR, resolve
from consentkit.render.fonts import FontSet, check_harfbuzz_subset, fonts_for
from consentkit.render.html import STYLESHEET, standalone_css

PX_TO_PT = 72 / 96
_STYLE = re.compile(r"<(style|title)[^>]*>.*?</\1>", re.DOTALL | re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Box:
    """Where an element with an ``id`` landed: 1-based page, PDF points with the origin bottom-left."""

    anchor: str
    page: int
    rect: tuple[float, float, float, float]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def strict_weasyprint(what: str) -> Iterator[None]:
    """WeasyPrint logs missing fonts, images and bad CSS and carries on; here any warning fails the render."""
    from weasyprint.urls import FatalURLFetchingError

    logger = logging.getLogger("weasyprint")
    handler = _Capture()
    logger.addHandler(handler)
    try:
        yield
    except FatalURLFetchingError as exc:
        raise RenderError(f"{what}: {exc}") from None
    finally:
        logger.removeHandler(handler)
    if handler.messages:
        shown = "; ".join(dict.fromkeys(handler.messages))
        raise RenderError(f"{what}: WeasyPrint reported problems: {shown}")


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector held off while WeasyPrint lays out or writes: it allocates hundreds of
    thousands of long-lived objects (boxes, styles, glyph runs), and each young-generation pass re-scans the ones
    still alive, which cost 6-10 % of a render (measured). Reference counting still frees what dies; the collector
    runs again as soon as the block ends, so a render's cycles are collected before the next one. A block nested in
    another leaves the outer one to re-enable it. (The lint's ``fewer_collections`` freezes the heap instead, for one
    long load before forking workers; here, around every packet of a long-running process, freezing kept each
    packet's garbage: 539 MB peak against 231 MB, measured, for the same speed.)"""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def local_fetcher(allowed_dirs: Sequence[Path], allowed_files: Sequence[Path]) -> Any:
    """A WeasyPrint URL fetcher that loads only files under the template roots and the declared font files: no
    network, no other file. Anything else, or a missing file, stops the render."""
    from urllib.parse import unquote, urlparse

    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    dirs = [d.resolve() for d in allowed_dirs]
    files = {f.resolve() for f in allowed_files}

    class LocalFetcher(URLFetcher):  # type: ignore[misc]
        def allowed(self, url: str) -> bool:
            parsed = urlparse(url)
            if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
                return False
            path = Path(unquote(parsed.path)).resolve()
            return path in files or any(path.is_relative_to(d) for d in dirs)

        def fetch(self, url: str, headers: Any = None) -> Any:
            if not self.allowed(url):
                raise FatalURLFetchingError(f"documents may load only local template files, not {url}")
            return super().fetch(url, headers)

    return LocalFetcher(allowed_protocols=["file"], timeout=5, fail_on_errors=True)


_SVG = "{http://www.w3.org/2000/svg}"
_TAGGING_PATCHED = False


def _tag_languages_and_descriptions() -> None:
    """Two things WeasyPrint 70's PDF tagging leaves out, added to its structure elements (once per process):

    - ``/Lang`` of an element whose HTML carries ``lang`` (each locale's section of a bilingual document, the
      signature meanings, the chart), so a screen reader reads the English half as English — WeasyPrint sets only
      the catalogue's ``/Lang``;
    - the chart's ``<desc>`` (the timeline in words) after its ``<title>`` in the figure's ``/Alt`` — WeasyPrint
      takes the title alone.
    """
    global _TAGGING_PATCHED
    if _TAGGING_PATCHED:
        return
    import pydyf
    from weasyprint.pdf import tags

    build = tags._build_box_tree

    def build_with_lang(box: Any, parent: Any, *args: Any) -> Iterator[Any]:
        element = getattr(box, "element", None)
        lang = element.get("lang") if element is not None and hasattr(element, "get") else None
        for made in build(box, parent, *args):
            if lang and "Lang" not in made and made.get("P") == parent.reference:
                made["Lang"] = pydyf.String(lang)
            if made.get("S") == "/Figure" and element is not None and element.tag == f"{_SVG}svg":
                title, desc = element.find(f"{_SVG}title"), element.find(f"{_SVG}desc")
                if title is not None and desc is not None and title.text and desc.text:
                    made["Alt"] = pydyf.String(f"{title.text}: {desc.text}")
            yield made

    build_with_lang.__wrapped__ = build  # type: ignore[attr-defined]  # the check sees WeasyPrint's parameters
    tags._build_box_tree = build_with_lang
    _TAGGING_PATCHED = True


# The user-agent stylesheet's universal pseudo-element rules make WeasyPrint compute six pseudo-element styles
# (::marker, ::footnote-call, ::footnote-marker, ::note-call, ::note-marker, ::note-callback) for every element:
# nine in ten style computations of a document, a fifth of its layout time. The documents have no footnotes or
# notes, and only <li> elements are list items, so those rules are dropped or scoped to li: the same output.
# (require_internals checked at start-up that WeasyPrint's stylesheet has each of these rules once.)
@cache
def _document_ua_stylesheet() -> Any:
    from weasyprint import CSS
    from weasyprint import html as weasy_html
    from weasyprint.css.counters import CounterStyle

    kept = [line for line in weasy_html.UA.splitlines() if not line.startswith(UA_UNUSED)]
    kept = ["li" + line if line.startswith(UA_MARKER) else line for line in kept]
    return CSS(string="\n".join(kept), counter_style=CounterStyle())


@cache
def _html_class() -> Any:
    from weasyprint import HTML

    class DocumentHTML(HTML):  # type: ignore[misc]
        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [_document_ua_stylesheet()] if not forms else super()._ua_stylesheets(forms)

    return DocumentHTML


class PdfEngine:
    """Lays out HTML and writes PDFs for one set of template roots."""

    def __init__(self, template_roots: Sequence[Path]) -> None:
        check_harfbuzz_subset()
        require_internals()  # the patches below and _text_families were written for WeasyPrint 70
        _tag_languages_and_descriptions()
        speedups.install()
        from weasyprint.text.fonts import FontConfiguration

        self.roots = tuple(Path(r).resolve() for r in template_roots)
        self.fonts: FontSet = fonts_for(self.roots)
        # WeasyPrint copies @font-face files into a temporary folder per FontConfiguration; make it ours, so it is
        # removed when the process ends even if __del__ never runs (pool workers).
        self._tmp = Path(tempfile.mkdtemp(prefix="consentkit-fonts-"))
        self.font_config = FontConfiguration()
        self.font_config._folder = self._tmp
        atexit.register(self.close)
        self.fetcher = local_fetcher(self.roots, self.fonts.files())
        self._css: dict[tuple[object, ...], Any] = {}

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)
        self.font_config._folder = None  # nothing left for its __del__ to remove at interpreter exit

    def stylesheet_text(self, locales: Sequence[str]) -> str:
        return standalone_css(self.roots, locales, portable=False)

    def stylesheet(self, locales: Sequence[str]) -> Any:
        css_file = resolve(self.roots, STYLESHEET)
        st = css_file.stat()
        # a parsed stylesheet is reused until the CSS file changes (a long-running web app sees edits)
        key = (*sorted(locales), str(css_file), st.st_size, st.st_mtime_ns)
        if key not in self._css:
            from weasyprint import CSS

            path = resolve(self.roots, STYLESHEET)
            with strict_weasyprint(str(path)):
                self._css[key] = CSS(
                    string=self.stylesheet_text(locales),
                    base_url=str(path.parent) + "/",
                    url_fetcher=self.fetcher,
                    font_config=self.font_config,
                )
        return self._css[key]

    def check_glyphs(self, html: str, locales: Sequence[str], what: str) -> None:
        """Every character must be in a declared font of the document's locales: no silent substitution."""
        text = unescape(_TAGS.sub(" ", _STYLE.sub(" ", html)))
        missing = set.intersection(*(self.fonts.missing_characters(text, loc) for loc in locales))
        if missing:
            shown = ", ".join(f"{c} (U+{ord(c):04X})" for c in sorted(missing))
            raise RenderError(f"{what}: no declared font can draw {shown}; add a face to fonts.yaml or change the text")

    def layout(self, html: str, locales: Sequence[str], what: str) -> Any:
        """A laid-out WeasyPrint ``Document``."""
        HTML = _html_class()

        self.check_glyphs(html, locales, what)
        base = resolve(self.roots, f"{HTML_DIR}/_base.html.j2").parent
        with strict_weasyprint(what), gc_paused():
            document = HTML(string=html, base_url=str(base) + "/", url_fetcher=self.fetcher).render(
                font_config=self.font_config,
                stylesheets=[self.stylesheet(locales)],
                pdf_variant="pdf/a-3b",
            )
        document.consentkit_template = what  # named when the document turns out to use an undeclared font
        return document

    def check_fonts(self, written: Any, documents: Sequence[Any]) -> None:
        """Every font the written PDF embeds must be a declared one: a template naming another family (``font-family:
        DejaVu Sans``) or a character that fell back to a system font is an error naming the template. The fonts
        are known once the pages are drawn (``Document.fonts``); finding which template used one walks its
        text boxes, only when there is such a font."""
        declared = {face.family for face in self.fonts.faces}
        extra = sorted({font.family for font in written.fonts.values()} - declared)
        if not extra:
            return
        culprits = [d for d in documents if _text_families(d) & set(extra)] or list(documents)
        names = ", ".join(dict.fromkeys(getattr(d, "consentkit_template", "a document") for d in culprits))
        raise RenderError(
            f"{names}: uses fonts that {self.fonts.source.name} does not declare: {', '.join(extra)}; name only "
            f"declared families in font-family ({', '.join(sorted(declared))})"
        )

    def write(
        self,
        documents: Sequence[Any],
        *,
        title: str,
        lang: str,
        author: str,
        created: dt.datetime,
        attachments: Sequence[tuple[str, str, str]] = (),
        description: str | None = None,
        keywords: Sequence[str] | None = None,
    ) -> bytes:
        """One PDF/A-3b from the pages of ``documents``; ``attachments`` are (name, text, description).
        ``description`` and ``keywords`` (the PDF's Subject and Keywords) replace the first document's."""
        from weasyprint import Attachment

        combined = documents[0].copy([p for d in documents for p in d.pages])
        meta = combined.metadata = copy.copy(combined.metadata)  # the copy shares it with the first document
        if description is not None:
            meta.description = description
        if keywords is not None:
            meta.keywords = list(keywords)
        meta.title = title
        meta.lang = lang
        meta.authors = [author]
        stamp = created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        meta.created = stamp
        meta.modified = stamp
        files = [
            Attachment(
                string=text, name=name, description=description, relationship="Data", created=created, modified=created
            )
            for name, text, description in attachments
        ]
        with strict_weasyprint(title), gc_paused():
            data = combined.write_pdf(pdf_variant="pdf/a-3b", pdf_tags=True, attachments=files)
        assert isinstance(data, bytes)
        self.check_fonts(combined, documents)
        return data


def _text_families(document: Any) -> set[str]:
    """The font families Pango chose for the text of a laid-out document."""
    from weasyprint.formatting_structure.boxes import TextBox
    from weasyprint.text.ffi import ffi, pango

    found: set[str] = set()
    for page in document.pages:
        for box in page._page_box.descendants():
            if not isinstance(box, TextBox) or box.pango_layout is None:
                continue
            layout = box.pango_layout
            layout.reactivate(box.style)  # WeasyPrint frees the Pango layout after layout and drawing
            try:
                line, _ = layout.get_first_line()
                run = line.runs
                while run != ffi.NULL:
                    description = pango.pango_font_describe_with_absolute_size(run.data.item.analysis.font)
                    found.add(ffi.string(pango.pango_font_description_get_family(description)).decode())
                    pango.pango_font_description_free(description)
                    run = run.next
            finally:
                layout.deactivate()
    return found


def anchor_boxes(documents: Sequence[Any], anchors: Sequence[str]) -> dict[str, Box]:
    """Where each anchor landed in the combined page sequence of ``documents``."""
    found: dict[str, Box] = {}
    pages = [p for d in documents for p in d.pages]
    for number, page in enumerate(pages, start=1):
        height_pt = page.height * PX_TO_PT
        for anchor in anchors:
            if anchor in found or anchor not in page.anchors:
                continue
            x1, y1, x2, y2 = page.anchors[anchor]
            rect = (x1 * PX_TO_PT, height_pt - y2 * PX_TO_PT, x2 * PX_TO_PT, height_pt - y1 * PX_TO_PT)
            found[anchor] = Box(anchor, number, tuple(round(v, 2) for v in rect))
    missing = [a for a in anchors if a not in found]
    if missing:
        raise RenderError(f"the template drew no signature box for: {', '.join(missing)}")
    return found


_ENGINES: dict[tuple[Path, ...], PdfEngine] = {}


def engine_for(roots: tuple[Path, ...]) -> PdfEngine:
    """The process's engine for these template roots (fonts loaded and stylesheets parsed once); a new one when
    the font declaration changed."""
    engine = _ENGINES.get(roots)
    if engine is None or engine.fonts is not fonts_for(roots):
        if engine is not None:
            engine.close()
        engine = _ENGINES[roots] = PdfEngine(roots)
    return engine
