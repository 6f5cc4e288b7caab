"""``consentkit audit verify | show | head`` on a real workspace (its PKI, embedded TSA and audit-log key), on
SQLite and PostgreSQL, with the exported head checked by plain openssl — the commands docs/audit.md gives."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import _pg_fixtures
from _audit_fixtures import PASSPHRASE, EventFactory, RawDb
from consentkit.audit.log import AuditLog
from consentkit.cli import main
from consentkit.workspace import Workspace, init_workspace, load_config

audit_url, pg_server = _pg_fixtures.audit_url, _pg_fixtures.pg_server  # both databases

DOCS = Path(__file__).resolve().parent.parent / "docs" / "audit.md"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with its PKI, made once (RSA key generation is slow) and copied per test."""
    from consentkit.pki import init_pki

    root = tmp_path_factory.mktemp("template") / "clinic"
    init_pki(init_workspace(root), PASSPHRASE.encode())
    return root


@pytest.fixture
def ws(template: Path, tmp_path: Path, audit_url: str, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    root = tmp_path / "clinic"
    shutil.copytree(template, root)
    config = root / "consentkit.toml"
    if audit_url.startswith("postgresql"):
        text = config.read_text(encoding="utf-8")
        config.write_text(re.sub(r'database_url = "[^"]*"', f'database_url = "{audit_url}"', text), encoding="utf-8")
    monkeypatch.setenv("CONSENTKIT_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CONSENTKIT_WORKSPACE", str(root))
    monkeypatch.chdir(tmp_path)
    return Workspace(root, load_config(config))


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def fill(ws: Workspace, n: int = 12) -> None:
    make = EventFactory()
    with AuditLog.for_workspace(ws) as log:
        log.append_many([make(case="C-2025-0001" if i % 2 else None) for i in range(n)])


def test_head_show_verify(ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fill(ws)
    code, out, err = run(["audit", "head", "--export", str(tmp_path / "head.json")], capsys)
    assert code == 0, err
    assert "12 events" in out and "openssl dgst" in out
    code, out, err = run(["audit", "show", "C-2025-0001", "--actor", "li.na", "--role", "nurse"], capsys)
    assert code == 0, err
    assert "disclosure.presented" in out and "procedure.checkin" in out and "reasons=cooling-off" in out
    assert "logged as event 12" in out
    with AuditLog.for_workspace(ws) as log:
        read = log.event(12).event
    assert read.type == "case.read" and read.actor.id == "li.na" and read.case == "C-2025-0001"
    code, out, err = run(["audit", "verify", "--against", str(tmp_path / "head.json")], capsys)
    assert code == 0, err
    assert "audit log OK: 13 events" in out and "1 exported heads" in out


def test_show_unknown_case_and_bad_actor(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    fill(ws, 2)
    code, _, err = run(["audit", "show", "C-none"], capsys)
    assert code == 3 and "no events for case 'C-none'" in err
    code, _, err = run(["audit", "show", "C-2025-0001", "--actor", "Wang Xiaoming"], capsys)
    assert code == 3 and "actor" in err
    with AuditLog.for_workspace(ws) as log:
        assert log.size() == 2  # a refused read logs nothing


def test_verify_reports_the_first_tampered_row(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    fill(ws)
    run(["audit", "head"], capsys)
    db = RawDb(AuditLog.for_workspace(ws).store.url)
    try:
        body = db.run("SELECT body FROM events WHERE idx = 7")[0][0]
        db.run("UPDATE events SET body = ? WHERE idx = 7", body.replace(b"C-2025-0001", b"C-2025-0002"))
        db.run("DELETE FROM events WHERE idx = 9")
    finally:
        db.close()
    code, _, err = run(["audit", "verify"], capsys)
    assert code == 1
    assert "audit log NOT OK" in err
    first = next(line for line in err.splitlines() if line.startswith("  "))
    assert first.strip().startswith("event 7: content does not match its stored leaf hash")
    assert "event 9" in err
    assert err.strip().splitlines()[-1].startswith("error: event 7:")


def test_a_rollback_is_detected_by_the_heads_kept_outside_the_database(
    ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fill(ws, 10)
    assert run(["audit", "head", "--export", str(tmp_path / "h10.json")], capsys)[0] == 0
    db = RawDb(AuditLog.for_workspace(ws).store.url)
    try:  # "restore last week's backup": the last 4 events, their subtrees and the head are gone
        db.run("DELETE FROM events WHERE idx >= 6")
        db.rebuild_tree()
        db.run("DELETE FROM heads")
    finally:
        db.close()
    code, _, err = run(["audit", "verify"], capsys)  # by default: every head kept in .consentkit/heads/
    assert code == 1
    assert "kept head 1 (.consentkit/heads/heads.jsonl), size 10: covers 10 events but the log has only 6" in err
    assert "is not among the log's stored heads" in err
    # someone who also deletes the kept heads is caught only by a head kept elsewhere
    shutil.rmtree(ws.state_dir / "heads")
    assert run(["audit", "verify"], capsys)[0] == 0
    code, _, err = run(["audit", "verify", "--against", str(tmp_path / "h10.json")], capsys)
    assert code == 1
    assert "covers 10 events but the log has only 6 (truncated or rolled back)" in err


def test_a_wiped_log_with_kept_heads_is_tampering(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """Emptying the three tables with a database shell left 'audit log OK: 0 events'."""
    fill(ws, 5)
    assert run(["audit", "head"], capsys)[0] == 0
    db = RawDb(AuditLog.for_workspace(ws).store.url)
    try:
        for table in ("events", "nodes", "heads"):
            db.run(f"DELETE FROM {table}")
    finally:
        db.close()
    code, _, err = run(["audit", "verify"], capsys)
    assert code == 1 and "audit log NOT OK: 0 events" in err
    assert "covers 5 events but the log has only 0" in err


def test_a_damaged_kept_head_line_is_a_finding(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    fill(ws, 2)
    run(["audit", "head"], capsys)
    kept = ws.state_dir / "heads" / "heads.jsonl"
    assert kept.stat().st_mode & 0o777 == 0o600
    kept.write_text(kept.read_text(encoding="ascii").replace('"checkpoint":"', '"checkpoint":"AA', 1))
    code, _, err = run(["audit", "verify"], capsys)
    assert code == 1 and "kept head 1 (.consentkit/heads/heads.jsonl): " in err


def test_deleted_kept_heads_are_a_warning_not_silence(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """heads.jsonl deleted (or emptied) while the database holds heads said only 'audit log OK'. It is a warning
    (exit 0): a shared PostgreSQL log whose heads another machine made looks the same from here."""
    fill(ws, 3)
    assert run(["audit", "head"], capsys)[0] == 0
    code, out, err = run(["audit", "verify"], capsys)
    assert code == 0 and "warning" not in err
    kept = ws.state_dir / "heads" / "heads.jsonl"
    for damage in ("delete", "empty"):
        if damage == "delete":
            kept.unlink()
        else:
            kept.write_text("")
        code, out, err = run(["audit", "verify"], capsys)
        assert code == 0 and out.startswith("audit log OK: 3 events"), damage
        assert (
            "warning: no head is kept outside the database (heads/heads.jsonl is missing or empty) although the "
            "database holds 1 signed heads" in err
        ), damage


def test_a_kept_head_line_being_appended_is_not_damage(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """verify read a line another process was still writing (no newline yet) and reported it as a damaged head."""
    fill(ws, 2)
    run(["audit", "head"], capsys)
    kept = ws.state_dir / "heads" / "heads.jsonl"
    whole = kept.read_bytes()
    with kept.open("ab") as fh:
        fh.write(whole[: len(whole) // 2])  # half of the next line, as a concurrent append leaves it for a moment
    code, _out, err = run(["audit", "verify"], capsys)
    assert code == 0, err
    with AuditLog.for_workspace(ws) as log:
        assert log.kept is not None and len(log.kept.read()) == 1


def test_a_damaged_exported_head_is_a_finding_not_a_crash(
    ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fill(ws, 3)
    run(["audit", "head", "--export", str(tmp_path / "h.json")], capsys)
    (tmp_path / "h.tsr").write_bytes(b"\x30\x03garbage")
    code, _, err = run(["audit", "verify", "--against", str(tmp_path / "h.json")], capsys)
    assert code == 1 and "TimeStampResp" in err
    (tmp_path / "h.json").write_text('{"size": 3}')
    code, _, err = run(["audit", "verify", "--against", str(tmp_path / "h.json")], capsys)
    assert code == 1 and "not a consentkit tree head" in err
    code, _, err = run(["audit", "verify", "--against", str(tmp_path / "missing.json")], capsys)
    assert code == 3 and "no such file" in err  # bad input, not tampering
    (tmp_path / "notes").mkdir()
    code, _, err = run(["audit", "verify", "--against", str(tmp_path / "notes")], capsys)
    assert code == 3 and "not an unpacked evidence bundle" in err


def test_a_zip_without_a_head_is_bad_input_not_a_pass(
    ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A zip holding no log/head.json (not a bundle, or one whose head was taken out) gave no heads to check and
    'audit log OK' (exit 0); like a folder without one, it is bad input."""
    import zipfile

    fill(ws, 2)
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("bundle.json", "{}")
    code, out, err = run(["audit", "verify", "--against", str(tmp_path / "other.zip")], capsys)
    assert code == 3 and "not an evidence bundle (no log/head.json)" in err, out + err


def _doc_commands() -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    commands = re.findall(r"^\s*(openssl (?:dgst|ts) .+)$", text, flags=re.MULTILINE)
    assert len(commands) >= 2
    return commands


def test_the_documented_openssl_commands_check_an_exported_head(
    ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Run docs/audit.md's commands as written, in a folder holding head.json/.sig/.tsr, the audit-log public key
    and the clinic root; then damage each file and see openssl refuse it."""
    fill(ws, 5)
    folder = tmp_path / "auditor"
    folder.mkdir()
    assert run(["audit", "head", "--export", str(folder / "head.json")], capsys)[0] == 0
    shutil.copy(ws.state_dir / "pki" / "audit-log.pub.pem", folder / "audit-log.pub.pem")
    shutil.copy(ws.signatures_dir / "trust" / "clinic-root.pem", folder / "clinic-root.pem")

    def check() -> list[int]:
        return [subprocess.run(c, shell=True, cwd=folder, capture_output=True).returncode for c in _doc_commands()]

    assert check() == [0] * len(_doc_commands())
    original = (folder / "head.json").read_bytes()
    (folder / "head.json").write_bytes(original.replace(b'"size":5', b'"size":9'))
    assert all(code != 0 for code in check())
    (folder / "head.json").write_bytes(original)
    tsr = bytearray((folder / "head.tsr").read_bytes())
    tsr[-40] ^= 1  # inside the TSA's signature
    (folder / "head.tsr").write_bytes(bytes(tsr))
    assert check()[0] == 0 and all(code != 0 for code in check()[1:])


def test_values_of_the_wrong_type_and_a_damaged_file_are_findings(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a sqlite3 shell makes easy — text where bytes belong — and a file overwritten with garbage: exit 1,
    a sentence, no traceback."""
    fill(ws, 6)
    run(["audit", "head"], capsys)
    url = AuditLog.for_workspace(ws).store.url
    db = RawDb(url)
    try:
        db.run("UPDATE events SET body = 'not bytes' WHERE idx = 2")
        db.run("UPDATE nodes SET hash = ? WHERE level = 1 AND idx = 0", "x" * 32)
        db.run("UPDATE heads SET signature = 'abc', timestamp = 'def'")
    finally:
        db.close()
    code, _, err = run(["audit", "verify"], capsys)
    assert code == 1
    assert "event 2: content is stored as str" in err or "event 2: content does not match" in err
    assert "head #1" in err
    if url.startswith("sqlite:"):
        path = Path(url.removeprefix("sqlite:///"))
        data = bytearray(path.read_bytes())
        data[100:4000] = b"\xff" * 3900
        path.write_bytes(bytes(data))
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        code, _, err = run(["audit", "verify"], capsys)
        assert code == 1 and "cannot be read" in err


def test_every_head_the_workspace_makes_is_kept_outside_the_database(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """The workflow's and the reviewers' logs (review.approvals.open_log) keep their heads too, not only 'audit
    head'."""
    from consentkit.review.approvals import open_log

    fill(ws, 3)
    with open_log(ws, PASSPHRASE.encode()) as log:
        made = log.head()
        assert log.kept is not None
        kept = [k.head.checkpoint for k in log.kept.read() if k.head is not None]
    assert made.checkpoint in kept
