"""Approving a procedure version, finding approvals, and checking them.

    from consentkit.review import approve, workspace_state, require_approvals
    approval = approve(ws, "botulinum-toxin", reviewer="Dr Li Na", role="clinical", secret=b"…")
    state = workspace_state(ws, spec, policy)      # per review role: approved, by whom, or what changed since
    refs = require_approvals(ws, spec, policy, ws.template_roots())   # packets: refuse unless all roles approved

What is approved (:class:`~consentkit.review.statement.ApprovalStatement`): the spec's content hash and the hashes
of the templates and fixed wording it renders with, for one version. Changing either unapproves it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from consentkit.errors import ConsentkitError, InputError, RefusedError, SigningError, SpecError, VerificationError
from consentkit.manifest import ApprovalRef
from consentkit.pki.certs import review_role_of, sha256_fingerprint
from consentkit.review.state import (
    ApprovalState,
    Pinned,
    approval_state,
    bump_message,
    distinct_reviewers,
    other_content,
    pinned_for,
    required_roles,
    same_person,
    signing_profile,
)
from consentkit.review.statement import (
    APPROVALS_DIR,
    SIGNATURE_SUFFIX,
    STATEMENT_SUFFIX,
    Approval,
    ApprovalStatement,
    ReviewerRef,
    approval_stem,
    find_approvals,
    log_record,
    write_new,
)
from consentkit.spec.canonical import content_hash
from consentkit.spec.library import Loaded, scan_library
from consentkit.spec.models import Policy, ProcedureSpec
from consentkit.workspace import Workspace

if TYPE_CHECKING:
    from cryptography import x509

    from consentkit.audit.log import AuditLog
    from consentkit.pki import CertRecord, WorkspacePki

REVIEW_ROLES = ("clinical", "legal")


def approvals_dir(ws: Workspace) -> Path:
    return ws.root / APPROVALS_DIR


def _shown(ws: Workspace, path: Path) -> str:
    try:
        return path.resolve().relative_to(ws.root.resolve()).as_posix()
    except ValueError:
        return str(path)


def workspace_state(
    ws: Workspace, spec: ProcedureSpec, policy: Policy, template_roots: Sequence[Path] | None = None
) -> ApprovalState:
    found = find_approvals(approvals_dir(ws), spec.id)
    pinned = pinned_for(spec, template_roots or ws.template_roots(), policy, signing_profile(ws))
    return approval_state(pinned, found.approvals, required_roles(ws, policy), distinct=distinct_reviewers(policy))


# --- approving ------------------------------------------------------------------------------------------------


def _spec_and_policy(ws: Workspace, procedure_id: str) -> tuple[Loaded[ProcedureSpec], Policy]:
    scan = scan_library(ws.procedure_roots())
    spec = scan.procedures.get(procedure_id)
    if spec is None:
        own = [p for p in scan.problems if p.location is not None and Path(p.location.path).stem == procedure_id]
        if own:
            raise own[0]
        if scan.intake is None:
            raise SpecError("no intake.yaml found in the workspace or the built-in library")
        scan.library(ws.procedure_roots()).procedure(procedure_id)  # raises "unknown procedure …; did you mean"
    assert spec is not None
    policy = scan.policies.get(ws.config.clinic.jurisdiction)
    if policy is None:
        raise SpecError(f"no policy for the workspace's jurisdiction '{ws.config.clinic.jurisdiction}'")
    return spec, policy.model


def _check_version(ws: Workspace, spec: Loaded[ProcedureSpec], version: str | None) -> None:
    if version is None or version == spec.model.version:
        return
    from consentkit.review.history import committed_versions, from_history

    current = spec.model.version
    found = from_history(spec.path, spec.model.id, version)
    if found is not None:
        raise RefusedError(
            f"{spec.model.id} {version} is an earlier version ({found.origin}); only the current version "
            f"{current} can be approved, because an approval pins the content and templates in use now"
        )
    known = committed_versions(spec.path)
    raise RefusedError(
        f"{spec.model.id} has no version {version}: the current version is {current}"
        + (f", and git history has {', '.join(known)}" if known else " and it is not in any git history")
    )


def _check_lint(ws: Workspace, spec: Loaded[ProcedureSpec]) -> None:
    from consentkit.lint import lint_paths

    report = lint_paths([spec.path], workspace_dir=ws.root, ignore=["CK220"], use_cache=True)
    errors = [f for f in report.findings if f.severity == "error"]
    if errors:
        first = errors[0]
        raise RefusedError(
            f"{spec.model.id} {spec.model.version} has {len(errors)} lint error{'s' if len(errors) > 1 else ''}; "
            f"fix {'them' if len(errors) > 1 else 'it'} before approving (consentkit lint {spec.path}). First: "
            f"{first.file}:{first.line} {first.rule} {first.message}"
        )


def reviewer_credential(pki: WorkspacePki, reviewer: str, role: str, at: dt.datetime) -> CertRecord:
    """The certificate record of ``reviewer`` for ``role`` review (the role is in the certificate), refusing an
    unknown reviewer, one whose certificates are for another review or name none, and an expired or revoked one."""
    issue = f"consentkit pki issue reviewer '{reviewer}' --review-role {role}"
    try:
        found = pki.find(reviewer, roles=("reviewer",))
    except InputError:
        raise RefusedError(f"no reviewer credential for '{reviewer}'; issue one with: {issue}") from None
    # by name: any of that person's reviewer certificates; by slug or serial: exactly that one
    named = reviewer.strip() == found.name
    mine = [r for r in pki.records() if r.role == "reviewer" and r.name == found.name] if named else [found]
    for_role = [r for r in mine if r.review_role == role]
    if not for_role:
        others = sorted({r.review_role for r in mine if r.review_role})
        why = (
            f"is for {' and '.join(others)} review, not {role}"
            if others
            else f"names no review role (issued before certificates carried one), so it cannot prove a {role} approval"
        )
        raise RefusedError(
            f"the reviewer certificate of {found.name} {why}; if {found.name} approves for {role} review, issue a "
            f"certificate for it with: consentkit pki issue reviewer '{found.name}' --review-role {role}"
        )
    usable = [r for r in for_role if r.status(at) == "valid"]
    if not usable:
        newest = max(for_role, key=lambda r: r.not_before)
        raise RefusedError(
            f"the {role} reviewer credential of {newest.name} is {newest.status(at)}; issue a new one with: "
            f"consentkit pki issue reviewer '{newest.name}' --review-role {role}"
        )
    return max(usable, key=lambda r: r.not_before)


def _check_one_role_per_person(
    name: str, role: str, pinned: Pinned, filed: Sequence[Approval], required: Sequence[str], policy: Policy
) -> None:
    if role not in required or not distinct_reviewers(policy):
        return
    for other in filed:
        fills_other = other.role != role and other.role in required and pinned.matches(other.statement)
        if fills_other and same_person(other.reviewer, name):
            raise RefusedError(
                f"{name} already approved {pinned.procedure} {pinned.version} as {other.role} reviewer on "
                f"{other.approved_at:%Y-%m-%d}; the {policy.jurisdiction} policy requires the "
                f"{' and '.join(required)} approvals from different people, so the {role} approval must come "
                f"from someone else"
            )


def open_log(ws: Workspace, secret: bytes | None) -> AuditLog:
    """The workspace's audit log (:meth:`AuditLog.for_workspace`: its heads kept outside the database too), its
    heads signed and timestamped with ``secret`` (the workspace passphrase) when given, rather than asking for it a
    second time."""
    from consentkit.audit.log import AuditLog

    return AuditLog.for_workspace(ws, secret=secret)


def _claim(stem: Path, data: bytes) -> Path:
    """Write the statement under the first free name (``…-2``, ``…-3`` when one reviewer approves twice in a
    second) and return the stem taken."""
    for n in range(1, 100):
        candidate = stem if n == 1 else stem.with_name(f"{stem.name}-{n}")
        try:
            write_new(candidate.with_name(candidate.name + STATEMENT_SUFFIX), data)
        except FileExistsError:
            continue
        return candidate
    raise RefusedError(f"too many approvals named {stem.name}; wait a second and try again")


def approve(
    ws: Workspace,
    procedure_id: str,
    *,
    reviewer: str,
    role: str,
    version: str | None = None,
    now: dt.datetime | None = None,
    secret: bytes | None = None,
    check_lint: bool = True,
    pkcs11: str | None = None,
    signer_secret: bytes | None = None,
) -> Approval:
    """Approve the current version of ``procedure_id`` as ``role`` (clinical or legal), signed with ``reviewer``'s
    own key (``consentkit pki issue reviewer NAME --review-role ROLE``; ``pkcs11``: a ``pkcs11:`` URI of a key on
    a token, by default the one the credential was issued for), recorded as a ``spec.approved`` audit event
    followed by a signed tree head, and filed under ``approvals/``. ``secret`` is the workspace passphrase
    (default: from the environment or a prompt). Refuses (:class:`RefusedError`) an unknown role, a reviewer
    without a valid credential for that review, a version other than the current one or approved with other
    content, a person who already fills another required role, and a spec with lint errors. ``signer_secret`` is
    the reviewer's own key passphrase (a key file issued with one opens with nothing else)."""
    from consentkit import keystore
    from consentkit.pki import WorkspacePki

    if role not in REVIEW_ROLES:
        raise RefusedError(f"--role {role!r}: a review role is one of {', '.join(REVIEW_ROLES)}")
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    spec, policy = _spec_and_policy(ws, procedure_id)
    _check_version(ws, spec, version)
    model = spec.model
    spec_hash = content_hash(model)
    filed = find_approvals(approvals_dir(ws), model.id).approvals
    conflicts = other_content(model.id, model.version, spec_hash, filed)
    if conflicts:
        raise RefusedError(bump_message(model.id, model.version, conflicts, _shown(ws, spec.path)))
    pki = WorkspacePki(ws).require()
    record = reviewer_credential(pki, reviewer, role, now)
    pinned = pinned_for(model, ws.template_roots(), policy, signing_profile(ws))
    _check_one_role_per_person(record.name, role, pinned, filed, required_roles(ws, policy), policy)
    if check_lint:
        _check_lint(ws, spec)
    secret = secret if secret is not None else keystore.passphrase(ws)
    slug = record.slug
    assert slug is not None  # every reviewer credential is kept as signers/<slug>
    with _reviewer_key(pki, record, role, secret, pkcs11, signer_secret) as sign:
        return _record_approval(ws, pki, record, slug, role, model, spec_hash, pinned, policy, now, secret, sign)


@contextmanager
def _reviewer_key(
    pki: WorkspacePki, record: CertRecord, role: str, secret: bytes, pkcs11: str | None, signer_secret: bytes | None
) -> Iterator[Callable[[bytes], bytes]]:
    """A function signing with the reviewer's key — the workspace's PKCS#12 file, or a PKCS#11 token — once the
    certificate it carries is checked to be this credential's, issued for ``role`` review."""
    from consentkit.review.signature import sign_detached, sign_with_token

    uri = pkcs11 or (record.pkcs11_uri if record.key_storage == "pkcs11" else None)
    if uri is None:
        key, cert, _ = pki.unlock_credential(record, passphrase=signer_secret, workspace_secret=secret)
        _check_reviewer_certificate(cert, record, role)
        yield lambda data: sign_detached(data, key, cert, pki.chain())
        return
    from consentkit.sign.signers import Pkcs11Ref, Pkcs11Session

    session = Pkcs11Session(Pkcs11Ref.parse(uri), None, pki.chain())
    try:
        _check_reviewer_certificate(session.certificate, record, role)
        yield lambda data: sign_with_token(data, session)
    finally:
        session.close()


def _check_reviewer_certificate(cert: x509.Certificate, record: CertRecord, role: str) -> None:
    """The key's certificate must be the credential found for the reviewer, and say the review (the index said so;
    the certificate itself must too)."""
    if sha256_fingerprint(cert) != record.sha256:
        raise RefusedError(
            f"the key's certificate ({cert.subject.rfc4514_string()}) is not the {role} reviewer certificate of "
            f"{record.name} (serial {record.serial})"
        )
    if review_role_of(cert) != role:
        raise RefusedError(f"the certificate of {record.name} (serial {record.serial}) is not issued for {role} review")


def _record_approval(
    ws: Workspace,
    pki: WorkspacePki,
    record: CertRecord,
    slug: str,
    role: str,
    model: ProcedureSpec,
    spec_hash: str,
    pinned: Pinned,
    policy: Policy,
    now: dt.datetime,
    secret: bytes,
    sign: Callable[[bytes], bytes],
) -> Approval:
    """Sign the statement, file it, and append the ``spec.approved`` event and a tree head."""
    from consentkit.audit import events

    statement = ApprovalStatement(
        procedure=model.id,
        version=model.version,
        spec=spec_hash,
        locales=list(model.locales),
        templates=pinned.templates,
        signing_profile=pinned.signing_profile,
        policy=pinned.policy,
        role=role,  # type: ignore[arg-type]
        reviewer=ReviewerRef(name=record.name, slug=slug, certificate="sha256:" + record.sha256, serial=record.serial),
        jurisdiction=policy.jurisdiction,
        approved_at=now,
    )
    data = statement.to_bytes()
    signature = sign(data)
    stem = _claim(approval_stem(approvals_dir(ws), statement), data)
    statement_path = stem.with_name(stem.name + STATEMENT_SUFFIX)
    signature_path = stem.with_name(stem.name + SIGNATURE_SUFFIX)
    event = events.SpecApproved(
        time=now,
        actor=events.Actor(id=slug, role="reviewer"),
        documents=(
            events.DocumentHash(name=statement_path.name, sha256=events.sha256_id(data)),
            events.DocumentHash(name=signature_path.name, sha256=events.sha256_id(signature)),
        ),
        data=events.ApprovalData(procedure=model.id, version=model.version, content=statement.spec, review=role),  # type: ignore[arg-type]
    )
    try:
        body = events.event_bytes(event)
        write_new(signature_path, signature)
    except BaseException:
        statement_path.unlink(missing_ok=True)
        raise
    with open_log(ws, secret) as log:
        try:
            done = log.append(event)
        except BaseException:
            statement_path.unlink(missing_ok=True)
            signature_path.unlink(missing_ok=True)
            raise
        log_path = stem.with_name(stem.name + ".log.json")
        write_new(log_path, log_record(done.index, done.leaf, body))
        try:
            log.head()
        except ConsentkitError as exc:
            raise SigningError(
                f"the approval is recorded (audit event {done.index}) but no signed tree head could be made: "
                f"{exc.message}; make one with 'consentkit audit head'"
            ) from exc
    return Approval(statement, statement_path, done.index, "sha256:" + done.leaf.hex(), body)


# --- checking -------------------------------------------------------------------------------------------------


def verify_approval(approval: Approval, *, pki: WorkspacePki, log: AuditLog) -> None:
    """Check one approval end to end, or raise :class:`VerificationError` saying what is wrong: the reviewer's
    signature over the statement (chain to the clinic root, reviewer certificate, not revoked before), and the
    ``spec.approved`` event in the log (same bytes at the recorded index, naming this statement and signature)."""
    from consentkit.audit import merkle
    from consentkit.audit.events import EventError, SpecApproved, parse_event, sha256_id
    from consentkit.review.signature import verify_signature

    st = approval.statement
    where = approval.path.name
    data = approval.path.read_bytes()
    try:
        signature = approval.signature_path.read_bytes()
    except OSError:
        raise VerificationError(f"{where}: its signature file {approval.signature_path.name} is missing") from None
    check = verify_signature(data, signature, issuing=pki.issuing, root=pki.root)
    if check.fingerprint != st.reviewer.certificate or check.title != "reviewer":
        raise VerificationError(f"{where}: signed by {check.signer.subject.rfc4514_string()}, not the named reviewer")
    certified = review_role_of(check.signer)
    if certified != st.role:
        raise VerificationError(
            f"{where}: the {st.role} approval is signed with a certificate "
            + (f"for {certified} review" if certified else "that names no review role")
            + f", so it does not prove a {st.role} review"
        )
    record = next((r for r in pki.records() if r.sha256 == check.fingerprint.removeprefix("sha256:")), None)
    if record is None:
        raise VerificationError(f"{where}: the reviewer certificate is not in this workspace's certificate index")
    if (record.name, record.slug, record.serial) != (st.reviewer.name, st.reviewer.slug, st.reviewer.serial):
        # the name is what the one-person-per-role rule and the packet's manifest go by
        raise VerificationError(
            f"{where}: names {st.reviewer.name} ({st.reviewer.slug}) as the reviewer, but is signed with the "
            f"certificate of {record.name} ({record.slug}, serial {record.serial})"
        )
    if record.status(st.approved_at) != "valid":
        raise VerificationError(f"{where}: the reviewer certificate was {record.status(st.approved_at)} at approval")
    if approval.index is None or approval.event is None or approval.leaf is None:
        raise VerificationError(f"{where}: no audit-log reference ({approval.log_path.name} missing or damaged)")
    try:
        stored = log.event(approval.index)
    except VerificationError:
        raise VerificationError(f"{where}: audit event {approval.index} is not in the log") from None
    leaf = merkle.leaf_hash(stored.body)
    if stored.body != approval.event or leaf != stored.leaf or "sha256:" + leaf.hex() != approval.leaf:
        raise VerificationError(f"{where}: audit event {approval.index} is not the recorded spec.approved event")
    try:
        event = parse_event(stored.body)
    except EventError as exc:
        raise VerificationError(f"{where}: audit event {approval.index} is not valid: {exc}") from None
    docs = {d.name: d.sha256 for d in getattr(event, "documents", ())}
    if (
        not isinstance(event, SpecApproved)
        or (event.data.procedure, event.data.version, event.data.content, event.data.review)
        != (st.procedure, st.version, st.spec, st.role)
        or event.actor.id != st.reviewer.slug
        or docs.get(approval.path.name) != sha256_id(data)
        or docs.get(approval.signature_path.name) != sha256_id(signature)
    ):
        raise VerificationError(f"{where}: audit event {approval.index} does not record this approval")


def require_approvals(
    ws: Workspace,
    spec: ProcedureSpec,
    policy: Policy,
    template_roots: Sequence[Path],
    *,
    log: AuditLog | None = None,
) -> list[ApprovalRef]:
    """The approvals a packet of ``spec`` cites: for every required role, an approval of exactly this version, spec
    content and templates, verified (signature and audit event). Refuses (:class:`RefusedError`) naming the missing
    roles and the command to approve; with no required roles, cites whatever verifies."""
    from consentkit.pki import WorkspacePki

    found = find_approvals(approvals_dir(ws), spec.id).approvals
    pinned = pinned_for(spec, template_roots, policy, signing_profile(ws))
    matching = [a for a in found if pinned.matches(a.statement)]
    failures: dict[str, str] = {}
    failed: set[Path] = set()
    if matching:
        pki = WorkspacePki(ws).require()
        own_log = log or open_log(ws, None)
        try:
            for approval in reversed(matching):  # newest first: its failure is the one worth reporting
                try:
                    verify_approval(approval, pki=pki, log=own_log)
                except VerificationError as exc:
                    failures.setdefault(approval.role, exc.message)
                    failed.add(approval.path)
        finally:
            if log is None:
                own_log.close()
    counted = [a for a in found if a.path not in failed]
    state = approval_state(pinned, counted, required_roles(ws, policy), distinct=distinct_reviewers(policy))
    refs = {role: rs.current.ref() for role, rs in state.roles.items() if rs.current is not None}
    missing = [r for r in state.required if r not in refs]
    if missing:
        raise RefusedError(refusal(spec, state, missing, failures))
    return [refs[r] for r in sorted(refs)]


def approvals_for_refs(ws: Workspace, refs: Sequence[ApprovalRef]) -> list[Approval]:
    """The filed approvals a packet manifest cites (matched by the ``spec.approved`` leaf hash), for the gate and
    evidence bundles: each has its statement, signature and log files. A reference with no filed approval raises
    :class:`VerificationError`."""
    by_leaf = {a.leaf: a for a in find_approvals(approvals_dir(ws)).approvals if a.leaf}
    out = []
    for ref in refs:
        found = by_leaf.get(ref.event_hash)
        if found is None:
            raise VerificationError(f"the {ref.role} approval {ref.event_hash[:19]}… is not filed under approvals/")
        out.append(found)
    return out


def refusal(spec: ProcedureSpec, state: ApprovalState, missing: Sequence[str], failures: dict[str, str]) -> str:
    """Why a packet is refused, naming each missing role, what changed since its last approval, and the command."""
    plural = "s" if len(missing) > 1 else ""
    parts = [f"{spec.id} {spec.version} is not approved: the {' and '.join(missing)} approval{plural} missing"]
    for role in missing:
        rs = state.roles[role]
        if role in failures:
            parts.append(f"the {role} approval does not verify: {failures[role]}")
        elif rs.uncounted is not None:
            parts.append(f"the {role} approval does not count: {rs.uncounted_because}")
        elif rs.previous is not None:
            when = rs.previous.approved_at.strftime("%Y-%m-%d")
            parts.append(
                f"{role} approved {rs.previous.statement.version} on {when} ({rs.previous.reviewer}), "
                f"changed since: {'; '.join(rs.changes)}"
            )
    commands = " and ".join(f"consentkit review approve {spec.id} --reviewer NAME --role {r}" for r in missing)
    if state.needs_bump:
        parts.append(bump_message(spec.id, spec.version, state.conflicts, f"procedures/{spec.id}.yaml"))
        return "; ".join(parts) + f". Then approve with: {commands} (or make a --draft packet)"
    return "; ".join(parts) + f". Approve with: {commands} (or make a --draft packet)"
