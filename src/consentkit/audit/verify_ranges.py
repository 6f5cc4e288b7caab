"""``audit verify`` of a big log in several processes, each on its own range of leaves.

The leaves are cut into ranges of ``2^K`` (the last one shorter), so that every complete subtree up to level ``K``
lies inside one range. Each worker, with its own database connection and read snapshot, checks its range's events
and every stored subtree inside it, level by level, and returns the level-``K`` hash its range adds up to. This
process checks the heads meanwhile, then the levels above ``K`` from the workers' hashes, and counts each level's
stored hashes, so that a hash stored outside every range (beyond the log's size) is still found: when a count is off,
it checks the subtrees again here, whole levels at a time, to name what is wrong. Rows below the log's size never
change (the log only appends), so every worker's snapshot agrees with this one's on them.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from consentkit.audit.store import Snapshot
from consentkit.audit.verify import (
    Problem,
    VerifyReport,
    _check_events,
    _check_subtrees,
    _Leaves,
    _level,
)

RangeResult = tuple[list[Problem], int, int, int, list[bytes | None]]


def split(size: int, workers: int) -> tuple[int, list[tuple[int, int]]]:
    """``K`` and the ranges: about two per worker, each ``2^K`` leaves, so a slow one is evened out."""
    target = max(1, -(-size // (2 * workers)))
    k = max(0, target.bit_length() - 1)  # the largest power of two not above target
    step = 1 << k
    return k, [(a, min(a + step, size)) for a in range(0, size, step)]


@dataclass
class Ranges:
    size: int
    k: int
    bounds: list[tuple[int, int]]
    executor: ProcessPoolExecutor
    futures: list[Future[RangeResult]]

    def finish(self, snap: Snapshot, report: VerifyReport) -> None:
        """Collect the workers' findings and check what lies above or outside their ranges."""
        tops: list[bytes | None] = []
        with self.executor:
            for (start, end), future in zip(self.bounds, self.futures, strict=True):
                problems, events, subtrees, level, hashes = future.result()
                report.events_checked += events
                report.subtrees_checked += subtrees
                for problem in problems:
                    report.add(problem.where, problem.what, *problem.rank)
                if end - start == 1 << self.k:  # a full range adds up to one level-K subtree
                    assert level == self.k and len(hashes) == 1
                    tops += hashes
        size, k = self.size, self.k
        counts = dict(snap.node_levels())
        expected = {level: size >> level for level in range(size.bit_length()) if size >> level}
        if any(counts.get(level, 0) != expected[level] for level in range(k + 1)):
            # hashes missing inside a range, or stored beyond every range: check whole levels here, to name them
            report.subtrees_checked = 0
            _check_subtrees(snap, report, size, _level(snap, report, 0, size), counts=counts)
        else:
            _check_subtrees(snap, report, size, tops, level=k, counts=counts)


def start_ranges(url: str, size: int, workers: int) -> Ranges:
    k, bounds = split(size, workers)
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    futures = [executor.submit(range_worker, url, start, end) for start, end in bounds]
    return Ranges(size, k, bounds, executor, futures)


def range_worker(url: str, start: int, end: int) -> RangeResult:
    """Check events ``start <= index < end`` and the subtrees inside that range; return (problems, events checked,
    subtrees checked, the range's top level, its stored hashes there)."""
    from consentkit.audit.store import open_store

    report = VerifyReport()
    report.size = end
    store = open_store(url, migrate=False)
    try:
        with store.snapshot() as snap:
            leaves = _level(snap, report, 0, end, start, whole=False)
            _check_events(snap, report, start, end, _Leaves(leaves, start, snap))
            level, hashes = _check_subtrees(snap, report, end, leaves, low=start, whole=False)
    finally:
        store.close()
    return report.problems, report.events_checked, report.subtrees_checked, level, hashes
