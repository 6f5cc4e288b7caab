"""``consentkit demo --keep DIR``: the README's first command, run as a user runs it (a new process, no passphrase
in the environment), ends with exit 0 and leaves every file it names."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path


def test_the_demo_tells_the_whole_story(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k not in ("CONSENTKIT_PASSPHRASE", "CONSENTKIT_WORKSPACE")}
    result = subprocess.run(
        [sys.executable, "-c", "from consentkit.cli import main; main()", "demo", "--keep", str(target)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "demo passphrase was generated and set in $CONSENTKIT_PASSPHRASE" in out
    assert "REFUSED: 时间太早" in out and "Too early." in out
    # the simulated clock is said plainly, where it starts and at the end
    assert "SIMULATED CLOCK: from this step on the demo's clock reads" in out
    assert "The clock was simulated from the late check-in on" in out
    assert "YES: the disclosure provably preceded the procedure" in out
    assert "What each step proved" in out and "Traceback" not in result.stderr
    for name in ("workspace", "packet", "evidence bundle", "disclosure certificate", "VERIFY.md", "audit log"):
        assert f"  {name}" in out, name
    assert (target / "consentkit.toml").is_file()
    assert (target / "packets" / "DEMO-0001" / "packet.pdf").is_file()
    bundle = target / "evidence" / "DEMO-0001-evidence.zip"
    assert zipfile.ZipFile(bundle).testzip() is None
    assert (target / "evidence" / "DEMO-0001-evidence" / "disclosure-certificate.pdf").is_file()
    assert (target / "evidence" / "DEMO-0001-evidence" / "VERIFY.md").is_file()
    assert len(list((target / "approvals").rglob("*.statement.json"))) == 2
    key_files = list((target / ".consentkit" / "pki").glob("*.key"))
    assert key_files and all(f.stat().st_mode & 0o777 == 0o600 for f in key_files)


def test_the_demo_refuses_a_folder_in_use(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, "-c", "from consentkit.cli import main; main()", "demo", "--keep", str(tmp_path / "busy")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3 and "not empty" in result.stderr
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
