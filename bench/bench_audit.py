"""Audit-log benchmarks, printed as a table.

    .venv/bin/python bench/bench_audit.py                 # the full run: 1,000,000-event log
    .venv/bin/python bench/bench_audit.py --events 100000 # quicker
    .venv/bin/python bench/bench_audit.py --profile --workers 1   # cProfile of the whole verification, top 20

Targets (issue 5): appends ≥ 2,000/s on SQLite and PostgreSQL with a signed, timestamped tree head every 1,000
events; full verification of a 1,000,000-event log ≤ 10 s; an inclusion proof at 1,000,000 events ≤ 2 ms.
Each append row says whether its mode meets the goal: one transaction per event (one fsync each), 100 events a
transaction, and several processes appending at once at one transaction per event. The machine's load average is
printed with the table: on shared cores the wall times are upper bounds, the CPU times the steadier figure.

Real parts only: a workspace with its PKI, the embedded RFC 3161 TSA, the audit-log key, a SQLite file on disk
(WAL, synchronous=FULL) and a throwaway PostgreSQL server with fsync on. The big log is written through
``AuditLog.append_many`` — the append path itself, in transactions of 10,000 events — with a signed head every
10,000 events (100 heads for a million).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import functools
import hashlib
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from _audit_fixtures import PASSPHRASE, WorkspaceTsa  # noqa: E402
from consentkit.audit import events as ev  # noqa: E402
from consentkit.audit import merkle  # noqa: E402
from consentkit.audit.log import AuditLog  # noqa: E402

SUBJECT = "hmac-sha256:" + hashlib.sha256(b"bench patient").hexdigest()
T0 = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)


def event(i: int) -> ev._Event:
    """A realistic mix: one case's story repeated (about 300-450 bytes an event)."""
    case = f"C-2025-{i // 8:07d}"
    t = T0 + dt.timedelta(seconds=i)
    digest = "sha256:" + hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
    kind = i % 8
    common = {"case": case, "subject": SUBJECT, "time": t}
    if kind == 0:
        return ev.packet_generated(
            **common,
            actor="dr-wang",
            actor_role="physician",
            procedure="botulinum-toxin",
            version="1.2.0",
            spec=digest,
            locales=("zh-CN", "en"),
            files={"packet.pdf": digest, "manifest.json": digest},
        )
    if kind == 1:
        return ev.disclosure_presented(**common, actor="li.na", actor_role="nurse", how="printed", locales=["zh-CN"])
    if kind in (2, 3, 4):
        role = ("physician", "patient", "witness")[kind - 2]
        return ev.document_signed(
            **common,
            actor=SUBJECT if role == "patient" else "dr-wang",
            actor_role=role,  # type: ignore[arg-type]
            role=role,  # type: ignore[arg-type]
            field=f"sig-{role}",
            signer_cert=digest,
            tsa_time=t,
            file_name="packet.pdf",
            file_sha256=digest,
        )
    if kind == 5:
        return ev.procedure_checkin(**common, actor="li.na", actor_role="nurse", outcome="pass", at=t)
    if kind == 6:
        return ev.procedure_started(**common, actor="dr-wang", actor_role="physician", at=t)
    return ev.case_read(**common, actor="auditor-1", actor_role="auditor", via="audit-show")


def rate(label: str, log: AuditLog, count: int, batch: int, head_every: int) -> tuple[str, float, str]:
    events = [event(i) for i in range(count)]
    heads = 0
    start = time.perf_counter()
    for i in range(0, count, batch):
        chunk = events[i : i + batch]
        if batch == 1:
            log.append(chunk[0])
        else:
            log.append_many(chunk)
        if (i + len(chunk)) % head_every == 0:
            log.head()
            heads += 1
    seconds = time.perf_counter() - start
    how = "one transaction per event" if batch == 1 else f"{batch} events per transaction"
    return label, count / seconds, f"{how}, {heads} signed+timestamped heads"


def _appender(tsa: WorkspaceTsa, url: str, first: int, count: int, head_every: int, start: Any) -> None:
    """One of several processes appending ``count`` events, one transaction each, with a head every
    ``head_every`` of its own events; waits for ``start`` so that all begin together."""
    log = tsa.open(url)
    events = [event(first + i) for i in range(count)]
    start.wait()
    for i, e in enumerate(events, start=1):
        log.append(e)
        if i % head_every == 0:
            log.head()
    log.close()


def concurrent_rate(tsa: WorkspaceTsa, url: str, processes: int, per_process: int) -> tuple[float, int]:
    """Appends per second of ``processes`` processes at one transaction per event (a head per 1,000 events in
    all), and the log's size after (to show nothing was lost)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    start = context.Event()
    head_every = max(1, 1_000 // processes)
    workers = [
        context.Process(target=_appender, args=(tsa, url, p * per_process, per_process, head_every, start))
        for p in range(processes)
    ]
    for w in workers:
        w.start()
    time.sleep(0.5)  # every process has opened its log and built its events
    began = time.perf_counter()
    start.set()
    for w in workers:
        w.join()
    seconds = time.perf_counter() - began
    assert all(w.exitcode == 0 for w in workers)
    with tsa.open(url) as log:
        size = log.size()
    return processes * per_process / seconds, size


def build_big(log: AuditLog, count: int) -> float:
    start = time.perf_counter()
    step = 10_000
    for i in range(0, count, step):
        log.append_many([event(j) for j in range(i, min(i + step, count))])
        log.head()
    return time.perf_counter() - start


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="size of the big log (default 1,000,000)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the verification")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the workspace and databases")
    parser.add_argument("--verify-runs", type=int, default=3, help="verifications of the big log (best is shown)")
    parser.add_argument("--appenders", type=int, default=8, help="processes appending at once (default 8)")
    parser.add_argument("--workers", type=int, default=None, help="verification processes (default: up to 2)")
    args = parser.parse_args()
    os.environ.setdefault("CONSENTKIT_PASSPHRASE", PASSPHRASE)
    rows: list[tuple[str, str, str, str]] = []
    folder = Path(tempfile.mkdtemp(prefix="ck-bench-"))
    print(f"workspace, PKI and TSA in {folder} …", flush=True)
    tsa = WorkspaceTsa(folder / "clinic")

    # --- appends ---
    targets: list[tuple[str, str]] = [("SQLite", f"sqlite:///{folder / 'append.sqlite3'}")]
    server = None
    if not args.no_postgres:
        try:
            from _pg_fixtures import start_pg_server

            server = start_pg_server(durable=True)
            targets.append(("PostgreSQL", server.new_schema()))
        except BaseException as exc:  # pytest.skip outside pytest, or no server
            print(f"PostgreSQL skipped: {exc}")
    try:
        for name, url in targets:
            for batch, count in ((1, 2_000), (100, 20_000)):
                with tsa.open(url) as log:
                    label, per_second, note = rate(f"appends/s, {name}", log, count, batch, head_every=1_000)
                met = "met" if per_second >= 2_000 else "NOT met"
                rows.append((label, f"{per_second:,.0f}", f"≥ 2,000: {met}", note))
                print(rows[-1], flush=True)
            fresh = url.replace("append.sqlite3", "concurrent.sqlite3") if name == "SQLite" else server.new_schema()  # type: ignore[union-attr]
            each = 2_000 // args.appenders * 2
            per_second, size = concurrent_rate(tsa, fresh, args.appenders, each)
            met = "met" if per_second >= 2_000 else "NOT met"
            kept = "none lost" if size == args.appenders * each else f"{args.appenders * each - size:,} LOST"
            rows.append(
                (
                    f"appends/s, {name}, {args.appenders} processes",
                    f"{per_second:,.0f}",
                    f"≥ 2,000: {met}",
                    f"one transaction per event each, a head per ~1,000 events; {size:,} events, {kept}",
                )
            )
            print(rows[-1], flush=True)
    finally:
        if server is not None:
            server.stop()

    # --- the big log ---
    url = f"sqlite:///{folder / 'big.sqlite3'}"
    log = tsa.open(url)
    print(f"writing {args.events:,} events through append_many …", flush=True)
    built = build_big(log, args.events)
    rows.append(
        (
            f"append_many, SQLite, {args.events:,} events",
            f"{args.events / built:,.0f}/s",
            "",
            "10,000 a batch, a head each",
        )
    )
    size_mb = sum(p.stat().st_size for p in folder.glob("big.sqlite3*")) / 1e6
    print(rows[-1], f"database {size_mb:,.0f} MB", flush=True)

    log.close()
    from consentkit.audit.verify import PARALLEL_FROM

    processes = args.workers if args.workers is not None else min(2, os.cpu_count() or 1)
    parallel = args.events >= PARALLEL_FROM and processes > 1
    walls, cpus = [], []
    for run in range(args.verify_runs):
        log = tsa.open(url)  # a cold start each time: nothing cached in the process
        if args.profile and run == 0:
            profiler = cProfile.Profile()
            profiler.enable()
        before = os.times()
        seconds, report = timed(functools.partial(log.verify, workers=args.workers))
        after = os.times()
        if args.profile and run == 0:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
        assert report.ok, report.problems[:3]  # type: ignore[attr-defined]
        walls.append(seconds)
        cpus.append(sum(after[:4]) - sum(before[:4]))  # this process and its worker processes
        log.close()
        print(f"verify run {run + 1}: {seconds:.2f} s wall, {cpus[-1]:.2f} s CPU", flush=True)
    log = tsa.open(url)
    met = "met" if min(walls) <= 10 else "NOT met"
    spread = f"{min(walls):.2f}–{max(walls):.2f} s wall, CPU {min(cpus):.1f}–{max(cpus):.1f} s"
    rows.append(
        (
            f"full verify, {args.events:,} events",
            f"{min(walls):.2f} s",
            f"≤ 10 s: {met}",
            f"{len(walls)} runs: {spread}{f', ranges in {processes} processes' if parallel else ''}; "
            f"{report.subtrees_checked:,} subtree hashes, {report.heads_checked} heads",  # type: ignore[attr-defined]
        )
    )
    print(rows[-1], flush=True)

    # --- inclusion proofs ---
    n = log.size()
    sth = log.latest_head()
    assert sth is not None and sth.size == n
    rng = random.Random(5)
    indexes = [rng.randrange(n) for _ in range(1000)]
    log.store.counter.reset()
    seconds, proofs = timed(lambda: [log.prove_inclusion(i, n) for i in indexes])
    reads, queries = log.store.counter.nodes / len(indexes), log.store.counter.queries / len(indexes)
    check, _ = timed(lambda: [p.verify(sth.root) for p in proofs])  # type: ignore[attr-defined]
    rows.append(
        (
            f"inclusion proof at {n:,} events",
            f"{seconds / len(indexes) * 1000:.3f} ms",
            "≤ 2 ms",
            f"{reads:.0f} stored hashes in {queries:.0f} queries; verifying one: {check / len(indexes) * 1e6:.0f} µs",
        )
    )
    seconds, _ = timed(lambda: log.prove_consistency(n // 3, n))
    rows.append((f"consistency proof {n // 3:,} → {n:,}", f"{seconds * 1000:.3f} ms", "", ""))
    log.close()
    assert merkle.HASH_SIZE == 32

    width = [max(len(r[i]) for r in rows) for i in range(4)]
    headers = ("measure", "result", "goal", "how")
    width = [max(w, len(h)) for w, h in zip(width, headers, strict=True)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(headers, width, strict=True)))
    print("  ".join("-" * w for w in width))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, width, strict=True)))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n(machine: {os.cpu_count()} cores; load average at the end {load} (1, 5, 15 min); "
        f"Python {sys.version.split()[0]})"
    )
    if args.keep:
        print(f"files kept in {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
