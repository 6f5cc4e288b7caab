"""``consentkit review diff`` output: text for the terminal (side by side), HTML for reading, JSON for tools."""

from __future__ import annotations

import html
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from consentkit.review.diff import Change, DocumentDiff, Hunk, word_marks
from consentkit.review.history import SpecVersion
from consentkit.spec.canonical import content_hash


@dataclass(frozen=True)
class DiffResult:
    old: SpecVersion
    new: SpecVersion
    changes: list[Change]
    documents: list[DocumentDiff]

    def side(self, version: SpecVersion) -> dict[str, Any]:
        return {
            "procedure": version.model.id,
            "version": version.model.version,
            "origin": version.origin,
            "spec_hash": content_hash(version.model),
        }


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _wrap(text: str, width: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``width`` columns (Chinese characters count two), at a space when the
    piece has one in its second half."""
    lines: list[str] = []
    current, used = "", 0
    for ch in text:
        w = _width(ch)
        if used + w > width and current:
            cut = current.rfind(" ")
            if cut > len(current) // 2:
                lines.append(current[: cut + 1])
                current = current[cut + 1 :]
            else:
                lines.append(current)
                current = ""
            used = _width(current)
        current += ch
        used += w
    return [*lines, current] if current or not lines else lines


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _marked(pieces: list[tuple[str, bool]], before: str, after: str) -> str:
    return "".join(f"{before}{p}{after}" if changed else p for p, changed in pieces)


def _pairs(hunk: Hunk) -> list[tuple[int | None, str, int | None, str]]:
    """Rows of a side-by-side view: (old number, old text, new number, new text) with changed words marked."""
    rows = []
    for k in range(max(len(hunk.old), len(hunk.new))):
        a = hunk.old[k] if k < len(hunk.old) else None
        b = hunk.new[k] if k < len(hunk.new) else None
        if a is not None and b is not None and not hunk.context:
            left, right = word_marks(a, b)
            a, b = _marked(left, "[-", "-]"), _marked(right, "{+", "+}")
        elif not hunk.context:
            a = f"[-{a}-]" if a is not None else None
            b = f"{{+{b}+}}" if b is not None else None
        rows.append(
            (
                hunk.old_start + k if a is not None else None,
                a or "",
                hunk.new_start + k if b is not None else None,
                b or "",
            )
        )
    return rows


def summary_lines(changes: Sequence[Change]) -> list[str]:
    out = []
    for change in changes:
        out.append(f"  {change.describe()}")
        if change.kind == "re-worded" and isinstance(change.old, dict) and isinstance(change.new, dict):
            for locale in change.locales:
                out.append(f"      {locale}: {change.old.get(locale) or '(none)'}")
                out.append(f"      {' ' * len(locale)}→ {change.new.get(locale) or '(none)'}")
    return out


def as_text(result: DiffResult, width: int = 160) -> str:
    old, new = result.old, result.new
    lines = [
        f"{old.label} → {new.label}",
        f"spec {content_hash(old.model)[:19]}… → {content_hash(new.model)[:19]}…",
        "",
    ]
    if not result.changes:
        lines.append("No change in the spec.")
    else:
        lines.append(f"What changed ({len(result.changes)}):")
        lines += summary_lines(result.changes)
    changed_docs = [d for d in result.documents if d.changed]
    if result.documents:
        lines += ["", "Rendered documents (SPECIMEN text, side by side; [-removed-] {+added+}):"]
        if not changed_docs:
            lines.append("  no rendered line differs")
    column = max(30, (width - 3) // 2)
    text_width = column - 6
    for doc in changed_docs:
        lines += ["", f"== {doc.doc} · {doc.locale} =="]
        previous_end: int | None = None
        for hunk in doc.hunks:
            if previous_end is not None and hunk.old_start > previous_end:
                lines.append(_pad("  ⋮", column) + " │   ⋮")
            for n_old, a, n_new, b in _pairs(hunk):
                left = _wrap(a, text_width) if a else [""]
                right = _wrap(b, text_width) if b else [""]
                mark = " " if hunk.context else ("│" if n_old and n_new else "<" if n_old else ">")
                for k in range(max(len(left), len(right))):
                    la = left[k] if k < len(left) else ""
                    rb = right[k] if k < len(right) else ""
                    num_a = f"{n_old:>4} " if (k == 0 and n_old) else "     "
                    num_b = f"{n_new:>4} " if (k == 0 and n_new) else "     "
                    lines.append(f"{_pad(num_a + la, column)} {mark} {num_b}{rb}".rstrip())
            previous_end = hunk.old_start + len(hunk.old)
    return "\n".join(lines) + "\n"


def as_json(result: DiffResult) -> str:
    data = {
        "old": result.side(result.old),
        "new": result.side(result.new),
        "changes": [c.as_dict() for c in result.changes],
        "documents": [
            {
                "doc": d.doc,
                "locale": d.locale,
                "changed": d.changed,
                "hunks": [
                    {"old_start": h.old_start, "new_start": h.new_start, "old": list(h.old), "new": list(h.new)}
                    for h in d.hunks
                    if not h.context
                ],
            }
            for d in result.documents
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


_STYLE = """
body { font-family: "Source Sans 3", "Noto Sans CJK SC", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ccc; }
.meta { color: #555; font-size: .9em; }
ul.changes li { margin: .3em 0; } .where { font-family: monospace; }
.words { margin: .2em 0 .2em 1.5em; font-size: .9em; }
table.sbs { border-collapse: collapse; width: 100%; table-layout: fixed; font-size: .9em; }
table.sbs td { vertical-align: top; padding: .15em .4em; border-bottom: 1px solid #eee; }
table.sbs td.n { width: 3em; color: #888; text-align: right; font-family: monospace; }
tr.ctx td { color: #666; } tr.gap td { text-align: center; color: #aaa; }
del { background: #fdd; text-decoration: line-through; } ins { background: #cfc; text-decoration: none; }
td.old.only { background: #fee; } td.new.only { background: #efe; }
"""


def _html_pieces(pieces: list[tuple[str, bool]], tag: str) -> str:
    return "".join(f"<{tag}>{html.escape(p)}</{tag}>" if changed else html.escape(p) for p, changed in pieces)


def as_html(result: DiffResult) -> str:
    old, new = result.old, result.new
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(old.model.id)}: {e(old.model.version)} → {e(new.model.version)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{e(old.label)} → {e(new.label)}</h1>",
        f'<p class="meta">spec {e(content_hash(old.model))}<br>→ {e(content_hash(new.model))}</p>',
        f"<h2>What changed ({len(result.changes)})</h2>",
    ]
    if not result.changes:
        parts.append("<p>No change in the spec.</p>")
    parts.append('<ul class="changes">')
    for c in result.changes:
        parts.append(f'<li><span class="where">{e(c.where)}</span>: {e(c.describe().split(": ", 1)[1])}')
        if c.kind == "re-worded" and isinstance(c.old, dict) and isinstance(c.new, dict):
            for locale in c.locales:
                left, right = word_marks(c.old.get(locale) or "", c.new.get(locale) or "")
                parts.append(
                    f'<div class="words" lang="{e(locale)}">{e(locale)}: {_html_pieces(left, "del")}'
                    f"<br>→ {_html_pieces(right, 'ins')}</div>"
                )
        parts.append("</li>")
    parts.append("</ul>")
    for doc in result.documents:
        if not doc.changed:
            continue
        parts.append(f"<h2>{e(doc.doc)} · {e(doc.locale)}</h2>")
        parts.append(
            f'<table class="sbs" lang="{e(doc.locale)}"><colgroup><col style="width:3em"><col>'
            '<col style="width:3em"><col></colgroup>'
        )
        previous_end: int | None = None
        for hunk in doc.hunks:
            if previous_end is not None and hunk.old_start > previous_end:
                parts.append('<tr class="gap"><td colspan="4">⋮</td></tr>')
            previous_end = hunk.old_start + len(hunk.old)
            for k in range(max(len(hunk.old), len(hunk.new))):
                a = hunk.old[k] if k < len(hunk.old) else None
                b = hunk.new[k] if k < len(hunk.new) else None
                if hunk.context:
                    cells = (e(a or ""), e(b or ""))
                elif a is not None and b is not None:
                    left, right = word_marks(a, b)
                    cells = (_html_pieces(left, "del"), _html_pieces(right, "ins"))
                else:
                    cells = (f"<del>{e(a)}</del>" if a else "", f"<ins>{e(b)}</ins>" if b else "")
                only = " only" if not hunk.context and (a is None or b is None) else ""
                parts.append(
                    f'<tr class="{"ctx" if hunk.context else "chg"}">'
                    f'<td class="n">{hunk.old_start + k if a is not None else ""}</td>'
                    f'<td class="old{only}">{cells[0]}</td>'
                    f'<td class="n">{hunk.new_start + k if b is not None else ""}</td>'
                    f'<td class="new{only}">{cells[1]}</td></tr>'
                )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
