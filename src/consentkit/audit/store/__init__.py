"""Where the audit log lives: one interface, two databases (SQLite by default, PostgreSQL for clinic groups).

Three append-only tables (see ``migrations.py``): ``events`` (leaf index → canonical event bytes, plus the type,
case and time copied out for lookups), ``nodes`` (the hash of every complete subtree, keyed by level and index,
tlog-style) and ``heads`` (signed, timestamped tree heads). No statement in this package updates or deletes a row
of them; appends happen in one exclusive transaction each, so leaf indexes stay dense and ordered with several
writers. On PostgreSQL, single appends may wait in ``append_queue`` (not part of the log; its rows are removed once
integrated) for a writer holding the lock to integrate them in a batch: see ``postgres.py``.
"""

from __future__ import annotations

from consentkit.audit.store.base import AppendTx, AuditStore, EventRow, HeadRow, ReadCounter, Snapshot, StoreError


def open_store(url: str, *, migrate: bool = True) -> AuditStore:
    """``sqlite:///path/to/audit.sqlite3`` or ``postgresql://user@host/db`` → a migrated store (``migrate=False``:
    as it is, for a reader that must not write)."""
    if url.startswith("sqlite:///"):
        from consentkit.audit.store.sqlite import SqliteStore

        store: AuditStore = SqliteStore(url)
    elif url.startswith(("postgresql://", "postgres://")):
        from consentkit.audit.store.postgres import PostgresStore

        store = PostgresStore(url)
    else:
        raise StoreError(f"unsupported database_url {url.split(':', 1)[0]!r}: use sqlite:///… or postgresql://…")
    if not migrate:
        return store
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


__all__ = ["AppendTx", "AuditStore", "EventRow", "HeadRow", "ReadCounter", "Snapshot", "StoreError", "open_store"]
