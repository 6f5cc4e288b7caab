"""Who approved in which role is proven, not declared: the approving certificate is issued for that review
(``OU=clinical review`` / ``OU=legal review``), and one person does not fill two required review roles of one
version unless the policy explicitly allows it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from _packet_fixtures import example_case, write_case
from _review_fixtures import PASSPHRASE, REVIEWERS, review_workspace
from _softhsm import MODULE as SOFTHSM
from _softhsm import PIN, softhsm_conf
from consentkit.cli import main
from consentkit.errors import RefusedError, VerificationError
from consentkit.packet import build_packet
from consentkit.pki import WorkspacePki
from consentkit.pki.certs import review_role_of
from consentkit.resources import builtin_dir
from consentkit.review import approve, find_approvals, verify_approval, workspace_state
from consentkit.review.approvals import approvals_dir, open_log
from consentkit.review.status import library_status
from consentkit.spec.library import load_library
from consentkit.workspace import Workspace, find_workspace

PROCEDURE = "botulinum-toxin"
SECRET = PASSPHRASE.encode()
ZHAO = "Dr Zhao Min"


def ws_with_zhao(root: Path) -> Workspace:
    """A workspace where Dr Zhao Min holds a clinical and a legal reviewer certificate."""
    ws = review_workspace(root, PROCEDURE)
    pki = WorkspacePki(ws)
    pki.issue_signer("reviewer", ZHAO, SECRET, review_role="clinical")
    pki.issue_signer("reviewer", ZHAO, SECRET, review_role="legal")
    return ws


def state_of(ws: Workspace):  # type: ignore[no-untyped-def]
    library = load_library(ws.procedure_roots())
    return workspace_state(ws, library.procedure(PROCEDURE).model, library.policy("cn").model)


def test_the_review_role_is_in_the_certificate(tmp_path: Path) -> None:
    ws = review_workspace(tmp_path / "clinic", PROCEDURE)
    pem = ws.root / ".consentkit" / "pki" / "signers"
    record = WorkspacePki(ws).find(REVIEWERS["legal"], roles=("reviewer",))
    assert record.review_role == "legal"
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", str(pem / f"{record.slug}.pem")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "OU=legal review" in text and "title=reviewer" in text
    with pytest.raises(Exception, match="--review-role clinical or legal"):
        WorkspacePki(ws).issue_signer("reviewer", "Nobody", SECRET)
    with pytest.raises(Exception, match="only a reviewer certificate names a review role"):
        WorkspacePki(ws).issue_signer("physician", "Dr X", SECRET, review_role="legal")


def test_a_clinical_certificate_cannot_approve_as_legal(tmp_path: Path) -> None:
    ws = review_workspace(tmp_path / "clinic", PROCEDURE)
    with pytest.raises(RefusedError, match=r"Dr Li Na is for clinical review, not legal; .*--review-role legal"):
        approve(ws, PROCEDURE, reviewer=REVIEWERS["clinical"], role="legal", secret=SECRET, check_lint=False)
    assert not approvals_dir(ws).exists()


def test_a_certificate_without_a_review_role_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = review_workspace(tmp_path / "clinic", PROCEDURE)
    with monkeypatch.context() as m:  # as consentkit issued reviewer certificates before they named a review
        m.setattr("consentkit.pki.authority.check_review_role", lambda role, review_role: None)
        WorkspacePki(ws).issue_signer("reviewer", "Old Reviewer", SECRET)
    with pytest.raises(RefusedError, match=r"Old Reviewer names no review role .* cannot prove a legal approval"):
        approve(ws, PROCEDURE, reviewer="Old Reviewer", role="legal", secret=SECRET, check_lint=False)


def test_verification_checks_the_certificate_role(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An approval whose certificate does not name the approved review does not verify (status: DOES NOT VERIFY)."""
    ws = review_workspace(tmp_path / "clinic", PROCEDURE)
    with monkeypatch.context() as m:
        m.setattr("consentkit.pki.certs.review_unit", lambda role: "")  # index says legal, certificate says nothing
        WorkspacePki(ws).issue_signer("reviewer", "Legacy", SECRET, review_role="legal")
    with pytest.raises(RefusedError, match="not issued for legal review"):
        approve(ws, PROCEDURE, reviewer="Legacy", role="legal", secret=SECRET, check_lint=False)
    with monkeypatch.context() as m:
        m.setattr("consentkit.review.approvals.review_role_of", lambda cert: "legal")
        approval = approve(ws, PROCEDURE, reviewer="Legacy", role="legal", secret=SECRET, check_lint=False)
    assert review_role_of(WorkspacePki(ws).certificate("signers/" + "legacy")) is None
    with open_log(ws, None) as log, pytest.raises(VerificationError, match="names no review role"):
        verify_approval(approval, pki=WorkspacePki(ws), log=log)
    [status] = library_status(ws, procedures=[PROCEDURE], lint=False)
    assert status.role_text("legal").startswith("DOES NOT VERIFY") and not status.approved


def test_one_person_cannot_fill_both_required_roles(tmp_path: Path) -> None:
    ws = ws_with_zhao(tmp_path / "clinic")
    approve(ws, PROCEDURE, reviewer=ZHAO, role="clinical", secret=SECRET, check_lint=False)
    with pytest.raises(RefusedError) as refused:
        approve(ws, PROCEDURE, reviewer=ZHAO, role="legal", secret=SECRET, check_lint=False)
    message = refused.value.message
    assert message.startswith(f"{ZHAO} already approved {PROCEDURE} ")
    assert "as clinical reviewer" in message and "from different people" in message
    assert [a.role for a in find_approvals(approvals_dir(ws), PROCEDURE).approvals] == ["clinical"]
    # another person completes it
    approve(ws, PROCEDURE, reviewer=REVIEWERS["legal"], role="legal", secret=SECRET, check_lint=False)
    assert state_of(ws).approved


def test_a_statement_naming_another_person_than_its_certificate_does_not_verify(tmp_path: Path) -> None:
    """The reviewer named in a statement (name, slug, serial) must be the one whose certificate signed it: Dr Zhao,
    signing a legal statement that names Wang Fang with Zhao's own legal certificate (and logging it under Wang
    Fang's slug), verified, counted as a second person, and let a packet be made."""
    import dataclasses
    import datetime as dt

    from consentkit.review.approvals import _record_approval, _spec_and_policy
    from consentkit.review.signature import sign_detached
    from consentkit.review.state import pinned_for, signing_profile
    from consentkit.spec.canonical import content_hash

    ws = ws_with_zhao(tmp_path / "clinic")
    approve(ws, PROCEDURE, reviewer=ZHAO, role="clinical", secret=SECRET, check_lint=False)
    pki = WorkspacePki(ws)
    legal = next(r for r in pki.records() if r.name == ZHAO and r.review_role == "legal")
    key, cert, _ = pki.unlock_credential(legal, passphrase=None, workspace_secret=SECRET)
    wang = pki.find(REVIEWERS["legal"], roles=("reviewer",))
    assert wang.slug is not None
    spec, policy = _spec_and_policy(ws, PROCEDURE)
    model = spec.model
    forged = _record_approval(
        ws,
        pki,
        dataclasses.replace(legal, name=wang.name),
        wang.slug,
        "legal",
        model,
        content_hash(model),
        pinned_for(model, ws.template_roots(), policy, signing_profile(ws)),
        policy,
        dt.datetime.now(dt.UTC).replace(microsecond=0),
        SECRET,
        lambda data: sign_detached(data, key, cert, pki.chain()),
    )
    assert forged.reviewer == wang.name
    with open_log(ws, None) as log, pytest.raises(VerificationError, match=f"signed with the certificate of {ZHAO}"):
        verify_approval(forged, pki=pki, log=log)
    with pytest.raises(RefusedError, match="the legal approval does not verify"):
        build_packet(ws, write_case(tmp_path / "case.yaml", example_case()), tmp_path / "p")


def allow_same_reviewer(ws: Workspace) -> Path:
    policy = ws.procedures_dir / "policies" / "cn.yaml"
    text = (builtin_dir("procedures") / "policies" / "cn.yaml").read_text(encoding="utf-8")
    assert "  required_roles: [clinical, legal]\n" in text
    policy.write_text(
        text.replace(
            "  required_roles: [clinical, legal]\n",
            "  required_roles: [clinical, legal]\n  same_reviewer_for_several_roles: true\n",
        ),
        encoding="utf-8",
    )
    return policy


def test_a_policy_may_allow_one_person_for_both(tmp_path: Path) -> None:
    ws = ws_with_zhao(tmp_path / "clinic")
    policy = allow_same_reviewer(ws)
    ws = find_workspace(explicit=ws.root)  # type: ignore[assignment]
    for role in ("clinical", "legal"):
        approve(ws, PROCEDURE, reviewer=ZHAO, role=role, secret=SECRET, check_lint=False)
    assert state_of(ws).approved
    build_packet(ws, write_case(tmp_path / "case.yaml", example_case()), tmp_path / "p1")
    # the policy no longer allows it: the later role's approval stops counting, and packets are refused
    policy.unlink()
    state = state_of(ws)
    assert state.missing == ["legal"]
    assert state.roles["legal"].uncounted_because.startswith(f"{ZHAO} also approved it as clinical")
    [status] = library_status(ws, procedures=[PROCEDURE], lint=False)
    assert "does not count" in status.role_text("legal") and not status.approved
    with pytest.raises(RefusedError, match=r"the legal approval does not count: Dr Zhao Min also approved it"):
        build_packet(ws, write_case(tmp_path / "case2.yaml", example_case()), tmp_path / "p2")


@pytest.mark.skipif(not SOFTHSM.exists(), reason="softhsm2 is not installed (see bootstrap.sh)")
def test_approve_with_a_key_on_a_pkcs11_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A legal reviewer whose key lives on a token (SoftHSM2): issued with --pkcs11, approving with the key on the
    token; the approval verifies like one made with a key file, with openssl too."""
    softhsm_conf()  # the token "review" with the key "legal", in the process's one SoftHSM2 folder
    monkeypatch.setenv("TOKEN_PIN", PIN)
    monkeypatch.setenv("CONSENTKIT_PASSPHRASE", PASSPHRASE)
    uri = f"pkcs11:token=review;object=legal?module-path={SOFTHSM}&pin-source=env:TOKEN_PIN"
    ws = review_workspace(tmp_path / "clinic", PROCEDURE)
    w = ["--workspace", str(ws.root)]

    def run(*args: str) -> tuple[int, str]:
        try:
            code = int(main([*w, *args]) or 0)
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out + err

    code, out = run("pki", "issue", "reviewer", "Token Reviewer", "--review-role", "legal", "--pkcs11", uri)
    assert code == 0 and "issued reviewer (legal review) certificate for Token Reviewer" in out, out
    # the token's certificate is not Dr Li Na's: refused before anything is written
    code, out = run("review", "approve", PROCEDURE, "--reviewer", REVIEWERS["clinical"], "--role", "clinical",
                    "--pkcs11", uri)  # fmt: skip
    assert code == 1 and "is not the clinical reviewer certificate of Dr Li Na" in out, out
    code, out = run("review", "approve", PROCEDURE, "--reviewer", "Token Reviewer", "--role", "legal")
    assert code == 0 and "(legal) by Token Reviewer" in out, out
    [approval] = find_approvals(approvals_dir(ws), PROCEDURE).approvals
    with open_log(ws, None) as log:
        verify_approval(approval, pki=WorkspacePki(ws), log=log)
    done = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(approval.signature_path), "-content",
         str(approval.path), "-CAfile", str(ws.signatures_dir / "trust" / "clinic-root.pem"), "-out", "/dev/null"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
