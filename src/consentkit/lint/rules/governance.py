"""CK220: approved content changed since its approval.

An approval pins a procedure version's spec content hash and the hashes of the templates and fixed wording its
documents render with (:mod:`consentkit.review`). When either moves, the approval no longer covers what a patient
would read, packets are refused, and this rule says so in CI, on the spec's ``version:`` line.

The rule reads the workspace's ``approvals/`` folder (the statements only: no signature checks, no database, no
rendering), so lint stays fast and works in CI, where the audit database is absent. Outside a workspace there are
no approvals and the rule does not apply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from consentkit.lint.context import LintContext
from consentkit.lint.findings import Hit, hit
from consentkit.lint.registry import define_rule
from consentkit.spec.library import Loaded
from consentkit.spec.models import ProcedureSpec

CK220 = define_rule(
    "CK220",
    "error",
    "changed-since-approval",
    "a procedure that a review role (clinical, legal) approved has changed since: its version, its spec content, or "
    "a template or fixed-wording catalogue it renders with no longer matches that approval, so packets for it are "
    "refused until it is approved again",
    fix="read what changed (consentkit review diff PROCEDURE@OLD PROCEDURE), then have the reviewer approve the "
    "current version: consentkit review approve PROCEDURE --reviewer NAME --role ROLE",
)


def cache_fingerprint(ctx: LintContext) -> str:
    """The approval files (names, sizes, times) and the review roles in force: CK220 findings depend on them.
    Template changes are already in the cache key (the rendering rules' fingerprint covers every template file)."""
    if ctx.workspace is None:
        return "no-workspace"
    from consentkit.review.statement import APPROVALS_DIR, listing_fingerprint

    roles = ctx.workspace.config.review.required_roles
    profile = ctx.workspace.config.signing.profile
    # the signing profile's meanings are pinned too (the policy file is in every cache key already)
    found = next(
        (r / f"{profile}.yaml" for r in ctx.workspace.signature_roots() if (r / f"{profile}.yaml").is_file()), None
    )
    digest = hashlib.sha256(found.read_bytes()).hexdigest() if found is not None else "none"
    return f"{listing_fingerprint(ctx.workspace.root / APPROVALS_DIR)}:{roles}:{profile}:{digest}"


def _wording(ctx: LintContext, model: ProcedureSpec) -> tuple[Any, Any]:
    """The printed wording of the signing profile and the policy, as an approval pins it (None when the profile
    or the policy does not load: other rules and commands report that)."""
    from consentkit.errors import ConsentkitError
    from consentkit.review.state import signing_profile
    from consentkit.review.wording import policy_wording, profile_wording

    if "CK220:profile" not in ctx.memo:
        try:
            ctx.memo["CK220:profile"] = signing_profile(ctx.workspace)
        except ConsentkitError:
            ctx.memo["CK220:profile"] = None
    profile = ctx.memo["CK220:profile"]
    return (
        profile_wording(profile, model.locales) if profile is not None else None,
        policy_wording(model, ctx.policy.model) if ctx.policy is not None else None,
    )


def _templates(ctx: LintContext, locales: tuple[str, ...]) -> dict[str, str]:
    from consentkit.render.env import template_hashes

    key = f"CK220:templates:{'+'.join(locales)}"
    if key not in ctx.memo:
        ctx.memo[key] = template_hashes(ctx.template_roots, locales)
    found: dict[str, str] = ctx.memo[key]
    return found


@CK220.per_spec
def _changed_since_approval(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    ws = ctx.workspace
    if ws is None:
        return
    from consentkit.review.state import Pinned, approval_state, next_version, required_roles
    from consentkit.review.statement import APPROVALS_DIR, find_approvals
    from consentkit.spec.canonical import content_hash

    found = find_approvals(ws.root / APPROVALS_DIR, spec.model.id).approvals
    if not found:
        return
    model = spec.model
    pinned = Pinned(
        model.id, model.version, content_hash(model), _templates(ctx, tuple(model.locales)), *_wording(ctx, model)
    )
    if ctx.policy is not None:
        required = required_roles(ws, ctx.policy.model)
    else:
        required = tuple(ws.config.review.required_roles or ())
    state = approval_state(pinned, found, required)
    for role in state.roles.values():
        if not role.stale or role.previous is None:
            continue
        before = role.previous
        again = (
            f"the version is bumped (to {next_version(model.version)} or higher) and approved again"
            if state.needs_bump
            else "it is approved again"
        )
        yield hit(
            spec,
            ("version",),
            f"the {role.role} approval of {before.statement.version} ({before.reviewer}, "
            f"{before.approved_at:%Y-%m-%d}) no longer matches: changed since: {'; '.join(role.changes)}; "
            f"packets are refused until {again} "
            f"(consentkit review approve {model.id} --reviewer NAME --role {role.role})",
        )
