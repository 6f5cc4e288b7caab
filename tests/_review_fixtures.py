"""Approvals for tests that build non-draft packets: reviewer credentials issued once per workspace, and every
required review role approving the procedures the test uses (lint skipped: the built-in library is linted by its
own tests)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from consentkit.errors import InputError
from consentkit.pki import WorkspacePki, init_pki
from consentkit.resources import builtin_dir
from consentkit.review import Approval, approve
from consentkit.workspace import Workspace, init_workspace

PASSPHRASE = "correct horse battery"
REVIEWERS = {"clinical": "Dr Li Na", "legal": "Wang Fang (legal)"}


def reviewers(ws: Workspace, passphrase: str = PASSPHRASE) -> dict[str, str]:
    """Issue the two reviewers' credentials unless they exist (creating the workspace PKI if it has none)."""
    pki = WorkspacePki(ws)
    if not pki.exists():
        pki = init_pki(ws, passphrase.encode())
    for role, name in REVIEWERS.items():
        try:
            pki.find(name, roles=("reviewer",))
        except InputError:
            pki.issue_signer("reviewer", name, passphrase.encode(), review_role=role)
    return dict(REVIEWERS)


def approve_procedures(
    ws: Workspace,
    procedures: Sequence[str] = ("botulinum-toxin",),
    *,
    roles: Sequence[str] = ("clinical", "legal"),
    passphrase: str = PASSPHRASE,
) -> list[Approval]:
    """Approve the current version of each procedure as each role, so ``build_packet`` accepts it."""
    names = reviewers(ws, passphrase)
    return [
        approve(ws, procedure, reviewer=names[role], role=role, secret=passphrase.encode(), check_lint=False)
        for procedure in procedures
        for role in roles
    ]


def git(ws: Workspace, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ws.root), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def review_workspace(root: Path, procedure: str = "botulinum-toxin") -> Workspace:
    """A git workspace with its own copy of a built-in spec, a PKI and the two reviewers."""
    ws = init_workspace(root)
    shutil.copy(builtin_dir("procedures") / f"{procedure}.yaml", ws.procedures_dir / f"{procedure}.yaml")
    reviewers(ws)
    git(ws, "init", "-q")
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "initial")
    return ws
