"""The storage interface and the SQL both databases share. Only inserts and selects on the log's tables: there is no
update or delete path (PostgreSQL's append queue, outside the log, removes its rows: see ``postgres.py``). The
dialects differ in placeholders, how a transaction takes the append lock, and how rows stream."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from consentkit.audit.merkle import NodeId
from consentkit.audit.store.migrations import MIGRATIONS, Migration
from consentkit.errors import EXIT_BAD_INPUT, ConsentkitError

STREAM_BATCH = 20_000
_Tx = TypeVar("_Tx", bound="AppendTx")


class StoreError(ConsentkitError):
    """The audit database cannot be opened, migrated or written."""

    exit_code = EXIT_BAD_INPUT


@dataclass(frozen=True)
class EventRow:
    index: int
    type: str
    case_id: str | None
    time: str
    body: bytes


@dataclass(frozen=True)
class HeadRow:
    id: int
    size: int
    root: bytes
    time: str
    checkpoint: bytes
    signature: bytes
    timestamp: bytes


@dataclass
class ReadCounter:
    """How much a piece of work read: SQL queries run, and stored subtree hashes fetched."""

    queries: int = 0
    nodes: int = 0

    def reset(self) -> None:
        self.queries = 0
        self.nodes = 0


class Snapshot:
    """Reads from one consistent state of the log (a read transaction)."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._store.fetchall(sql, params)

    def size(self) -> int:
        """The next leaf index: one past the highest stored event."""
        row = self._all("SELECT max(idx) FROM events")[0]
        return 0 if row[0] is None else int(row[0]) + 1

    def event_count(self) -> int:
        return int(self._all("SELECT count(*) FROM events")[0][0])

    def read_nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
        """Stored subtree hashes for ``ids``, in one query."""
        if not ids:
            return {}
        counter = self._store.counter
        counter.nodes += len(ids)
        found: dict[NodeId, bytes] = {}
        for chunk_start in range(0, len(ids), 200):
            chunk = ids[chunk_start : chunk_start + 200]
            # OR of point lookups: both databases answer it from the primary key (SQLite scans the whole table
            # for the row-value form "(level, idx) IN (VALUES …)")
            where = " OR ".join(["(level = ? AND idx = ?)"] * len(chunk))
            params = [v for node in chunk for v in node]
            rows = self._all(f"SELECT level, idx, hash FROM nodes WHERE {where}", params)  # noqa: S608
            for level, index, value in rows:
                found[(int(level), int(index))] = blob(value)
        return found

    def event(self, index: int) -> EventRow | None:
        rows = self._all("SELECT idx, type, case_id, time, body FROM events WHERE idx = ?", (index,))
        return _event_row(rows[0]) if rows else None

    def case_events(self, case_id: str) -> list[EventRow]:
        rows = self._all("SELECT idx, type, case_id, time, body FROM events WHERE case_id = ? ORDER BY idx", (case_id,))
        return [_event_row(r) for r in rows]

    def events(self, start: int = 0, end: int | None = None) -> Iterator[EventRow]:
        """Events with ``start <= index < end`` in index order, streamed."""
        sql = "SELECT idx, type, case_id, time, body FROM events WHERE idx >= ?"
        params: list[Any] = [start]
        if end is not None:
            sql += " AND idx < ?"
            params.append(end)
        for row in self._store.stream(sql + " ORDER BY idx", params):
            yield _event_row(row)

    def event_batches(
        self, start: int = 0, end: int | None = None
    ) -> Iterator[list[tuple[int, str, str | None, str, bytes]]]:
        """(index, type, case_id, time, body) of the events ``start <= index < end`` in index order, in batches
        (for verification)."""
        sql = "SELECT idx, type, case_id, time, body FROM events WHERE idx >= ?"
        params: list[Any] = [start]
        if end is not None:
            sql += " AND idx < ?"
            params.append(end)
        yield from self._store.stream_batches(sql + " ORDER BY idx", params)

    def node_levels(self) -> list[tuple[int, int]]:
        """(level, number of stored hashes) for every level present."""
        rows = self._all("SELECT level, count(*) FROM nodes GROUP BY level ORDER BY level")
        return [(int(a), int(b)) for a, b in rows]

    def level_hashes(self, level: int, start: int = 0, end: int | None = None) -> Iterator[list[tuple[int, bytes]]]:
        """(index, hash) of one level's stored subtrees (``start <= index < end``) in index order, in batches."""
        sql = "SELECT idx, hash FROM nodes WHERE level = ? AND idx >= ?"
        params: list[Any] = [level, start]
        if end is not None:
            sql += " AND idx < ?"
            params.append(end)
        yield from self._store.stream_batches(sql + " ORDER BY idx", params)

    def heads(self) -> list[HeadRow]:
        rows = self._all("SELECT id, size, root, time, checkpoint, signature, timestamp FROM heads ORDER BY id")
        return [
            HeadRow(int(i), int(s), blob(r), str(t), blob(c), blob(sig), blob(ts)) for i, s, r, t, c, sig, ts in rows
        ]


class AppendTx(Snapshot):
    """The one writer: holds the append lock until commit."""

    def size(self) -> int:
        known = self._store.append_size()
        return super().size() if known is None else known

    def insert_events(self, rows: Sequence[EventRow]) -> None:
        self._store.executemany(
            "INSERT INTO events (idx, type, case_id, time, body) VALUES (?, ?, ?, ?, ?)",
            [(r.index, r.type, r.case_id, r.time, r.body) for r in rows],
        )

    def insert_nodes(self, rows: Sequence[tuple[NodeId, bytes]]) -> None:
        self._store.executemany(
            "INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)",
            [(level, index, value) for (level, index), value in rows],
        )

    def insert_head(self, size: int, root: bytes, time: str, checkpoint: bytes, signature: bytes, token: bytes) -> int:
        row = self._all("SELECT max(id) FROM heads")[0]
        head_id = 1 if row[0] is None else int(row[0]) + 1
        self._store.executemany(
            "INSERT INTO heads (id, size, root, time, checkpoint, signature, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(head_id, size, root, time, checkpoint, signature, token)],
        )
        return head_id


@dataclass(frozen=True)
class Waiting:
    """An event in the append queue: ready (canonical bytes, leaf hash) but not yet in the log."""

    id: int
    type: str
    case_id: str | None
    time: str
    body: bytes
    leaf: bytes


class QueueTurn(AppendTx):
    """A queued append after its turn at the append lock. Either another writer's batch integrated the event
    (``index`` is set and the event is on disk), or this writer holds the lock and must integrate every event in
    ``waiting`` (its own, ``queued``, among them) at ``size`` onwards, in that order."""

    def __init__(
        self,
        store: SqlStore,
        queued: int,
        size: int,
        index: int | None,
        waiting: list[Waiting],
        *,
        direct: bool = False,
        border: dict[NodeId, bytes] | None = None,
    ) -> None:
        super().__init__(store)
        self.queued = queued
        self.direct = direct  # not queued: the lock was free; this writer's event (queue id 0) comes last in waiting
        self.border = border  # the tree's right border at ``size``, when read with the turn
        self._size = size
        self.index = index
        self.waiting = waiting

    def size(self) -> int:
        return self._size

    def dequeue(self, receipts: Sequence[tuple[int, int]]) -> None:
        """Remove the integrated events from the queue, leaving each other writer a receipt: (queue id, index)."""
        self._store.dequeue([w.id for w in self.waiting if not (self.direct and w.id == self.queued)], receipts)


def _event_row(row: Sequence[Any]) -> EventRow:
    return EventRow(int(row[0]), str(row[1]), None if row[2] is None else str(row[2]), str(row[3]), blob(row[4]))


def blob(value: Any) -> bytes:
    """A stored binary value as bytes, whatever someone with a database shell put there (text, a number), so
    that verification compares it and reports a mismatch instead of failing on its type."""
    if type(value) is bytes:
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return b"" if value is None else str(value).encode()


class AuditStore(ABC):
    """What the audit log needs from a database."""

    url: str
    counter: ReadCounter

    @abstractmethod
    def migrate(self) -> None: ...

    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[Snapshot]:
        """A read transaction over one consistent state."""

    @abstractmethod
    def appending(self) -> AbstractContextManager[AppendTx]:
        """The exclusive append transaction."""

    @abstractmethod
    def close(self) -> None: ...

    def flush(self) -> None:  # noqa: B027 - a no-op for stores that do not buffer
        """Send the open append's buffered writes to the database now (they are still uncommitted)."""

    def append_size(self) -> int | None:
        """The log's size as read when the open append took its lock, the first time it is asked (else None)."""
        return None

    queues_appends = False  # whether single appends go through an append queue (see queued)

    def queued(self, row: EventRow, leaf: bytes, known: int) -> AbstractContextManager[QueueTurn]:
        """Queue one ready event (``row.index`` is ignored; ``known``: the log size whose right border the caller
        knows, else -1), then wait for the append lock or for another writer to
        integrate it; see :class:`QueueTurn`. Holding the lock, the block integrates and the exit commits."""
        raise StoreError("this database has no append queue")

    def dequeue(self, ids: Sequence[int], receipts: Sequence[tuple[int, int]]) -> None:
        raise StoreError("this database has no append queue")

    def append_one(self, row: EventRow) -> int | None:
        """Append one event (``row.index`` is ignored) in one exchange with the database, which hashes it into the
        tree; its index, or None when this store cannot (the caller takes the ordinary path)."""
        return None

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SqlStore(AuditStore):
    """SQL shared by SQLite and PostgreSQL; subclasses supply the connection and the transaction verbs."""

    dialect: str

    def __init__(self, url: str) -> None:
        self.url = url
        self.counter = ReadCounter()
        self._in_tx = False

    # --- dialect hooks ---
    @abstractmethod
    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def execute_script(self, statements: Sequence[str]) -> None: ...

    @abstractmethod
    def stream(self, sql: str, params: Sequence[Any]) -> Iterator[Any]: ...

    @abstractmethod
    def stream_batches(self, sql: str, params: Sequence[Any]) -> Iterator[list[Any]]: ...

    @abstractmethod
    def _begin_read(self) -> None: ...

    @abstractmethod
    def _begin_append(self) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _rollback(self) -> None: ...

    # --- transactions ---
    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        if self._in_tx:  # nested in an append: read what the writer sees
            yield Snapshot(self)
            return
        self._begin_read()
        self._in_tx = True
        try:
            yield Snapshot(self)
        finally:
            self._in_tx = False
            self._rollback()  # read-only: nothing to keep

    @contextmanager
    def appending(self) -> Iterator[AppendTx]:
        """An exclusive write transaction: committed when the block ends normally, rolled back otherwise."""
        if self._in_tx:
            raise StoreError("an append transaction cannot be nested in another transaction")
        self._begin_append()
        yield from self._held(AppendTx(self))

    def _held(self, tx: _Tx) -> Iterator[_Tx]:
        """Yield ``tx`` (its transaction already begun); commit when the block ends normally, else roll back."""
        self._in_tx = True
        try:
            yield tx
        except BaseException:
            self._in_tx = False
            self._rollback()
            raise
        self._in_tx = False
        self._commit()

    # --- migrations ---
    def migrations(self) -> list[Migration]:
        return list(MIGRATIONS)

    def migrate(self) -> None:
        """Apply every migration this database lacks, in order, each once (forward-only)."""
        self._begin_append()
        try:
            self.execute_script([_MIGRATIONS_TABLE[self.dialect]])
            applied = {int(r[0]) for r in self.fetchall("SELECT version FROM schema_migrations")}
            known = {m.version for m in self.migrations()}
            newer = sorted(applied - known)
            if newer:
                raise StoreError(
                    f"the audit database has schema version {newer[-1]}, newer than this consentkit knows "
                    f"({max(known)}); upgrade consentkit"
                )
            for migration in self.migrations():
                if migration.version in applied:
                    continue
                self.execute_script(migration.statements(self.dialect))
                self.executemany(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [(migration.version, migration.name, dt.datetime.now(dt.UTC).isoformat())],
                )
        except BaseException:
            self._rollback()
            raise
        self._commit()

    def schema_version(self) -> int:
        rows = self.fetchall("SELECT max(version) FROM schema_migrations")
        return int(rows[0][0] or 0)


_MIGRATIONS_TABLE = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    "postgresql": "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
}
