from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import consentkit
from consentkit.cli import COMMANDS, main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_all_is_sorted_and_importable() -> None:
    assert consentkit.__all__ == sorted(consentkit.__all__)
    for name in consentkit.__all__:
        assert hasattr(consentkit, name), name


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; from consentkit.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('weasyprint', 'pyhanko', 'docxtpl', 'jinja2', 'psycopg') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMANDS:
        code, out, _ = run([name, "--help"], capsys)
        assert code == 0, name
        assert "Usage:" in out


def test_init_creates_a_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSENTKIT_PASSPHRASE", "correct horse battery")
    target = tmp_path / "clinic"
    code, _out, err = run(["init", str(target)], capsys)
    assert code == 0, err
    assert (target / "consentkit.toml").is_file()
    assert (target / "procedures").is_dir() and (target / "templates").is_dir()
    assert ".consentkit/" in (target / ".gitignore").read_text()
    state = target / ".consentkit"
    assert state.stat().st_mode & 0o777 == 0o700
    secret = state / "secrets" / "subject-hmac"
    assert secret.stat().st_mode & 0o777 == 0o600
    code, _, err = run(["init", str(target)], capsys)
    assert code == 3 and "already a workspace" in err


def test_bad_config_names_file_line_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSENTKIT_PASSPHRASE", "correct horse battery")
    target = tmp_path / "clinic"
    run(["init", str(target)], capsys)
    config = target / "consentkit.toml"
    text = config.read_text().replace('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"')
    config.write_text(text)
    code, _, err = run(["--workspace", str(target), "lint"], capsys)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "Mars" in row)
    assert code == 3
    assert f"consentkit.toml:{line} clinic.timezone: unknown time zone 'Mars/Olympus'" in err
    assert "Traceback" not in err
