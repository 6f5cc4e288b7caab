"""A pyHanko font-engine factory that reads an OpenType font from bytes (pyHanko's own wants a file path)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator


class _PresubsetAccumulator(GlyphAccumulator):
    """The font handed in already holds exactly the glyphs of the text: skip fontTools' subsetting (and the bounding
    box recalculation on compile), which would cost more than the signature itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tt.recalcBBoxes = False

    def _extract_subset(self, options: Any = None) -> None:
        return None


@dataclass(frozen=True)
class BytesFontFactory(FontEngineFactory):
    font_bytes: bytes
    font_size: int = 10

    def create_font_engine(self, writer: Any, obj_stream: Any = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs:
            obj_stream = writer.prepare_object_stream()
        return _PresubsetAccumulator(
            writer=writer, font_handle=io.BytesIO(self.font_bytes), font_size=self.font_size, obj_stream=obj_stream
        )
