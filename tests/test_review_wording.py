"""An approval covers the wording the documents print from outside the spec: the signing profile's meaning of each
signature, and the policy's cooling-off rule and signer rules. Changing one after approval unapproves; an older
approval that did not pin them reads as changed since approval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _packet_fixtures import example_case, write_case
from _review_fixtures import PASSPHRASE, REVIEWERS, review_workspace
from consentkit.errors import RefusedError
from consentkit.lint import lint_paths
from consentkit.packet import build_packet
from consentkit.resources import builtin_dir
from consentkit.review import approve, find_approvals, workspace_state
from consentkit.review.approvals import approvals_dir
from consentkit.review.statement import ApprovalStatement
from consentkit.review.status import library_status
from consentkit.spec.canonical import canonical_json
from consentkit.spec.library import load_library
from consentkit.workspace import Workspace

PROCEDURE = "botulinum-toxin"
PATIENT_EN = "I have read and understood this information and I consent to the procedure"
WAIVER = "I waive all claims against the clinic"


def approve_both(ws: Workspace) -> None:
    for role, name in REVIEWERS.items():
        approve(ws, PROCEDURE, reviewer=name, role=role, secret=PASSPHRASE.encode(), check_lint=False)


def state_of(ws: Workspace):  # type: ignore[no-untyped-def]
    library = load_library(ws.procedure_roots())
    return workspace_state(ws, library.procedure(PROCEDURE).model, library.policy("cn").model)


def ck220(ws: Workspace) -> list[str]:
    return [f.message for f in lint_paths([ws.root], select=["CK220"]).findings if f.rule == "CK220"]


@pytest.fixture(scope="module")
def approved(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = review_workspace(tmp_path_factory.mktemp("wording") / "clinic", PROCEDURE)
    approve_both(ws)
    return ws


def test_statement_pins_the_printed_wording(approved: Workspace) -> None:
    [first, *_] = find_approvals(approvals_dir(approved), PROCEDURE).approvals
    data = json.loads(first.path.read_bytes())
    assert data["format"] == "consentkit/approval/v2"
    assert data["signing_profile"]["meanings"]["patient"]["en"] == PATIENT_EN
    assert set(data["signing_profile"]["meanings"]["patient"]) == {"zh-CN", "zh-TW", "en"}
    policy = data["policy"]
    assert policy["jurisdiction"] == "cn" and policy["required_signers"] == ["clinic", "physician", "patient"]
    assert policy["cooling_off"]["text"]["en"].startswith(("at least", "no waiting", "not on"))
    assert state_of(approved).approved


def test_changed_patient_meaning_unapproves(approved: Workspace, tmp_path: Path) -> None:
    profile = approved.signatures_dir / "default.yaml"
    text = (builtin_dir("signatures") / "default.yaml").read_text(encoding="utf-8")
    assert text.count(PATIENT_EN) == 1
    profile.write_text(text.replace(PATIENT_EN, WAIVER), encoding="utf-8")
    try:
        state = state_of(approved)
        assert not state.approved and not state.needs_bump  # wording is not spec content: no version bump
        assert state.roles["legal"].changes == ("signing profile: patient meaning (en)",)
        messages = ck220(approved)
        assert len(messages) == 2 and all("signing profile: patient meaning (en)" in m for m in messages)
        with pytest.raises(RefusedError, match=r"changed since: signing profile: patient meaning \(en\)"):
            build_packet(approved, write_case(tmp_path / "case.yaml", example_case()), tmp_path / "p")
        [status] = library_status(approved, procedures=[PROCEDURE], lint=False)
        assert "signing profile: patient meaning (en)" in status.role_text("clinical")
    finally:
        profile.unlink()
    assert state_of(approved).approved and not ck220(approved)


def test_changed_cooling_off_rule_unapproves(approved: Workspace) -> None:
    policy = approved.procedures_dir / "policies" / "cn.yaml"
    text = (builtin_dir("procedures") / "policies" / "cn.yaml").read_text(encoding="utf-8")
    policy.write_text(text.replace("minimally-invasive: {days: 0}", "minimally-invasive: {days: 7}"), encoding="utf-8")
    try:
        state = state_of(approved)
        assert not state.approved
        (change,) = state.roles["clinical"].changes
        assert change.startswith("cooling-off ") and change.endswith("→ 7 d"), change
        assert all("cooling-off" in m for m in ck220(approved))
    finally:
        policy.unlink()


def test_changed_signer_rules_unapprove(approved: Workspace) -> None:
    policy = approved.procedures_dir / "policies" / "cn.yaml"
    text = (builtin_dir("procedures") / "policies" / "cn.yaml").read_text(encoding="utf-8")
    policy.write_text(text.replace("witness_for: [surgical]", "witness_for: [surgical, minimally-invasive]"))
    try:
        (change,) = state_of(approved).roles["legal"].changes
        assert change.startswith("policy signers clinic+physician+patient (witness for surgical) → ")
    finally:
        policy.unlink()


def test_an_approval_without_wording_pins_reads_as_changed(approved: Workspace) -> None:
    """A v1 statement (made before the wording was pinned) is read, shown as changed since approval, never a crash."""
    found = find_approvals(approvals_dir(approved), PROCEDURE).approvals
    legal = next(a for a in found if a.role == "legal")
    data = json.loads(legal.path.read_bytes())
    for key in ("signing_profile", "policy"):
        del data[key]
    data["format"] = "consentkit/approval/v1"
    data["approved_at"] = data["approved_at"][:-3] + "59Z"
    older = legal.path.with_name(legal.path.name.replace("legal-", "legal-v1-"))
    older.write_bytes(canonical_json(data))
    try:
        assert ApprovalStatement.from_bytes(older.read_bytes(), older).format == "consentkit/approval/v1"
        # delete the v2 approvals of legal for the check, keeping only the old one
        v2 = [a for a in find_approvals(approvals_dir(approved), PROCEDURE).approvals if a.role == "legal"]
        moved = [(a.path, a.path.read_bytes()) for a in v2 if a.path != older]
        for path, _ in moved:
            path.unlink()
        try:
            rs = state_of(approved).roles["legal"]
            assert rs.stale and rs.changes == (
                "signing-profile and policy wording (not pinned by this older approval)",
            )
            assert any("not pinned by this older approval" in m for m in ck220(approved))
        finally:
            for path, data_bytes in moved:
                path.write_bytes(data_bytes)
    finally:
        older.unlink()


def test_a_v2_statement_without_wording_is_rejected(approved: Workspace) -> None:
    [first, *_] = find_approvals(approvals_dir(approved), PROCEDURE).approvals
    data = json.loads(first.path.read_bytes())
    del data["policy"]
    from consentkit.errors import InputError

    with pytest.raises(InputError, match="pins signing_profile and policy"):
        ApprovalStatement.from_bytes(canonical_json(data), first.path)


def test_approval_covers_the_packet(approved: Workspace, tmp_path: Path) -> None:
    """verify-evidence's comparison: the templates, signature meanings and cooling-off a packet's manifest records
    against what each approval it cites pins."""
    from consentkit.review import approval_covers, approvals_for_refs
    from consentkit.review.coverage import pins_wording

    result = build_packet(approved, write_case(tmp_path / "case.yaml", example_case()), tmp_path / "p")
    manifest = result.manifest
    statements = [a.statement for a in approvals_for_refs(approved, manifest.approvals)]
    assert len(statements) == 2 and all(approval_covers(manifest, st) == [] for st in statements)
    clinical = next(st for st in statements if st.role == "clinical")
    name = next(iter(manifest.templates))
    other = manifest.model_copy(update={"templates": {**manifest.templates, name: "0" * 64}})
    assert approval_covers(other, clinical) == [
        f"the clinical approval (Dr Li Na) pinned other versions of the template {name}"
    ]
    patient = next(b for b in manifest.signature_boxes if b.role == "patient")
    boxes = [
        b.model_copy(update={"meaning": {**b.meaning, "en": WAIVER}}) if b is patient else b
        for b in manifest.signature_boxes
    ]
    (problem,) = approval_covers(manifest.model_copy(update={"signature_boxes": boxes}), clinical)
    assert problem == "the clinical approval (Dr Li Na) approved another patient signature meaning (en)"
    longer = manifest.cooling_off.model_copy(update={"days": manifest.cooling_off.days + 6})
    (problem,) = approval_covers(manifest.model_copy(update={"cooling_off": longer}), clinical)
    assert "approved a cooling-off of" in problem and f"the packet states {longer.days} d" in problem
    other_spec = manifest.procedure.model_copy(update={"spec_hash": "sha256:" + "1" * 64})
    assert approval_covers(manifest.model_copy(update={"procedure": other_spec}), clinical) == [
        "the clinical approval (Dr Li Na) approved other spec content than the packet's"
    ]
    older = clinical.model_copy(update={"format": "consentkit/approval/v1", "signing_profile": None, "policy": None})
    assert not pins_wording(older) and approval_covers(manifest, older) == []
