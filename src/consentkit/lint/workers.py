"""Checking specs in worker processes: how many, how the specs are shared out, and how costly rules (the template
dry run) run beside the others. Workers are forked, so they inherit everything loaded so far (compiled patterns,
character tables, per-text results, warmed-up templates). What a worker checks is given as a ``Check``: the
runner's per-spec checking with its context bound, so this module knows nothing of rules' insides."""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consentkit.lint.cache import Entry
from consentkit.lint.findings import Finding
from consentkit.lint.registry import Rule

Problem = tuple[bool, str, str, int | None, str | None]  # yaml?, message, path, line, field


@dataclass
class SpecPhase:
    """What checking some specs gave: findings, load problems, time per part, and what to cache per file."""

    findings: list[Finding]
    problems: list[Problem]
    timings: dict[str, float]
    entries: dict[str, Entry] = field(default_factory=dict)  # path → what to cache for it


Check = Callable[[Sequence[Rule], Sequence[Path]], SpecPhase]
"""Check these specs with these rules (the lint context, options and cache digests bound)."""


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Loading specs allocates millions of objects that stay alive; Python's default collector thresholds then walk
    the growing heap again and again (a quarter of the load time for 300 specs). Freeze what exists, collect less
    often, and restore afterwards."""
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


_FORKED: tuple[Check, Sequence[Rule]] | None = None  # what the next forked workers inherit


def _forked_check(paths: Sequence[Path]) -> SpecPhase:
    assert _FORKED is not None
    check, rules = _FORKED
    return check(rules, paths)


PARALLEL_MIN_SPECS = 100
"""Below this many specs, worker processes cost more than they save (measured in bench/bench_lint.py)..."""

COSTLY_PARALLEL_MIN_SPECS = 4
"""... unless a costly rule runs (the template dry run, ~40 ms a spec after ~0.3 s of warming up): then from this
many specs."""


def default_jobs(n_specs: int, *, costly: bool = False) -> int:
    """Worker processes for ``n_specs``: ``$CONSENTKIT_LINT_JOBS`` if set, else one per core (at most 4) for large
    workspaces (or from :data:`COSTLY_PARALLEL_MIN_SPECS` when a ``costly`` rule is selected), else 1. Parallel
    checking needs the ``fork`` start method (Linux, and macOS when allowed)."""
    env = os.environ.get("CONSENTKIT_LINT_JOBS")
    if env and env.isdigit():
        return max(int(env), 1)
    least = COSTLY_PARALLEL_MIN_SPECS if costly else PARALLEL_MIN_SPECS
    if n_specs < least or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def spec_phase(check: Check, rules: Sequence[Rule], paths: Sequence[Path], jobs: int) -> list[SpecPhase]:
    """``check`` over ``paths``, in ``jobs`` processes when that is worth it."""
    global _FORKED
    if jobs <= 1 or len(paths) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [check(rules, paths)]
    if any(r.costly for r in rules) and any(not r.costly for r in rules):
        return _costly_apart(check, rules, paths, jobs)
    # The first spec here, before forking: the workers inherit its compiled patterns, character tables and
    # per-text results instead of each building their own.
    first = check(rules, paths[:1])
    rest = paths[1:]
    jobs = min(jobs, len(rest))
    chunks = [list(rest[i::jobs]) for i in range(jobs)]  # interleaved: big and small files spread evenly
    _FORKED = (check, rules)  # a pool forks its workers when it is created
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            return [first, *pool.map(_forked_check, chunks)]
    finally:
        _FORKED = None


def _costly_apart(check: Check, rules: Sequence[Rule], paths: Sequence[Path], jobs: int) -> list[SpecPhase]:
    """Costly rules (the template dry run) beside the others: one worker runs every other rule on every spec while
    this process warms the costly rules up on the first spec (imports, compiled templates, fonts: ~0.3 s), then
    ``jobs`` processes — this one and workers forked after the warm-up, so they inherit it — share the rest of the
    costly work. A spec is loaded in both; its load problems are taken from the first. The findings are the same
    as in one process: every check still runs once per spec, on its own."""
    light = [r for r in rules if not r.costly]
    costly = [r for r in rules if r.costly]
    light_job = _fork_check(check, light, list(paths))
    try:
        heavy = [check(costly, paths[:1])]
        rest = paths[1:]
        n = min(jobs, len(rest))
        chunks = [list(rest[i::n]) for i in range(n)]
        others = [_fork_check(check, costly, chunk) for chunk in chunks[1:]]
        try:
            if chunks:
                heavy.append(check(costly, chunks[0]))
        finally:
            heavy.extend(_fork_result(job) for job in others)
    finally:
        light_phase = _fork_result(light_job)
    return [_merge_apart(light_phase, heavy)]


_Job = tuple[Any, Any]  # (process, receiving end of its pipe)


def _fork_check(check: Check, rules: Sequence[Rule], paths: list[Path]) -> _Job:
    """Check ``paths`` with ``rules`` in a forked process (it inherits everything loaded so far); a plain process
    and a pipe rather than a pool, so no helper threads exist when the next worker is forked."""
    global _FORKED
    fork = multiprocessing.get_context("fork")
    receive, send = fork.Pipe(duplex=False)
    _FORKED = (check, rules)
    try:
        process = fork.Process(target=_child, args=(send, paths), daemon=True)
        process.start()
    finally:
        _FORKED = None
        send.close()
    return process, receive


def _child(send: Any, paths: list[Path]) -> None:
    try:
        result: tuple[bool, object] = (True, _forked_check(paths))
    except BaseException as exc:  # re-raised in the parent (``debug``), never swallowed
        result = (False, exc)
    try:
        send.send(result)
    except Exception as exc:  # an exception that cannot be pickled
        send.send((False, RuntimeError(f"a lint worker failed: {result[1]!r} ({exc})")))
    finally:
        send.close()


def _fork_result(job: _Job) -> SpecPhase:
    process, receive = job
    try:
        ok, value = receive.recv()
    except EOFError:
        raise RuntimeError(f"a lint worker process died (exit code {process.exitcode})") from None
    finally:
        receive.close()
        process.join()
    if not ok:
        raise value
    assert isinstance(value, SpecPhase)
    return value


def _merge_apart(light: SpecPhase, heavy: Sequence[SpecPhase]) -> SpecPhase:
    """One phase of the light and costly rules' results: every finding, the load problems once, and a cache entry
    for a file only where both halves made one."""
    findings = list(light.findings)
    timings = dict(light.timings)
    costly_entries: dict[str, Entry | None] = {}
    for phase in heavy:
        findings.extend(phase.findings)
        for key, value in phase.timings.items():
            if key != "parse":  # the costly half loads each spec again; count the reading once
                timings[key] = timings.get(key, 0.0) + value
        costly_entries.update(phase.entries)
    entries = {}
    for key, entry in light.entries.items():
        other = costly_entries.get(key)
        if other is not None:
            entries[key] = Entry(entry.digest, [*entry.hits, *other.hits], entry.problems)
    return SpecPhase(findings, light.problems, timings, entries)
