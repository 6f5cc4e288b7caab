"""Approvals end to end (issue 6 acceptance): approve, change one word of one risk in one locale → status
unapproved, packet refused, CK220, the diff names exactly that risk and locale; re-approve → packet allowed; the
approval verifies (openssl over the files, the audit event) and tampering is detected."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from _audit_fixtures import RawDb
from _packet_fixtures import example_case, write_case
from _review_fixtures import PASSPHRASE, REVIEWERS, git, review_workspace
from consentkit.audit.merkle import leaf_hash
from consentkit.cli import main
from consentkit.errors import RefusedError, VerificationError
from consentkit.lint import lint_paths
from consentkit.packet import build_packet
from consentkit.pki import WorkspacePki
from consentkit.resources import builtin_dir
from consentkit.review import approvals_for_refs, approve, find_approvals, verify_approval, workspace_state
from consentkit.review.approvals import approvals_dir, open_log
from consentkit.review.diff import rendered_diff, semantic_diff
from consentkit.review.history import resolve_version
from consentkit.review.status import library_status
from consentkit.spec.library import load_library
from consentkit.workspace import Workspace

PROCEDURE = "botulinum-toxin"
OLD_WORDS = "Drooping upper eyelid"
NEW_WORDS = "Drooping top eyelid"  # risks[eyelid-droop].title, en only


def spec_file(ws: Workspace) -> Path:
    return ws.procedures_dir / f"{PROCEDURE}.yaml"


def make_ws(root: Path) -> Workspace:
    """A git workspace with its own copy of the exemplar spec, a PKI and the two reviewers."""
    return review_workspace(root, PROCEDURE)


def approve_both(ws: Workspace, *, check_lint: bool = False) -> None:
    for role, name in REVIEWERS.items():
        approve(ws, PROCEDURE, reviewer=name, role=role, secret=PASSPHRASE.encode(), check_lint=check_lint)


def state_of(ws: Workspace):  # type: ignore[no-untyped-def]
    library = load_library(ws.procedure_roots())
    return workspace_state(ws, library.procedure(PROCEDURE).model, library.policy("cn").model)


def packet(ws: Workspace, folder: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    return build_packet(ws, write_case(folder.parent / f"{folder.name}.yaml", example_case()), folder, **kwargs)  # type: ignore[arg-type]


def change_one_word(ws: Workspace) -> None:
    text = spec_file(ws).read_text(encoding="utf-8")
    assert text.count(OLD_WORDS) == 1
    spec_file(ws).write_text(text.replace(OLD_WORDS, NEW_WORDS), encoding="utf-8")


def bump_version(ws: Workspace) -> str:
    text = spec_file(ws).read_text(encoding="utf-8")
    version = resolve_version(ws, PROCEDURE).model.version
    major, minor, patch = version.split(".")
    bumped = f"{major}.{minor}.{int(patch) + 1}"
    spec_file(ws).write_text(text.replace(f"version: {version}", f"version: {bumped}", 1), encoding="utf-8")
    return bumped


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Approve (lint checked), make a packet; change one word; observe; re-approve; make a packet again."""
    base = tmp_path_factory.mktemp("review")
    ws = make_ws(base / "clinic")
    approve_both(ws, check_lint=True)
    out: dict[str, object] = {"ws": ws, "approved_state": state_of(ws)}
    out["first_packet"] = packet(ws, base / "p1")
    before = resolve_version(ws, PROCEDURE)
    change_one_word(ws)
    out["changed_state"] = state_of(ws)
    with pytest.raises(RefusedError) as refused:
        packet(ws, base / "p2")
    out["refusal"] = refused.value.message
    out["p2_exists"] = (base / "p2").exists()
    out["draft"] = packet(ws, base / "p3", draft=True)
    out["lint"] = lint_paths([ws.root], select=["CK220"])
    after = resolve_version(ws, PROCEDURE)
    out["changes"] = semantic_diff(before.model, after.model)
    out["rendered"] = rendered_diff(ws, before, after)
    with pytest.raises(RefusedError) as same_version:  # one version number names one text
        approve_both(ws)
    out["same_version_refusal"] = same_version.value.message
    out["bumped_to"] = bump_version(ws)
    approve_both(ws)
    out["reapproved_state"] = state_of(ws)
    out["second_packet"] = packet(ws, base / "p4")
    return out


def test_approved_then_packet_pins_the_approvals(story: dict[str, object]) -> None:
    state = story["approved_state"]
    assert state.approved and set(state.required) == {"clinical", "legal"}  # type: ignore[attr-defined]
    manifest = story["first_packet"].manifest  # type: ignore[attr-defined]
    assert not manifest.draft
    assert sorted(a.role for a in manifest.approvals) == ["clinical", "legal"]
    ws: Workspace = story["ws"]  # type: ignore[assignment]
    with open_log(ws, None) as log:
        leaves = {"sha256:" + log.event(i).leaf.hex() for i in range(log.size())}
    for ref in manifest.approvals:
        assert ref.event_hash in leaves
        assert ref.reviewer == REVIEWERS[ref.role]
    filed = approvals_for_refs(ws, manifest.approvals)
    assert [a.leaf for a in filed] == [r.event_hash for r in manifest.approvals]
    assert all(a.signature_path.is_file() and a.log_path.is_file() for a in filed)


def test_one_word_changed_unapproves(story: dict[str, object]) -> None:
    state = story["changed_state"]
    assert not state.approved  # type: ignore[attr-defined]
    assert sorted(state.missing) == ["clinical", "legal"]  # type: ignore[attr-defined]
    version = state.pinned.version  # type: ignore[attr-defined]
    for role in ("clinical", "legal"):
        rs = state.roles[role]  # type: ignore[attr-defined]
        assert rs.stale and rs.changes == (
            f"spec content changed without a version bump ({version} was approved with other content)",
        )
    assert state.needs_bump and len(state.conflicts) == 2  # type: ignore[attr-defined]


def test_same_version_with_other_content_is_not_approved_again(story: dict[str, object]) -> None:
    message = str(story["same_version_refusal"])
    ws: Workspace = story["ws"]  # type: ignore[assignment]
    version = story["changed_state"].pinned.version  # type: ignore[attr-defined]
    assert message.startswith(f"bump the version: {PROCEDURE} {version} was approved with other content on ")
    assert f"procedures/{PROCEDURE}.yaml" in message and str(story["bumped_to"]) in message
    # nothing was filed for the refused attempt: the version folder holds one text only
    folder = approvals_dir(ws) / PROCEDURE / version
    specs = {json.loads(p.read_bytes())["spec"] for p in folder.glob("*.statement.json")}
    assert len(specs) == 1


def test_packet_refused_naming_roles_and_command(story: dict[str, object]) -> None:
    message = str(story["refusal"])
    assert "clinical and legal" in message
    assert f"consentkit review approve {PROCEDURE} --reviewer NAME --role clinical" in message
    assert "--role legal" in message and "--draft" in message
    assert "changed since: spec content" in message and "bump the version" in message
    assert story["p2_exists"] is False
    draft = story["draft"].manifest  # type: ignore[attr-defined]
    assert draft.draft and draft.approvals == []


def test_ck220_names_the_roles_on_the_version_line(story: dict[str, object]) -> None:
    report = story["lint"]
    findings = [f for f in report.findings if f.rule == "CK220"]  # type: ignore[attr-defined]
    assert len(findings) == 2, findings
    ws: Workspace = story["ws"]  # type: ignore[assignment]
    version_line = next(
        i for i, row in enumerate(spec_file(ws).read_text().splitlines(), 1) if row.startswith("version:")
    )
    assert {f.line for f in findings} == {version_line}
    assert {f.severity for f in findings} == {"error"}
    messages = " ".join(f.message for f in findings)
    assert "the clinical approval" in messages and "the legal approval" in messages
    assert "spec content changed without a version bump" in messages
    assert "until the version is bumped (to " in messages
    assert "template" not in messages.split("approved again")[0]


def test_diff_names_exactly_that_risk_and_locale(story: dict[str, object]) -> None:
    changes = story["changes"]
    assert len(changes) == 1, changes  # type: ignore[arg-type]
    change = changes[0]  # type: ignore[index]
    assert (change.section, change.item, change.field, change.kind) == ("risks", "eyelid-droop", "title", "re-worded")
    assert change.locales == ("en",)
    assert change.old == {"en": OLD_WORDS} and change.new == {"en": NEW_WORDS}
    assert change.describe() == "risks[eyelid-droop].title: re-worded (en)"
    rendered = story["rendered"]
    changed = {(d.doc, d.locale) for d in rendered if d.changed}  # type: ignore[attr-defined]
    assert changed and {loc for _, loc in changed} == {"en"}
    for d in rendered:  # type: ignore[attr-defined]
        for hunk in d.hunks:
            if not hunk.context:
                assert any(OLD_WORDS in line for line in hunk.old) and any(NEW_WORDS in line for line in hunk.new)


def test_reapproval_allows_packets(story: dict[str, object]) -> None:
    assert story["reapproved_state"].approved  # type: ignore[attr-defined]
    manifest = story["second_packet"].manifest  # type: ignore[attr-defined]
    first = story["first_packet"].manifest  # type: ignore[attr-defined]
    assert sorted(a.role for a in manifest.approvals) == ["clinical", "legal"]
    assert {a.event_hash for a in manifest.approvals}.isdisjoint({a.event_hash for a in first.approvals})
    assert manifest.procedure.spec_hash != first.procedure.spec_hash


def test_status_shows_changed_since_approval(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "clinic")
    approve_both(ws)
    change_one_word(ws)
    [status] = library_status(ws, procedures=[PROCEDURE], lint=False)
    assert not status.approved and status.source == "workspace"
    assert status.role_text("clinical").startswith(f"changed since approval ({status.version} by Dr Li Na")
    assert "bump the version (to " in status.role_text("clinical")
    data = status.as_dict()
    assert data["needs_version_bump"] is True
    assert data["roles"]["legal"]["changed_since_approval"] is True
    assert data["roles"]["legal"]["approved"] is False


# --- verification and tampering ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def approved(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = make_ws(tmp_path_factory.mktemp("verify") / "clinic")
    approve_both(ws)
    return ws


def test_approval_verifies_with_openssl(approved: Workspace) -> None:
    ws = approved
    [first, *_] = find_approvals(approvals_dir(ws), PROCEDURE).approvals
    root = ws.signatures_dir / "trust" / "clinic-root.pem"
    done = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(first.signature_path), "-content",
         str(first.path), "-CAfile", str(root), "-out", "/dev/null"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    log = json.loads(first.log_path.read_text())
    assert leaf_hash(log["event"].encode()).hex() == log["leaf"].removeprefix("sha256:")
    event = json.loads(log["event"])
    assert event["type"] == "spec.approved" and event["data"]["review"] == first.role
    assert event["data"]["content"] == first.statement.spec
    with open_log(ws, None) as audit:
        verify_approval(first, pki=WorkspacePki(ws), log=audit)
        assert audit.event(log["index"]).body == log["event"].encode()


def test_edited_statement_is_detected(approved: Workspace, tmp_path: Path) -> None:
    ws = approved
    [first, *_] = find_approvals(approvals_dir(ws), PROCEDURE).approvals
    original = first.path.read_bytes()
    try:
        first.path.write_bytes(original.replace(b'"role":"clinical"', b'"role":"legal"  '))
        done = subprocess.run(
            ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(first.signature_path), "-content",
             str(first.path), "-CAfile", str(ws.signatures_dir / "trust" / "clinic-root.pem"), "-out", "/dev/null"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode != 0
        edited = first.__class__(first.statement, first.path, first.index, first.leaf, first.event)
        with open_log(ws, None) as audit, pytest.raises(VerificationError, match="does not match its signature"):
            verify_approval(edited, pki=WorkspacePki(ws), log=audit)
    finally:
        first.path.write_bytes(original)


def test_forged_signature_is_detected(approved: Workspace) -> None:
    ws = approved
    clinical, legal = sorted(find_approvals(approvals_dir(ws), PROCEDURE).approvals, key=lambda a: a.role)
    swapped = clinical.__class__(clinical.statement, clinical.path, clinical.index, clinical.leaf, clinical.event)
    original = clinical.signature_path.read_bytes()
    try:
        clinical.signature_path.write_bytes(legal.signature_path.read_bytes())  # the other reviewer's signature
        with open_log(ws, None) as audit, pytest.raises(VerificationError):
            verify_approval(swapped, pki=WorkspacePki(ws), log=audit)
    finally:
        clinical.signature_path.write_bytes(original)


def test_tampered_audit_event_is_detected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = make_ws(tmp_path / "clinic")
    approve_both(ws)
    packet(ws, tmp_path / "ok")  # verifies before tampering
    [first, *_] = find_approvals(approvals_dir(ws), PROCEDURE).approvals
    assert first.index is not None and first.event is not None
    db = RawDb(ws.database_url())
    db.run("UPDATE events SET body = ? WHERE idx = ?", first.event.replace(b'"review":"clinical"', b'"review":"legal"'),
           first.index)  # fmt: skip
    try:
        main(["--workspace", str(ws.root), "audit", "verify"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 1 and "NOT OK" in err
    with pytest.raises(RefusedError, match="does not verify"):
        packet(ws, tmp_path / "refused")


# --- approve refusals --------------------------------------------------------------------------------------------


def test_refusals(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "clinic")
    version = resolve_version(ws, PROCEDURE).model.version
    with pytest.raises(RefusedError, match=r"consentkit pki issue reviewer 'Nobody'"):
        approve(ws, PROCEDURE, reviewer="Nobody", role="legal", secret=PASSPHRASE.encode())
    with pytest.raises(RefusedError, match="a review role is one of clinical, legal"):
        approve(ws, PROCEDURE, reviewer="Dr Li Na", role="nursing", secret=PASSPHRASE.encode())
    with pytest.raises(RefusedError, match=rf"no version 9\.9\.9: the current version is {version}, and git history"):
        approve(ws, PROCEDURE, reviewer="Dr Li Na", role="legal", version="9.9.9", secret=PASSPHRASE.encode())
    text = spec_file(ws).read_text(encoding="utf-8")
    spec_file(ws).write_text(text.replace(f"version: {version}", "version: 9.1.0"), encoding="utf-8")
    git(ws, "commit", "-q", "-am", "9.1.0")
    with pytest.raises(
        RefusedError, match=rf"{version} is an earlier version \(workspace git [0-9a-f]{{10}}\); only the current"
    ):
        approve(ws, PROCEDURE, reviewer="Dr Li Na", role="legal", version=version, secret=PASSPHRASE.encode())
    # a lint error (no "no treatment" alternative: CK111) blocks the approval
    spec_file(ws).write_text(text.replace("no_treatment: true", "no_treatment: false"), encoding="utf-8")
    with pytest.raises(RefusedError, match=r"lint error.*CK111"):
        approve(ws, PROCEDURE, reviewer="Dr Li Na", role="clinical", secret=PASSPHRASE.encode())
    assert not approvals_dir(ws).exists()


def test_template_change_unapproves(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "clinic")
    approve_both(ws)
    css = ws.templates_dir / "css" / "document.css"
    css.parent.mkdir(parents=True)
    css.write_text((builtin_dir("templates") / "css" / "document.css").read_text() + "\n/* local */\n")
    findings = [f for f in lint_paths([ws.root], select=["CK220"]).findings if f.rule == "CK220"]
    assert len(findings) == 2 and all("template css/document.css" in f.message for f in findings)
    assert "spec content" not in findings[0].message
    with pytest.raises(RefusedError, match=r"changed since: template css/document\.css"):
        packet(ws, tmp_path / "p")


def test_ck220_quiet_without_approvals_and_outside_workspaces(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "clinic")
    assert not [f for f in lint_paths([ws.root], select=["CK220"]).findings if f.rule == "CK220"]
    outside = tmp_path / "loose"
    outside.mkdir()
    shutil.copy(spec_file(ws), outside / f"{PROCEDURE}.yaml")
    approve_both(ws)
    change_one_word(ws)
    assert not [f for f in lint_paths([outside / f"{PROCEDURE}.yaml"]).findings if f.rule == "CK220"]


def test_required_roles_from_the_workspace_config(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "clinic")
    config = ws.root / "consentkit.toml"
    config.write_text(config.read_text() + '\n[review]\nrequired_roles = ["legal"]\n')
    from consentkit.workspace import find_workspace

    ws2 = find_workspace(explicit=ws.root)
    assert ws2 is not None
    approve(ws2, PROCEDURE, reviewer=REVIEWERS["legal"], role="legal", secret=PASSPHRASE.encode(), check_lint=False)
    result = packet(ws2, tmp_path / "p")
    assert [a.role for a in result.manifest.approvals] == ["legal"]


# --- CLI -----------------------------------------------------------------------------------------------------------


def _cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = int(main(list(args)) or 0)  # ctx.exit(n) returns n, which the console script exits with
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_issue_approve_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSENTKIT_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CONSENTKIT_SIGNER_PASSPHRASE", "Zhao Lei's own passphrase")  # the reviewer's own key
    ws = make_ws(tmp_path / "clinic")
    w = ["--workspace", str(ws.root)]
    code, _, err = _cli(*w, "review", "approve", PROCEDURE, "--reviewer", "Zhao Lei", "--role", "legal", capsys=capsys)
    assert code == 1 and "consentkit pki issue reviewer 'Zhao Lei'" in err and "Traceback" not in err
    code, out, err = _cli(*w, "pki", "issue", "reviewer", "Zhao Lei", capsys=capsys)
    assert code == 2 and "--review-role clinical|legal" in err
    code, out, err = _cli(*w, "pki", "issue", "reviewer", "Zhao Lei", "--review-role", "legal", capsys=capsys)
    assert code == 0 and "issued reviewer (legal review) certificate for Zhao Lei" in out, err
    version = resolve_version(ws, PROCEDURE).model.version
    code, out, err = _cli(
        *w, "review", "approve", PROCEDURE, "--version", version, "--reviewer", "Zhao Lei", "--role", "legal",
        capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    assert f"approved {PROCEDURE} {version} (legal) by Zhao Lei" in out
    code, out, err = _cli(*w, "review", "status", "--format", "json", "--no-lint", PROCEDURE, capsys=capsys)
    data = json.loads(out)
    assert code == 1  # clinical still missing
    assert data[0]["roles"]["legal"]["approved"] is True and data[0]["roles"]["legal"]["reviewer"] == "Zhao Lei"
    assert data[0]["roles"]["clinical"]["approved"] is False
    code, out, err = _cli(*w, "review", "status", capsys=capsys)
    assert "legal: approved by Zhao Lei" in out and "clinical: not approved" in out
    assert "rhinoplasty" in out  # built-in procedures are listed too


def test_two_approvals_in_one_second_are_both_filed(tmp_path: Path) -> None:
    import datetime as dt

    ws = make_ws(tmp_path / "clinic")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    first, second = (
        approve(ws, PROCEDURE, reviewer=REVIEWERS["legal"], role="legal", secret=PASSPHRASE.encode(), now=now,
                check_lint=False)
        for _ in range(2)
    )  # fmt: skip
    assert first.path != second.path and second.path.name.endswith("-2.statement.json")
    with open_log(ws, None) as audit:
        for approval in find_approvals(approvals_dir(ws), PROCEDURE).approvals:
            verify_approval(approval, pki=WorkspacePki(ws), log=audit)


def test_lint_cache_follows_approvals_and_templates(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "clinic")

    def ck220() -> int:
        report = lint_paths([ws.root], select=["CK220"], use_cache=True)
        return sum(1 for f in report.findings if f.rule == "CK220")

    assert ck220() == 0
    approve_both(ws)
    assert ck220() == 0  # cached findings of the unchanged spec are reused only while the approvals are unchanged
    css = ws.templates_dir / "css" / "document.css"
    css.parent.mkdir(parents=True)
    css.write_text((builtin_dir("templates") / "css" / "document.css").read_text() + "\n/* local */\n")
    assert ck220() == 2
    css.unlink()
    assert ck220() == 0
    approval = find_approvals(approvals_dir(ws), PROCEDURE).approvals[0]
    for path in (approval.path, approval.signature_path, approval.log_path):
        path.unlink()
    change_one_word(ws)
    assert ck220() == 1  # the remaining approval went stale
