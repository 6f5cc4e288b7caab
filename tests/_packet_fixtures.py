"""Helpers for the rendering and packet tests: a workspace, case files built from the example, PDF text via
poppler, DOCX text via python-docx."""

from __future__ import annotations

import copy
import html
import io
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from _dates import future_case_text

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_CASE = REPO / "examples" / "case-botulinum-toxin.yaml"


def example_case(*, as_written: bool = False) -> dict[str, Any]:
    """The example case; its planned time moved weeks ahead (``_dates``) unless ``as_written``, for tests that
    check its exact dates and build with ``now=EXAMPLE_NOW``."""
    text = EXAMPLE_CASE.read_text(encoding="utf-8")
    return copy.deepcopy(yaml.safe_load(text if as_written else future_case_text(text)))


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


def sample_case(library: Any, procedure: str, locales: list[str], zone: Any, **changes: Any) -> dict[str, Any]:
    """The made-up adult of :mod:`consentkit.render.sample` for ``procedure``, with a patient name per locale."""
    from consentkit.render.sample import sample_case_data

    data = sample_case_data(library, library.procedure(procedure).model, locales, zone)
    data["patient"]["name"] = "Mei Li" if locales[0] == "en" else "李小梅"
    data.update(changes)
    return data


STAMP_WORDS = {"DRAFT", "—", "NOT", "FOR", "SIGNATURE", "SPECIMEN", "·"}
STAMP_WORDS |= {"草稿——不得签署", "草稿——不得簽署", "样本", "樣本"}
_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')
_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">')


def word_boxes(path: Path) -> list[tuple[float, float, list[tuple[float, float, float, float, str]]]]:
    """Per page: width, height and every word with its box (pdftotext -bbox, points from the top-left)."""
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True).stdout
    pages = []
    for chunk in out.split("<page ")[1:]:
        size = _PAGE.match("<page " + chunk)
        assert size is not None
        words = [(float(a), float(b), float(c), float(d), html.unescape(t)) for a, b, c, d, t in _WORD.findall(chunk)]
        pages.append((float(size.group(1)), float(size.group(2)), words))
    return pages


def overprints(path: Path) -> list[str]:
    """Words that run off the page or onto another word (the diagonal DRAFT/SPECIMEN stamp left out: its rotated
    letters come out as tall single-letter words)."""
    found = []
    for number, (width, height, all_words) in enumerate(word_boxes(path), start=1):
        words = sorted(w for w in all_words if w[4] not in STAMP_WORDS and w[3] - w[1] < 30)
        for w in words:
            if w[0] < 0 or w[1] < 0 or w[2] > width or w[3] > height:
                found.append(f"page {number}: {w[4]!r} runs off the page")
        for i, a in enumerate(words):
            for b in words[i + 1 :]:
                if b[0] >= a[2]:
                    break
                dx = min(a[2], b[2]) - max(a[0], b[0])
                dy = min(a[3], b[3]) - max(a[1], b[1])
                if dx > 1 and dy > 0.3 * min(a[3] - a[1], b[3] - b[1]):
                    found.append(f"page {number}: {a[4]!r} overprints {b[4]!r}")
    return found
