"""Helpers for the rendering and packet tests: a workspace, case files built from the example, PDF text via
poppler, DOCX text via python-docx."""

from __future__ import annotations

import copy
import io
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_CASE = REPO / "examples" / "case-botulinum-toxin.yaml"


def example_case() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(EXAMPLE_CASE.read_text(encoding="utf-8")))


def write_case(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def pdf_text(path: Path, *, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext", "-layout"]
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    return subprocess.run([*args, str(path), "-"], check=True, capture_output=True, text=True).stdout


def pdf_pages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def docx_text(data: bytes | Path) -> str:
    import docx

    raw = data.read_bytes() if isinstance(data, Path) else data
    document = docx.Document(io.BytesIO(raw))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs]
    return "\n".join(parts)


def squash(text: str) -> str:
    """pdftotext breaks lines and pads columns; compare without whitespace."""
    return "".join(text.split())
