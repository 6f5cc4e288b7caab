"""Template governance: what changed between two versions of a procedure, who approved which exact content, and
the report a compliance officer files. See docs/review.md.

    approve(ws, "botulinum-toxin", reviewer="Dr Li Na", role="clinical", secret=passphrase) -> Approval
    workspace_state(ws, spec, policy) -> ApprovalState           # per role: approved, by whom, or what changed
    require_approvals(ws, spec, policy, template_roots) -> list[ApprovalRef]   # packets; RefusedError if missing
    verify_approval(approval, pki=..., log=...)                  # signature + audit event, VerificationError
    approvals_for_refs(ws, manifest.approvals) -> list[Approval]  # the filed files a manifest cites (evidence)
    approval_covers(manifest, statement) -> list[str]            # what of a packet an approval does not cover
"""

from __future__ import annotations

from consentkit.review.approvals import (
    REVIEW_ROLES,
    approvals_dir,
    approvals_for_refs,
    approve,
    require_approvals,
    verify_approval,
    workspace_state,
)
from consentkit.review.coverage import approval_covers
from consentkit.review.state import ApprovalState, Pinned, RoleState, approval_state, pinned_for, required_roles
from consentkit.review.statement import Approval, ApprovalStatement, find_approvals

__all__ = [
    "REVIEW_ROLES",
    "Approval",
    "ApprovalState",
    "ApprovalStatement",
    "Pinned",
    "RoleState",
    "approval_covers",
    "approval_state",
    "approvals_dir",
    "approvals_for_refs",
    "approve",
    "find_approvals",
    "pinned_for",
    "require_approvals",
    "required_roles",
    "verify_approval",
    "workspace_state",
]
