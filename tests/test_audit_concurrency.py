"""Several writers at once, and a writer killed mid-append — real processes, real files, a real PostgreSQL."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import _pg_fixtures
from _audit_fixtures import SUBJECT
from consentkit.audit import events as ev
from consentkit.audit.log import Appended, AuditLog, _row
from consentkit.audit.store.base import StoreError

audit_url, pg_server = _pg_fixtures.audit_url, _pg_fixtures.pg_server  # both databases

WRITERS = 8
EACH = 500


def _event(worker: int, n: int) -> ev.CaseRead:
    return ev.case_read(
        case=f"W{worker}-{n:04d}", subject=SUBJECT, actor=f"writer-{worker}", actor_role="staff", via="test"
    )


def _writer(url: str, worker: int, count: int, start: multiprocessing.synchronize.Event, queue: bool = False) -> None:
    with AuditLog.open(url) as log:
        if queue:  # PostgreSQL: through the append queue instead of one call each
            log.store.single_call = False  # type: ignore[attr-defined]
        events = [_event(worker, n) for n in range(count)]
        start.wait()
        for event in events:
            log.append(event)  # one transaction each: the hard case


@pytest.mark.slow
def test_eight_writers_lose_nothing(audit_url: str) -> None:
    _eight_writers(audit_url, queue=False)


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_writers_through_the_append_queue_lose_nothing(pg_server: _pg_fixtures.PgServer) -> None:
    _eight_writers(pg_server.new_schema(), queue=True)


def _eight_writers(audit_url: str, *, queue: bool) -> None:
    AuditLog.open(audit_url).close()  # migrate once, before the race
    _race(audit_url, WRITERS, EACH, queue=queue)
    with AuditLog.open(audit_url) as log:
        assert log.size() == WRITERS * EACH
        report = log.verify()
        assert report.ok, report.problems[:5]
        assert report.events_checked == WRITERS * EACH
        seen: dict[int, list[int]] = {w: [] for w in range(WRITERS)}
        with log.store.snapshot() as snap:
            for row in snap.events():
                worker, n = row.case_id[1:].split("-")  # type: ignore[union-attr]
                seen[int(worker)].append(int(n))
    for worker, numbers in seen.items():
        assert numbers == list(range(EACH)), f"writer {worker} lost or reordered events"
    if audit_url.startswith("postgresql"):
        with AuditLog.open(audit_url) as log:
            queued, waiting, receipts = _queue_state(log)
        if queue:  # the writers met: most appends went through the queue, none is left
            assert queued >= WRITERS * EACH // 4, f"only {queued} of {WRITERS * EACH} appends were queued"
        else:  # one call each: nothing queued
            assert queued == 0
        assert (waiting, receipts) == (0, 0)


def _race(url: str, writers: int, each: int, *, queue: bool) -> None:
    """``writers`` processes appending ``each`` events one at a time, released together; each must exit cleanly."""
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(url, w, each, start, queue)) for w in range(writers)]
    for p in procs:
        p.start()
    time.sleep(0.5)  # every process has opened its log and built its events
    start.set()
    for p in procs:
        p.join(timeout=600)
        assert p.exitcode == 0


def _queue_state(log: AuditLog) -> tuple[int, int, int]:
    """PostgreSQL's append queue: events ever queued, events waiting now, receipts not yet taken."""
    rows = log.store.fetchall(  # type: ignore[attr-defined]
        "SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM append_queue_ids),"
        " count(*) FILTER (WHERE idx IS NULL), count(*) FILTER (WHERE idx IS NOT NULL) FROM append_queue"
    )
    return int(rows[0][0]), int(rows[0][1]), int(rows[0][2])


CRASHING_WRITER = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {tests!r})
    from _audit_fixtures import SUBJECT
    from consentkit.audit import events as ev
    from consentkit.audit.log import AuditLog

    log = AuditLog.open({url!r})
    ready = {ready!r}
    def stall():
        open(ready, "w").close()   # inside the transaction, rows inserted, not committed
        time.sleep(600)
    n = 0
    while True:
        batch = [ev.case_read(case=f"K-{{n + i}}", subject=SUBJECT, actor="k", actor_role="staff", via="test")
                 for i in range(5)]
        if n >= {stall_after}:
            log._before_commit = stall
        log.append_many(batch)
        n += 5
    """
)


def _crashing_writer(tmp_path: Path, url: str, stall_after: int) -> subprocess.Popen[bytes]:
    ready = tmp_path / "ready"
    code = CRASHING_WRITER.format(tests=str(Path(__file__).parent), url=url, ready=str(ready), stall_after=stall_after)
    return subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def _wait_for(path: Path, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, "the writer died early"
        assert time.monotonic() < deadline, "the writer never reached its transaction"
        time.sleep(0.02)


def test_writer_killed_inside_the_transaction_leaves_no_partial_event(audit_url: str, tmp_path: Path) -> None:
    AuditLog.open(audit_url).close()
    proc = _crashing_writer(tmp_path, audit_url, stall_after=20)
    try:
        _wait_for(tmp_path / "ready", proc)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    with AuditLog.open(audit_url) as log:
        # the batch being written (events 20-24) is gone as a whole: rows and subtree hashes alike
        assert log.size() == 20
        report = log.verify()
        assert report.ok, report.problems[:5]
        log.append(_event(0, 0))  # and the log takes the next append at the next index
        assert log.size() == 21
        assert log.verify().ok


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.5])
def test_writer_killed_at_a_random_moment_leaves_a_valid_log(audit_url: str, tmp_path: Path, delay: float) -> None:
    AuditLog.open(audit_url).close()
    proc = _crashing_writer(tmp_path, audit_url, stall_after=10**9)
    try:
        deadline = time.monotonic() + 60
        with AuditLog.open(audit_url) as watcher:
            while watcher.size() < 10:  # it has started writing
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    with AuditLog.open(audit_url) as log:
        size = log.size()
        assert size % 5 == 0  # whole batches only
        report = log.verify()
        assert report.ok, report.problems[:5]
        with log.store.snapshot() as snap:
            assert [r.case_id for r in snap.events(size - 1)] == [f"K-{size - 1}"]


def test_two_handles_taking_turns_hash_onto_each_others_leaves(audit_url: str) -> None:
    """Each handle keeps the tree's right border after its own append; when the other handle appended in between, the
    border must be read again, or the new subtree hashes would be built on a stale tree."""
    with AuditLog.open(audit_url) as a, AuditLog.open(audit_url) as b:
        for n in range(40):
            (a if n % 3 else b).append(_event(n % 2, n))
            if n % 7 == 0:
                b.append_many([_event(2, 100 + n), _event(2, 200 + n)])
        assert a.size() == b.size() == 40 + 6 * 2
        assert a.root() == b.root()
        report = a.verify()
        assert report.ok, report.problems[:5]


def test_an_append_the_database_refuses_is_rolled_back_whole(audit_url: str) -> None:
    """The inserts of an append reach the database with its commit; one refused (here: a subtree hash a database
    shell put where the next leaf goes) fails the append with the database's reason and leaves no part of it."""
    with AuditLog.open(audit_url) as log:
        log.append_many([_event(0, n) for n in range(5)])
        with AuditLog.open(audit_url) as shell, shell.store.appending() as tx:
            tx.insert_nodes([((0, 5), b"\x00" * 32)])
        with pytest.raises(StoreError, match=r"(?i)unique|duplicate|constraint"):
            log.append_many([_event(0, 5), _event(0, 6)])
        assert log.size() == 5
        with log.store.snapshot() as snap:
            assert snap.event(5) is None


def test_a_failed_append_leaves_the_handle_usable(audit_url: str) -> None:
    """An append that fails inside its transaction forgets the tree border it was building, so the handle's next
    append hashes onto the stored tree."""
    with AuditLog.open(audit_url) as log:
        log.append_many([_event(0, n) for n in range(5)])

        def crash() -> None:
            raise RuntimeError("power cut")

        log._before_commit = crash
        with pytest.raises(RuntimeError):
            log.append_many([_event(0, 5), _event(0, 6)])
        log._before_commit = None
        log.append(_event(1, 0))
        assert log.size() == 6
        report = log.verify()
        assert report.ok, report.problems[:5]


@pytest.mark.postgres
def test_an_acknowledged_postgresql_append_is_flushed_to_disk() -> None:
    """Two-round-trip PostgreSQL appends (append_many) commit asynchronously (so the lock is free during the flush)
    and then wait for a WAL flush past them. That flush must really happen: an empty transaction writes no WAL and
    would not wait. One-call appends commit synchronously. On a server with fsync on, each append of either kind
    causes a WAL fsync."""
    import psycopg

    server = _pg_fixtures.start_pg_server(durable=True)
    try:
        url = server.new_schema()
        with psycopg.connect(url, autocommit=True) as stats:
            count = 30
            with AuditLog.open(url) as log:
                log.append(_event(0, 0))
                before = stats.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()[0]  # type: ignore[index]
                for n in range(1, count + 1):
                    if n % 2:
                        log.append(_event(0, n))  # one call
                    else:
                        log.append_many([_event(0, n)])  # the ordinary path
            # a backend reports its WAL statistics when it exits (or about once a second)
            deadline = time.monotonic() + 10
            while True:
                synced = stats.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()[0] - before  # type: ignore[index]
                if synced >= count or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        assert synced >= count, f"{count} acknowledged appends caused only {synced} WAL fsyncs"
    finally:
        server.stop()


@pytest.mark.postgres
def test_a_role_that_may_not_write_the_flush_marker_gets_synchronous_commits(pg_server: _pg_fixtures.PgServer) -> None:
    """A managed database may refuse the flush marker to the clinic's role. Then every append commits synchronously:
    an append that committed must never fail afterwards on the marker (its writer would append it again)."""
    import psycopg

    role = "ck_" + os.urandom(4).hex()
    url = pg_server.new_schema()
    schema = url.rsplit("search_path%3D", 1)[1]
    marker = "pg_logical_emit_message(boolean, text, text)"
    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"GRANT ALL ON SCHEMA {schema} TO {role}")
        admin.execute(f"REVOKE EXECUTE ON FUNCTION {marker} FROM PUBLIC")
        try:
            with AuditLog.open(url.replace("postgresql://postgres@", f"postgresql://{role}@")) as log:
                assert log.store._group_commit is False  # type: ignore[attr-defined]
                for n in range(5):
                    log.append(_event(0, n))
                log.append_many([_event(1, n) for n in range(3)])
                assert log.size() == 8
                report = log.verify()
                assert report.ok, report.problems[:5]
        finally:
            admin.execute(f"GRANT EXECUTE ON FUNCTION {marker} TO PUBLIC")
    with AuditLog.open(url) as log:  # the superuser may: group commit
        assert log.store._group_commit is True  # type: ignore[attr-defined]
        assert log.size() == 8


class _CountingConnection:
    """Stands in for a store's psycopg connection and counts the exchanges begun with the server (a query, or a
    pipeline: one round trip whatever it holds)."""

    def __init__(self, db: Any) -> None:
        self.db, self.exchanges = db, 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.exchanges += 1
        return self.db.execute(*args, **kwargs)

    def pipeline(self) -> Any:
        self.exchanges += 1
        return self.db.pipeline()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


@pytest.mark.postgres
def test_a_postgresql_append_is_one_call_in_which_the_server_hashes(pg_server: _pg_fixtures.PgServer) -> None:
    """Each single append of an event without references is one exchange with the server (migration 3), which hashes
    the event into the tree (leaf and every subtree it completes, as RFC 9162 says) and commits before it returns;
    the tree is the one the client-side paths build."""
    url = pg_server.new_schema()
    events = [_event(0, n) for n in range(37)]
    with AuditLog.open(url) as log:
        counting = _CountingConnection(log.store._db)  # type: ignore[attr-defined]
        log.store._db = counting  # type: ignore[attr-defined]
        done = [log.append(e) for e in events]
        assert counting.exchanges == 37
        assert [d.index for d in done] == list(range(37))
        log.store._db = counting.db  # type: ignore[attr-defined]
    with AuditLog.open(url) as other, AuditLog.open(pg_server.new_schema()) as client_side:
        assert other.size() == 37  # committed: another connection sees it
        report = other.verify()
        assert report.ok, report.problems[:5]
        client_side.append_many(events)  # the client hashes
        for size in (1, 2, 5, 16, 37):
            assert other.root(size) == client_side.root(size)
        with other.store.snapshot() as a, client_side.store.snapshot() as b:
            ids = [(level, i) for level in range(6) for i in range(37 >> level)]
            assert a.read_nodes(ids) == b.read_nodes(ids)


@pytest.mark.postgres
def test_a_database_from_before_one_call_appends_is_migrated_on_open(pg_server: _pg_fixtures.PgServer) -> None:
    """A log written by a consentkit with schema version 2 gets migration 3 when a newer one opens it, and keeps its
    events."""
    import psycopg

    url = pg_server.new_schema()
    with AuditLog.open(url) as log:
        log.append_many([_event(0, n) for n in range(3)])
    with psycopg.connect(url, autocommit=True) as shell:
        shell.execute("DROP FUNCTION consentkit_append_one")
        shell.execute("DELETE FROM schema_migrations WHERE version = 3")
    with AuditLog.open(url) as log:
        assert log.store.schema_version() == 3
        for n in range(3, 6):
            log.append(_event(0, n))
        assert log.size() == 6
        report = log.verify()
        assert report.ok, report.problems[:5]


@pytest.mark.postgres
def test_a_one_call_append_waits_for_a_session_holding_the_lock(pg_server: _pg_fixtures.PgServer) -> None:
    """While another session holds the append lock the call waits, writing nothing; it appends once the lock is
    freed."""
    import psycopg

    url = pg_server.new_schema()
    with AuditLog.open(url) as log, psycopg.connect(url, autocommit=True) as other:
        log.append(_event(0, 0))
        other.execute("SELECT pg_advisory_lock(hashtext(current_schema() || '/consentkit-audit-append'))")
        done: list[Appended] = []
        writer = threading.Thread(target=lambda: done.append(log.append(_event(0, 1))))
        writer.start()
        time.sleep(0.5)
        assert writer.is_alive() and not done
        assert other.execute("SELECT count(*) FROM events").fetchone()[0] == 1  # type: ignore[index]
        other.execute("SELECT pg_advisory_unlock_all()")
        writer.join(timeout=30)
        assert [d.index for d in done] == [1]
        assert log.size() == 2


@pytest.mark.postgres
def test_a_one_call_append_the_database_refuses_leaves_nothing(pg_server: _pg_fixtures.PgServer) -> None:
    """A one-call append whose subtree hash the database refuses (a database shell put one where the next leaf goes)
    fails with the database's reason and writes no event; so does the ordinary path."""
    url = pg_server.new_schema()
    with AuditLog.open(url) as log:
        log.append_many([_event(0, n) for n in range(5)])
        with AuditLog.open(url) as shell, shell.store.appending() as tx:
            tx.insert_nodes([((0, 5), b"\x00" * 32)])
        with pytest.raises(StoreError, match=r"(?i)unique|duplicate"):
            log.append(_event(0, 5))
        assert log.size() == 5
        with log.store.snapshot() as snap:
            assert snap.event(5) is None
        with pytest.raises(StoreError, match=r"(?i)unique|duplicate"):
            log.append_many([_event(0, 5)])


@pytest.mark.postgres
def test_events_left_in_the_queue_are_integrated_before_a_one_call_append(pg_server: _pg_fixtures.PgServer) -> None:
    """An event queued by a writer that died (or by an earlier version) is logged first: the call writes nothing
    while the queue holds one, and the ordinary path integrates it."""
    url = pg_server.new_schema()
    with AuditLog.open(url) as log:
        log.append(_event(0, 0))
        queued = _event(9, 9)
        row = _row(0, queued, ev.event_bytes(queued))
        leaf = hashlib.sha256(b"\x00" + row.body).digest()
        log.store.executemany(  # type: ignore[attr-defined]
            "INSERT INTO append_queue (type, case_id, time, body, leaf) VALUES (?, ?, ?, ?, ?)",
            [(row.type, row.case_id, row.time, row.body, leaf)],
        )
        done = log.append(_event(0, 1))
        assert done.index == 2
        assert _cases(log) == ["W0-0000", "W9-0009", "W0-0001"]
        assert _queue_state(log)[1:] == (0, 1)  # nothing waits; the receipt stays, nobody will ask for it
        report = log.verify()
        assert report.ok, report.problems[:5]


QUEUED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {tests!r})
    from _audit_fixtures import SUBJECT
    from consentkit.audit import events as ev
    from consentkit.audit.log import AuditLog

    log = AuditLog.open({url!r})   # migrating takes the append lock: open before the test holds it
    log.store.single_call = False   # through the append queue
    def stall():
        open({ready!r}, "w").close()   # integrating: the batch's rows inserted, not committed
        time.sleep(600)
    if {stall!r}:
        log._before_commit = stall
    open({opened!r}, "w").close()
    while not os.path.exists({go!r}):
        time.sleep(0.01)
    log.append(ev.case_read(case={case!r}, subject=SUBJECT, actor="q", actor_role="staff", via="test"))
    time.sleep(600)
    """
)


def _queued_writer(tmp_path: Path, url: str, case: str, *, stall: bool = False) -> subprocess.Popen[bytes]:
    """A writer process that opens the log, then appends one event once the test creates ``tmp_path/go``."""
    files = {name: str(tmp_path / name) for name in ("ready", "opened", "go")}
    code = QUEUED_WRITER.format(tests=str(Path(__file__).parent), url=url, stall=stall, case=case, **files)
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    _wait_for(tmp_path / "opened", proc)
    return proc


def _until(check: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert proc.poll() is None, "the writer died early"
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


def _lock_waiters(log: AuditLog) -> int:
    """Sessions waiting for an advisory lock (the append lock: one server per test process, one test at a time)."""
    rows = log.store.fetchall("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")  # type: ignore[attr-defined]
    return int(rows[0][0])


def _cases(log: AuditLog) -> list[str | None]:
    with log.store.snapshot() as snap:
        return [row.case_id for row in snap.events()]


@pytest.mark.postgres
def test_a_writer_killed_after_queueing_is_logged_by_the_next_writer(
    pg_server: _pg_fixtures.PgServer, tmp_path: Path
) -> None:
    """A PostgreSQL writer that finds the append lock taken queues its event (committed) and waits. Killed while
    it waits, its event stays queued (not acknowledged, yet not lost) and the next append integrates it first."""
    url = pg_server.new_schema()
    with AuditLog.open(url) as log, AuditLog.open(url) as blocker:
        log.append_many([_event(0, n) for n in range(3)])
        proc = _queued_writer(tmp_path, url, "Q-killed")
        with blocker.store.appending():  # holds the append lock
            (tmp_path / "go").touch()
            try:
                _until(lambda: _queue_state(log)[1] == 1 and _lock_waiters(log) == 1, proc, "queued and waiting")
                os.kill(proc.pid, signal.SIGKILL)
            finally:
                proc.wait(timeout=30)
        assert log.size() == 3  # a queued event is not in the log ...
        assert log.verify().ok
        assert _queue_state(log)[1] == 1  # ... but still queued
        done = log.append(_event(1, 0))
        assert (done.index, done.size) == (4, 5)
        assert _cases(log) == ["W0-0000", "W0-0001", "W0-0002", "Q-killed", "W1-0000"]
        assert _queue_state(log)[1:] == (0, 1)  # the dead writer's receipt stays: nobody will ask for it
        report = log.verify()
        assert report.ok, report.problems[:5]


@pytest.mark.postgres
def test_a_sequencer_killed_mid_integration_leaves_its_batch_queued(
    pg_server: _pg_fixtures.PgServer, tmp_path: Path
) -> None:
    """Two writers queue behind a held lock; the first to get it integrates both and is killed before its commit.
    Nothing of the batch is in the log, both events are still queued, and the other writer, next at the lock,
    integrates them."""
    url = pg_server.new_schema()
    result: list[Appended | BaseException] = []

    def second_writer(other: AuditLog) -> None:
        try:
            result.append(other.append(_event(2, 0)))
        except BaseException as exc:  # reported by the test
            result.append(exc)

    with AuditLog.open(url) as log, AuditLog.open(url) as blocker, AuditLog.open(url) as other:
        other.store.single_call = False  # type: ignore[attr-defined]  # through the append queue
        log.append_many([_event(0, n) for n in range(3)])
        proc = _queued_writer(tmp_path, url, "Q-sequencer", stall=True)
        with blocker.store.appending():
            (tmp_path / "go").touch()
            _until(lambda: _lock_waiters(log) == 1, proc, "the first writer waits for the lock")
            thread = threading.Thread(target=second_writer, args=(other,))
            thread.start()
            _until(lambda: _lock_waiters(log) == 2, proc, "the second writer waits too")
        try:  # the lock is free: the first writer (first in line) integrates both events, then stalls
            _wait_for(tmp_path / "ready", proc)
            assert log.size() == 3
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        thread.join(timeout=60)
        assert len(result) == 1 and isinstance(result[0], Appended), result
        assert sorted(_cases(log)[3:]) == ["Q-sequencer", "W2-0000"]
        assert result[0].size == 5 and _cases(log)[result[0].index] == "W2-0000"
        assert _queue_state(log)[1] == 0
        report = log.verify()
        assert report.ok, report.problems[:5]


@pytest.mark.postgres
def test_acknowledged_queued_appends_are_flushed_to_disk() -> None:
    """A batch commits durably before it frees the append lock, so the writers whose events it holds are told their
    index only once those are on disk; they write no WAL that needs a flush of its own. With fsync on: at least one
    WAL fsync per batch."""
    import psycopg

    server = _pg_fixtures.start_pg_server(durable=True)
    try:
        url = server.new_schema()
        AuditLog.open(url).close()
        with psycopg.connect(url, autocommit=True) as stats:
            before = stats.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()[0]  # type: ignore[index]
            _race(url, 4, 60, queue=True)
            with AuditLog.open(url) as log:
                queued = _queue_state(log)[0]
                assert log.size() == 240 and log.verify().ok
            # backends report their statistics when they exit (or about once a second)
            deadline = time.monotonic() + 10
            while True:
                synced = stats.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()[0] - before  # type: ignore[index]
                inserted = stats.execute(
                    "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'append_queue'"
                ).fetchone()[0]  # type: ignore[index]
                receipts = inserted - queued
                batches = queued - receipts  # a batch's sequencer takes no receipt, every other writer in it does
                if (receipts >= 1 and synced >= batches) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        assert receipts >= 1, "no append was integrated by another writer's batch"
        assert synced >= batches, f"{batches} batches made only {synced} WAL fsyncs"
    finally:
        server.stop()
