"""``write_atomically``: the old file or the new one, never half, and no temporary file left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consentkit.files import write_atomically
from test_cli_basics import run


def test_writes_text_as_utf8_and_bytes_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    write_atomically(path, "风险 {}")
    assert path.read_bytes() == "风险 {}".encode()
    write_atomically(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert os.listdir(tmp_path) == ["out.json"]


def test_a_failure_keeps_the_old_file_and_removes_the_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.json"
    path.write_text("old")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]


def test_schema_leaves_no_temporary_file_when_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "schema"
    (out / "policy.json").mkdir(parents=True)  # a folder where the file should go: the rename fails
    code, _, err = run(["schema", "--all", "-o", str(out)], capsys)
    assert code == 3 and "Traceback" not in err and "policy.json" in err
    assert sorted(p.name for p in out.iterdir()) == ["intake.json", "policy.json", "procedure.json"]
    assert (out / "policy.json").is_dir()


def test_a_private_file_is_never_readable_by_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    real_fsync = os.fsync

    def check_mode(fd: int) -> None:  # the temporary file, before the rename
        seen.append(os.fstat(fd).st_mode & 0o777)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", check_mode)
    write_atomically(tmp_path / "key", b"secret", mode=0o600)
    assert seen == [0o600] and (tmp_path / "key").stat().st_mode & 0o777 == 0o600
