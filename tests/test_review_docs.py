"""docs/review.md stays true: its openssl/jq commands run against a real approval, and every review subcommand and
CK220 are documented."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from _review_fixtures import approve_procedures
from consentkit.cli.review_cmd import review
from consentkit.review import find_approvals
from consentkit.review.approvals import approvals_dir
from consentkit.workspace import init_workspace

REPO = Path(__file__).resolve().parent.parent
DOC = (REPO / "docs" / "review.md").read_text(encoding="utf-8")


def test_every_subcommand_is_documented() -> None:
    for name in review.commands:
        assert f"consentkit review {name}" in DOC, name
    assert "## CK220" in DOC and "consentkit pki issue reviewer NAME" in DOC


def _shell_block(heading: str) -> str:
    after = DOC.split(heading, 1)[1]
    match = re.search(r"```sh\n(.*?)```", after, re.DOTALL)
    assert match, heading
    return match.group(1)


@pytest.mark.skipif(subprocess.run(["which", "jq"], capture_output=True).returncode != 0, reason="jq not installed")
def test_documented_openssl_commands_check_a_real_approval(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "clinic")
    approve_procedures(ws)
    approval = next(a for a in find_approvals(approvals_dir(ws)).approvals if a.role == "clinical")
    stem = approval.stem.relative_to(ws.root).as_posix()
    script = re.sub(r"^a=.*$", f"a={stem}", _shell_block("### Checking an approval without consentkit"), flags=re.M)
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=ws.root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "CMS Verification successful" in done.stderr
    assert "title=reviewer, CN=Dr Li Na" in done.stdout
    assert approval.leaf is not None and approval.leaf.removeprefix("sha256:") + " *stdin" in done.stdout
    assert approval.path.name in done.stdout
    # the same commands fail on an edited statement
    approval.path.write_bytes(approval.path.read_bytes().replace(b"Dr Li Na", b"Dr Li Ma"))
    bad = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=ws.root, capture_output=True, text=True)
    assert bad.returncode != 0 and "Verification failure" in bad.stderr
