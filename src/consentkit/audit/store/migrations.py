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

# PostgreSQL's append queue (see postgres.py, "The append queue"): a ready event waits here, committed, until the
# writer holding the append lock integrates every waiting event in one batch. A row is either waiting (the event's
# columns and leaf hash set, no index) or a receipt (the index its event got, left for its writer, who removes it).
# Neither is an event: nothing that reads the log reads this table. Rows are removed, so no append-only trigger.
_POSTGRES_V2 = (
    "CREATE SEQUENCE append_queue_ids",
    """CREATE TABLE append_queue (
        id BIGINT PRIMARY KEY DEFAULT nextval('append_queue_ids'),
        idx BIGINT CHECK (idx >= 0),
        type TEXT,
        case_id TEXT,
        time TEXT,
        body BYTEA,
        leaf BYTEA CHECK (octet_length(leaf) = 32),
        CHECK ((idx IS NULL) = (type IS NOT NULL AND time IS NOT NULL AND body IS NOT NULL AND leaf IS NOT NULL)),
        CHECK (idx IS NULL OR (type IS NULL AND case_id IS NULL AND time IS NULL AND body IS NULL AND leaf IS NULL))
    )""",
    # Waits for the append lock (session-level: held past the caller's reads until its batch commits). If the
    # caller's event was integrated meanwhile (a batch commits durably before it frees the lock), takes its receipt,
    # frees the lock and returns one 'receipt' row: the index. Otherwise the caller holds the lock: a 'waiting' row
    # for every waiting event, in queue order, and, unless the caller knows the tree's right border for this size
    # (``known``), a 'border' row for each of its subtree hashes. Every row carries the log's largest index. Each
    # statement of a VOLATILE function sees a fresh snapshot, so whatever committed before the lock was freed is
    # seen. Removing a receipt need not wait for a flush (synchronous_commit off for it).
    """CREATE FUNCTION consentkit_sequence(queued BIGINT, known BIGINT)
    RETURNS TABLE (w_kind TEXT, w_id BIGINT, w_idx BIGINT, w_level SMALLINT, w_type TEXT, w_case_id TEXT, w_time TEXT,
                   w_body BYTEA, w_leaf BYTEA, w_top BIGINT)
    LANGUAGE plpgsql AS $$
    DECLARE
        done BIGINT;
        largest BIGINT;
        size BIGINT;
    BEGIN
        PERFORM pg_advisory_lock(hashtext(current_schema() || '/consentkit-audit-append'));
        DELETE FROM append_queue q WHERE q.id = queued AND q.idx IS NOT NULL RETURNING q.idx INTO done;
        SELECT max(e.idx) INTO largest FROM events e;
        IF done IS NOT NULL THEN
            PERFORM set_config('synchronous_commit', 'off', true);
            PERFORM pg_advisory_unlock(hashtext(current_schema() || '/consentkit-audit-append'));
            RETURN QUERY SELECT 'receipt', queued, done, NULL::SMALLINT, NULL::TEXT, NULL::TEXT, NULL::TEXT,
                NULL::BYTEA, NULL::BYTEA, largest;
            RETURN;
        END IF;
        RETURN QUERY SELECT 'waiting', q.id, q.idx, NULL::SMALLINT, q.type, q.case_id, q.time, q.body, q.leaf,
            largest FROM append_queue q WHERE q.idx IS NULL ORDER BY q.id;
        size := coalesce(largest + 1, 0);
        IF size <> known THEN  -- the complete subtrees left to right: one per bit of the size
            RETURN QUERY SELECT 'border', NULL::BIGINT, n.idx, n.level, NULL::TEXT, NULL::TEXT, NULL::TEXT,
                NULL::BYTEA, n.hash, largest
                FROM generate_series(0, 62) AS b(l) JOIN nodes n ON n.level = b.l AND n.idx = (size >> b.l) - 1
                WHERE (size >> b.l) & 1 = 1;
        END IF;
    END
    $$""",
)

# PostgreSQL's one-call append (see postgres.py, ``append_one``): the whole append of one event without references in
# one statement, its own transaction, committed synchronously: wait for the append lock, read the log's size, insert
# the event, its leaf hash (SHA-256 of 0x00 || the canonical bytes, RFC 9162) and every subtree it completes (a
# subtree's hash is SHA-256 of 0x01 || left || right; the left halves are read from the stored tree), and return the
# event's index. The lock is held only while the server does this, not across round trips or the client's work.
# While events are queued (migration 2: left by an earlier version, or by a writer killed after queueing) it writes
# nothing and returns NULL, and the writer takes the path that integrates them first. audit verify recomputes every
# hash from the events, as it does for hashes the client computed.
_POSTGRES_V3 = (
    r"""CREATE FUNCTION consentkit_append_one(e_type TEXT, e_case_id TEXT, e_time TEXT, e_body BYTEA)
    RETURNS BIGINT LANGUAGE plpgsql AS $$
    DECLARE
        size BIGINT;
        i BIGINT;
        l SMALLINT := 0;
        node BYTEA;
        left_hash BYTEA;
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '/consentkit-audit-append'));
        IF EXISTS (SELECT FROM append_queue q WHERE q.idx IS NULL) THEN
            RETURN NULL;
        END IF;
        SELECT coalesce(max(e.idx) + 1, 0) INTO size FROM events e;
        node := sha256('\x00'::BYTEA || e_body);
        INSERT INTO events (idx, type, case_id, time, body) VALUES (size, e_type, e_case_id, e_time, e_body);
        INSERT INTO nodes (level, idx, hash) VALUES (0, size, node);
        i := size;
        WHILE i % 2 = 1 LOOP  -- a right child: with its stored left sibling it completes their parent
            SELECT n.hash INTO left_hash FROM nodes n WHERE n.level = l AND n.idx = i - 1;
            IF left_hash IS NULL THEN
                RAISE EXCEPTION 'stored subtree (%, %) is missing', l, i - 1;
            END IF;
            node := sha256('\x01'::BYTEA || left_hash || node);
            l := l + 1;
            i := i / 2;
            INSERT INTO nodes (level, idx, hash) VALUES (l, i, node);
        END LOOP;
        RETURN size;
    END
    $$""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "audit log: events, subtree hashes, tree heads", _SQLITE_V1, _POSTGRES_V1),
    # nothing on SQLite (its appends do not queue); recorded there too, so both report the same schema version
    Migration(2, "PostgreSQL: the append queue", (), _POSTGRES_V2),
    Migration(3, "PostgreSQL: one-call appends", (), _POSTGRES_V3),
)
