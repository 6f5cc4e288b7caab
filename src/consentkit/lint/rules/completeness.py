"""CK110-CK112, CK180: what a disclosure must contain, by law and by the policy in force."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from consentkit.lint.context import LintContext
from consentkit.lint.findings import Hit, hit
from consentkit.lint.registry import define_rule
from consentkit.spec.library import Loaded
from consentkit.spec.models import ProcedureSpec
from consentkit.spec.yamlfile import KeyPath

CK110 = define_rule(
    "CK110",
    "error",
    "required-section",
    "a section the policy in force requires (`required_sections` in policies/<jurisdiction>.yaml) is missing or empty",
    fix="write the section; the policy names what the law of the clinic's jurisdiction requires in writing",
)
CK111 = define_rule(
    "CK111",
    "error",
    "no-treatment-alternative",
    "no alternative is marked `no_treatment: true`; the law in China, Taiwan, the UK and the US requires telling the "
    "patient what happens without treatment",
    fix="add an alternative with `no_treatment: true` saying what happens if the patient has no treatment",
)
CK112 = define_rule(
    "CK112",
    "error",
    "red-flags",
    "the aftercare has no red-flag symptoms (`aftercare.red_flags`): the patient is not told when to seek urgent help",
    fix="list the symptoms that mean 'call us or go to an emergency department now'; mark the urgent ones "
    "`emergency: true`",
)
CK180 = define_rule(
    "CK180",
    "error",
    "cooling-off",
    "a surgical procedure has no cooling-off period, or the spec's period is shorter than the policy's "
    "`cooling_off[category].days`",
    fix="set `cooling_off: {days: N}` to at least the policy's minimum (surgical procedures: at least 1 day)",
)

# Sections with a rule of their own, so CK110 does not report them twice.
_OWN_RULE = {"alternatives": "CK111", "red_flags": "CK112", "follow_up": "CK171"}


def _where(spec: Loaded[ProcedureSpec], loc: KeyPath) -> KeyPath:
    """``loc`` when the file has that key (e.g. ``risks: []``), else the spec's id line."""
    return loc if loc in spec.doc.lines else ("id",)


def section_content(spec: ProcedureSpec, section: str) -> tuple[Any, KeyPath]:
    """The value of a policy section name in a spec, and its key path."""
    if section == "red_flags":
        return spec.aftercare.red_flags, ("aftercare", "red_flags")
    if section == "aftercare":
        return [item for _, items in spec.aftercare.topics() for item in items], ("aftercare",)
    if section == "preparation":
        return [*spec.preparation.tests, *spec.preparation.instructions], ("preparation",)
    return getattr(spec, section), (section,)


@CK110.per_spec
def _required_sections(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    if ctx.policy is None:
        return
    policy = ctx.policy.model
    for section in policy.required_sections:
        if section in _OWN_RULE:
            continue
        value, loc = section_content(spec.model, section)
        if value:
            continue
        state = "empty" if loc in spec.doc.lines else "missing"
        yield hit(
            spec,
            _where(spec, loc),
            f"section '{section}' is {state}; the '{policy.jurisdiction}' policy requires it "
            f"({ctx.policy.path.name} required_sections)",
        )


@CK111.per_spec
def _no_treatment(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    if any(alt.no_treatment for alt in spec.model.alternatives):
        return
    yield hit(
        spec,
        _where(spec, ("alternatives",)),
        "no 'no treatment' alternative: add one with `no_treatment: true` that says what happens without treatment",
    )


@CK112.per_spec
def _red_flags(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    if spec.model.aftercare.red_flags:
        return
    loc = ("aftercare", "red_flags") if ("aftercare", "red_flags") in spec.doc.lines else ("aftercare",)
    yield hit(
        spec,
        _where(spec, loc),
        "no red-flag symptoms: add `aftercare.red_flags` listing when to call the clinic or emergency services",
    )


@CK180.per_spec
def _cooling_off(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    model = spec.model
    policy_days = ctx.policy.model.cooling_off_for(model.category).days if ctx.policy is not None else 0
    who = f"the '{ctx.jurisdiction}' policy"
    if model.cooling_off is None:
        if model.category == "surgical":
            yield hit(
                spec,
                ("category",),
                f"a surgical procedure needs a cooling-off period: add `cooling_off: {{days: {max(policy_days, 1)}}}` "
                "(at least one day between the signed disclosure and the operation)",
            )
        elif policy_days > 0:
            yield hit(
                spec,
                ("category",),
                f"{who} requires at least {policy_days} day(s) of cooling-off for {model.category} procedures; "
                f"add `cooling_off: {{days: {policy_days}}}`",
            )
        return
    days = model.cooling_off.days
    if model.category == "surgical" and days < 1:
        yield hit(
            spec,
            ("cooling_off", "days"),
            "a surgical procedure needs a cooling-off period of at least 1 day, not 0: the patient must be able to "
            "think it over after signing",
        )
    if days < policy_days:
        yield hit(
            spec,
            ("cooling_off", "days"),
            f"cooling-off is {days} day(s) but {who} requires at least {policy_days} for {model.category} "
            "procedures; raise it",
        )
