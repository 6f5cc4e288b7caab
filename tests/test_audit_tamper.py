"""Tampering with the stored rows, as someone with a database shell would (triggers dropped first), is always
detected by ``verify`` — on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _pg_fixtures
from _audit_fixtures import EventFactory, RawDb, WorkspaceTsa
from consentkit.audit.heads import SignedTreeHead
from consentkit.audit.log import AuditLog

audit_url, pg_server = _pg_fixtures.audit_url, _pg_fixtures.pg_server  # both databases
fresh_audit_url = _pg_fixtures.fresh_audit_url

TAMPERS = [
    "edit-body",
    "edit-body-rebuild-tree",
    "edit-column",
    "delete",
    "delete-with-leaf",
    "delete-rebuild-tree",
    "insert-middle",
    "insert-middle-rebuild-tree",
    "insert-end-without-tree",
    "swap",
    "swap-rebuild-tree",
    "truncate-events",
    "truncate-events-and-tree",
    "truncate-everything",  # events, subtrees and heads: only an exported head can tell
    "edit-subtree",
    "delete-subtree",
    "edit-head",
    "delete-head",
]


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> WorkspaceTsa:
    """The real embedded TSA of a workspace, its audit-log key, and the real token verifier."""
    return WorkspaceTsa(tmp_path_factory.mktemp("ws") / "clinic")


def build_log(url: str, tsa: WorkspaceTsa, chunks: list[int]) -> tuple[AuditLog, SignedTreeHead]:
    """A log appended in ``chunks`` with a head after each; returns the log and its last head."""
    log = tsa.open(url)
    make = EventFactory()
    sth = None
    for n in chunks:
        log.append_many([make() for _ in range(n)])
        sth = log.head()
    assert sth is not None
    return log, sth


def edited_token(db: RawDb, head: int, heads: int, data: st.DataObject) -> bytes:
    """Another head's token, a cut one, or one with a byte changed in what the TSA signed (the TSTInfo, the
    signed attributes, the signature). Bytes outside those (the certificate bag, the digest-algorithm list) can
    change without changing what the token proves; the TSA verifier rightly ignores them."""
    from asn1crypto import cms

    old = db.run("SELECT timestamp FROM heads WHERE id = ?", head)[0][0]
    how = data.draw(st.sampled_from(["other-head", "cut", "flip-signed"]), label="how")
    if how == "other-head" and heads > 1:
        return db.run("SELECT timestamp FROM heads WHERE id = ?", 1 + head % heads)[0][0]  # type: ignore[no-any-return]
    if how != "flip-signed":
        return old[: len(old) // 2]  # type: ignore[no-any-return]
    signed = cms.ContentInfo.load(old)["content"]
    signer = signed["signer_infos"][0]
    parts = [
        signed["encap_content_info"]["content"].contents,
        signer["signed_attrs"].contents,
        signer["signature"].contents,
    ]
    part = parts[data.draw(st.integers(0, 2), label="part")]
    start = old.find(part)
    assert start > 0
    pos = start + data.draw(st.integers(0, 1 << 16), label="byte") % len(part)
    return old[:pos] + bytes([old[pos] ^ 0x40]) + old[pos + 1 :]  # type: ignore[no-any-return]


def apply(db: RawDb, kind: str, n: int, heads: int, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, n - 1), label="row")
    if kind.startswith("edit-body"):
        body = dict(db.bodies())[i]
        pos = data.draw(st.integers(0, 1 << 16), label="byte") % len(body)
        flip = data.draw(st.integers(1, 255), label="xor")
        edited = body[:pos] + bytes([body[pos] ^ flip]) + body[pos + 1 :]
        db.run("UPDATE events SET body = ? WHERE idx = ?", edited, i)
    elif kind == "edit-column":
        column = data.draw(st.sampled_from(["type", "case_id", "time"]), label="column")
        db.run(f"UPDATE events SET {column} = ? WHERE idx = ?", "X-1", i)
    elif kind.startswith("delete") and "subtree" not in kind and "head" not in kind:
        db.run("DELETE FROM events WHERE idx = ?", i)
        if kind == "delete-with-leaf":
            db.run("DELETE FROM nodes WHERE level = 0 AND idx = ?", i)
        if kind == "delete-rebuild-tree":  # close the gap and recompute everything
            db.run("UPDATE events SET idx = idx + 999999 WHERE idx > ?", i)
            db.run("UPDATE events SET idx = idx - 1000000 WHERE idx > ?", 999999)
    elif kind.startswith("insert"):
        body = dict(db.bodies())[i]
        if kind == "insert-end-without-tree":
            db.run(
                "INSERT INTO events (idx, type, case_id, time, body) SELECT ?, type, case_id, time, body "
                "FROM events WHERE idx = ?",
                n,
                i,
            )
        else:  # shift the tail up by one and put a copy of another event in the gap (a copy of event i itself
            # would only repeat it: when i is the last event, that is an ordinary append after the last head)
            other = (i + 1) % n
            db.run("UPDATE events SET idx = idx + 1000001 WHERE idx >= ?", i)
            db.run("UPDATE events SET idx = idx - 1000000 WHERE idx >= ?", 1000000)
            db.run(
                "INSERT INTO events (idx, type, case_id, time, body) SELECT ?, type, case_id, time, body "
                "FROM events WHERE idx = ?",
                i,
                other + (other >= i),
            )
        assert body
    elif kind.startswith("swap"):
        j = data.draw(st.integers(0, n - 1).filter(lambda j: j != i), label="other row")
        db.run("UPDATE events SET idx = ? WHERE idx = ?", 10_000_000, i)
        db.run("UPDATE events SET idx = ? WHERE idx = ?", i, j)
        db.run("UPDATE events SET idx = ? WHERE idx = ?", j, 10_000_000)
    elif kind.startswith("truncate"):
        k = data.draw(st.integers(1, n), label="rows cut")
        db.run("DELETE FROM events WHERE idx >= ?", n - k)
        if kind != "truncate-events":
            db.rebuild_tree()
        if kind == "truncate-everything":
            db.run("DELETE FROM heads WHERE size > ?", n - k)
    elif kind == "edit-subtree":
        rows = db.run("SELECT level, idx, hash FROM nodes ORDER BY level, idx")
        level, index, value = rows[data.draw(st.integers(0, len(rows) - 1), label="subtree")]
        db.run("UPDATE nodes SET hash = ? WHERE level = ? AND idx = ?", bytes([value[0] ^ 1]) + value[1:], level, index)
    elif kind == "delete-subtree":
        rows = db.run("SELECT level, idx FROM nodes ORDER BY level, idx")
        level, index = rows[data.draw(st.integers(0, len(rows) - 1), label="subtree")]
        db.run("DELETE FROM nodes WHERE level = ? AND idx = ?", level, index)
    elif kind == "edit-head":
        head = data.draw(st.integers(1, heads), label="head")
        column = data.draw(st.sampled_from(["size", "root", "time", "checkpoint", "signature", "timestamp"]))
        value: object = {"size": 0, "time": "2020-01-01T00:00:00.000000Z"}.get(column)
        if column == "timestamp":
            value = edited_token(db, head, heads, data)
        elif value is None:
            old = db.run(f"SELECT {column} FROM heads WHERE id = ?", head)[0][0]
            pos = data.draw(st.integers(0, 1 << 16), label="byte") % len(old)  # DER lengths vary
            value = old[:pos] + bytes([old[pos] ^ 0x40]) + old[pos + 1 :]
        db.run(f"UPDATE heads SET {column} = ? WHERE id = ?", value, head)
    elif kind == "delete-head":
        head = data.draw(st.integers(1, heads - 1), label="head") if heads > 1 else None
        if head is None:  # only one head: delete it and rely on the exported copy
            db.run("DELETE FROM heads")
        else:
            db.run("DELETE FROM heads WHERE id = ?", head)
    if kind.endswith("rebuild-tree"):
        db.rebuild_tree()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    chunks=st.lists(st.integers(1, 9), min_size=1, max_size=4).filter(lambda c: sum(c) >= 2),
    kind=st.sampled_from(TAMPERS),
    data=st.data(),
)
def test_any_tampering_is_detected(
    fresh_audit_url: Callable[[], str],
    tsa: WorkspaceTsa,
    tmp_path: Path,
    chunks: list[int],
    kind: str,
    data: st.DataObject,
) -> None:
    url = fresh_audit_url()
    log, last = build_log(url, tsa, chunks)
    exported = SignedTreeHead.load(last.export(tmp_path / f"head-{url[-12:].replace('/', '-')}.json")[0])
    assert log.verify(against=[exported]).ok
    db = RawDb(url)
    try:
        apply(db, kind, sum(chunks), len(chunks), data)
    finally:
        db.close()
    against = [exported] if kind in ("truncate-everything", "delete-head") else []
    report = log.verify(against=against)
    log.close()
    assert not report.ok, f"{kind} went unnoticed"
    assert str(report.problems[0])


def test_rollback_to_an_earlier_state_is_detected_with_an_exported_head(audit_url: str, tsa: WorkspaceTsa) -> None:
    """The database restored from an old backup (or cut back) verifies on its own, but not against a head that
    was exported before the rollback."""
    log, old = build_log(audit_url, tsa, [3])
    log.close()
    backup_bodies = None
    log, newer = build_log(audit_url, tsa, [4])  # same database, 4 more events
    assert newer.size == 7
    db = RawDb(audit_url)
    try:
        backup_bodies = db.bodies()[:3]
        db.run("DELETE FROM events WHERE idx >= 3")
        db.rebuild_tree()
        db.run("DELETE FROM heads WHERE size > 3")
    finally:
        db.close()
    assert len(backup_bodies) == 3
    assert log.verify().ok  # the rolled-back log is self-consistent...
    report = log.verify(against=[old, newer])
    assert not report.ok  # ...but does not extend the head an auditor holds
    assert "rolled back" in str(report.problems[0])
    log.close()


def test_a_rewritten_history_with_new_events_fails_against_the_exported_head(audit_url: str, tsa: WorkspaceTsa) -> None:
    log, exported = build_log(audit_url, tsa, [5])
    db = RawDb(audit_url)
    try:
        db.run("DELETE FROM events WHERE idx >= 2")
        db.run("DELETE FROM heads")
        db.rebuild_tree()
    finally:
        db.close()
    log.append_many([EventFactory(n=100)() for _ in range(6)])  # grows past the exported size
    log.head()
    assert log.verify().ok
    report = log.verify(against=[exported])
    assert not report.ok
    assert "history rewritten" in str(report.problems[0])
    log.close()


def test_parallel_verification_finds_the_same_problems(
    audit_url: str, tsa: WorkspaceTsa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big logs are checked by two processes (each on a range of events); the findings must not change."""
    import consentkit.audit.verify as verify_module

    monkeypatch.setattr(verify_module, "PARALLEL_FROM", 0)
    log, _ = build_log(audit_url, tsa, [30, 31])
    ok = log.verify(workers=3)
    assert ok.ok and ok.events_checked == 61
    db = RawDb(audit_url)
    try:
        body = db.run("SELECT body FROM events WHERE idx = 10")[0][0]
        db.run("UPDATE events SET body = ? WHERE idx = 10", body.replace(b"C-0", b"C-9"))
        db.run("DELETE FROM events WHERE idx IN (20, 21, 40, 60)")
        db.run("UPDATE events SET time = ? WHERE idx = 50", "2020-01-01T00:00:00.000000Z")
    finally:
        db.close()
    one, three = log.verify(workers=1), log.verify(workers=3)
    log.close()
    assert [str(p) for p in one.problems] == [str(p) for p in three.problems]
    assert one.events_checked == three.events_checked == 57
    found = "\n".join(str(p) for p in one.problems)
    for expected in ("event 10: content", "event 20: events 20-21 are missing", "event 40", "event 50: column time"):
        assert expected in found


def test_ranges_of_subtrees_in_workers_find_what_one_process_finds(
    audit_url: str, tsa: WorkspaceTsa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers check the subtrees inside their ranges and return each range's top hash; this process checks the
    levels above and counts every level, so a hash edited at a range's top, one deleted inside a range, and one
    stored beyond the log's size are all named as one process names them."""
    import consentkit.audit.verify as verify_module
    from consentkit.audit.verify_ranges import split

    monkeypatch.setattr(verify_module, "PARALLEL_FROM", 0)
    log, _ = build_log(audit_url, tsa, [40, 30])
    k, bounds = split(70, 2)
    assert k == 4 and bounds[0] == (0, 16) and bounds[-1] == (64, 70)
    parallel = log.verify(workers=2)
    serial = log.verify(workers=1)
    assert parallel.ok and serial.ok and parallel.subtrees_checked == serial.subtrees_checked
    db = RawDb(audit_url)
    try:
        db.run("UPDATE nodes SET hash = ? WHERE level = 4 AND idx = 1", b"\x11" * 32)  # a range's top
        db.run("DELETE FROM nodes WHERE level = 2 AND idx = 9")  # inside a range
        db.run("INSERT INTO nodes (level, idx, hash) VALUES (3, 9, ?)", b"\x22" * 32)  # beyond the log's size
    finally:
        db.close()
    one, two = log.verify(workers=1), log.verify(workers=2)
    log.close()
    assert [str(p) for p in one.problems] == [str(p) for p in two.problems]
    found = "\n".join(str(p) for p in two.problems)
    for expected in (
        "subtree level 4 index 1: does not match the hash of its two children",
        "subtree level 2 index 9: is missing",
        "subtree level 3 index 9: is stored beyond the log's 70 events",
    ):
        assert expected in found, found
