"""The characters a font file maps, read straight from its ``cmap`` table.

fontTools decodes a whole ``cmap`` into glyph *names* (for a CFF CJK font that means building the glyph order of
65,000 glyphs): ~0.1 s per Noto CJK face, plus 70 ms to import it. The codepoints alone take a few milliseconds
to read. This module reads the table directory, the ``name`` table (to find a face in a collection) and the
subtable fontTools' ``getBestCmap`` would pick, for the two formats real fonts use (4 and 12), with fontTools'
rules (later segments win, glyph 0 maps nothing). Anything else — another format, a malformed table, a name it
cannot decode — returns None and the caller asks fontTools, so the answer is always fontTools' answer
(``tests/test_perf_equivalence.py`` compares both on every declared face).
"""

from __future__ import annotations

import mmap
import struct
import sys
from array import array
from pathlib import Path
from typing import Any

# fontTools' getBestCmap order (HarfBuzz's): full-repertoire subtables first, Windows before Unicode platform.
PREFERENCES = ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0))


def _u16(data: Any, at: int) -> int:
    return int(struct.unpack_from(">H", data, at)[0])


def _u32(data: Any, at: int) -> int:
    return int(struct.unpack_from(">I", data, at)[0])


def _tables(data: Any, offset: int) -> dict[str, tuple[int, int]]:
    """Table tag → (offset, length) of the font whose offset table starts at ``offset``."""
    count = _u16(data, offset + 4)
    found = {}
    for i in range(count):
        tag, _checksum, start, length = struct.unpack_from(">4sIII", data, offset + 12 + 16 * i)
        found[tag.decode("latin-1")] = (start, length)
    return found


def _family(data: Any, tables: dict[str, tuple[int, int]]) -> str | None:
    """Name id 1 as fontTools' ``getDebugName(1)`` gives it: the English name, else the first decodable one.
    None when a record uses an encoding this reader does not decode (the caller then asks fontTools)."""
    if "name" not in tables:
        return None
    base, _length = tables["name"]
    count, strings = _u16(data, base + 2), base + _u16(data, base + 4)
    some = None
    for i in range(count):
        platform, encoding, lang, name_id, length, offset = struct.unpack_from(">6H", data, base + 6 + 12 * i)
        if name_id != 1:
            continue
        raw = bytes(data[strings + offset : strings + offset + length])
        if platform in (0, 3):
            codec = "utf_16_be"
        elif platform == 1 and encoding == 0:
            codec = "mac_roman"
        else:
            return None
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            return None
        some = text
        if (platform, lang) in ((1, 0), (3, 0x409)):
            return text
    return some


def _format4(sub: bytes) -> set[int] | None:
    seg_count = _u16(sub, 6) // 2
    codes = array("H")
    codes.frombytes(sub[14 : len(sub) - (len(sub) - 14) % 2])
    if sys.byteorder != "big":
        codes.byteswap()
    end = codes[:seg_count]
    start = codes[seg_count + 1 : 2 * seg_count + 1]
    delta = codes[2 * seg_count + 1 : 3 * seg_count + 1]
    range_offset = codes[3 * seg_count + 1 : 4 * seg_count + 1]
    glyphs = codes[4 * seg_count + 1 :]
    if len(range_offset) < seg_count:
        return None
    mapped: set[int] = set()
    for i in range(seg_count - 1):  # the last segment (0xFFFF) maps nothing
        first, last, d, ro = start[i], end[i], delta[i], range_offset[i]
        if ro == 0:
            mapped.update(c for c in range(first, last + 1) if (c + d) & 0xFFFF)
            continue
        partial = ro // 2 - first + i - seg_count
        for c in range(first, last + 1):
            index = c + partial
            if not 0 <= index < len(glyphs):
                return None  # fontTools refuses this table
            if glyphs[index] and (glyphs[index] + d) & 0xFFFF:
                mapped.add(c)
    return mapped


def _format12(sub: bytes) -> set[int] | None:
    length, groups_count = _u32(sub, 4), _u32(sub, 12)
    if length != len(sub) or length != 16 + 12 * groups_count:
        return None
    groups = array("I")
    groups.frombytes(sub[16 : 16 + 12 * groups_count])
    if sys.byteorder != "big":
        groups.byteswap()
    mapped: set[int] = set()
    last_end = 0
    run_start, run_end = 0, -1  # consecutive groups (one per glyph run in CJK fonts) added as one range
    for first, last, glyph in zip(*[iter(groups)] * 3, strict=True):
        if last > 0x10FFFF or first > last or first < last_end:
            return None  # malformed: fontTools clamps and skips; let it
        last_end = last
        start = first + 1 if glyph == 0 else first
        if start == run_end + 1:
            run_end = last
            continue
        mapped.update(range(run_start, run_end + 1))
        run_start, run_end = start, last
    mapped.update(range(run_start, run_end + 1))
    return mapped


def _best_cmap(data: Any, tables: dict[str, tuple[int, int]]) -> set[int] | None:
    if "cmap" not in tables:
        return None
    base, length = tables["cmap"]
    table = data[base : base + length]
    count = _u16(table, 2)
    subtables = [struct.unpack_from(">HHI", table, 4 + 8 * i) for i in range(count)]
    for wanted in PREFERENCES:
        for platform, encoding, offset in subtables:
            if (platform, encoding) != wanted:
                continue
            kind = _u16(table, offset)
            if kind == 4:
                sub_length = _u16(table, offset + 2)
                return _format4(table[offset : offset + sub_length])
            if kind == 12:
                return _format12(table[offset : offset + _u32(table, offset + 4)])
            return None  # another format: fontTools knows it
    return None


def codepoints(path: Path, family: str | None = None) -> frozenset[int] | None:
    """The codepoints the font maps to a glyph (for a collection, of the face named ``family``), or None when
    this reader cannot tell exactly (then use fontTools)."""
    try:
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _codepoints(data, family)
    except (OSError, struct.error, IndexError, ValueError):
        return None


def _codepoints(data: Any, family: str | None) -> frozenset[int] | None:
    """The ``mmap``ed file's codepoints: only the directory, ``name`` and ``cmap`` are read from disk."""
    if data[:4] == b"ttcf":
        offsets = [_u32(data, 12 + 4 * i) for i in range(_u32(data, 8))]
        for offset in offsets:
            tables = _tables(data, offset)
            name = _family(data, tables)
            if name is None:
                return None
            if name == family:
                found = _best_cmap(data, tables)
                return frozenset(found) if found is not None else None
        return None  # no such face: fontTools' path raises the error
    found = _best_cmap(data, _tables(data, 0))
    return frozenset(found) if found is not None else None
