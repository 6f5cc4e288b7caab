"""PostgreSQL store for clinic groups (``database_url = "postgresql://…"``), through psycopg 3.

Appends are serialised by a transaction-level advisory lock (released at commit or when the connection dies), so
leaf indexes stay dense and ordered with any number of writers; readers use REPEATABLE READ snapshots.

Round trips, more than fsync, bounded one-event appends (measured: 11 round trips an event gave 740 events/s
durable and only 980/s with ``synchronous_commit=off``). So an append begins, takes the lock and reads the log's size
in one round trip; its inserts wait in a buffer until a read needs them or the commit, and then go to the server
with the COMMIT in one pipeline: two round trips an event, three when another writer appended since this connection's
last append (the tree's right border is read again). See ``_send`` for how concurrent writers share WAL flushes.

Single appends of events without references do better (``append_one``, migration 3): one statement in which the
server takes the lock, hashes the event into the tree and commits. Everything above is now for ``append_many``,
events with references, heads, and events left in the append queue.

The append queue (migration 2), which single appends used before migration 3 and still use when ``single_call`` is
off (the queue's tests) or while events wait in it, after Certificate Transparency's sequencer: the append lock is
held, round trips and all, by one writer at a time, so with many writers the log integrates their events in batches.
A writer first tries the lock without waiting (the same round trip as above); when it is free, it appends directly,
taking along anything queued. When it is taken, the writer queues its ready event (canonical bytes, leaf hash,
copied-out columns: a committed row of ``append_queue``, asynchronously, since nothing is acknowledged yet) and
waits in ``consentkit_sequence`` for the lock, all in one round trip. Whoever gets the lock integrates every queued
event in queue order, in one transaction (events, subtree hashes, the queue rows replaced by receipts: queue id →
index), commits it durably and only then frees the lock. A waiting writer whose event was in that batch finds its
receipt when the lock comes to it, takes it and frees the lock at once: its index is on disk, it writes nothing that
needs a flush. A writer that saw others queue once keeps queueing at once until it finds itself alone in its batch.
A writer killed after queueing leaves its event queued, and the next append integrates it: an unacknowledged event
may still be logged, as with any commit whose acknowledgement is lost. A writer killed while integrating leaves
nothing (its transaction rolls back, its session lock goes with its connection) and the batch stays queued. The
queue is not the log: nothing that reads the log reads it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from consentkit.audit.store.base import STREAM_BATCH, EventRow, QueueTurn, SqlStore, StoreError, Waiting, blob

_cursor_names = itertools.count()


_LOCK = "BEGIN; SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/consentkit-audit-append'))"
_LOCK_AND_SIZE = _LOCK + "; SELECT max(idx) FROM events"  # noqa: S608 - constants only
_ASYNC = "BEGIN; SET LOCAL synchronous_commit = off" + _LOCK_AND_SIZE.removeprefix("BEGIN")
_FLUSH_MARK = "SELECT pg_logical_emit_message(true, 'consentkit-flush', '')"
# {} is "off" with group commit (see _send), else "DEFAULT": the same statements either way, so results line up
_TRY_LOCK_AND_SIZE = (
    "BEGIN; SET LOCAL synchronous_commit = {};"
    " SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '/consentkit-audit-append'));"
    " SELECT max(idx), EXISTS (SELECT FROM append_queue WHERE idx IS NULL) FROM events"
)
_WAITING = "SELECT id, type, case_id, time, body, leaf FROM append_queue WHERE idx IS NULL ORDER BY id"
_UNLOCK = "SELECT pg_advisory_unlock(hashtext(current_schema() || '/consentkit-audit-append'))"
# one simple query, the event's values inlined as literals: queue it (committed asynchronously: not acknowledged yet),
# then wait for the lock or a receipt (consentkit_sequence, migration 2)
_QUEUE = (
    "BEGIN; SET LOCAL synchronous_commit = off;"
    " INSERT INTO append_queue (type, case_id, time, body, leaf) VALUES ({}, {}, {}, {}, {}) RETURNING id; COMMIT;"
    " SELECT * FROM consentkit_sequence(currval('append_queue_ids'), {})"
)


def _bytes(value: bytes) -> str:
    """A bytea literal of hex digits: nothing in it to quote."""
    return f"decode('{value.hex()}','hex')"


def _q(sql: str) -> str:
    return sql.replace("?", "%s")


class PostgresStore(SqlStore):
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._pending: list[tuple[str, Sequence[Sequence[Any]]]] = []  # writes of the open append, not yet sent
        self._buffering = False
        self._append_size: int | None = None  # read with the append lock, not yet asked for
        self._migrated = False
        self._group_commit = False  # set once the server lets this role write the flush marker (see _send)
        self._session_lock = False  # the append lock, taken for a queue batch, is held past transactions
        self._contended = False  # another writer was seen at this handle's last single append: queue at once
        try:
            self._db = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the audit database: {str(exc).strip()}") from exc
        self._escaping = psycopg.pq.Escaping(self._db.pgconn)  # libpq's quoting, for this connection's settings

    def migrate(self) -> None:
        super().migrate()
        self._migrated = True
        # a server (or a managed service's role) that refuses the flush marker gets plain synchronous commits: an
        # append that committed must never then fail on the marker, or its writer would append it again
        try:
            self._db.execute(f"BEGIN; {_FLUSH_MARK}; ROLLBACK")
            self._group_commit = True
        except psycopg.Error:
            self._rollback()

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self.counter.queries += 1
        self.flush()  # a read inside an append sees the append's own writes
        try:
            return self._db.execute(_q(sql), tuple(params)).fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"audit database: {str(exc).strip()}") from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self._buffering:  # sent with the next read or the commit
            self._pending.append((sql, rows))
            return
        self._send([(sql, rows)])

    def flush(self) -> None:
        if self._pending:
            writes, self._pending = self._pending, []
            self._send(writes)

    def _send(self, writes: Sequence[tuple[str, Sequence[Sequence[Any]]]], *, commit: bool = False) -> None:
        """The writes (and COMMIT) in one pipeline: one round trip, whatever their number. A failed write makes the
        server skip the rest, COMMIT included, and is raised here."""
        try:
            with self._db.pipeline(), self._db.cursor() as cur:
                for sql, rows in writes:
                    if len(rows) == 1:
                        cur.execute(_q(sql), tuple(rows[0]))
                    else:
                        cur.executemany(_q(sql), rows)
                if commit and self._session_lock:
                    # a queue batch: a durable commit under the lock (the writers whose events it holds take their
                    # receipts after it, so they need no flush of their own), then the lock is freed
                    cur.execute("COMMIT")
                    cur.execute(_UNLOCK)
                elif commit and not self._group_commit:
                    cur.execute("COMMIT")
                elif commit:
                    # group commit: the append commits without waiting for its WAL flush (synchronous_commit is off
                    # in it, see _ASYNC), which releases the lock at once. Then a second, implicit transaction
                    # commits at the pipeline's end and waits, durably, for a flush past it (WAL is flushed in
                    # order) while the next writer already holds the lock; concurrent writers' flushes are shared.
                    # It must write WAL to wait: a transaction that only takes an id does not (its commit is
                    # asynchronous, measured: 2 fsyncs for 200 appends). A transactional logical message writes a
                    # record any role may write, at any wal_level, and touches no table.
                    cur.execute("COMMIT")
                    cur.execute(_FLUSH_MARK)
        except psycopg.Error as exc:
            raise StoreError(f"audit database: {str(exc).strip()}") from exc
        if commit:
            self._session_lock = False

    def execute_script(self, statements: Sequence[str]) -> None:
        self.flush()
        for statement in statements:
            self._db.execute(statement)  # no parameters: '%' in function bodies is literal

    def stream(self, sql: str, params: Sequence[Any]) -> Iterator[Any]:
        for batch in self.stream_batches(sql, params):
            yield from batch

    def stream_batches(self, sql: str, params: Sequence[Any]) -> Iterator[list[Any]]:
        self.counter.queries += 1
        self.flush()
        with self._db.cursor(name=f"consentkit_{next(_cursor_names)}") as cur:
            cur.itersize = STREAM_BATCH
            cur.execute(_q(sql), tuple(params))
            while batch := cur.fetchmany(STREAM_BATCH):
                yield batch

    def _begin_read(self) -> None:
        self._db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def _begin_append(self) -> None:
        # one round trip (simple query protocol): begin, take the lock (one per schema, so separate logs in one
        # database do not wait for each other) and read the log's size under it
        try:
            if not self._migrated:  # migrating: there may be no events table yet
                self._db.execute(_LOCK)
            else:
                cur = self._db.execute(_ASYNC if self._group_commit else _LOCK_AND_SIZE)
                while cur.nextset():  # the results of BEGIN, SET, the lock, then the size
                    pass
                top = cur.fetchone()
                self._append_size = None if top is None else (0 if top[0] is None else int(top[0]) + 1)
        except psycopg.Error as exc:
            self._rollback()
            raise StoreError(f"audit database: {str(exc).strip()}") from exc
        self._pending, self._buffering = [], True

    def append_size(self) -> int | None:
        size, self._append_size = self._append_size, None
        return size

    def _commit(self) -> None:
        writes, self._pending, self._buffering, self._append_size = self._pending, [], False, None
        try:
            self._send(writes, commit=True)
        except StoreError:
            self._rollback()
            raise

    def _rollback(self) -> None:
        self._pending, self._buffering, self._append_size = [], False, None
        if self._db.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self._db.execute("ROLLBACK")
        if self._session_lock:  # a session-level lock outlives a rolled-back transaction
            self._session_lock = False
            self._db.execute("SELECT pg_advisory_unlock_all()")

    def _abandon(self) -> None:
        """Roll back after an interruption, if the connection still can (else closing it frees everything)."""
        try:
            self._rollback()
        except psycopg.Error:
            self._db.close()

    # --- one call, for any number of writers ---
    single_call = True  # the queue's tests turn it off, to append through the queue

    def append_one(self, row: EventRow) -> int | None:
        """The whole append of one event in one statement (migration 3's ``consentkit_append_one``): the server waits
        for the append lock, hashes the event into the tree, inserts it and commits, synchronously, in the
        statement's own transaction. One round trip; the lock is held only while the server works. None: events are
        queued and nothing was written (the ordinary path integrates them first). Values are inlined as literals
        (libpq's quoting for text, hex digits for bytes): one simple query, no statement to prepare."""
        if self._in_tx:
            raise StoreError("an append cannot be nested in another transaction")
        if not self._migrated or not self.single_call:
            return None
        text = self._literal
        query = (
            f"SELECT consentkit_append_one({text(row.type)}, {text(row.case_id)}, {text(row.time)}, {_bytes(row.body)})"
        )
        try:
            (index,) = self._db.execute(query.encode()).fetchone()  # type: ignore[misc]
        except psycopg.Error as exc:
            self._rollback()
            raise StoreError(f"audit database: {str(exc).strip()}") from exc
        except BaseException:  # interrupted: the statement's transaction commits whole or not at all
            self._abandon()
            raise
        return None if index is None else int(index)

    def _literal(self, value: str | None) -> str:
        if value is None:
            return "NULL"
        return self._escaping.escape_literal(value.encode()).decode()

    # --- the append queue ---
    queues_appends = True

    @contextmanager
    def queued(self, row: EventRow, leaf: bytes, known: int) -> Iterator[QueueTurn]:
        if self._in_tx:
            raise StoreError("an append cannot be nested in another transaction")
        turn = self._queue(row, leaf, known)
        if turn.index is not None:  # integrated by another writer's batch, and durable
            yield turn
            return
        self._pending, self._buffering = ([] if turn.direct else [("BEGIN", [()])]), True
        yield from self._held(turn)

    def _queue(self, row: EventRow, leaf: bytes, known: int) -> QueueTurn:
        """One round trip: queue the event, then wait for the lock or a receipt (see _QUEUE)."""
        self.flush()
        if not self._contended:
            turn = self._try_direct(row, leaf)
            if turn is not None:
                return turn
        text = self._literal
        query = _QUEUE.format(
            text(row.type),
            text(row.case_id),
            text(row.time),
            _bytes(row.body),
            _bytes(leaf),
            int(known),
        )
        self._session_lock = True  # maybe: until the turn's answer is read, an error must free it
        try:
            if self._db.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                query = "ROLLBACK; " + query  # the direct try's transaction, in the same round trip
            cur = self._db.execute(query.encode())
            results = []
            while True:
                if cur.description is not None:
                    results.append(cur.fetchall())
                if not cur.nextset():
                    break
            queued, rows = results[0][0][0], results[-1]  # the INSERT's id; the turn
        except psycopg.Error as exc:
            self._rollback()
            raise StoreError(f"audit database: {str(exc).strip()}") from exc
        except BaseException:  # interrupted while waiting: the lock may be held, and must not stay so
            self._abandon()
            raise
        top = rows[0][9]
        size = 0 if top is None else int(top) + 1
        if rows[0][0] == "receipt":  # another writer's batch holds the event
            self._session_lock = False
            self._contended = True
            return QueueTurn(self, int(queued), size, int(rows[0][2]), [])
        waiting = [
            Waiting(int(r[1]), str(r[4]), r[5], str(r[6]), blob(r[7]), blob(r[8])) for r in rows if r[0] == "waiting"
        ]
        border = {(int(r[3]), int(r[2])): blob(r[8]) for r in rows if r[0] == "border"}
        self._contended = len(waiting) > 1  # alone in its batch: the next append tries the lock first again
        return QueueTurn(self, int(queued), size, None, waiting, border=border if size != known else None)

    def _try_direct(self, row: EventRow, leaf: bytes) -> QueueTurn | None:
        try:
            cur = self._db.execute(_TRY_LOCK_AND_SIZE.format("off" if self._group_commit else "DEFAULT"))
            cur.nextset()
            cur.nextset()
            (got,) = cur.fetchone()  # type: ignore[misc]
            cur.nextset()
            top, queued = cur.fetchone()  # type: ignore[misc]
            # rarely anything: an event queued after a batch read the queue, or by a writer killed while it waited
            rows = self._db.execute(_WAITING).fetchall() if got and queued else []
        except psycopg.Error as exc:
            self._rollback()
            raise StoreError(f"audit database: {str(exc).strip()}") from exc
        except BaseException:
            self._abandon()
            raise
        if not got:
            self._contended = True
            return None
        # events left in the queue go first, then this writer's own, which never queued (id 0: the sequence starts at 1)
        waiting = [Waiting(int(i), str(t), c, str(tm), blob(b), blob(lf)) for i, t, c, tm, b, lf in rows]
        waiting.append(Waiting(0, row.type, row.case_id, row.time, row.body, leaf))
        return QueueTurn(self, 0, 0 if top is None else int(top) + 1, None, waiting, direct=True)

    def dequeue(self, ids: Sequence[int], receipts: Sequence[tuple[int, int]]) -> None:
        if not ids:
            return
        if not self._session_lock:
            # a direct append integrating queued events: their writers take their receipts once the lock is free,
            # so this commit must be durable before it frees the lock (as a batch's is), not asynchronous
            self.executemany("SET LOCAL synchronous_commit TO DEFAULT", [()])
        # the only removal in consentkit.audit: queued events once they are in the log (see test_audit_log)
        self.executemany("DELETE FROM append_queue WHERE id = ANY(?) AND idx IS NULL", [(list(ids),)])
        if receipts:
            self.executemany("INSERT INTO append_queue (id, idx) VALUES (?, ?)", receipts)

    def close(self) -> None:
        self._db.close()
