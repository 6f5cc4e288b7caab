"""The default store: one SQLite file in the workspace's state folder, in WAL mode so readers never block the
writer, with every append in a ``BEGIN IMMEDIATE`` transaction so several processes append safely."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from consentkit.audit.store.base import STREAM_BATCH, SqlStore, StoreError

BUSY_TIMEOUT_SECONDS = 60.0


def sqlite_path(url: str) -> Path:
    """``sqlite:///relative/file`` or ``sqlite:////absolute/file`` → the file path."""
    if not url.startswith("sqlite:///"):
        raise StoreError(f"not a SQLite URL: {url}")
    path = url.removeprefix("sqlite:///")
    if not path:
        raise StoreError("the SQLite URL names no file (sqlite:///path/to/audit.sqlite3)")
    return Path(path)


class SqliteStore(SqlStore):
    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.path = sqlite_path(url)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.path.exists():  # pseudonymised, but still health records: owner-only from the first byte
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # an acknowledged event survives a power cut
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the audit database {self.path}: {exc}") from exc

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self.counter.queries += 1
        try:
            return self._db.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"audit database {self.path}: {exc}") from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self._db.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise StoreError(f"audit database {self.path}: {exc}") from exc

    def execute_script(self, statements: Sequence[str]) -> None:
        for statement in statements:
            self._db.execute(statement)

    def stream(self, sql: str, params: Sequence[Any]) -> Iterator[Any]:
        for batch in self.stream_batches(sql, params):
            yield from batch

    def stream_batches(self, sql: str, params: Sequence[Any]) -> Iterator[list[Any]]:
        self.counter.queries += 1
        try:
            cursor = self._db.execute(sql, tuple(params))
            try:
                while batch := cursor.fetchmany(STREAM_BATCH):
                    yield batch
            finally:
                cursor.close()
        except sqlite3.Error as exc:
            raise StoreError(f"audit database {self.path}: {exc}") from exc

    def _begin_read(self) -> None:
        try:
            self._db.execute("BEGIN")
        except sqlite3.Error as exc:
            raise StoreError(f"audit database {self.path}: {exc}") from exc

    def _begin_append(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"the audit database stayed locked for {BUSY_TIMEOUT_SECONDS:.0f} s: {exc}") from exc

    def _commit(self) -> None:
        self._db.execute("COMMIT")

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def close(self) -> None:
        self._db.close()
