"""``consentkit audit verify``: recompute the whole log from its stored rows and say what does not add up.

Checked, in one read snapshot:

1. every event row: its bytes are a valid event in canonical form, the copied-out columns (type, case, time) match
   them, its references point at earlier events with the right leaf hash, and SHA-256(0x00 ‖ bytes) equals its
   stored leaf hash; leaf indexes are dense (a deleted, inserted or reordered row breaks this or the hashes);
2. every stored subtree hash equals the hash of its two stored children, level by level, and no level holds more
   or fewer hashes than the log's size implies (a truncated tail leaves them dangling);
3. every stored tree head: canonical checkpoint matching its columns, the audit-log key's signature, the RFC 3161
   token over its bytes, its size within the log, and a consistency proof from it to the current tree;
4. every exported head given with ``--against``: the same, so a log rolled back to before that head fails.

What it cannot see: someone holding both the audit-log key and the database can rewrite everything after the
newest head that left the building. Heads are exported (evidence bundles, auditors) and timestamped for that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from consentkit.audit import merkle
from consentkit.audit.events import FAST, EventError, format_time, parse_event
from consentkit.audit.fastform import REF
from consentkit.audit.heads import SignedTreeHead, TokenVerifier, TreeHead, check_head
from consentkit.audit.store import Snapshot
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


EVENTS, SUBTREES, HEADS, EXPORTED = range(4)


def _merge(a: Iterator[list[tuple[Any, ...]]], b: Iterator[list[tuple[Any, ...]]]) -> Iterator[tuple[int, Any, Any]]:
    """Merge-join two streams of (index, …) batches sorted by index: (index, row of a or None, row of b or None)."""

    def flat(stream: Iterator[list[tuple[Any, ...]]]) -> Iterator[tuple[Any, ...]]:
        for batch in stream:
            yield from batch

    ia, ib = flat(a), flat(b)
    ra, rb = next(ia, None), next(ib, None)
    while ra is not None or rb is not None:
        ka = int(ra[0]) if ra is not None else None
        kb = int(rb[0]) if rb is not None else None
        if kb is None or (ka is not None and ka < kb):
            yield ka, ra, None  # type: ignore[misc]
            ra = next(ia, None)
        elif ka is None or kb < ka:
            yield kb, None, rb
            rb = next(ib, None)
        else:
            yield ka, ra, rb
            ra, rb = next(ia, None), next(ib, None)


def _check_events(snap: Snapshot, report: VerifyReport, size: int) -> None:
    """Section 1: event rows against their stored leaf hashes, their schema and their references."""
    leaves = bytearray(32 * size)
    sha256 = hashlib.sha256
    expected = 0
    for index, row, stored in _merge(snap.event_batches(), snap.level_hashes(0)):
        if index > expected:
            gap = f"events {expected}-{index - 1} are" if index - 1 > expected else f"event {expected} is"
            report.add(f"event {expected}", f"{gap} missing (row deleted?)", EVENTS, expected)
        expected = index + 1
        if row is None:
            report.add(f"event {index}", "is missing but its leaf hash is stored (row deleted?)", EVENTS, index)
            continue
        body = bytes(row[4])
        leaf = sha256(b"\x00" + body).digest()
        if index < size:
            leaves[32 * index : 32 * index + 32] = leaf
        report.events_checked += 1
        if stored is None:
            report.add(f"event {index}", "has no stored leaf hash (row inserted?)", EVENTS, index)
        elif bytes(stored[1]) != leaf:
            report.add(f"event {index}", "content does not match its stored leaf hash (edited?)", EVENTS, index)
        _check_content(report, index, row, body, leaves)


def _check_content(report: VerifyReport, index: int, row: Any, body: bytes, leaves: bytearray) -> None:
    match = FAST.match(body)
    if match is not None:  # a valid canonical event: read what we need from the match (see fastform)
        groups = match.groupdict()
        case = groups.get("case")
        derived = (FAST.type_of(match), case[1:-1].decode() if case else None, groups["time"][1:-1].decode())
        refs = [(int(i), "sha256:" + h.decode()) for i, h in REF.findall(groups["refs"])]
    else:
        try:
            event = parse_event(body)
        except EventError as exc:
            report.add(f"event {index}", f"is not a valid event: {exc.message}", EVENTS, index)
            return
        derived = (event.type, getattr(event, "case", None), format_time(event.time))
        refs = [(r.index, r.leaf) for r in event.refs]
    columns = (row[1], row[2], row[3])
    if columns != derived:
        names = [n for n, a, b in zip(("type", "case_id", "time"), columns, derived, strict=True) if a != b]
        report.add(f"event {index}", f"column {', '.join(names)} does not match the event (edited?)", EVENTS, index)
    for ref_index, ref_leaf in refs:
        if ref_index >= index:
            report.add(f"event {index}", f"refers to event {ref_index}, which is not earlier", EVENTS, index)
        elif "sha256:" + leaves[32 * ref_index : 32 * ref_index + 32].hex() != ref_leaf:
            report.add(f"event {index}", f"refers to event {ref_index} with the wrong leaf hash", EVENTS, index)


def _check_subtrees(snap: Snapshot, report: VerifyReport, size: int) -> None:
    """Section 2: each stored level against the level below it; counts against the log size."""
    levels = dict(snap.node_levels())
    node = hashlib.sha256
    level = 0
    top = max(levels, default=0)
    while (size >> level) > 1 or level < top:
        width = size >> (level + 1)
        below = snap.level_hashes(level)

        def parents(stream: Iterator[list[tuple[Any, ...]]], lvl: int = level) -> Iterator[list[tuple[int, bytes]]]:
            pending: dict[int, bytes] = {}
            for batch in stream:
                out = []
                for idx, value in batch:
                    idx = int(idx)
                    pending[idx] = bytes(value)
                    if idx & 1 and idx - 1 in pending:
                        out.append((idx >> 1, node(b"\x01" + pending.pop(idx - 1) + pending.pop(idx)).digest()))
                    elif idx & 1:
                        pending.pop(idx)
                yield out

        for index, computed, stored in _merge(parents(below), snap.level_hashes(level + 1)):
            where = f"subtree level {level + 1} index {index}"
            pos = (level + 1) << 48 | index
            if stored is None:
                if index < width:
                    report.add(where, "is missing", SUBTREES, pos)
            elif index >= width:
                report.add(where, f"is stored beyond the log's {size} events (log truncated?)", SUBTREES, pos)
            elif computed is None:
                report.add(where, "has no stored children", SUBTREES, pos)
            elif bytes(stored[1]) != computed[1]:
                report.add(where, "does not match the hash of its two children (edited?)", SUBTREES, pos)
            report.subtrees_checked += stored is not None
        level += 1


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
) -> VerifyReport:
    report = VerifyReport()
    size = snap.size()
    report.size = size
    _check_events(snap, report, size)
    _check_subtrees(snap, report, size)
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
        _check_head(snap, report, sth, where, HEADS, row.id, public_key, verify_token)
    stored = {row.checkpoint for row in rows}
    for n, sth in enumerate(against):
        report.exported_checked += 1
        where = f"exported head of size {sth.size}"
        _check_head(snap, report, sth, where, EXPORTED, n, public_key, verify_token)
        if sth.checkpoint not in stored:  # every exported head was stored first: its row was deleted
            report.add(where, "is not among the log's stored heads (head row deleted?)", EXPORTED, n)
    report.problems = report.sorted_problems()
    return report
