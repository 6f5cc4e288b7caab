"""The case file: one patient, one procedure. Validated on its own (:class:`CaseFile`), then against the
library and the jurisdiction's policy (:func:`resolve_case`), which decides what applies to this patient and refuses
what must not go ahead (an absolute contraindication that holds, a relative one without a recorded override, a
minor without a guardian)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, StringConstraints, field_validator, model_validator

from consentkit.errors import CaseError, InputError, MultiInputError, RefusedError, SourceLocation, SpecError
from consentkit.spec.conditions import ConditionError, Value, parse_condition
from consentkit.spec.library import Library, Loaded, age_on, answers_for, spec_conditions
from consentkit.spec.models import Contraindication, Id, IntakeCatalogue, Locale, Model, Policy, ProcedureSpec
from consentkit.spec.validate import validate_document
from consentkit.spec.yamlfile import KeyPath, YamlDocument, format_path, load_mapping

CaseId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Answer = bool | int | float | str | list[str]


class IdentityDocument(Model):
    type: Literal[
        "resident-id",
        "passport",
        "hk-macau-permit",
        "taiwan-permit",
        "tw-national-id",
        "arc",
        "driving-licence",
        "other",
    ]
    number: Annotated[str, StringConstraints(min_length=3, max_length=40)]


class Patient(Model):
    name: Name
    date_of_birth: dt.date
    record_number: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    sex: Literal["female", "male", "other"] | None = None
    identity: IdentityDocument
    phone: str | None = None


class Guardian(Model):
    name: Name
    relationship: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    identity: IdentityDocument
    phone: str | None = None


class Physician(Model):
    name: Name
    licence: str | None = None
    specialty: str | None = None


class Physicians(Model):
    consulting: Physician
    operating: Physician


class Witness(Model):
    name: Name


class Override(Model):
    """A physician's recorded decision to go ahead despite a relative contraindication."""

    contraindication: Id
    reason: Annotated[str, StringConstraints(min_length=10, max_length=1000)]
    physician: Name


class CaseFile(Model):
    case_id: CaseId
    procedure: Id
    options: dict[Id, Id] = Field(default_factory=dict)
    patient: Patient
    guardian: Guardian | None = None
    physicians: Physicians
    witness: Witness | None = None
    consultation_at: dt.datetime
    planned_at: dt.datetime
    locales: list[Locale] = Field(min_length=1, max_length=2)
    intake: dict[Id, Answer] = Field(default_factory=dict)
    overrides: list[Override] = Field(default_factory=list)
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None

    @field_validator("locales")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a locale is listed twice")
        return value

    @model_validator(mode="after")
    def _planned_after_consultation(self) -> CaseFile:
        if (
            _naive(self.planned_at) != _naive(self.consultation_at)
            and self.planned_at.tzinfo
            and self.consultation_at.tzinfo
            and self.planned_at < self.consultation_at
        ):
            raise ValueError("planned_at is before consultation_at")
        return self


def _naive(value: dt.datetime) -> bool:
    return value.tzinfo is None


@dataclass(frozen=True)
class ResolvedCase:
    """A case checked against its procedure and policy, ready to render."""

    case: CaseFile
    doc: YamlDocument
    spec: Loaded[ProcedureSpec]
    policy: Policy
    zone: ZoneInfo
    consultation_at: dt.datetime  # aware, UTC
    planned_at: dt.datetime  # aware, UTC
    age: int
    answers: dict[str, Value]
    options: dict[str, str]  # every option, chosen or default

    @property
    def is_minor(self) -> bool:
        return self.age < self.policy.guardian.age_of_majority

    def applies(self, applies_if: str | None) -> bool:
        return applies_if is None or parse_condition(applies_if).evaluate(self.answers)

    def holding_contraindications(self) -> list[Contraindication]:
        return [c for c in self.spec.model.contraindications if c.applies_if and self.applies(c.applies_if)]

    def required_roles(self) -> list[str]:
        """Roles that must sign this patient's packet, in signing order."""
        rules = self.policy.signers
        roles = list(rules.required_roles)
        if self.is_minor and self.policy.guardian.guardian_must_sign and "guardian" not in roles:
            roles.append("guardian")
        if self.is_minor and not self.policy.guardian.patient_also_signs and "patient" in roles:
            roles.remove("patient")
        if (self.spec.model.category in rules.witness_for or self.case.witness) and "witness" not in roles:
            roles.append("witness")
        order = ["clinic", "physician", "patient", "guardian", "witness"]
        return sorted(roles, key=order.index)


def subject_id(case: CaseFile, secret: bytes) -> str:
    """Pseudonymous subject for the audit log: HMAC-SHA256 of the identity document, keyed by a workspace secret.
    The same patient gets the same id across cases; the id reveals nothing without the secret."""
    ident = f"{case.patient.identity.type}:{case.patient.identity.number.strip().upper()}"
    return "hmac-sha256:" + hmac.new(secret, ident.encode("utf-8"), hashlib.sha256).hexdigest()


def identity_hash(case: CaseFile) -> str:
    """SHA-256 of the identity document number, bound into the patient's one-time certificate."""
    ident = f"{case.patient.identity.type}:{case.patient.identity.number.strip().upper()}"
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()


def load_case(path: Path) -> tuple[CaseFile, YamlDocument]:
    doc = load_mapping(path, what="case file", max_bytes=256 * 1024)
    return validate_document(CaseFile, doc, error=CaseError), doc


def _aware(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC)


def resolve_case(case: CaseFile, doc: YamlDocument, library: Library, policy: Policy, zone: ZoneInfo) -> ResolvedCase:
    """Check a case against its procedure, the intake catalogue and the policy. Input mistakes are collected and
    raised together (:class:`CaseError`, exit 3); reasons not to proceed raise :class:`RefusedError` (exit 1)."""
    problems: list[InputError] = []

    def problem(message: str, *loc: str | int) -> None:
        problems.append(CaseError(message, location=doc.location(tuple(loc))))

    try:
        loaded = library.procedure(case.procedure, location=doc.location(("procedure",)))
    except SpecError as exc:  # the case names it, so the case is what to fix
        raise CaseError(exc.message, location=exc.location) from None
    spec = loaded.model
    intake = library.intake.model

    options: dict[str, str] = {}
    for key, choice in case.options.items():
        opt = spec.option(key)
        if opt is None:
            known = ", ".join(o.id for o in spec.options) or "none"
            problem(f"'{key}' is not an option of {spec.id} (options: {known})", "options", key)
        elif choice not in {c.id for c in opt.choices}:
            problem(
                f"'{choice}' is not a choice of {key} (choices: {', '.join(c.id for c in opt.choices)})", "options", key
            )
        else:
            options[key] = choice
    for opt in spec.options:
        if opt.id not in options and opt.id not in case.options:
            if opt.default is None:
                problem(f"choose the {opt.id} ({', '.join(c.id for c in opt.choices)})", "options")
            else:
                options[opt.id] = opt.default

    for loc_name in case.locales:
        if loc_name not in spec.locales:
            problem(
                f"{spec.id} is not written in {loc_name} (it has {', '.join(spec.locales)})",
                "locales",
                case.locales.index(loc_name),
            )

    consultation = _aware(case.consultation_at, zone)
    planned = _aware(case.planned_at, zone)
    if planned < consultation:
        problem("planned_at is before consultation_at", "planned_at")
    age = age_on(case.patient.date_of_birth, planned.astimezone(zone).date())
    if case.patient.date_of_birth > consultation.astimezone(zone).date():
        problem("date of birth is in the future", "patient", "date_of_birth")

    answers: dict[str, Answer] = {}
    for key, value in case.intake.items():
        q = intake.question(key)
        if q is None:
            problem(f"'{key}' is not an intake question (see procedures/intake.yaml)", "intake", key)
            continue
        if q.derived_from:
            problem(f"'{key}' is worked out from the {q.derived_from.replace('_', ' ')}; remove it", "intake", key)
            continue
        error = _answer_error(q.type, value, [c.id for c in q.choices or []], q.min, q.max)
        if error:
            problem(error, "intake", key)
            continue
        answers[key] = value
    derived = {q.id: age for q in intake.questions if q.derived_from == "date_of_birth"}
    env = answers_for(spec, {**answers, **derived}, options)

    needed = sorted({name for _, cond in spec_conditions(spec) for name in parse_condition(cond).names})
    missing = [n for n in needed if n not in env]
    if missing:
        problem(f"{spec.id} needs an answer to: {', '.join(missing)}", "intake")

    if problems:
        raise MultiInputError(problems)

    resolved = ResolvedCase(case, doc, loaded, policy, zone, consultation, planned, age, env, options)

    if resolved.is_minor:
        if spec.id in policy.guardian.prohibited_for_minors:
            raise RefusedError(
                f"{spec.id} is not allowed for patients under {policy.guardian.age_of_majority} "
                f"in {policy.jurisdiction} (the patient is {age})",
                location=doc.location(("patient", "date_of_birth")),
            )
        if case.guardian is None and policy.guardian.guardian_must_sign:
            raise CaseError(
                f"the patient is {age}, under {policy.guardian.age_of_majority}: add a guardian "
                "(name, relationship, identity)",
                location=doc.location(("patient",)),
            )

    overrides = {o.contraindication: (i, o) for i, o in enumerate(case.overrides)}
    known_ci = {c.id for c in spec.contraindications}
    for cid, (i, _) in overrides.items():
        if cid not in known_ci:
            raise CaseError(
                f"override names '{cid}', which is not a contraindication of {spec.id}",
                location=doc.location(("overrides", i, "contraindication")),
            )
    try:
        holding = resolved.holding_contraindications()
    except ConditionError as exc:  # pragma: no cover - every name was checked above
        raise CaseError(str(exc), location=doc.location(("intake",))) from exc
    for ci in holding:
        text = (ci.text.get(case.locales[0]) or next(iter(ci.text.values()))).strip().rstrip("。.")
        where = loaded.location("contraindications", spec.contraindications.index(ci))
        answer = doc.location(_answer_path(case, intake, env, ci.applies_if or ""))
        if ci.kind == "absolute":
            raise RefusedError(
                f"absolute contraindication '{ci.id}' holds for this patient ({text}); "
                f"the packet cannot be made ({where}: {ci.applies_if})",
                location=answer,
            )
        if ci.id not in overrides:
            raise RefusedError(
                f"relative contraindication '{ci.id}' holds for this patient ({text}; {where}: {ci.applies_if}); "
                f"to go ahead, the physician records the reason in the case file: "
                f'overrides: [{{contraindication: {ci.id}, reason: "…", physician: "…"}}]',
                location=answer,
            )
    return resolved


def _answer_path(case: CaseFile, intake: IntakeCatalogue, env: dict[str, Value], condition: str) -> KeyPath:
    """Where in the case file the answer that makes ``condition`` hold is written: the first name of the
    condition with a yes, non-empty or non-zero answer (``pregnant`` in ``pregnant or breastfeeding``), as an
    intake answer, an option, or the date of birth an age is worked out from."""
    names = sorted(parse_condition(condition).names, key=condition.find)
    names.sort(key=lambda n: not env.get(n))  # stable: first the answers that are "yes"
    for name in names:
        if name in case.intake:
            return ("intake", name)
        if name in case.options:
            return ("options", name)
        question = intake.question(name)
        if question is not None and question.derived_from == "date_of_birth":
            return ("patient", "date_of_birth")
    return ("intake",)


def _answer_error(kind: str, value: Answer, choices: list[str], low: float | None, high: float | None) -> str | None:
    if kind == "boolean":
        return None if isinstance(value, bool) else f"expected yes/no (true or false), got {value!r}"
    if kind in ("integer", "number"):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (kind == "integer" and not isinstance(value, int))
        ):
            return f"expected a {'whole ' if kind == 'integer' else ''}number, got {value!r}"
        if (low is not None and value < low) or (high is not None and value > high):
            return (
                f"{value} is outside {low:g}..{high:g}"
                if low is not None and high is not None
                else f"{value} is out of range"
            )
        return None
    if kind == "choice":
        if not isinstance(value, str) or value not in choices:
            return f"{value!r} is not one of {', '.join(choices)}"
        return None
    if kind == "multichoice":
        if not isinstance(value, list) or any(v not in choices for v in value):
            return f"expected a list of {', '.join(choices)}"
        return None
    return None if isinstance(value, str) else f"expected text, got {value!r}"


def case_location(doc: YamlDocument, *loc: str | int) -> SourceLocation:
    return SourceLocation(doc.path, doc.line_of(tuple(loc)), format_path(tuple(loc)) or None)
