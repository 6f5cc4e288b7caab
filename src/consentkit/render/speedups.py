"""Shortcuts in how WeasyPrint 70 and pydyf write a PDF and lay out boxes: each gives the same PDF, byte for byte or
(compression) the same content, in less time; each was found with a profiler and measured (docs/rendering.md,
"Performance"), and tests/test_render_speed.py compares each with the library's own behaviour. They patch private
code, checked at start-up by ``_weasyprint_internals``; ``install`` applies them once per process.
"""

from __future__ import annotations

import importlib
import zlib
from math import inf
from typing import Any

_INSTALLED = False


def install() -> None:
    """Apply every shortcut, once per process (the engine calls it)."""
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    _reuse_font_files()
    _subset_in_one_pass()
    _faster_compression()
    _serialise_once()
    _faster_percentages()
    _shared_pango_contexts()
    _kept_pango_layouts()


_FONT_FILES: dict[int, tuple[Any, bytes]] = {}


def _reuse_font_files() -> None:
    """WeasyPrint copies each font's whole file out of HarfBuzz (10 MB for Kurinto Sans SC) for every PDF it writes,
    before subsetting it from the HarfBuzz face anyway: 20-40 ms a PDF. The bytes of a font face never change, so
    they are kept per face (the face itself held, so its address is never reused). Only the faces of Pango's fonts
    are kept, not the subset fonts made from them; the PDFs are byte-for-byte the same."""
    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import ffi, harfbuzz

    face_of, data_of = fonts.get_pango_font_hb_face, fonts.get_hb_object_data

    def font_face(pango_font: Any) -> Any:
        face = face_of(pango_font)
        key = int(ffi.cast("uintptr_t", face))
        if key not in _FONT_FILES:
            held = ffi.gc(harfbuzz.hb_face_reference(face), harfbuzz.hb_face_destroy)
            _FONT_FILES[key] = (held, data_of(face))
        return face

    def face_data(hb_object: Any, ot_color: Any = None, glyph: Any = None) -> Any:
        if ot_color is None:
            kept = _FONT_FILES.get(int(ffi.cast("uintptr_t", hb_object)))
            if kept is not None:
                return kept[1]
        return data_of(hb_object, ot_color, glyph)

    font_face.__wrapped__ = face_of  # type: ignore[attr-defined]  # the check sees WeasyPrint's parameters
    face_data.__wrapped__ = data_of  # type: ignore[attr-defined]
    fonts.get_pango_font_hb_face = font_face
    fonts.get_hb_object_data = face_data


# the tables WeasyPrint 70 drops from embedded fonts (weasyprint/pdf/fonts.py, Font._harfbuzz_subset)
_DROPPED_TABLES = (b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH", b"PCLT", b"SVG ")


def _subset_in_one_pass() -> None:
    """WeasyPrint 70 subsets each embedded font twice: first keeping the used glyphs at their ids (page content
    addresses glyphs by id), then again keeping every id up to the last used one, this time without hinting
    instructions. When the first pass already ends at the last used glyph, the second changes only the hinting; so
    asking for no hinting in the first pass gives the same font file, byte for byte, without the second pass, which
    costs more than the first (HarfBuzz walks every id up to the last: measured 3.7 ms against 2.5 ms for Kurinto
    Sans SC, about 15 ms a packet). The one pass is kept only when its glyph count is the last used id + 1;
    otherwise (a composite glyph's parts beyond it), and whenever hinting is wanted, WeasyPrint's two passes run.
    tests/test_render_speed.py compares the fonts and whole PDFs with WeasyPrint's own."""
    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import ffi, harfbuzz, harfbuzz_subset

    two_passes = fonts.Font._harfbuzz_subset

    def one_pass(self: Any, to_unicode: Any, hinting: Any) -> None:
        if hinting:
            return one_pass.__wrapped__(self, to_unicode, hinting)  # type: ignore[attr-defined,no-any-return]
        subset = harfbuzz_subset
        hb_input = ffi.gc(subset.hb_subset_input_create_or_fail(), subset.hb_subset_input_destroy)
        glyphs = sorted(to_unicode)
        harfbuzz.hb_set_add_sorted_array(
            subset.hb_subset_input_glyph_set(hb_input), ffi.new(f"hb_codepoint_t[{len(glyphs)}]", glyphs), len(glyphs)
        )
        flags = (
            subset.HB_SUBSET_FLAGS_RETAIN_GIDS
            | subset.HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED
            | subset.HB_SUBSET_FLAGS_DESUBROUTINIZE
            | subset.HB_SUBSET_FLAGS_NO_HINTING
        )
        if self.missing:
            flags |= subset.HB_SUBSET_FLAGS_NOTDEF_OUTLINE
        subset.hb_subset_input_set_flags(hb_input, flags)
        tags = tuple(harfbuzz.hb_tag_from_string(name, -1) for name in _DROPPED_TABLES)
        harfbuzz.hb_set_add_sorted_array(
            subset.hb_subset_input_set(hb_input, subset.HB_SUBSET_SETS_DROP_TABLE_TAG),
            ffi.new(f"hb_codepoint_t[{len(tags)}]", tags),
            len(tags),
        )
        face = subset.hb_subset_or_fail(self.hb_face, hb_input)
        if face != ffi.NULL:
            face = ffi.gc(face, harfbuzz.hb_face_destroy)
            if harfbuzz.hb_face_get_glyph_count(face) == glyphs[-1] + 1:
                data = fonts.get_hb_object_data(face)
                if data:
                    self.file_content = data
                    return None
        return one_pass.__wrapped__(self, to_unicode, hinting)  # type: ignore[attr-defined,no-any-return]

    one_pass.__wrapped__ = two_passes  # type: ignore[attr-defined]  # the check sees WeasyPrint's parameters
    fonts.Font._harfbuzz_subset = one_pass


class _Zlib:
    """pydyf (WeasyPrint's PDF writer) compresses every stream at zlib level 9: for a packet's 3 MB of page
    content and font subsets that is twice the time of level 6 (110 vs 55 ms) for 1 % smaller output. Same
    streams, same content; only the deflate effort differs."""

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)

    @staticmethod
    def compressobj(level: int = -1, *args: Any, **kwargs: Any) -> Any:
        return zlib.compressobj(min(level, 6), *args, **kwargs)


def _faster_compression() -> None:
    import pydyf

    pydyf.zlib = _Zlib()


# while pydyf writes one PDF: id → (the numbered object, its bytes); see _serialise_once
_SERIALISED: dict[int, tuple[Any, bytes]] | None = None


def _serialise_once() -> None:
    """pydyf computes a PDF's file identifier (PDF/A requires one: an MD5 of every object's bytes) by serialising
    every object a second time, which compresses every stream again (fonts, pages, the object stream): measured,
    ~45 ms of CPU of a packet's ~700 ms render. While it writes a PDF, the bytes of each numbered object (those in the
    file) are kept the first time and given back the second; nothing changes an object in between, and the object is
    held so that its address is not reused. Unnumbered (temporary) objects are serialised as before. The PDFs are
    byte-for-byte the same (tests/test_render_pdf.py compares them)."""
    import pydyf

    def kept(fget: Any) -> property:
        def data(self: Any) -> bytes:
            cache = _SERIALISED
            if cache is None or self.number is None:
                return fget(self)  # type: ignore[no-any-return]
            entry = cache.get(id(self))
            if entry is None or entry[0] is not self:
                entry = cache[id(self)] = (self, fget(self))
            return entry[1]

        data.__wrapped__ = fget  # type: ignore[attr-defined]
        return property(data)

    for cls in (pydyf.Stream, pydyf.Dictionary, pydyf.Array):
        cls.data = kept(cls.__dict__["data"].fget)
    write = pydyf.PDF.write

    def write_once(self: Any, *args: Any, **kwargs: Any) -> Any:
        global _SERIALISED
        _SERIALISED = {}
        try:
            return write(self, *args, **kwargs)
        finally:
            _SERIALISED = None

    write_once.__wrapped__ = write  # type: ignore[attr-defined]  # the check sees pydyf's parameters
    pydyf.PDF.write = write_once


# the layout modules that call resolve_percentages by the name they imported
PERCENTAGE_USERS = ("absolute", "block", "column", "float", "grid", "inline", "page", "table")


def _faster_percentages() -> None:
    """WeasyPrint sets a box's used margins, paddings and sizes (``resolve_percentages``) through two helper calls
    per property, 14 properties a box, for every box of every layout pass: 2,600 calls and 36,000 helper calls a
    packet. The same function with the common cases inline (a length in px, a percentage, ``auto``; anything else,
    such as ``calc()``, goes to WeasyPrint's own ``percentage``) saves about 10 ms a render (measured in alternating
    renders). Its source was checked at start-up to be the one rewritten here (``_weasyprint_internals.DIGESTS``);
    tests/test_render_speed.py compares the PDFs."""
    from weasyprint.css.functions import check_math
    from weasyprint.formatting_structure import boxes
    from weasyprint.layout import percent

    slow = percent.percentage
    box_class, page_class = boxes.Box, boxes.PageBox
    adjust_box_sizing = percent.adjust_box_sizing

    def used(box: Any, style: Any, name: str, refer_to: Any) -> Any:
        value = style[name]
        if value is not None and value != "auto":
            unit = getattr(value, "unit", None)
            if unit == "%":
                value = refer_to * value.value / 100
            elif unit is None:
                value = slow(value, style, refer_to)
            else:  # px
                value = value.value
        setattr(box, name, value)
        return value

    def resolve_percentages(box: Any, containing_block: Any) -> None:
        if isinstance(containing_block, box_class):
            cb_width, cb_height = containing_block.width, containing_block.height
        else:
            cb_width, cb_height = containing_block
        maybe_height = cb_height if isinstance(box, page_class) else cb_width
        style = box.style
        used(box, style, "margin_left", cb_width)
        used(box, style, "margin_right", cb_width)
        used(box, style, "margin_top", maybe_height)
        used(box, style, "margin_bottom", maybe_height)
        used(box, style, "padding_left", cb_width)
        used(box, style, "padding_right", cb_width)
        used(box, style, "padding_top", maybe_height)
        used(box, style, "padding_bottom", maybe_height)
        used(box, style, "width", cb_width)
        if used(box, style, "min_width", cb_width) == "auto":
            box.min_width = 0
        used(box, style, "max_width", cb_width)
        if cb_height == "auto":
            height = style["height"]
            if height == "auto" or check_math(height) or height.unit == "%":
                box.height = "auto"
            else:
                assert height.unit.lower() == "px"
                box.height = height.value
            if used(box, style, "min_height", 0) == "auto":
                box.min_height = 0
            used(box, style, "max_height", inf)
        else:
            used(box, style, "height", cb_height)
            if used(box, style, "min_height", cb_height) == "auto":
                box.min_height = 0
            used(box, style, "max_height", cb_height)
        collapse = style["border_collapse"] == "collapse"
        for prop in ("border_top_width", "border_right_width", "border_bottom_width", "border_left_width"):
            if not (collapse and hasattr(box, prop)):
                setattr(box, prop, style[prop])
        adjust_box_sizing(box, "width")
        adjust_box_sizing(box, "height")

    original = percent.resolve_percentages
    resolve_percentages.__wrapped__ = original  # type: ignore[attr-defined]  # the check sees WeasyPrint's parameters
    percent.resolve_percentages = resolve_percentages
    for name in PERCENTAGE_USERS:
        module: Any = importlib.import_module(f"weasyprint.layout.{name}")
        if module.resolve_percentages is original:
            module.resolve_percentages = resolve_percentages


def _shared_pango_contexts() -> None:
    """WeasyPrint sets up a Pango layout for every piece of text twice (laying out, then again when drawing, after
    freeing it in between), and each set-up creates a new Pango context and a new font description: 1,700 set-ups a
    packet, 7 % of a render (sampled with py-spy). A Pango context may serve any number of layouts, and the layouts
    copy the font description they are given, so both are now made once per direction and language, and per font, for
    each WeasyPrint font configuration (the engine's), and each layout is still new. What the layouts shape is the
    same: tests/test_render_speed.py compares the PDFs. A style with ``font-language-override``, or a value that cannot
    be a key, takes WeasyPrint's own set-up. Its source was checked at start-up to be the one rewritten here."""
    from weasyprint.text import line_break
    from weasyprint.text.constants import PANGO_DIRECTION
    from weasyprint.text.ffi import FROM_UNITS, ffi, gobject, pango
    from weasyprint.text.fonts import font_features, get_font_description

    original = line_break.Layout.setup

    def setup(self: Any, style: Any) -> None:
        font_config = style.font_config
        try:
            cache = font_config.consentkit_pango
        except AttributeError:
            cache = font_config.consentkit_pango = {}
        lang = style["lang"]
        if style["font_language_override"] != "normal" or (lang and not lang.encode().replace(b"\x00", b"")):
            return original(self, style)  # type: ignore[no-any-return]
        direction = style["direction"]
        try:
            font_key = (
                tuple(style["font_family"]),
                style["font_style"],
                style["font_stretch"],
                style["font_weight"],
                style["font_size"],
                style["font_variant_caps"],
                style["font_variation_settings"],
            )
            hash(font_key)
        except TypeError:
            return original(self, style)  # type: ignore[no-any-return]
        self.style = style
        self.first_line_direction = 0

        context_key = (direction, lang or None)
        made = cache.get(context_key)
        if made is None:
            pango_context = ffi.gc(pango.pango_font_map_create_context(font_config.font_map), gobject.g_object_unref)
            pango.pango_context_set_round_glyph_positions(pango_context, False)
            pango.pango_context_set_base_dir(pango_context, PANGO_DIRECTION[direction])
            if lang:
                language = pango.pango_language_from_string(ffi.new("char[]", lang.encode().replace(b"\x00", b"")))
                pango.pango_context_set_language(pango_context, language)
            else:
                language = pango.pango_language_get_default()
            made = cache[context_key] = (pango_context, language)
        pango_context, self.language = made

        font_description = cache.get(font_key)
        if font_description is None:
            font_description = cache[font_key] = get_font_description(style)
        self.layout = ffi.gc(pango.pango_layout_new(pango_context), gobject.g_object_unref)
        pango.pango_layout_set_auto_dir(self.layout, False)
        pango.pango_layout_set_font_description(self.layout, font_description)

        if style["text_decoration_line"] != "none":
            metrics_key = ("metrics", context_key, font_key)
            metrics = cache.get(metrics_key)
            if metrics is None:
                pango_metrics = ffi.gc(
                    pango.pango_context_get_metrics(pango_context, font_description, self.language),
                    pango.pango_font_metrics_unref,
                )
                metrics = cache[metrics_key] = tuple(
                    FROM_UNITS * getter(pango_metrics)
                    for getter in (
                        pango.pango_font_metrics_get_ascent,
                        pango.pango_font_metrics_get_underline_position,
                        pango.pango_font_metrics_get_strikethrough_position,
                        pango.pango_font_metrics_get_underline_thickness,
                        pango.pango_font_metrics_get_strikethrough_thickness,
                    )
                )
            (
                self.ascent,
                self.underline_position,
                self.strikethrough_position,
                self.underline_thickness,
                self.strikethrough_thickness,
            ) = metrics
        else:
            self.ascent = None
            self.underline_position = None
            self.strikethrough_position = None

        features = font_features(
            style["font_kerning"],
            style["font_variant_ligatures"],
            style["font_variant_position"],
            style["font_variant_caps"],
            style["font_variant_numeric"],
            style["font_variant_alternates"],
            style["font_variant_east_asian"],
            style["font_feature_settings"],
        )
        if features:
            encoded = ",".join(f"{key} {value}" for key, value in features.items()).encode()
            attr = font_config.font_features.setdefault(encoded, pango.pango_attr_font_features_new(encoded))
            attr_list = pango.pango_attr_list_new()  # per layout: set_text may add to it
            pango.pango_attr_list_insert(attr_list, attr)
            pango.pango_layout_set_attributes(self.layout, attr_list)
        return None

    setup.__wrapped__ = original  # type: ignore[attr-defined]  # the check sees WeasyPrint's parameters
    line_break.Layout.setup = setup


def _kept_pango_layouts() -> None:
    """WeasyPrint frees a text's Pango layout once the text is laid out and again once it is drawn, and sets it up
    again for drawing: a new layout shaped anew, the same text, no width, the same style. A layout whose text has no
    justification, word or letter spacing is now kept instead, with its width removed (Pango then lays it out exactly
    as the set-up for drawing would: one line, the line already cut), and drawing uses it as it is; the care guide,
    drawn into both PDFs, is shaped once. Anything else is freed and set up again as before. The layouts live as long
    as the laid-out documents, a packet. tests/test_render_speed.py compares the PDFs."""
    from weasyprint.text import line_break
    from weasyprint.text.ffi import pango

    layout_class = line_break.Layout
    free, renew = layout_class.deactivate, layout_class.reactivate

    def deactivate(self: Any) -> None:
        style = self.style
        if not self.justification_spacing and style["word_spacing"] == 0 and style["letter_spacing"] in ("normal", 0):
            pango.pango_layout_set_width(self.layout, -1)
            self.consentkit_kept = style
            return
        self.consentkit_kept = None
        free(self)

    def reactivate(self: Any, style: Any) -> None:
        if getattr(self, "consentkit_kept", None) is style:
            return
        self.consentkit_kept = None
        renew(self, style)

    deactivate.__wrapped__ = free  # type: ignore[attr-defined]  # the check sees WeasyPrint's parameters
    reactivate.__wrapped__ = renew  # type: ignore[attr-defined]
    layout_class.deactivate = deactivate
    layout_class.reactivate = reactivate
