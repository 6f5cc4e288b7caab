"""The wording a procedure's documents print from outside the spec and the templates, which an approval pins too.

- From the signing profile: which roles sign and the **meaning** printed beside each signature ("I have read and
  understood this information and I consent to the procedure"), for the spec's locales and English (a visible
  signature always adds the English meaning).
- From the policy: the cooling-off rule as printed (the period in days, "not on the day of signing", and its text
  per locale) and the signer rules that decide which signature boxes a packet has (required roles, when a witness
  signs, the age of majority and what a guardian signs).

Field anchors, PAdES level, seal and timestamp settings of the profile, and the policy's retention, notes and
references are not printed on the documents and are not pinned.

    profile_wording(profile, spec.locales)      # -> ProfileWording(id="default", meanings={"patient": {...}, ...})
    policy_wording(spec, policy)                 # -> PolicyWording(cooling_off=..., required_signers=[...], ...)
    wording_changes(approved, current)           # -> ["signing profile: patient meaning (en)"]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import Field, StringConstraints

from consentkit.cooling_off import cooling_off_period
from consentkit.sign.profile import SigningProfile
from consentkit.spec.models import Category, Id, Locale, Model, Policy, ProcedureSpec, Role

ENGLISH = "en"


class ProfileWording(Model):
    """What the documents print from the signing profile: its roles and each role's meaning, per locale."""

    id: Id
    meanings: dict[Role, dict[Locale, str]]  # role → locale → the printed meaning, roles in signing order


class CoolingOffWording(Model):
    """The cooling-off period as the documents state it (the longer of the spec's and the policy's)."""

    days: int = Field(ge=0)
    not_same_day: bool
    text: dict[Locale, str]  # the rule in words, per locale ("at least 7 days (168 hours) after the patient signs")


class PolicyWording(Model):
    """What the documents print, or which boxes they draw, because of the jurisdiction's policy."""

    jurisdiction: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
    cooling_off: CoolingOffWording
    required_signers: list[Role]
    witness_for: list[Category]
    age_of_majority: int
    guardian_must_sign: bool
    patient_also_signs: bool


def _locales(spec_locales: Sequence[str]) -> list[str]:
    return [*spec_locales, *([ENGLISH] if ENGLISH not in spec_locales else [])]


def profile_wording(profile: SigningProfile, spec_locales: Sequence[str]) -> ProfileWording:
    """The roles of ``profile`` and the meaning of each, for the spec's locales and English."""
    wanted = _locales(spec_locales)
    return ProfileWording(
        id=profile.id,
        meanings={r.role: {loc: r.meaning[loc] for loc in wanted if loc in r.meaning} for r in profile.roles},
    )


def policy_wording(spec: ProcedureSpec, policy: Policy) -> PolicyWording:
    """The cooling-off rule as printed for ``spec`` and the signer rules of ``policy``."""
    period = cooling_off_period(spec, policy)
    return PolicyWording(
        jurisdiction=policy.jurisdiction,
        cooling_off=CoolingOffWording(
            days=period.days,
            not_same_day=period.not_same_day,
            text={loc: period.describe(loc) for loc in _locales(spec.locales)},
        ),
        required_signers=list(policy.signers.required_roles),
        witness_for=list(policy.signers.witness_for),
        age_of_majority=policy.guardian.age_of_majority,
        guardian_must_sign=policy.guardian.guardian_must_sign,
        patient_also_signs=policy.guardian.patient_also_signs,
    )


def _meaning_changes(old: ProfileWording, new: ProfileWording) -> list[str]:
    out = []
    if old.id != new.id:
        out.append(f"signing profile {old.id} → {new.id}")
    for role in [*new.meanings, *(r for r in old.meanings if r not in new.meanings)]:
        before, after = old.meanings.get(role), new.meanings.get(role)
        if before is None:
            out.append(f"signing profile: role {role} added")
        elif after is None:
            out.append(f"signing profile: role {role} removed")
        elif before != after:
            locales = [loc for loc in dict.fromkeys([*after, *before]) if before.get(loc) != after.get(loc)]
            out.append(f"signing profile: {role} meaning ({', '.join(locales)})")
    return out


def _policy_changes(old: PolicyWording, new: PolicyWording) -> list[str]:
    out = []
    if old.jurisdiction != new.jurisdiction:
        out.append(f"policy {old.jurisdiction} → {new.jurisdiction}")
    a, b = old.cooling_off, new.cooling_off
    if (a.days, a.not_same_day) != (b.days, b.not_same_day):
        out.append(f"cooling-off {_period(a)} → {_period(b)}")
    elif a.text != b.text:
        locales = [loc for loc in dict.fromkeys([*b.text, *a.text]) if a.text.get(loc) != b.text.get(loc)]
        out.append(f"cooling-off wording ({', '.join(locales)})")
    if (old.required_signers, old.witness_for) != (new.required_signers, new.witness_for):
        out.append(
            f"policy signers {'+'.join(old.required_signers)} (witness for {', '.join(old.witness_for) or 'none'}) → "
            f"{'+'.join(new.required_signers)} (witness for {', '.join(new.witness_for) or 'none'})"
        )
    guardian = ("age_of_majority", "guardian_must_sign", "patient_also_signs")
    changed = [g for g in guardian if getattr(old, g) != getattr(new, g)]
    if changed:
        out.append(
            "policy guardian rules (" + ", ".join(f"{g} {getattr(old, g)} → {getattr(new, g)}" for g in changed) + ")"
        )
    return out


def _period(c: CoolingOffWording) -> str:
    return f"{c.days} d{' not same day' if c.not_same_day else ''}"


def wording_changes(
    approved: tuple[ProfileWording | None, PolicyWording | None],
    current: tuple[ProfileWording | None, PolicyWording | None],
) -> list[str]:
    """What differs, in words: ``["signing profile: patient meaning (en)", "cooling-off 0 d → 7 d"]``. An approval
    without these pins (made before consentkit pinned them) differs in both."""
    (old_profile, old_policy), (profile, policy) = approved, current
    out: list[str] = []
    if old_profile is None or old_policy is None:
        if (profile, policy) != (None, None):
            out.append("signing-profile and policy wording (not pinned by this older approval)")
        return out
    if profile is not None:
        out += _meaning_changes(old_profile, profile)
    if policy is not None:
        out += _policy_changes(old_policy, policy)
    return out
