"""The audit log API on SQLite and a real PostgreSQL: append, heads, proofs, reading back, refusing bad events."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

import _pg_fixtures
from _audit_fixtures import SUBJECT, EventFactory, TestTsa, new_signer, open_log, sha
from consentkit.audit import events as ev
from consentkit.audit import merkle
from consentkit.audit.heads import SignedTreeHead, TreeHead
from consentkit.audit.log import AuditLog
from consentkit.audit.store import open_store
from consentkit.audit.store.migrations import MIGRATIONS
from consentkit.errors import VerificationError

audit_url, pg_server = _pg_fixtures.audit_url, _pg_fixtures.pg_server  # both databases

SRC = Path(__file__).resolve().parent.parent / "src" / "consentkit" / "audit"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> TestTsa:
    return TestTsa(tmp_path_factory.mktemp("tsa"))


def test_append_prove_and_head(audit_url: str, tsa: TestTsa) -> None:
    make = EventFactory()
    with open_log(audit_url, tsa) as log:
        assert log.size() == 0
        assert log.root() == merkle.EMPTY_ROOT
        done = [log.append(make()) for _ in range(5)]
        done += log.append_many([make() for _ in range(12)])
        assert [d.index for d in done] == list(range(17))
        assert done[-1].size == 17
        sth = log.head()
        assert sth.size == 17 and sth.id == 1
        for d in done:
            proof = log.prove_inclusion(d.index)
            assert proof.leaf == d.leaf
            proof.verify(sth.root)
        later = log.append(make(), head=True)
        assert later.size == 18
        assert len(log.heads()) == 2
        newest = log.latest_head()
        assert newest is not None and newest.size == 18
        log.prove_consistency(17).verify(sth.root, newest.root)
        log.prove_inclusion(3, 17).verify(sth.root)
        with pytest.raises(VerificationError):
            log.prove_inclusion(3, 17).verify(newest.root)
        with pytest.raises(VerificationError):
            log.prove_inclusion(18)
        report = log.verify()
        assert report.ok, report.problems
        assert report.heads_checked == 2 and report.events_checked == 18


def test_events_read_back_and_by_case(audit_url: str, tsa: TestTsa) -> None:
    make = EventFactory()
    with open_log(audit_url, tsa) as log:
        log.append_many([make(case="C-A"), make(case="C-B"), make(case="C-A")])
        stored = log.case_events("C-A")
        assert [s.index for s in stored] == [0, 2]
        assert stored[0].event.case == "C-A"
        assert stored[0].leaf == merkle.leaf_hash(stored[0].body)
        assert log.event(1).event.case == "C-B"
        assert log.case_events("C-none") == []


def test_refs_must_point_at_earlier_events(audit_url: str, tsa: TestTsa) -> None:
    make = EventFactory()
    with open_log(audit_url, tsa) as log:
        first = log.append(make(case="C-1"))
        ok = ev.procedure_started(
            case="C-1",
            subject=SUBJECT,
            actor="dr-wang",
            actor_role="physician",
            at=dt.datetime.now(dt.UTC),
            refs=(ev.ref(first.index, first.leaf),),
        )
        log.append(ok)
        for bad in (ev.ref(first.index, b"\x00" * 32), ev.ref(7, first.leaf)):
            with pytest.raises(ev.EventError):
                log.append(ok.model_copy(update={"refs": (bad,)}))
        assert log.size() == 2  # nothing half-written
        assert log.verify().ok


def test_reads_are_logarithmic(tmp_path: Path, tsa: TestTsa) -> None:
    make = EventFactory()
    with open_log(f"sqlite:///{tmp_path / 'a.sqlite3'}", tsa) as log:
        for _ in range(10):
            log.append_many([make() for _ in range(100)])
        log.store.counter.reset()
        proof = log.prove_inclusion(517)
        assert log.store.counter.nodes <= 2 * (1000).bit_length() + 1
        assert log.store.counter.queries <= 3
        assert len(proof.hashes) == 10


def test_subtree_reads_use_the_primary_key(audit_url: str, tsa: TestTsa) -> None:
    """The proof query is a handful of index lookups, never a scan of the nodes table."""
    with open_log(audit_url, tsa) as log:
        log.append_many([EventFactory()() for _ in range(40)])
        store: Any = log.store
        where = " OR ".join(["(level = ? AND idx = ?)"] * 3)
        sql = f"SELECT level, idx, hash FROM nodes WHERE {where}"
        params = [0, 5, 1, 3, 3, 1]
        if audit_url.startswith("sqlite:"):
            plan = " ".join(str(r) for r in store.fetchall("EXPLAIN QUERY PLAN " + sql, params))
            assert "SCAN nodes" not in plan and "PRIMARY KEY" in plan
        else:
            store.execute_script(["SET enable_seqscan = off"])  # a 40-row table would be scanned otherwise
            plan = " ".join(str(r) for r in store.fetchall("EXPLAIN " + sql, params))
            assert "Index" in plan, plan
        with log.store.snapshot() as snap:
            assert len(snap.read_nodes([(0, 5), (1, 3), (3, 1)])) == 3


def test_events_refuse_free_text_and_personal_data() -> None:
    base = {"case": "C-1", "subject": SUBJECT, "actor": "li.na", "actor_role": "nurse", "via": "audit-show"}
    ev.case_read(**base)  # type: ignore[arg-type]
    for key, value in (
        ("case", "王小明"),
        ("subject", "110101199003077777"),
        ("actor", "Wang Xiaoming"),
        ("via", "patient was anxious and cried"),
    ):
        with pytest.raises(ev.EventError):
            ev.case_read(**{**base, key: value})  # type: ignore[arg-type]
    body = ev.event_bytes(ev.case_read(**base))  # type: ignore[arg-type]
    for tampered in (
        body.replace(b'"v":1', b'"notes":"allergic to latex","v":1'),
        body.replace(b'"data":{', b'"data":{"name":"Wang",'),
        body.replace(b"Z", b"+00:00", 1),
        body + b" ",
        b'{"type":"case.read"}',
    ):
        with pytest.raises(ev.EventError):
            ev.parse_event(tampered)
    with pytest.raises(ev.EventError):
        ev.procedure_checkin(
            case="C-1",
            subject=SUBJECT,
            actor="li.na",
            actor_role="nurse",
            outcome="refused",
            at=dt.datetime.now(dt.UTC),
            reasons=[],
        )
    with pytest.raises(ev.EventError):
        ev.case_read(**{**base, "time": dt.datetime(2025, 1, 1)})  # type: ignore[arg-type]


@pytest.mark.parametrize("case_id", ["310101199605120028", "C-13800138000", "P-00000000001-x"])
def test_a_case_id_with_a_personal_number_never_enters_the_log(case_id: str) -> None:
    """An 18-character resident id or an 11-digit phone number as (part of) a case id: the pattern allows it, the
    constructors do not — the log is pseudonymous."""
    base = {"subject": SUBJECT, "actor": "li.na", "actor_role": "nurse", "via": "audit-show"}
    with pytest.raises(ev.EventError, match=r"run of 11 or more digits.*pseudonymous"):
        ev.case_read(case=case_id, **base)  # type: ignore[arg-type]
    ev.case_read(case="C-2026-0000000042", **base)  # type: ignore[arg-type]  # ten digits in a row at most: fine


def _string_fields_are_constrained(model: type, seen: set[type]) -> list[str]:
    """Every str field in every event model carries a pattern or is a Literal: no free text can enter."""
    from typing import Literal, get_args, get_origin

    from pydantic import BaseModel

    if model in seen:
        return []
    seen.add(model)
    loose = []
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        todo = [info.annotation]
        metadata = list(info.metadata)
        while todo:
            tp = todo.pop()
            if get_origin(tp) is Literal:
                continue
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                loose += _string_fields_are_constrained(tp, seen)
                continue
            if tp is str and not any(getattr(m, "pattern", None) for m in metadata):
                loose.append(f"{model.__name__}.{name}")
            for arg in get_args(tp):
                if arg is not Ellipsis:
                    todo.append(arg)
                    metadata += list(getattr(arg, "__metadata__", ()))
    return loose


def test_no_event_field_takes_free_text() -> None:
    seen: set[type] = set()
    loose = [f for cls in ev.EVENT_TYPES.values() for f in _string_fields_are_constrained(cls, seen)]
    assert loose == []


def test_every_event_type_round_trips() -> None:
    make = EventFactory()
    seen = set()
    for _ in range(12):
        e = make()
        body = ev.event_bytes(e)
        assert ev.parse_event(body) == e
        seen.add(e.type)  # type: ignore[attr-defined]
    assert len(seen) == 6


def test_no_update_or_delete_statement_in_the_audit_package() -> None:
    """The log has no update or delete path: no such SQL anywhere in the package (triggers mention the verbs
    only as 'BEFORE UPDATE ON', which this pattern does not match). One removal is allowed, from PostgreSQL's
    append_queue: a queued event is not in the log yet, and leaves the queue when its batch puts it there (and its
    writer's receipt when read); the log's own tables are never named after DELETE FROM."""
    forbidden = re.compile(
        r"\bUPDATE\s+(?!ON\b|OR\b)\w+\s+SET\b|\bDELETE\s+FROM\s+(?!append_queue\b)|\bREPLACE\s+INTO\b|\bINSERT\s+OR\s+REPLACE\b"
        r"|\bON\s+CONFLICT\b.*\bDO\s+UPDATE\b|\bTRUNCATE\s+(TABLE\s+)?(?!ON\b)\w+|\bDROP\s+(TABLE|TRIGGER)\b|\bUPSERT\b",
        re.IGNORECASE | re.DOTALL,
    )
    files = sorted(SRC.rglob("*.py"))
    assert len(files) >= 6
    for path in files:
        text = path.read_text(encoding="utf-8")
        match = forbidden.search(text)
        assert match is None, f"{path.name}: {match.group(0) if match else ''}"


def test_database_refuses_updates_and_deletes(audit_url: str, tsa: TestTsa) -> None:
    with open_log(audit_url, tsa) as log:
        log.append(EventFactory()())
        log.head()
    store = open_store(audit_url)
    try:
        for sql in ("UPDATE events SET type = 'x'", "DELETE FROM nodes", "UPDATE heads SET size = 9"):
            with pytest.raises(Exception, match="append-only"):
                store.execute_script([sql])  # type: ignore[attr-defined]
            store._rollback()  # type: ignore[attr-defined]
    finally:
        store.close()


def test_migrations_are_recorded_once(audit_url: str) -> None:
    for _ in range(2):
        store = open_store(audit_url)
        assert store.schema_version() == len(MIGRATIONS) == 3
        rows = store.fetchall("SELECT version, name FROM schema_migrations")  # type: ignore[attr-defined]
        assert len(rows) == 3
        store.close()


def test_head_export_round_trip(tmp_path: Path, tsa: TestTsa) -> None:
    signer = new_signer()
    with open_log(f"sqlite:///{tmp_path / 'a.sqlite3'}", tsa, signer) as log:
        log.append(EventFactory()())
        sth = log.head()
    files = sth.export(tmp_path / "head.json")
    assert [f.name for f in files] == ["head.json", "head.sig", "head.tsr"]
    loaded = SignedTreeHead.load(tmp_path / "head.json")
    assert loaded.checkpoint == sth.checkpoint and loaded.token == sth.token
    assert TreeHead.parse(loaded.checkpoint) == sth.head
    with pytest.raises(VerificationError):
        TreeHead.parse(sth.checkpoint.replace(b'"size":1', b'"size":01'))


def test_open_refuses_unknown_urls() -> None:
    from consentkit.audit.store import StoreError

    with pytest.raises(StoreError):
        AuditLog.open("mysql://x")


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    from consentkit.audit.store import StoreError

    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    store = open_store(url)
    store.executemany(  # type: ignore[attr-defined]
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [(99, "future", "now")]
    )
    store.close()
    with pytest.raises(StoreError, match="newer"):
        open_store(url)


def test_sha_helper() -> None:
    assert ev.sha256_id(b"x") == sha("x")


def test_missing_postgresql_fails_under_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI must not go green without the PostgreSQL tests: the README's test command (bootstrap.sh test, which is
    what .ci/run runs) sets CONSENTKIT_REQUIRE_POSTGRES."""
    import _pg_fixtures

    monkeypatch.setattr(_pg_fixtures, "pg_bin", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("CONSENTKIT_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="CI requires them"):
        _pg_fixtures.start_pg_server()
    monkeypatch.delenv("CONSENTKIT_REQUIRE_POSTGRES")
    with pytest.raises(pytest.skip.Exception):
        _pg_fixtures.start_pg_server()
    repo = Path(__file__).resolve().parent.parent
    bootstrap = (repo / "bootstrap.sh").read_text(encoding="utf-8")
    assert "test) CONSENTKIT_REQUIRE_POSTGRES=1 exec" in bootstrap
    assert "./bootstrap.sh test\n" in (repo / ".ci" / "run").read_text(encoding="utf-8")
