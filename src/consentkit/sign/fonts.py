"""The font for signature appearances: Noto Sans CJK (Debian ``fonts-noto-cjk``), SC or TC face by locale.

pyHanko embeds OpenType fonts through fontTools' subsetter, which spends 0.3-0.8 s per signature decoding the
layout tables of a 16 MB CJK font. Instead, for each appearance we build a small CFF font holding only the glyphs
of its text (glyph outlines cached per process), and hand that to pyHanko: a few milliseconds. The text stays real
text (ToUnicode), so ``pdftotext`` reads it back. No OpenType shaping is needed for Chinese or Latin labels.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from consentkit.errors import ConfigError

FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/opentype/noto-cjk"))
FONT_FILE = "NotoSansCJK-Regular.ttc"
FACES = {"sc": "Noto Sans CJK SC", "tc": "Noto Sans CJK TC"}
UNITS = 1000


def face_for(locales: list[str]) -> str:
    """TC glyph forms when the first Chinese locale is Traditional, else SC."""
    for locale in locales:
        if locale.startswith("zh"):
            return "tc" if locale in ("zh-TW", "zh-HK", "zh-Hant") else "sc"
    return "sc"


@cache
def _font_path() -> Path:
    for folder in FONT_DIRS:
        if (folder / FONT_FILE).is_file():
            return folder / FONT_FILE
    raise ConfigError(
        f"the CJK font {FONT_FILE} is missing; install the Debian package fonts-noto-cjk (see bootstrap.sh)"
    )


@dataclass
class _Face:
    font: Any  # fontTools TTFont, lazily loaded
    cmap: dict[int, str]
    glyphs: Any
    hmtx: Any
    ascent: int
    descent: int
    units_per_em: int
    programs: dict[str, tuple[list[object], int, int]]  # char → (charstring program, advance, lsb)
    lock: threading.Lock


@cache
def _face(which: str) -> _Face:
    from fontTools.ttLib import TTCollection

    wanted = FACES[which]
    collection = TTCollection(str(_font_path()), lazy=True)
    for font in collection.fonts:
        if font["name"].getDebugName(4) == wanted:
            hhea = font["hhea"]
            return _Face(
                font=font,
                cmap=font.getBestCmap(),
                glyphs=font.getGlyphSet(),
                hmtx=font["hmtx"],
                ascent=hhea.ascent,
                descent=hhea.descent,
                units_per_em=font["head"].unitsPerEm,
                programs={},
                lock=threading.Lock(),
            )
    raise ConfigError(f"{_font_path()} has no face '{wanted}'; reinstall fonts-noto-cjk")


def advance(which: str, char: str) -> float:
    """Advance width of ``char`` in em units (0..1); unknown characters measure like a CJK ideograph."""
    face = _face(which)
    name = face.cmap.get(ord(char))
    if name is None:
        return 1.0
    return float(face.hmtx[name][0]) / face.units_per_em


def covers(which: str, char: str) -> bool:
    return ord(char) in _face(which).cmap or char in "\n"


def _program(face: _Face, char: str) -> tuple[list[object], int, int]:
    from fontTools.pens.t2CharStringPen import T2CharStringPen

    cached = face.programs.get(char)
    if cached is not None:
        return cached
    name = face.cmap.get(ord(char), ".notdef")
    adv, lsb = face.hmtx[name]
    pen = T2CharStringPen(adv, face.glyphs)
    face.glyphs[name].draw(pen)
    result = (pen.getCharString().program, adv, lsb)
    face.programs[char] = result
    return result


ALWAYS = frozenset(chr(c) for c in range(0x20, 0x7F))  # ASCII: times and labels vary only within it
_FONTS: dict[tuple[str, frozenset[str]], bytes] = {}


def mini_font(which: str, text: str) -> bytes:
    """An OpenType-CFF font with the glyphs of ``text`` and printable ASCII, scaled like the source face; cached
    by character set (a physician's boxes differ only in the time, so their fonts are the same)."""
    chars = frozenset(c for c in text if c not in "\n\r") | ALWAYS
    key = (which, chars)
    font = _FONTS.get(key)
    if font is None:
        if len(_FONTS) > 256:
            _FONTS.clear()
        font = _FONTS[key] = _build_font(which, sorted(chars))
    return font


def _build_font(which: str, chars: list[str]) -> bytes:
    from fontTools.fontBuilder import FontBuilder
    from fontTools.misc.psCharStrings import T2CharString

    face = _face(which)
    names = [".notdef"] + [f"u{ord(c):04X}" for c in chars]
    with face.lock:
        notdef = _program(face, "\x00")
        programs = [_program(face, c) for c in chars]
    charstrings = {".notdef": T2CharString(program=list(notdef[0]))}
    metrics = {".notdef": (notdef[1], notdef[2])}
    for name, (program, adv, lsb) in zip(names[1:], programs, strict=True):
        charstrings[name] = T2CharString(program=list(program))
        metrics[name] = (adv, lsb)
    builder = FontBuilder(face.units_per_em, isTTF=False)
    builder.font.recalcBBoxes = False  # set from the source face below; recalculating runs every charstring
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(c): n for c, n in zip(chars, names[1:], strict=True)})
    ps_name = f"ConsentkitCJK{which.upper()}"
    builder.setupCFF(ps_name, {"FullName": ps_name}, charstrings, {})
    builder.setupHorizontalMetrics(metrics)
    builder.setupHorizontalHeader(ascent=face.ascent, descent=face.descent)
    builder.setupNameTable({"familyName": ps_name, "styleName": "Regular", "psName": ps_name})
    builder.setupOS2(
        sTypoAscender=face.ascent,
        sTypoDescender=face.descent,
        usWinAscent=face.ascent,
        usWinDescent=-face.descent,
    )
    builder.setupPost()
    head = face.font["head"]
    for attr in ("xMin", "yMin", "xMax", "yMax"):
        setattr(builder.font["head"], attr, getattr(head, attr))
    builder.font["CFF "].cff.topDictIndex[0].FontBBox = [head.xMin, head.yMin, head.xMax, head.yMax]
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()
