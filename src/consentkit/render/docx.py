"""placeholder"""

from __future__ import annotations

from typing import Any


def render_docx(inp: Any, doc: Any, roots: Any) -> bytes:
    return b""
