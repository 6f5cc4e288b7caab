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


Pieces = list[tuple[str, bool]]  # a line cut into runs, each (text, changed)

# ANSI colours for a terminal: removed words red, added words green (the [-…-] {+…+} marks stay, for copy-paste)
_RED, _GREEN, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[0m"


def _marked(pieces: Pieces, before: str, after: str) -> str:
    return "".join(f"{before}{p}{after}" if changed else p for p, changed in pieces)


def rows(hunk: Hunk) -> list[tuple[int | None, Pieces | None, int | None, Pieces | None]]:
    """Rows of a side-by-side view: (old number, old pieces, new number, new pieces); a line on one side only has
    None on the other. Changed words are marked within a changed line; a removed or added line is all changed."""
    out = []
    for k in range(max(len(hunk.old), len(hunk.new))):
        a = hunk.old[k] if k < len(hunk.old) else None
        b = hunk.new[k] if k < len(hunk.new) else None
        left: Pieces | None
        right: Pieces | None
        if hunk.context:
            left, right = ([(a, False)] if a is not None else None), ([(b, False)] if b is not None else None)
        elif a is not None and b is not None:
            left, right = word_marks(a, b)
        else:
            left, right = ([(a, True)] if a is not None else None), ([(b, True)] if b is not None else None)
        out.append(
            (hunk.old_start + k if a is not None else None, left, hunk.new_start + k if b is not None else None, right)
        )
    return out


def _pairs(hunk: Hunk) -> list[tuple[int | None, str, int | None, str]]:
    """Rows of a side-by-side view as text, changed words marked ``[-old-]`` and ``{+new+}``."""
    return [
        (n_old, _marked(left or [], "[-", "-]"), n_new, _marked(right or [], "{+", "+}"))
        for n_old, left, n_new, right in rows(hunk)
    ]


def colour(line: str, state: list[str]) -> str:
    """``line`` with ANSI colour around its ``[-…-]`` and ``{+…+}`` marks; ``state`` carries a mark left open at
    the end of a wrapped line into the next one."""
    out = [state[0]] if state else []
    i = 0
    while i < len(line):
        two = line[i : i + 2]
        if two in ("[-", "{+"):
            state[:] = [_RED if two == "[-" else _GREEN]
            out.append(state[0] + two)
            i += 2
        elif two in ("-]", "+}") and state:
            out.append(two + _RESET)
            state.clear()
            i += 2
        else:
            out.append(line[i])
            i += 1
    if state:
        out.append(_RESET)
    return "".join(out)


def summary_lines(changes: Sequence[Change], *, color: bool = False) -> list[str]:
    """The semantic summary, a re-worded text shown in each changed locale with its changed words marked."""
    out = []
    for change in changes:
        out.append(f"  {change.describe()}")
        if change.kind == "re-worded" and isinstance(change.old, dict) and isinstance(change.new, dict):
            for locale in change.locales:
                left, right = word_marks(change.old.get(locale) or "", change.new.get(locale) or "")
                before = _marked(left, "[-", "-]") if change.old.get(locale) else "(none)"
                after = _marked(right, "{+", "+}") if change.new.get(locale) else "(none)"
                if color:
                    before, after = colour(before, []), colour(after, [])
                out.append(f"      {locale}: {before}")
                out.append(f"      {' ' * len(locale)}→ {after}")
    return out


def as_text(result: DiffResult, width: int = 160, *, color: bool = False) -> str:
    """The terminal view: the semantic summary, then each changed document side by side; ``color`` adds ANSI
    colours to the marks (for a terminal, not a file)."""
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
        lines += summary_lines(result.changes, color=color)
    changed_docs = [d for d in result.documents if d.changed]
    if result.documents:
        lines += ["", "Rendered documents (SPECIMEN text, side by side; [-removed-] {+added+}):"]
        if not changed_docs:
            lines.append("  no rendered line differs")
    column = max(30, (width - 3) // 2)
    text_width = column - 6
    for doc in changed_docs:
        lines += ["", f"== {doc.doc} · {doc.locale} ==", _pad(f"  {old.label}", column) + f"   {new.label}"]
        previous_end: int | None = None
        for hunk in doc.hunks:
            if previous_end is not None and hunk.old_start > previous_end:
                lines.append(_pad("  ⋮", column) + " │   ⋮")
            for n_old, a, n_new, b in _pairs(hunk):
                left = _wrap(a, text_width) if a else [""]
                right = _wrap(b, text_width) if b else [""]
                mark = " " if hunk.context else ("│" if n_old and n_new else "<" if n_old else ">")
                left_state: list[str] = []
                right_state: list[str] = []
                for k in range(max(len(left), len(right))):
                    la = left[k] if k < len(left) else ""
                    rb = right[k] if k < len(right) else ""
                    num_a = f"{n_old:>4} " if (k == 0 and n_old) else "     "
                    num_b = f"{n_new:>4} " if (k == 0 and n_new) else "     "
                    cell_a = _pad(num_a + la, column)
                    if color:
                        cell_a, rb = num_a + colour(cell_a[len(num_a) :], left_state), colour(rb, right_state)
                    lines.append(f"{cell_a} {mark} {num_b}{rb}".rstrip())
            previous_end = hunk.old_start + len(hunk.old)
    return "\n".join(lines) + "\n"


def _words(pieces: Pieces | None) -> list[dict[str, Any]] | None:
    return None if pieces is None else [{"text": text, "changed": changed} for text, changed in pieces]


def _json_row(row: tuple[int | None, Pieces | None, int | None, Pieces | None]) -> dict[str, Any]:
    """One line pair of a hunk: numbers, the text with ``[-…-]``/``{+…+}`` marks, and the same as word runs."""
    n_old, left, n_new, right = row
    return {
        "old_line": n_old,
        "new_line": n_new,
        "old": None if left is None else _marked(left, "[-", "-]"),
        "new": None if right is None else _marked(right, "{+", "+}"),
        "old_words": _words(left),
        "new_words": _words(right),
    }


def _change_json(change: Change) -> dict[str, Any]:
    data = change.as_dict()
    if change.kind == "re-worded" and isinstance(change.old, dict) and isinstance(change.new, dict):
        data["words"] = {}
        for locale in change.locales:
            left, right = word_marks(change.old.get(locale) or "", change.new.get(locale) or "")
            data["words"][locale] = {"old": _words(left), "new": _words(right)}
    return data


def as_json(result: DiffResult) -> str:
    data = {
        "old": result.side(result.old),
        "new": result.side(result.new),
        "changes": [_change_json(c) for c in result.changes],
        "documents": [
            {
                "doc": d.doc,
                "locale": d.locale,
                "changed": d.changed,
                "hunks": [
                    {
                        "old_start": h.old_start,
                        "new_start": h.new_start,
                        "old": list(h.old),
                        "new": list(h.new),
                        "lines": [_json_row(row) for row in rows(h)],
                    }
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
table.sbs thead th { text-align: left; padding: .3em .4em; background: #f4f4f4; border-bottom: 2px solid #ccc; }
table.sbs td.n { width: 3em; color: #888; text-align: right; font-family: monospace; }
tr.ctx td { color: #666; } tr.gap td { text-align: center; color: #aaa; }
del { background: #fdd; text-decoration: line-through; } ins { background: #cfc; text-decoration: none; }
td.old.only { background: #fee; } td.new.only { background: #efe; }
"""


def _html_pieces(pieces: Pieces | None, tag: str) -> str:
    return "".join(f"<{tag}>{html.escape(p)}</{tag}>" if changed else html.escape(p) for p, changed in pieces or [])


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
            f'<thead><tr><th colspan="2" class="old">Old: {e(old.label)}</th>'
            f'<th colspan="2" class="new">New: {e(new.label)}</th></tr></thead>'
        )
        previous_end: int | None = None
        for hunk in doc.hunks:
            if previous_end is not None and hunk.old_start > previous_end:
                parts.append('<tr class="gap"><td colspan="4">⋮</td></tr>')
            previous_end = hunk.old_start + len(hunk.old)
            for n_old, old_pieces, n_new, new_pieces in rows(hunk):
                only = " only" if not hunk.context and (old_pieces is None or new_pieces is None) else ""
                parts.append(
                    f'<tr class="{"ctx" if hunk.context else "chg"}">'
                    f'<td class="n">{n_old or ""}</td><td class="old{only}">{_html_pieces(old_pieces, "del")}</td>'
                    f'<td class="n">{n_new or ""}</td><td class="new{only}">{_html_pieces(new_pieces, "ins")}</td></tr>'
                )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
