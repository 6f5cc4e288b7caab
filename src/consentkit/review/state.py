"""What counts as approved: what an approval must pin now (:class:`Pinned`), and per review role which filed
approval counts — the newest of the current content, one person per required role — or what changed since.

    pinned = pinned_for(spec, ws.template_roots(), policy, signing_profile(ws))
    state = approval_state(pinned, find_approvals(folder).approvals, required_roles(ws, policy))
    state.approved, state.missing, state.roles["legal"].changes, state.needs_bump
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from consentkit.resources import builtin_dir
from consentkit.review.statement import Approval, ApprovalStatement
from consentkit.review.wording import PolicyWording, ProfileWording, policy_wording, profile_wording, wording_changes
from consentkit.spec.canonical import content_hash
from consentkit.spec.models import Policy, ProcedureSpec
from consentkit.workspace import Workspace

if TYPE_CHECKING:
    from consentkit.sign.profile import SigningProfile


def required_roles(ws: Workspace | None, policy: Policy) -> tuple[str, ...]:
    """Which reviews must approve: ``[review] required_roles`` in consentkit.toml when set, else the policy's."""
    if ws is not None and ws.config.review.required_roles is not None:
        return tuple(ws.config.review.required_roles)
    return tuple(policy.approvals.required_roles)


@dataclass(frozen=True)
class Pinned:
    """What an approval of this procedure must match to count: version, spec hash, template hashes, and the
    wording printed from the signing profile and the policy (None: not known here, e.g. lint with a broken
    profile; then not compared)."""

    procedure: str
    version: str
    spec: str
    templates: dict[str, str]
    signing_profile: ProfileWording | None = None
    policy: PolicyWording | None = None

    def matches(self, st: ApprovalStatement) -> bool:
        return (st.procedure, st.version, st.spec, st.templates) == (
            self.procedure,
            self.version,
            self.spec,
            self.templates,
        ) and not self._wording_changes(st)

    def _wording_changes(self, st: ApprovalStatement) -> list[str]:
        return wording_changes((st.signing_profile, st.policy), (self.signing_profile, self.policy))

    def changes_since(self, st: ApprovalStatement) -> list[str]:
        """What differs from an approval, in words: ``["version 1.0.1 → 1.0.2", "template html/consent.html.j2"]``."""
        out = []
        if st.version != self.version:
            out.append(f"version {st.version} → {self.version}")
        elif st.spec != self.spec:
            out.append(f"spec content changed without a version bump ({self.version} was approved with other content)")
        if st.templates != self.templates:
            names = sorted(
                n for n in set(st.templates) | set(self.templates) if st.templates.get(n) != self.templates.get(n)
            )
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            out.append(f"template{'s' if len(names) > 1 else ''} {shown}")
        return out + self._wording_changes(st)


def pinned_for(spec: ProcedureSpec, template_roots: Sequence[Path], policy: Policy, profile: SigningProfile) -> Pinned:
    """What an approval of ``spec`` must pin now, with these templates, policy and signing profile."""
    from consentkit.render.env import template_hashes

    return Pinned(
        spec.id,
        spec.version,
        content_hash(spec),
        template_hashes(template_roots, spec.locales),
        profile_wording(profile, spec.locales),
        policy_wording(spec, policy),
    )


def signing_profile(ws: Workspace | None) -> SigningProfile:
    """The signing profile whose meanings the documents print: the workspace's (consentkit.toml ``[signing]
    profile``), else the built-in default."""
    from consentkit.sign.profile import load_profile

    if ws is None:
        return load_profile((builtin_dir("signatures"),)).model
    return load_profile(ws.signature_roots(), ws.config.signing.profile).model


@dataclass(frozen=True)
class RoleState:
    """One review role for one procedure: the approval that matches the current content, or else the newest one
    that no longer does and what changed since."""

    role: str
    required: bool
    current: Approval | None = None
    previous: Approval | None = None
    changes: tuple[str, ...] = ()
    # an approval of the current content that does not count: its reviewer fills another required role
    uncounted: Approval | None = None
    uncounted_because: str = ""

    @property
    def approved(self) -> bool:
        return self.current is not None

    @property
    def stale(self) -> bool:
        return self.current is None and self.previous is not None


@dataclass(frozen=True)
class ApprovalState:
    pinned: Pinned
    roles: dict[str, RoleState] = field(default_factory=dict)
    # approvals (any role) of this very version with other spec content: it cannot be approved until bumped
    conflicts: tuple[Approval, ...] = ()

    @property
    def needs_bump(self) -> bool:
        return bool(self.conflicts)

    @property
    def required(self) -> list[str]:
        return [r for r, s in self.roles.items() if s.required]

    @property
    def missing(self) -> list[str]:
        return [r for r, s in self.roles.items() if s.required and not s.approved]

    @property
    def approved(self) -> bool:
        return not self.missing

    @property
    def stale(self) -> list[RoleState]:
        """Required roles whose approval went stale (an approval exists, but not of the current content)."""
        return [s for s in self.roles.values() if s.required and s.stale]


def approval_state(
    pinned: Pinned, approvals: Iterable[Approval], required: Sequence[str], *, distinct: bool = True
) -> ApprovalState:
    """Per review role (required ones first): the newest approval matching ``pinned``, else the newest earlier one.
    ``distinct``: one person counts for one required role only — the role they approved first."""
    mine = [a for a in approvals if a.statement.procedure == pinned.procedure]
    order = [*required, *sorted({a.role for a in mine} - set(required))]
    matching = {role: [a for a in mine if a.role == role and pinned.matches(a.statement)] for role in order}
    chosen = _choose(matching, required, distinct)
    roles: dict[str, RoleState] = {}
    for role in order:
        of_role = [a for a in mine if a.role == role]
        if role in chosen:
            roles[role] = RoleState(role, role in required, current=chosen[role])
        elif matching[role]:
            taken = matching[role][-1]
            other = next(r for r, a in chosen.items() if r != role and same_person(a.reviewer, taken.reviewer))
            roles[role] = RoleState(
                role,
                role in required,
                uncounted=taken,
                uncounted_because=f"{taken.reviewer} also approved it as {other}, and the policy requires "
                f"different people for {' and '.join(required)}",
            )
        elif of_role:
            last = of_role[-1]
            roles[role] = RoleState(
                role, role in required, previous=last, changes=tuple(pinned.changes_since(last.statement))
            )
        else:
            roles[role] = RoleState(role, role in required)
    return ApprovalState(pinned, roles, tuple(other_content(pinned.procedure, pinned.version, pinned.spec, mine)))


def _choose(matching: dict[str, list[Approval]], required: Sequence[str], distinct: bool) -> dict[str, Approval]:
    """The approval that counts per role: the newest; with ``distinct``, required roles go to different people,
    the roles approved earliest choosing first."""
    chosen = {role: found[-1] for role, found in matching.items() if found and (role not in required or not distinct)}
    if not distinct:
        return chosen
    used: list[str] = []
    for role in sorted((r for r in required if matching.get(r)), key=lambda r: matching[r][0].approved_at):
        pick = next((a for a in reversed(matching[role]) if not any(same_person(a.reviewer, u) for u in used)), None)
        if pick is not None:
            chosen[role] = pick
            used.append(pick.reviewer)
    return chosen


def other_content(procedure: str, version: str, spec_hash: str, approvals: Iterable[Approval]) -> list[Approval]:
    """Approvals of this procedure version whose spec content is not ``spec_hash``: the version needs a bump."""
    return [
        a
        for a in approvals
        if (a.statement.procedure, a.statement.version) == (procedure, version) and a.statement.spec != spec_hash
    ]


def next_version(version: str) -> str:
    """``1.0.2`` → ``1.0.3``: the smallest bump, suggested when a version was approved with other content."""
    major, minor, patch = version.split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


def bump_message(procedure: str, version: str, conflicts: Sequence[Approval], spec_file: Path | str) -> str:
    """``bump the version: 1.0.1 was approved with other content on 2026-11-25 (clinical, Dr Li Na); …``"""
    first = conflicts[0]
    return (
        f"bump the version: {procedure} {version} was approved with other content on "
        f"{first.approved_at:%Y-%m-%d} ({first.role}, {first.reviewer}), and one version number must name one "
        f"text; set 'version: {next_version(version)}' (or higher) in {spec_file}, then approve that version"
    )


def distinct_reviewers(policy: Policy) -> bool:
    """Whether the required review roles need different people (yes, unless the policy explicitly allows one)."""
    return not policy.approvals.same_reviewer_for_several_roles


def same_person(a: str, b: str) -> bool:
    """Two reviewer names are one person's when equal ignoring case and spacing (the clinic CA issues the names)."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())
