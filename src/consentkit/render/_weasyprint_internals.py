"""The WeasyPrint internals ``render/pdf.py`` and ``render/speedups.py`` rely on, checked once at start-up.

They patch or read private WeasyPrint 70 code (tagging, font data and subsetting, pydyf's compression and
serialisation, the user-agent stylesheet, ``Page._page_box``, ``Layout.reactivate``); pyproject.toml pins
``weasyprint>=70,<71`` for that reason.
Another WeasyPrint (a forced install, a distribution's package) could patch something different or crash mid-render,
so the engine refuses to start with a :class:`RenderError` naming the version and what changed.
tests/test_render_weasyprint_internals.py fails loudly when a target is missing or its parameters changed.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from functools import cache
from typing import Any

from consentkit.errors import RenderError
from consentkit.render.speedups import PERCENTAGE_USERS

WRITTEN_FOR = "70"

# patched or called: dotted name → the parameters the code was written against
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "weasyprint.pdf.tags._build_box_tree": ("box", "parent", "pdf", "page_number", "nums", "annotations", "tags"),
    "weasyprint.pdf.fonts.get_pango_font_hb_face": ("pango_font",),
    "weasyprint.pdf.fonts.get_hb_object_data": ("hb_object", "ot_color", "glyph"),
    "weasyprint.HTML._ua_stylesheets": ("self", "forms"),
    "weasyprint.text.line_break.Layout.reactivate": ("self", "style"),
    "weasyprint.text.line_break.Layout.deactivate": ("self",),
    "weasyprint.text.line_break.Layout.get_first_line": ("self",),
    "pydyf.PDF.write": ("self", "output", "version", "identifier", "compress"),
    "weasyprint.pdf.fonts.Font._harfbuzz_subset": ("self", "to_unicode", "hinting"),
    "weasyprint.layout.percent.resolve_percentages": ("box", "containing_block"),
    "weasyprint.text.line_break.Layout.setup": ("self", "style"),
}
# used as they are: must exist
ATTRIBUTES = (
    "weasyprint.text.ffi.harfbuzz.hb_face_reference",
    "weasyprint.text.ffi.harfbuzz.hb_face_destroy",
    "weasyprint.text.ffi.pango.pango_font_describe_with_absolute_size",
    "weasyprint.text.ffi.pango.pango_font_description_get_family",
    "weasyprint.text.ffi.pango.pango_font_description_free",
    "weasyprint.text.fonts.FontConfiguration._folder",
    "weasyprint.css.counters.CounterStyle",
    "weasyprint.formatting_structure.boxes.TextBox",
    "weasyprint.html.UA_STYLESHEET",
    "pydyf.zlib",
)
# where a patch takes effect or an attribute is set: the source must still say so
SOURCES: dict[str, tuple[str, ...]] = {
    # the patched module globals are looked up at each call (recursion included)
    "weasyprint.pdf.tags": ("_build_box_tree(",),
    "weasyprint.pdf.fonts": ("get_pango_font_hb_face(", "get_hb_object_data("),
    "weasyprint.document.Page.__init__": ("self._page_box = ",),
    "weasyprint.layout.inline": ("box.pango_layout = ",),
    "pydyf": ("zlib.compressobj(",),
    # _serialise_once: the identifier is built from every object's bytes, after the objects were written
    "pydyf.PDF.write": ("obj.data for obj in self.objects",),
    "pydyf.Stream": ("def data(self):",),
    # _faster_percentages: where the layout takes resolve_percentages from
    **{f"weasyprint.layout.{name}": ("resolve_percentages",) for name in PERCENTAGE_USERS},
    # _subset_in_one_pass: the first pass's flags and dropped tables, and the second pass it saves
    "weasyprint.pdf.fonts.Font._harfbuzz_subset": (
        "HB_SUBSET_FLAGS_RETAIN_GIDS |",
        "HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED |",
        "HB_SUBSET_FLAGS_DESUBROUTINIZE)",
        "if self.missing:",
        "b'BASE', b'DSIG', b'EBDT', b'EBLC', b'EBSC', b'GPOS', b'GSUB', b'JSTF',",
        "b'LTSH', b'PCLT', b'SVG '))",
        "keep = tuple(range(max(to_unicode) + 1))",
        "flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NO_HINTING",
    ),
}
# rewritten in speedups.py: the source must be exactly the one rewritten (SHA-256 of inspect.getsource, first 16 hex)
DIGESTS: dict[str, str] = {
    "weasyprint.layout.percent.resolve_percentages": "71673078096fcf87",
    "weasyprint.layout.percent.resolve_one_percentage": "4cfaa9ad134e4f7b",
    "weasyprint.layout.percent.percentage": "ebe404ccd9da50bf",
    "weasyprint.text.line_break.Layout.setup": "fb227a55094f41d4",
    "weasyprint.text.line_break.Layout.deactivate": "bfec3ec8406e1c82",
    "weasyprint.text.line_break.Layout.reactivate": "0b89ee097104b713",
}
# the user-agent rules pdf.py drops (each once), and the ::marker rule it scopes to li (exactly one)
UA_UNUSED = ("::footnote-call {", "::footnote-marker {", "::note-call {", "::note-marker {", "::note-callback {")
UA_MARKER = "::marker {"


def _resolve(name: str) -> Any:
    """The object a dotted name names: the longest importable module prefix, then attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(name)


def _source(name: str, problems: list[str]) -> str | None:
    """The source of what a dotted name names (a patched function's original), or None with the problem noted."""
    try:
        return inspect.getsource(_resolve(name))
    except (ImportError, AttributeError, TypeError, OSError):
        problems.append(f"{name} is missing")
        return None


def check_internals() -> list[str]:
    """What no longer matches the WeasyPrint code pdf.py was written for (empty when all is as expected)."""
    problems = []
    for name, expected in FUNCTIONS.items():
        try:
            params = tuple(inspect.signature(_resolve(name)).parameters)
        except (ImportError, AttributeError, TypeError, ValueError):
            problems.append(f"{name} is missing")
            continue
        if params != expected:
            problems.append(f"{name} takes {params}, consentkit was written for {expected}")
    for name in ATTRIBUTES:
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            problems.append(f"{name} is missing")
    for name, needles in SOURCES.items():
        if (source := _source(name, problems)) is not None:
            problems += [f"{name} no longer contains {needle!r}" for needle in needles if needle not in source]
    for name, digest in DIGESTS.items():
        source = _source(name, problems)
        if source is not None and hashlib.sha256(source.encode()).hexdigest()[:16] != digest:
            problems.append(f"{name} is not the code consentkit rewrote")
    try:
        lines = str(_resolve("weasyprint.html.UA")).splitlines()
    except (ImportError, AttributeError):
        problems.append("weasyprint.html.UA is missing")
    else:
        for rule in (*UA_UNUSED, UA_MARKER):
            if sum(line.startswith(rule) for line in lines) != 1:
                problems.append(f"weasyprint.html.UA no longer has one line starting {rule!r}")
    return problems


@cache
def require_internals() -> None:
    """Raise a :class:`RenderError` naming the installed WeasyPrint when pdf.py's patches would not fit it."""
    problems = check_internals()
    if problems:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version("weasyprint")
        except PackageNotFoundError:
            installed = "unknown"
        raise RenderError(
            f"WeasyPrint {installed} is not the version consentkit's PDF code was written for ({WRITTEN_FOR}.x): "
            f"{'; '.join(problems)}. Install it: pip install 'weasyprint>={WRITTEN_FOR},<{int(WRITTEN_FOR) + 1}'"
        )
