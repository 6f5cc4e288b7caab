"""``consentkit audit verify``: recompute the whole log from its stored rows and say what does not add up.

Checked, in one read snapshot:

1. every event row: its bytes are a valid event in canonical form, the copied-out columns (type, case, time) match
   them, its references point at earlier events with the right leaf hash, and SHA-256(0x00 ‖ bytes) equals its
   stored leaf hash; leaf indexes are dense (a deleted, inserted or reordered row breaks this or the hashes);
2. every stored subtree hash equals the hash of its two stored children, level by level, and no level holds more
   or fewer hashes than the log's size implies (a truncated tail leaves them dangling);
3. every stored tree head: canonical checkpoint matching its columns, the audit-log key's signature, the RFC 3161
   token over its bytes, its size within the log, and a consistency proof from it to the current tree;
4. every head kept outside the database (``.consentkit/heads/``) and every exported head given with
   ``--against``: the same, and each must still be among the stored heads, so a log rolled back to before that
   head, or wiped, fails.

What it cannot see: someone holding both the audit-log key and the database can rewrite everything after the
newest head that left the building. Heads are exported (evidence bundles, auditors) and timestamped for that.

A big log is checked in worker processes, on ranges of leaves (:mod:`consentkit.audit.verify_ranges`).
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from consentkit.audit import merkle
from consentkit.audit.events import FAST, EventError, format_time, parse_event
from consentkit.audit.fastform import REF
from consentkit.audit.heads import SignedTreeHead, TokenVerifier, TreeHead, check_head
from consentkit.audit.kept_heads import KeptHead
from consentkit.audit.store import Snapshot
from consentkit.audit.store.base import blob
from consentkit.errors import VerificationError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

MAX_PROBLEMS = 200


@dataclass(frozen=True)
class Problem:
    where: str  # "event 17", "subtree level 3 index 2", "head #4", "exported head head.json"
    what: str
    rank: tuple[int, int]  # (section, position): events first by index, then subtrees, heads, exported heads

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class VerifyReport:
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    events_checked: int = 0
    subtrees_checked: int = 0
    heads_checked: int = 0
    exported_checked: int = 0
    kept_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    truncated: bool = False  # more problems existed than were kept
    warnings: list[str] = field(default_factory=list)  # worth a look, but not proof of tampering (exit 0)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, where: str, what: str, section: int, position: int) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.truncated = True
            return
        self.problems.append(Problem(where, what, (section, position)))

    def sorted_problems(self) -> list[Problem]:
        """The problems in report order, each once (a range worker and a re-check may name the same one)."""
        return sorted(dict.fromkeys(self.problems), key=lambda p: p.rank)


EVENTS, SUBTREES, HEADS, EXPORTED, KEPT = range(5)


def _level(
    snap: Snapshot, report: VerifyReport, level: int, width: int, low: int = 0, whole: bool = True
) -> list[bytes | None]:
    """The stored hashes of one level, indexes ``low`` to ``width - 1``, as a list (None where missing); reports
    missing ones, and (``whole``: the level to its end) extra ones beyond ``width``."""
    rows: list[tuple[int, bytes]] = []
    for batch in snap.level_hashes(level, low, None if whole else width):
        rows.extend(batch)
    want = width - low
    if len(rows) == want and (not rows or int(rows[-1][0]) == width - 1):  # dense: the primary key is unique
        return [h if type(h) is bytes else blob(h) for _, h in rows]
    hashes: list[bytes | None] = [None] * want
    for index, value in rows:
        index = int(index)
        if index < width:
            hashes[index - low] = blob(value)
        elif level == 0:
            report.add(f"event {index}", "is missing but its leaf hash is stored (log truncated?)", EVENTS, index)
        else:
            where = f"subtree level {level} index {index}"
            report.add(
                where, f"is stored beyond the log's {report.size} events (log truncated?)", SUBTREES, _pos(level, index)
            )
    if level:
        for offset, found in enumerate(hashes):
            if found is None:
                where = f"subtree level {level} index {low + offset}"
                report.add(where, "is missing", SUBTREES, _pos(level, low + offset))
    return hashes


def _pos(level: int, index: int) -> int:
    return level << 48 | index


class _Leaves:
    """Stored leaf hashes ``[offset, offset + len(hashes))`` by index; others read on demand (references)."""

    def __init__(self, hashes: list[bytes | None], offset: int, snap: Snapshot) -> None:
        self.hashes, self.offset, self._snap = hashes, offset, snap

    def __getitem__(self, index: int) -> bytes | None:
        i = index - self.offset
        if 0 <= i < len(self.hashes):
            return self.hashes[i]
        return self._snap.read_nodes([(0, index)]).get((0, index))

    def run(self, first: int, n: int) -> list[bytes | None]:
        return self.hashes[first - self.offset : first - self.offset + n]


def _check_events(snap: Snapshot, report: VerifyReport, start: int, end: int, stored: _Leaves) -> None:
    """Section 1, for events ``start <= index < end``: rows against their stored leaf hashes, their schema and
    their references.

    A batch of rows that is dense, matches its leaf hashes and whose events all take the fast path
    (:mod:`consentkit.audit.fastform`) with matching columns is checked a column at a time, in comprehensions;
    any other batch goes row by row through :func:`_check_rows`, which says what is wrong."""
    sha256 = hashlib.sha256
    fullmatch = {kind: pattern.fullmatch for kind, pattern in FAST.by_type.items()}
    cased = {kind for kind, p in FAST.by_type.items() if "case" in p.groupindex}  # names: hashing a Pattern is slow
    group_time, group_case, group_refs = (operator.methodcaller("group", g) for g in ("time", "case", "refs"))
    expected = start
    for batch in snap.event_batches(start, end):
        indexes, kinds, cases, times, bodies = zip(*batch, strict=True)
        first, n = indexes[0], len(batch)
        fine = first == expected and indexes[-1] == first + n - 1
        try:  # a value of the wrong type (text where bytes belong), an unknown type: the batch goes row by row
            fine = fine and [sha256(b"\x00" + b).digest() for b in bodies] == stored.run(first, n)
            matches = [fullmatch[k](b) for k, b in zip(kinds, bodies, strict=True)] if fine else []
            fine = fine and None not in matches
            # the copied-out columns, a batch at a time: joined with NUL, which no valid value holds, so equal
            # joins mean equal values
            fine = fine and b"\0".join(map(group_time, matches)) == "\0".join(times).encode()
            if fine and cased.issuperset(kinds):
                fine = b"\0".join(map(group_case, matches)) == "\0".join(cases).encode()
            elif fine:
                fine = [m["case"] if k in cased else None for m, k in zip(matches, kinds, strict=True)] == [  # type: ignore[index]
                    None if c is None else c.encode() for c in cases
                ]
        except (TypeError, KeyError, AttributeError):
            fine = False
        if fine:
            for i, refs in enumerate(map(group_refs, matches)):
                if refs != b"[]":
                    found = REF.findall(refs)
                    _check_refs(report, first + i, [(int(a), "sha256:" + h.decode()) for a, h in found], stored)
        else:
            _check_rows(report, batch, expected, stored)
        expected = indexes[-1] + 1
        report.events_checked += n
    if expected < end:
        gap = f"events {expected}-{end - 1} are" if end - 1 > expected else f"event {expected} is"
        report.add(f"event {expected}", f"{gap} missing (row deleted?)", EVENTS, expected)


def _check_rows(report: VerifyReport, batch: list[Any], expected: int, stored: _Leaves) -> None:
    """Row by row, naming each problem."""
    sha256 = hashlib.sha256
    for index, kind, case, time, body in batch:
        if index != expected:
            gap = f"events {expected}-{index - 1} are" if index - 1 > expected else f"event {expected} is"
            report.add(f"event {expected}", f"{gap} missing (row deleted?)", EVENTS, expected)
        expected = index + 1
        if type(body) is not bytes:
            report.add(
                f"event {index}", f"content is stored as {type(body).__name__}, not bytes (edited?)", EVENTS, index
            )
            body = blob(body)
        kind, time = str(kind), str(time)
        case = None if case is None else str(case)
        leaf = sha256(b"\x00" + body).digest()
        if leaf != stored[index]:
            what = (
                "has no stored leaf hash (row inserted?)"
                if stored[index] is None
                else "content does not match its stored leaf hash (edited?)"
            )
            report.add(f"event {index}", what, EVENTS, index)
        pattern = FAST.by_type.get(kind)
        match = pattern.fullmatch(body) if pattern is not None else None
        if match is None:  # unusual, invalid, or the type column was edited: the full parser decides
            _check_slowly(report, index, (kind, case, time), body, stored)
            continue
        has_case = "case" in match.re.groupindex
        if (match["case"] if has_case else None) != (None if case is None else case.encode()):
            _column_problem(report, index, ["case_id"])
        if match["time"] != time.encode():
            _column_problem(report, index, ["time"])
        refs = match["refs"]
        if refs != b"[]":
            _check_refs(report, index, [(int(i), "sha256:" + h.decode()) for i, h in REF.findall(refs)], stored)


def _column_problem(report: VerifyReport, index: int, names: list[str]) -> None:
    report.add(f"event {index}", f"column {', '.join(names)} does not match the event (edited?)", EVENTS, index)


def _check_slowly(
    report: VerifyReport, index: int, columns: tuple[str, str | None, str], body: bytes, stored: _Leaves
) -> None:
    try:
        event = parse_event(body)
    except EventError as exc:
        report.add(f"event {index}", f"is not a valid event: {exc.message}", EVENTS, index)
        return
    derived = (event.type, getattr(event, "case", None), format_time(event.time))
    if columns != derived:
        _column_problem(
            report, index, [n for n, a, b in zip(("type", "case_id", "time"), columns, derived, strict=True) if a != b]
        )
    _check_refs(report, index, [(r.index, r.leaf) for r in event.refs], stored)


def _check_refs(report: VerifyReport, index: int, refs: list[tuple[int, str]], stored: _Leaves) -> None:
    for ref_index, ref_leaf in refs:
        if ref_index >= index:
            report.add(f"event {index}", f"refers to event {ref_index}, which is not earlier", EVENTS, index)
        elif (leaf := stored[ref_index]) is None or "sha256:" + leaf.hex() != ref_leaf:
            report.add(f"event {index}", f"refers to event {ref_index} with the wrong leaf hash", EVENTS, index)


def _check_subtrees(
    snap: Snapshot,
    report: VerifyReport,
    size: int,
    below: list[bytes | None],
    level: int = 0,
    low: int = 0,
    whole: bool = True,
    counts: dict[int, int] | None = None,
) -> tuple[int, list[bytes | None]]:
    """Section 2: each stored level against the hashes of its children one level down, a whole level at a time,
    from ``below`` (the stored hashes of ``level`` from index ``low``), up to the top; ``whole``: stored subtrees
    beyond the log's ``size`` are reported too. A range worker passes ``whole=False``, its range's end as ``size``
    and its first leaf as ``low``: it stops where its range holds one subtree, and returns (level, hashes) there."""
    sha256 = hashlib.sha256
    if counts is None and whole:
        counts = dict(snap.node_levels())
    top = max(counts or {0: 0}) if whole else 0  # ``counts``: each level's stored hashes, when the caller has them
    start = low << level  # the first leaf covered
    while ((size >> level) - (start >> level)) > 1 or level < top:
        level += 1
        lo = start >> level
        width = size >> level
        stored = _level(snap, report, level, width, lo, whole)
        left, right = below[0 : 2 * (width - lo) : 2], below[1 : 2 * (width - lo) : 2]
        if None in left or None in right:
            computed: list[bytes | None] = [
                None if a is None or b is None else sha256(b"\x01" + a + b).digest()
                for a, b in zip(left, right, strict=True)
            ]
        else:
            computed = [sha256(b"\x01" + a + b).digest() for a, b in zip(left, right, strict=True)]  # type: ignore[operator]
        if computed != stored:
            for offset, (want, have) in enumerate(zip(computed, stored, strict=True)):
                where = f"subtree level {level} index {lo + offset}"
                if have is not None and want is not None and want != have:
                    report.add(
                        where,
                        "does not match the hash of its two children (edited?)",
                        SUBTREES,
                        _pos(level, lo + offset),
                    )
                elif have is not None and want is None:
                    report.add(where, "has no stored children", SUBTREES, _pos(level, lo + offset))
        report.subtrees_checked += len(stored) - stored.count(None)
        below = stored
    return level, below


def _check_head(
    snap: Snapshot,
    report: VerifyReport,
    sth: SignedTreeHead,
    where: str,
    section: int,
    position: int,
    public_key: ec.EllipticCurvePublicKey | None,
    verify_token: TokenVerifier | None,
) -> None:
    def add(what: str) -> None:
        report.add(where, what, section, position)

    if public_key is None:
        add("signature not checked: the audit-log public key is missing")
    else:
        for what in check_head(sth, public_key, verify_token):
            add(what)
    if sth.size > report.size:
        add(f"covers {sth.size} events but the log has only {report.size} (truncated or rolled back)")
        return
    try:
        old_root = merkle.tree_root(sth.size, snap.read_nodes)
    except merkle.ProofError as exc:
        add(f"its tree cannot be recomputed: {exc}")
        return
    if old_root != sth.root:
        add(f"the log's first {sth.size} events no longer hash to this head's root (history rewritten)")
        return
    try:
        proof = merkle.evaluate(merkle.consistency_plan(sth.size, report.size), snap.read_nodes)
        merkle.verify_consistency(sth.size, report.size, proof, sth.root, report.root)
    except merkle.ProofError as exc:
        add(f"the current tree is not consistent with it: {exc}")


def verify_snapshot(
    snap: Snapshot,
    *,
    public_key: ec.EllipticCurvePublicKey | None,
    verify_token: TokenVerifier | None,
    against: Iterable[SignedTreeHead] = (),
    kept: Iterable[KeptHead] = (),
    url: str | None = None,
    workers: int = 1,
) -> VerifyReport:
    """Check everything (see the module docstring). With ``url`` and ``workers > 1``, logs of
    :data:`PARALLEL_FROM` events or more have their events checked by that many processes."""
    report = VerifyReport()
    size = snap.size()
    report.size = size
    ranges = None
    if url is not None and workers > 1 and size >= max(PARALLEL_FROM, 2):
        from consentkit.audit.verify_ranges import start_ranges

        ranges = start_ranges(url, size, workers)
    else:
        leaves = _level(snap, report, 0, size)
        _check_events(snap, report, 0, size, _Leaves(leaves, 0, snap))
        _check_subtrees(snap, report, size, leaves)
    try:
        report.root = merkle.tree_root(size, snap.read_nodes)
    except merkle.ProofError as exc:
        report.add("tree", f"the current root cannot be computed: {exc}", SUBTREES, 1 << 62)
    expected_id = 1
    rows = snap.heads()
    for row in rows:
        where = f"head #{row.id}"
        if row.id != expected_id:
            report.add(f"head #{expected_id}", "is missing (row deleted?)", HEADS, expected_id)
        expected_id = row.id + 1
        report.heads_checked += 1
        try:
            head = TreeHead.parse(row.checkpoint)
        except VerificationError as exc:
            report.add(where, str(exc), HEADS, row.id)
            continue
        if (row.size, row.root, row.time) != (head.size, head.root, format_time(head.time)):
            report.add(where, "columns do not match its signed checkpoint (edited?)", HEADS, row.id)
        sth = SignedTreeHead(head, row.checkpoint, row.signature, row.timestamp, row.id)
        try:
            _check_head(snap, report, sth, where, HEADS, row.id, public_key, verify_token)
        except (TypeError, ValueError) as exc:  # a column of the wrong type or shape: a finding, not a crash
            report.add(where, f"could not be checked ({exc})", HEADS, row.id)
    failed = {p.rank[1] for p in report.problems if p.rank[0] == HEADS}  # ids of stored heads with a problem
    stored = {(row.checkpoint, row.signature, row.timestamp) for row in rows}
    checked = {(row.checkpoint, row.signature, row.timestamp) for row in rows if row.id not in failed}
    outside = [(f"exported head of size {sth.size}", EXPORTED, n, sth) for n, sth in enumerate(against)]
    report.exported_checked = len(outside)
    for k in kept:
        report.kept_checked += 1
        where = f"kept head {k.line} (.consentkit/heads/heads.jsonl)"
        if k.head is None:
            report.add(where, k.problem or "not readable", KEPT, k.line)
        else:
            outside.append((f"{where}, size {k.head.size}", KEPT, k.line, k.head))
    for where, section, n, sth in outside:
        if (sth.checkpoint, sth.signature, sth.token) in checked:
            continue  # the same bytes as a stored head that passed its checks above
        _check_head(snap, report, sth, where, section, n, public_key, verify_token)
        if (sth.checkpoint, sth.signature, sth.token) not in stored:  # every head is stored before it leaves
            report.add(where, "is not among the log's stored heads (head rows deleted or log rolled back?)", section, n)
    if ranges is not None:
        ranges.finish(snap, report)
    report.problems = report.sorted_problems()
    return report


PARALLEL_FROM = 200_000  # below this, starting processes costs more than it saves
