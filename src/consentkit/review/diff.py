"""What changed between two versions of a procedure: first in meaning (risks added, removed, re-banded, re-rated,
re-worded in which locales; contraindications, cooling-off, follow-up, options, version), then in the words of each
rendered document, line by line.

    old, new = resolve_version(ws, "botulinum-toxin@1.0.1"), resolve_version(ws, "botulinum-toxin")
    changes = semantic_diff(old.model, new.model)     # [Change(section="risks", item="ptosis", kind="re-worded", …)]
    texts = rendered_diff(ws, old, new)               # per document and locale: the changed lines with context
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from consentkit.review.history import SpecVersion
from consentkit.spec.models import ProcedureSpec
from consentkit.workspace import Workspace

# A field whose change has its own word in the summary (CIOMS band, rate figure...).
KIND_OF_FIELD = {
    ("risks", "band"): "re-banded",
    ("risks", "rate"): "re-rated",
    ("risks", "severity"): "re-graded (severity)",
    ("risks", "permanence"): "re-graded (permanence)",
    ("contraindications", "kind"): "re-classified",
}
TITLE_FIELDS = ("title", "label", "text", "purpose", "citation")


@dataclass(frozen=True)
class Change:
    """One difference. ``path`` names where: ``("risks", "[ptosis]", "text")``, items by their id in brackets."""

    path: tuple[str, ...]
    kind: str  # added | removed | re-worded | re-banded | re-rated | changed | …
    locales: tuple[str, ...] = ()
    old: Any = None
    new: Any = None
    item: str | None = None  # the id of the item concerned (a risk, a contraindication, a follow-up visit...)

    @property
    def section(self) -> str:
        return self.path[0]

    @property
    def where(self) -> str:
        """``risks[ptosis].text``"""
        return "".join(p if p.startswith("[") or i == 0 else f".{p}" for i, p in enumerate(self.path))

    @property
    def field(self) -> str | None:
        last = self.path[-1] if len(self.path) > 1 else None
        return None if last is None or last.startswith("[") else last

    def describe(self) -> str:
        """``risks[ptosis].text: re-worded (en)``, ``cooling_off.days: 7 → 14``, ``risks[necrosis]: added``."""
        if self.kind == "re-worded":
            return f"{self.where}: re-worded ({', '.join(self.locales)})"
        if self.kind in ("added", "removed"):
            label = f" — {self.old if self.kind == 'removed' else self.new}" if (self.old or self.new) else ""
            return f"{self.where}: {self.kind}{label}"
        return f"{self.where}: {self.kind} {_short(self.old)} → {_short(self.new)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "section": self.section,
            "item": self.item,
            "field": self.field,
            "kind": self.kind,
            "locales": list(self.locales),
            "old": self.old,
            "new": self.new,
            "summary": self.describe(),
        }


def _short(value: Any) -> str:
    if value is None:
        return "(none)"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _title(item: BaseModel) -> str | None:
    for name in TITLE_FIELDS:
        value = getattr(item, name, None)
        if isinstance(value, dict) and value:
            return str(value.get("en") or next(iter(value.values())))
        if isinstance(value, str):
            return value
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _walk(old: Any, new: Any, path: tuple[str, ...], item: str | None) -> Iterator[Change]:
    if old == new:
        return
    if isinstance(old, BaseModel) and isinstance(new, BaseModel) and type(old) is type(new):
        for name in type(new).model_fields:
            yield from _walk(getattr(old, name), getattr(new, name), (*path, name), item)
        return
    if isinstance(old, list) and isinstance(new, list) and _has_ids(old) and _has_ids(new):
        before = {x.id: x for x in old}
        after = {x.id: x for x in new}
        for key, x in before.items():
            if key not in after:
                yield Change((*path, f"[{key}]"), "removed", old=_title(x), item=key)
        for key, x in after.items():
            if key not in before:
                yield Change((*path, f"[{key}]"), "added", new=_title(x), item=key)
            else:
                yield from _walk(before[key], x, (*path, f"[{key}]"), key)
        if [k for k in before if k in after] != [k for k in after if k in before]:
            yield Change(
                path, "re-ordered", old=[k for k in before if k in after], new=[k for k in after if k in before]
            )
        return
    if isinstance(old, dict | None) and isinstance(new, dict | None) and _is_text(old) and _is_text(new):
        a, b = old or {}, new or {}
        if old is None or new is None:
            kind = "added" if old is None else "removed"
            yield Change(path, kind, tuple(sorted(set(a) | set(b))), old=_pick(a), new=_pick(b), item=item)
            return
        locales = tuple(k for k in [*a, *(k for k in b if k not in a)] if a.get(k) != b.get(k))
        yield Change(
            path,
            "re-worded",
            locales,
            old={k: a.get(k) for k in locales},
            new={k: b.get(k) for k in locales},
            item=item,
        )
        return
    kind = KIND_OF_FIELD.get((path[0], path[-1]), "changed") if path else "changed"
    if old is None or (isinstance(old, list) and not old):
        kind = "added" if kind == "changed" else kind
    elif new is None or (isinstance(new, list) and not new):
        kind = "removed" if kind == "changed" else kind
    yield Change(path, kind, old=_plain(old), new=_plain(new), item=item)


def _pick(text: dict[str, str]) -> str | None:
    return (text.get("en") or next(iter(text.values()), None)) if text else None


def _has_ids(items: list[Any]) -> bool:
    return all(isinstance(x, BaseModel) and isinstance(getattr(x, "id", None), str) for x in items)


def _is_text(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and all(isinstance(v, str) for v in value.values()))


def semantic_diff(old: ProcedureSpec, new: ProcedureSpec) -> list[Change]:
    """Every difference between two specs, in the spec's field order (version first after id), items matched by id:
    a risk re-worded in one locale is one change naming that risk and that locale."""
    return list(_walk(old, new, (), None))


# --- rendered text -------------------------------------------------------------------------------------------

_BLOCK = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "table", "ul", "ol", "dt", "dd", "hr"}
_SKIP = {"head", "style", "script", "title"}


class _TextOf(HTMLParser):
    """Document HTML → the lines a reader sees: one per paragraph, list item or table row (cells joined by " | ")."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip = 0
        self.hidden: list[str] = []

    def _flush(self) -> None:
        line = " ".join("".join(self.current).split())
        if line:
            self.lines.append(line)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.hidden:
            if tag not in ("br", "img", "meta", "link", "hr"):  # void elements have no end tag
                self.hidden.append(tag)
            return
        if tag in _SKIP:
            self.skip += 1
        elif ("aria-hidden", "true") in attrs:
            self.hidden.append(tag)
        elif tag in _BLOCK:
            self._flush()
        elif tag in ("td", "th"):
            if "".join(self.current).strip():
                self.current.append(" | ")
        elif tag in ("br", "span"):
            self.current.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self.hidden:
            self.hidden.pop()
            return
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self._flush()
        elif tag == "span":
            self.current.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skip and not self.hidden:
            self.current.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_lines(html: str) -> list[str]:
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    return parser.lines


@dataclass(frozen=True)
class Hunk:
    old_start: int  # 1-based line numbers in the rendered text
    new_start: int
    old: tuple[str, ...]
    new: tuple[str, ...]
    context: bool = False  # unchanged lines shown around a change


@dataclass(frozen=True)
class DocumentDiff:
    doc: str
    locale: str
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]
    hunks: tuple[Hunk, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return any(not h.context for h in self.hunks)


def line_hunks(old: Sequence[str], new: Sequence[str], context: int = 1) -> tuple[Hunk, ...]:
    hunks: list[Hunk] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        for tag, i1, i2, j1, j2 in group:
            hunks.append(Hunk(i1 + 1, j1 + 1, tuple(old[i1:i2]), tuple(new[j1:j2]), context=tag == "equal"))
    return tuple(hunks)


def _render_lines(ws: Workspace | None, version: SpecVersion, doc: str, locale: str, now: dt.datetime) -> list[str]:
    from consentkit.render.html import render_html
    from consentkit.render.specimen import SAMPLE_CLINIC, preview_input
    from consentkit.resources import builtin_dir
    from consentkit.sign.profile import load_profile
    from consentkit.spec.library import load_library

    if ws is not None:
        library = load_library(ws.procedure_roots())
        clinic, templates = ws.config.clinic, ws.template_roots()
        profile = load_profile(ws.signature_roots(), ws.config.signing.profile).model
    else:
        library = load_library([builtin_dir("procedures")])
        clinic, templates = SAMPLE_CLINIC, (builtin_dir("templates"),)
        profile = load_profile((builtin_dir("signatures"),)).model
    spec = version.model
    library = dataclasses.replace(library, procedures={**library.procedures, spec.id: version.spec})
    policy = library.policy(clinic.jurisdiction).model
    inp = preview_input(library, spec.id, [locale], clinic=clinic, policy=policy, profile=profile, now=now)
    # the document id carries the version; keep it out of the comparison (the version line says it once)
    return [line.replace(inp.packet_id, "SPECIMEN") for line in html_lines(render_html(inp, doc, templates))]  # type: ignore[arg-type]


def rendered_diff(
    ws: Workspace | None,
    old: SpecVersion,
    new: SpecVersion,
    *,
    docs: Sequence[str] = ("consent", "disclosure", "care-guide"),
    locales: Sequence[str] | None = None,
    context: int = 1,
) -> list[DocumentDiff]:
    """Each document, in each locale both versions have (or ``locales``), as SPECIMEN text, compared line by line.
    Both sides are rendered with the same clinic, policy, templates and time, so only the spec's changes show."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    chosen = locales or [loc for loc in new.model.locales if loc in old.model.locales]
    out = []
    for doc in docs:
        for locale in chosen:
            before = _render_lines(ws, old, doc, locale, now) if locale in old.model.locales else []
            after = _render_lines(ws, new, doc, locale, now) if locale in new.model.locales else []
            out.append(DocumentDiff(doc, locale, tuple(before), tuple(after), line_hunks(before, after, context)))
    return out


def word_marks(old: str, new: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Both lines cut into (piece, changed) runs: words for spaced scripts, characters for Chinese."""
    a, b = _tokens(old), _tokens(new)
    left: list[tuple[str, bool]] = []
    right: list[tuple[str, bool]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if i2 > i1:
            left.append(("".join(a[i1:i2]), tag != "equal"))
        if j2 > j1:
            right.append(("".join(b[j1:j2]), tag != "equal"))
    return _joined(left), _joined(right)


def _joined(pieces: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Runs with a lone space between two changes made one change: ``[-Pain, redness-]``, not ``[-Pain,-] [-…``."""
    out: list[tuple[str, bool]] = []
    for k, (text, changed) in enumerate(pieces):
        between = 0 < k < len(pieces) - 1 and pieces[k - 1][1] and pieces[k + 1][1]
        if not changed and between and not text.strip():
            changed = True
        if out and out[-1][1] and changed:
            out[-1] = (out[-1][0] + text, True)
        else:
            out.append((text, changed))
    return out


def _tokens(text: str) -> list[str]:
    import re

    return re.findall(r"\s+|[A-Za-z0-9'’.,-]+|.", text)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` atomically, making its folder first."""
    from consentkit.files import write_atomically

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)
