"""Where every procedure stands: version, content hash, approvals per required role (verified), next clinical
review, open lint findings, and the policy checks a compliance officer looks for. ``consentkit review status``
prints it; the review report files it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consentkit.errors import ConsentkitError, VerificationError
from consentkit.resources import builtin_dir
from consentkit.review.approvals import approvals_dir, open_log, verify_approval
from consentkit.review.state import (
    ApprovalState,
    approval_state,
    distinct_reviewers,
    next_version,
    pinned_for,
    required_roles,
    signing_profile,
)
from consentkit.review.statement import Approval, find_approvals
from consentkit.spec.library import Library, Loaded, load_library
from consentkit.spec.models import Policy, ProcedureSpec
from consentkit.workspace import Workspace


@dataclass(frozen=True)
class Check:
    """One policy check of a procedure: what is checked, whether it passes, and a short detail."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class LintSummary:
    errors: int
    warnings: int
    first: tuple[str, ...] = ()  # "CK110 line 12: …" for the first few findings
    rules: frozenset[str] = frozenset()  # every rule with a finding


@dataclass
class ProcedureStatus:
    spec: Loaded[ProcedureSpec]
    source: str  # "workspace" or "built-in"
    state: ApprovalState
    next_review: dt.date | None
    review_overdue: bool
    lint: LintSummary | None
    checks: list[Check] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)  # role → why its matching approval does not verify

    @property
    def id(self) -> str:
        return self.spec.model.id

    @property
    def version(self) -> str:
        return self.spec.model.version

    @property
    def spec_hash(self) -> str:
        return self.state.pinned.spec

    @property
    def approved(self) -> bool:
        return self.state.approved and not any(r in self.invalid for r in self.state.required)

    def role_text(self, role: str) -> str:
        """``approved by Dr Li Na, 2026-11-25``, ``changed since approval (…)``, ``not approved``."""
        rs = self.state.roles.get(role)
        if rs is None:
            return "not approved"
        if rs.current is not None:
            if role in self.invalid:
                return f"DOES NOT VERIFY: {self.invalid[role]}"
            return f"approved by {rs.current.reviewer}, {rs.current.approved_at:%Y-%m-%d %H:%M} UTC"
        if rs.uncounted is not None:
            return f"not approved: the approval does not count ({rs.uncounted_because})"
        bump = f"; bump the version (to {next_version(self.version)}) before approving" if self.state.needs_bump else ""
        if rs.previous is not None:
            return (
                f"changed since approval ({rs.previous.statement.version} by {rs.previous.reviewer}, "
                f"{rs.previous.approved_at:%Y-%m-%d}: {'; '.join(rs.changes)}){bump}"
            )
        return f"not approved{bump}"

    def as_dict(self) -> dict[str, Any]:
        roles = {}
        for role, rs in self.state.roles.items():
            chosen: Approval | None = rs.current or rs.uncounted or rs.previous
            roles[role] = {
                "required": rs.required,
                "approved": rs.approved and role not in self.invalid,
                "changed_since_approval": rs.stale,
                "changes": list(rs.changes),
                "not_counted": rs.uncounted_because or None,
                "reviewer": chosen.reviewer if chosen else None,
                "approved_at": chosen.approved_at.isoformat() if chosen else None,
                "approved_version": chosen.statement.version if chosen else None,
                "event_hash": chosen.leaf if chosen else None,
                "verification": self.invalid.get(role, "ok" if rs.current else None),
            }
        return {
            "procedure": self.id,
            "version": self.version,
            "source": self.source,
            "spec_hash": self.spec_hash,
            "approved": self.approved,
            "needs_version_bump": self.state.needs_bump,
            "roles": roles,
            "next_review": self.next_review.isoformat() if self.next_review else None,
            "review_overdue": self.review_overdue,
            "lint": None if self.lint is None else {"errors": self.lint.errors, "warnings": self.lint.warnings},
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


def next_review(spec: ProcedureSpec) -> dt.date | None:
    from consentkit.lint.rules.timeline import add_months

    if spec.review is None:
        return None
    return add_months(spec.review.last_reviewed, spec.review.interval_months)


def policy_checks(spec: ProcedureSpec, policy: Policy, lint: LintSummary | None) -> list[Check]:
    """The checks a compliance officer reads on each status page (the same facts lint's CK110-CK180 check)."""
    from consentkit.cooling_off import cooling_off_period
    from consentkit.lint.rules.completeness import section_content

    missing = [s for s in policy.required_sections if not section_content(spec, s)[0]]
    rule = policy.cooling_off_for(spec.category)
    spec_days = spec.cooling_off.days if spec.cooling_off else 0
    period = cooling_off_period(spec, policy)
    emergency = sum(1 for f in spec.aftercare.red_flags if f.emergency)
    serious = sum(1 for r in spec.risks if r.severity in ("serious", "life-threatening"))
    checks = [
        Check(
            "Required sections present",
            not missing,
            f"all {len(policy.required_sections)} the {policy.jurisdiction} policy requires"
            if not missing
            else "missing: " + ", ".join(missing),
        ),
        Check(
            "Cooling-off at least the policy's",
            spec_days >= rule.days and not (spec.category == "surgical" and period.days == 0),
            f"spec {spec_days} d, policy {rule.days} d{' and not the same day' if rule.not_same_day else ''} "
            f"for {spec.category}: {period.describe('en')}",
        ),
        Check(
            "No-treatment alternative",
            any(a.no_treatment for a in spec.alternatives),
            f"{len(spec.alternatives)} alternatives"
            + ("" if any(a.no_treatment for a in spec.alternatives) else ", none is 'no treatment'"),
        ),
        Check(
            "Risks disclosed with frequency", bool(spec.risks), f"{len(spec.risks)} risks, {serious} serious or worse"
        ),
        Check(
            "Red flags (when to seek urgent help)",
            bool(spec.aftercare.red_flags),
            f"{len(spec.aftercare.red_flags)} red flags, {emergency} marked emergency",
        ),
        Check("Follow-up schedule", bool(spec.follow_up), f"{len(spec.follow_up)} visits or calls"),
        Check("Every text in every locale", True, ", ".join(spec.locales)),
    ]
    if lint is not None:
        checks[-1] = Check(
            "Every text in every locale",
            "CK120" not in lint.rules,
            ", ".join(spec.locales),
        )
        checks.append(
            Check(
                "Lint clean",
                lint.errors == 0,
                f"{lint.errors} errors, {lint.warnings} warnings" if lint.errors or lint.warnings else "no findings",
            )
        )
    return checks


def _lint_summaries(
    ws: Workspace | None, library: Library, chosen: Sequence[Loaded[ProcedureSpec]]
) -> dict[Path, LintSummary]:
    """Lint findings per spec file (the workspace's own files and the built-in ones it uses), from lint's cache when
    the files are unchanged."""
    from consentkit.lint import lint_paths
    from consentkit.lint.runner import display_path

    base = ws.root if ws is not None else builtin_dir("procedures")
    if len(chosen) < len(library.procedures):
        report = lint_paths([s.path for s in chosen], workspace_dir=ws.root if ws else None, use_cache=True, base=base)
    elif ws is not None:
        report = lint_paths(workspace_dir=ws.root, include_builtin=True, use_cache=True, base=base)
    else:
        report = lint_paths([builtin_dir("procedures")], use_cache=True, base=base)
    by_file: dict[str, list[Any]] = {}
    for f in report.findings:
        by_file.setdefault(f.file, []).append(f)
    out = {}
    for loaded in library.procedures.values():
        found = by_file.get(display_path(loaded.path, base), [])
        errors = sum(1 for f in found if f.severity == "error")
        first = tuple(f"{f.rule} line {f.line}: {f.message}" for f in found[:8])
        out[loaded.path] = LintSummary(errors, len(found) - errors, first, frozenset(f.rule for f in found))
    return out


def library_status(
    ws: Workspace | None,
    *,
    procedures: Sequence[str] = (),
    today: dt.date | None = None,
    lint: bool = True,
    verify: bool = True,
) -> list[ProcedureStatus]:
    """The status of every procedure of the workspace's library (its own and the built-in ones), or of the
    built-in library outside a workspace (no approvals there). ``verify`` checks each matching approval's signature
    and audit event; ``lint`` counts open findings."""
    today = today or dt.date.today()
    roots = ws.procedure_roots() if ws else (builtin_dir("procedures"),)
    templates = ws.template_roots() if ws else (builtin_dir("templates"),)
    library = load_library(roots)
    jurisdiction = ws.config.clinic.jurisdiction if ws else "cn"
    policy = library.policy(jurisdiction).model
    required = required_roles(ws, policy)
    found = find_approvals(approvals_dir(ws)).approvals if ws else []
    profile = signing_profile(ws)
    chosen = [library.procedure(p) for p in procedures] if procedures else list(library.procedures.values())
    summaries = _lint_summaries(ws, library, chosen) if lint else {}
    statuses = []
    for loaded in sorted(chosen, key=lambda s: s.model.id):
        spec = loaded.model
        state = approval_state(
            pinned_for(spec, templates, policy, profile), found, required, distinct=distinct_reviewers(policy)
        )
        due = next_review(spec)
        summary = summaries.get(loaded.path)
        source = "workspace" if ws is not None and loaded.path.parent == ws.procedures_dir else "built-in"
        statuses.append(
            ProcedureStatus(
                spec=loaded,
                source=source,
                state=state,
                next_review=due,
                review_overdue=due is not None and due < today,
                lint=summary,
                checks=policy_checks(spec, policy, summary),
            )
        )
    if verify and ws is not None:
        _verify_all(ws, statuses)
    return statuses


def _verify_all(ws: Workspace, statuses: list[ProcedureStatus]) -> None:
    current = [(s, rs.current) for s in statuses for rs in s.state.roles.values() if rs.current is not None]
    if not current:
        return
    from consentkit.pki import WorkspacePki

    try:
        pki = WorkspacePki(ws).require()
        log = open_log(ws, None)
    except ConsentkitError as exc:
        for status, approval in current:
            status.invalid[approval.role] = exc.message
        return
    with log:
        for status, approval in current:
            try:
                verify_approval(approval, pki=pki, log=log)
            except VerificationError as exc:
                status.invalid[approval.role] = exc.message
