"""Schema migrations of the audit database: numbered, forward-only, recorded in ``schema_migrations``.

Add a migration by appending to :data:`MIGRATIONS` with the next number and the statements for both databases;
never edit one that has shipped. The triggers refuse UPDATE, DELETE and TRUNCATE on the log's tables. They stop
mistakes, not an attacker with a database shell (who can drop them): ``consentkit audit verify`` is what detects
tampering.
"""

from __future__ import annotations

from dataclasses import dataclass

_TABLES = ("events", "nodes", "heads")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: str) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgresql


_SQLITE_V1 = (
    """CREATE TABLE events (
        idx INTEGER PRIMARY KEY CHECK (idx >= 0),
        type TEXT NOT NULL,
        case_id TEXT,
        time TEXT NOT NULL,
        body BLOB NOT NULL
    )""",
    "CREATE INDEX events_by_case ON events (case_id, idx) WHERE case_id IS NOT NULL",
    """CREATE TABLE nodes (
        level INTEGER NOT NULL CHECK (level >= 0 AND level < 64),
        idx INTEGER NOT NULL CHECK (idx >= 0),
        hash BLOB NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, idx)
    ) WITHOUT ROWID""",
    """CREATE TABLE heads (
        id INTEGER PRIMARY KEY,
        size INTEGER NOT NULL CHECK (size >= 0),
        root BLOB NOT NULL,
        time TEXT NOT NULL,
        checkpoint BLOB NOT NULL,
        signature BLOB NOT NULL,
        timestamp BLOB NOT NULL
    )""",
    *(
        f"CREATE TRIGGER {table}_append_only_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {verb} on {table} refused'); END"
        for table in _TABLES
        for verb in ("UPDATE", "DELETE")
    ),
)

_POSTGRES_V1 = (
    """CREATE TABLE events (
        idx BIGINT PRIMARY KEY CHECK (idx >= 0),
        type TEXT NOT NULL,
        case_id TEXT,
        time TEXT NOT NULL,
        body BYTEA NOT NULL
    )""",
    "CREATE INDEX events_by_case ON events (case_id, idx) WHERE case_id IS NOT NULL",
    """CREATE TABLE nodes (
        level SMALLINT NOT NULL CHECK (level >= 0 AND level < 64),
        idx BIGINT NOT NULL CHECK (idx >= 0),
        hash BYTEA NOT NULL CHECK (octet_length(hash) = 32),
        PRIMARY KEY (level, idx)
    )""",
    """CREATE TABLE heads (
        id BIGINT PRIMARY KEY,
        size BIGINT NOT NULL CHECK (size >= 0),
        root BYTEA NOT NULL,
        time TEXT NOT NULL,
        checkpoint BYTEA NOT NULL,
        signature BYTEA NOT NULL,
        timestamp BYTEA NOT NULL
    )""",
    """CREATE FUNCTION consentkit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
    END
    $$""",
    *(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION consentkit_append_only()"
        for table in _TABLES
    ),
    *(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION consentkit_append_only()"
        for table in _TABLES
    ),
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "audit log: events, subtree hashes, tree heads", _SQLITE_V1, _POSTGRES_V1),
)
