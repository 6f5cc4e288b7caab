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
"""

from __future__ import annotations

import hashlib
import re
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

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, where: str, what: str, section: int, position: int) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.truncated = True
            return
        self.problems.append(Problem(where, what, (section, position)))

    def sorted_problems(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: p.rank)


EVENTS, SUBTREES, HEADS, EXPORTED, KEPT = range(5)


def _level(snap: Snapshot, report: VerifyReport, level: int, width: int) -> list[bytes | None]:
    """The stored hashes of one level as a list by index (None where missing); reports missing and extra ones."""
    rows: list[tuple[int, bytes]] = []
    for batch in snap.level_hashes(level):
        rows.extend(batch)
    if len(rows) == width and (not rows or int(rows[-1][0]) == width - 1):  # dense: the primary key is unique
        return [h if type(h) is bytes else blob(h) for _, h in rows]
    hashes: list[bytes | None] = [None] * width
    for index, value in rows:
        index = int(index)
        if index < width:
            hashes[index] = blob(value)
        elif level == 0:
            report.add(f"event {index}", "is missing but its leaf hash is stored (log truncated?)", EVENTS, index)
        else:
            where = f"subtree level {level} index {index}"
            report.add(
                where, f"is stored beyond the log's {report.size} events (log truncated?)", SUBTREES, _pos(level, index)
            )
    if level:
        for index, found in enumerate(hashes):
            if found is None:
                report.add(f"subtree level {level} index {index}", "is missing", SUBTREES, _pos(level, index))
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
    never = re.compile(b"(?!)")
    get = FAST.by_type.get
    cased = {p for p in FAST.by_type.values() if "case" in p.groupindex}
    expected = start
    for batch in snap.event_batches(start, end):
        indexes, kinds, cases, times, bodies = zip(*batch, strict=True)
        first, n = indexes[0], len(batch)
        fine = first == expected and indexes[-1] == first + n - 1
        if fine:
            try:  # a value of the wrong type (text where bytes belong) sends the batch row by row
                fine = [sha256(b"\x00" + b).digest() for b in bodies] == stored.run(first, n)
            except TypeError:
                fine = False
        if fine:
            matches = [get(k, never).fullmatch(b) for k, b in zip(kinds, bodies, strict=True)]
            fine = None not in matches
        if fine:
            try:
                fine = [m["time"] for m in matches] == [t.encode() for t in times]  # type: ignore[index]
            except AttributeError:
                fine = False
        if fine:
            try:
                fine = [m["case"] if m.re in cased else None for m in matches] == [  # type: ignore[union-attr,index]
                    None if c is None else c.encode() for c in cases
                ]
            except AttributeError:
                fine = False
        if fine:
            with_refs = [i for i, m in enumerate(matches) if m["refs"] != b"[]"]  # type: ignore[index]
            for i in with_refs:
                refs = REF.findall(matches[i]["refs"])  # type: ignore[index]
                _check_refs(report, first + i, [(int(a), "sha256:" + h.decode()) for a, h in refs], stored)
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


def _check_subtrees(snap: Snapshot, report: VerifyReport, size: int, leaves: list[bytes | None]) -> None:
    """Section 2: each stored level against the hashes of its children one level down, a whole level at a time;
    stored subtrees above the log's size are reported too."""
    sha256 = hashlib.sha256
    below = leaves
    levels = dict(snap.node_levels())
    top = max(levels, default=0)
    level = 0
    while (size >> level) > 1 or level < top:
        level += 1
        width = size >> level
        stored = _level(snap, report, level, width)
        left, right = below[0 : 2 * width : 2], below[1 : 2 * width : 2]
        if None in left or None in right:
            computed: list[bytes | None] = [
                None if a is None or b is None else sha256(b"\x01" + a + b).digest()
                for a, b in zip(left, right, strict=True)
            ]
        else:
            computed = [sha256(b"\x01" + a + b).digest() for a, b in zip(left, right, strict=True)]  # type: ignore[operator]
        if computed != stored:
            for index, (want, have) in enumerate(zip(computed, stored, strict=True)):
                if have is not None and want is not None and want != have:
                    where = f"subtree level {level} index {index}"
                    report.add(
                        where, "does not match the hash of its two children (edited?)", SUBTREES, _pos(level, index)
                    )
                elif have is not None and want is None:
                    where = f"subtree level {level} index {index}"
                    report.add(where, "has no stored children", SUBTREES, _pos(level, index))
        report.subtrees_checked += len(stored) - stored.count(None)
        below = stored


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
    pool = _start_workers(url, size, workers) if url is not None and workers > 1 and size >= PARALLEL_FROM else None
    leaves = _level(snap, report, 0, size)
    if pool is None:
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
    if pool is not None:
        executor, futures = pool
        with executor:
            for future in futures:
                problems, checked = future.result()
                report.events_checked += checked
                for problem in problems:
                    report.add(problem.where, problem.what, *problem.rank)
    report.problems = report.sorted_problems()
    return report


PARALLEL_FROM = 200_000  # below this, starting processes costs more than it saves


def _start_workers(url: str, size: int, workers: int) -> tuple[Any, list[Any]]:
    """Section 1 in ``workers`` processes, each on its own range of events and its own database connection,
    while this process checks the subtrees and heads. Rows below ``size`` never change (the log only appends), so
    each worker's snapshot agrees with ours on them."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    step = -(-size // workers)
    futures = [executor.submit(_events_worker, url, a, min(a + step, size)) for a in range(0, size, step)]
    return executor, futures


def _events_worker(url: str, start: int, end: int) -> tuple[list[Problem], int]:
    from consentkit.audit.store import open_store

    report = VerifyReport()
    store = open_store(url, migrate=False)
    try:
        with store.snapshot() as snap:
            hashes: list[bytes | None] = [None] * (end - start)
            for batch in snap.level_hashes(0, start, end):
                for index, value in batch:
                    hashes[int(index) - start] = bytes(value)
            _check_events(snap, report, start, end, _Leaves(hashes, start, snap))
    finally:
        store.close()
    return report.problems, report.events_checked
