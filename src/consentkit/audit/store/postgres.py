"""PostgreSQL store for clinic groups (``database_url = "postgresql://…"``), through psycopg 3.

Appends are serialised by a transaction-level advisory lock (released at commit or when the connection dies), so
leaf indexes stay dense and ordered with any number of writers; readers use REPEATABLE READ snapshots.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from consentkit.audit.store.base import STREAM_BATCH, SqlStore, StoreError

_cursor_names = itertools.count()


def _q(sql: str) -> str:
    return sql.replace("?", "%s")


class PostgresStore(SqlStore):
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        try:
            self._db = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the audit database: {str(exc).strip()}") from exc

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self.counter.queries += 1
        try:
            return self._db.execute(_q(sql), tuple(params)).fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"audit database: {str(exc).strip()}") from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            with self._db.cursor() as cur:
                cur.executemany(_q(sql), rows)
        except psycopg.Error as exc:
            raise StoreError(f"audit database: {str(exc).strip()}") from exc

    def execute_script(self, statements: Sequence[str]) -> None:
        for statement in statements:
            self._db.execute(statement)  # no parameters: '%' in function bodies is literal

    def stream(self, sql: str, params: Sequence[Any]) -> Iterator[Any]:
        for batch in self.stream_batches(sql, params):
            yield from batch

    def stream_batches(self, sql: str, params: Sequence[Any]) -> Iterator[list[Any]]:
        self.counter.queries += 1
        with self._db.cursor(name=f"consentkit_{next(_cursor_names)}") as cur:
            cur.itersize = STREAM_BATCH
            cur.execute(_q(sql), tuple(params))
            while batch := cur.fetchmany(STREAM_BATCH):
                yield batch

    def _begin_read(self) -> None:
        self._db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def _begin_append(self) -> None:
        self._db.execute("BEGIN")
        # one lock per schema, so separate logs in one database do not wait for each other
        self._db.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/consentkit-audit-append'))")

    def _commit(self) -> None:
        self._db.execute("COMMIT")

    def _rollback(self) -> None:
        if self._db.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self._db.execute("ROLLBACK")

    def close(self) -> None:
        self._db.close()
