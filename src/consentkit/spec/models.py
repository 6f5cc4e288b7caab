"""Strict models of the files a clinic writes: procedure specs, the intake catalogue, jurisdiction policies.

Models reject unknown keys and wrong types (no silent coercion of ``"5"`` into ``5``) and are frozen once built.
Which sections must be *present and non-empty* is a policy question answered by ``consentkit lint`` (CK110), so
most sections default to empty here and the schema stays usable while a spec is being written.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from consentkit.spec.conditions import ConditionError, parse_condition

# --- shared vocabulary -------------------------------------------------------------------------------------

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
"""Lower-case slug: letters, digits and hyphens, starting with a letter or digit (no dots, no slashes)."""

Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2})?$")]
"""BCP 47 tag as used here: ``en``, ``zh-CN``, ``zh-TW``, ``zh-Hant-HK``."""

NonEmptyText = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
Text = dict[Locale, NonEmptyText]
"""A human text in every locale of the spec: ``{zh-CN: ..., zh-TW: ..., en: ...}``. Chinese texts (zh-*) read from
YAML are normalised by the loader (:func:`consentkit.spec.cjk.normalise_chinese`)."""

_NUM = r"(?:0|[1-9][0-9]{0,8})"
_PRE = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER_PATTERN = rf"^{_NUM}\.{_NUM}\.{_NUM}(?:-{_PRE}(?:\.{_PRE})*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
"""Semantic Versioning 2.0.0: ``1.0.0``, ``1.0.0-beta.2``, ``1.0.0-beta+x``; no leading zeros (``01.0.0``)."""
SemVer = Annotated[str, StringConstraints(pattern=SEMVER_PATTERN, max_length=64)]

Duration = Annotated[str, StringConstraints(pattern=r"^\d{1,4}(h|d|w|mo|y)$")]
"""A time span written as a number and a unit: ``8h``, ``7d``, ``2w``, ``3mo``, ``1y``."""


def _well_formed_condition(value: str) -> str:
    try:
        parse_condition(value)
    except ConditionError as exc:
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise ValueError(f"condition {shown!r} is malformed: {exc}") from None
    return value


ConditionText = Annotated[str, AfterValidator(_well_formed_condition)]
"""An ``applies_if`` condition (see :mod:`consentkit.spec.conditions`); names are checked against the intake."""

Category = Literal["surgical", "minimally-invasive", "non-invasive"]
Band = Literal["very-common", "common", "uncommon", "rare", "very-rare"]
Severity = Literal["minor", "moderate", "serious", "life-threatening"]
Permanence = Literal["temporary", "may-be-permanent", "permanent"]
Role = Literal["clinic", "physician", "patient", "guardian", "witness"]
ReviewerRole = Literal["clinical", "legal"]

BANDS: tuple[Band, ...] = ("very-common", "common", "uncommon", "rare", "very-rare")
BAND_RANGES: dict[str, tuple[float, float]] = {  # CIOMS, as fractions: [low, high)
    "very-common": (0.10, 1.0000001),
    "common": (0.01, 0.10),
    "uncommon": (0.001, 0.01),
    "rare": (0.0001, 0.001),
    "very-rare": (0.0, 0.0001),
}
SEVERITIES: tuple[Severity, ...] = ("minor", "moderate", "serious", "life-threatening")

SECTIONS = (
    "description",
    "anaesthesia",
    "indications",
    "outcome",
    "options",
    "benefits",
    "risks",
    "contraindications",
    "alternatives",
    "preparation",
    "recovery",
    "aftercare",
    "red_flags",
    "follow_up",
    "references",
)
Section = Literal[
    "description",
    "anaesthesia",
    "indications",
    "outcome",
    "options",
    "benefits",
    "risks",
    "contraindications",
    "alternatives",
    "preparation",
    "recovery",
    "aftercare",
    "red_flags",
    "follow_up",
    "references",
]

_UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7, "mo": 24 * 30, "y": 24 * 365}


def duration_parts(value: str) -> tuple[int, str]:
    m = re.fullmatch(r"(\d+)(h|d|w|mo|y)", value)
    if not m:
        raise ValueError(f"not a duration: {value!r}")
    return int(m.group(1)), m.group(2)


def duration_hours(value: str) -> float:
    """Approximate length in hours, for ordering (a month counts 30 days, a year 365)."""
    amount, unit = duration_parts(value)
    return float(amount * _UNIT_HOURS[unit])


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


# --- procedure spec ----------------------------------------------------------------------------------------


class Item(Model):
    """One statement, optionally personal (shown only when ``applies_if`` holds for the patient)."""

    id: Id
    text: Text
    applies_if: ConditionText | None = None


class Choice(Model):
    id: Id
    label: Text
    description: Text | None = None


class Option(Model):
    """A choice made per patient, such as the technique or the implant type."""

    id: Id
    label: Text
    choices: list[Choice] = Field(min_length=1)
    default: Id | None = None

    @model_validator(mode="after")
    def _default_is_a_choice(self) -> Option:
        if self.default is not None and self.default not in {c.id for c in self.choices}:
            raise ValueError(f"default '{self.default}' is not one of the choices")
        return self


class Risk(Model):
    """A risk as the patient must hear it: how often (CIOMS band and, when known, a rate), how bad, for how long,
    and what the clinic does about it."""

    id: Id
    title: Text
    band: Band
    rate: float | None = Field(default=None, gt=0, le=1, description="Best estimate as a fraction, 0.01 = 1 in 100")
    severity: Severity
    permanence: Permanence
    text: Text
    management: Text
    applies_if: ConditionText | None = None
    references: list[Id] = Field(default_factory=list)


class Contraindication(Model):
    """A reason not to treat. An absolute one that holds stops the packet; a relative one needs a physician's
    recorded override. Without ``applies_if`` it is checked by the physician and printed as a statement."""

    id: Id
    kind: Literal["absolute", "relative"]
    text: Text
    applies_if: ConditionText | None = None


class Alternative(Model):
    id: Id
    title: Text
    text: Text
    no_treatment: bool = False


class Instruction(Model):
    """Something to do before the procedure, ``before`` it (``7d`` = seven days before), shown with its date."""

    id: Id
    text: Text
    before: Duration | None = None
    applies_if: ConditionText | None = None


class Preparation(Model):
    tests: list[Item] = Field(default_factory=list)
    instructions: list[Instruction] = Field(default_factory=list)


class RecoveryPhase(Model):
    id: Id
    start: Duration = Field(alias="from")
    end: Duration = Field(alias="to")
    title: Text
    expect: Text
    do: Text | None = None
    avoid: Text | None = None


class AftercareItem(Model):
    """An aftercare instruction; ``for`` is how long it holds after the procedure (``14d``)."""

    id: Id
    text: Text
    lasts: Duration | None = Field(default=None, alias="for")
    applies_if: ConditionText | None = None


class RedFlag(Model):
    """A symptom that means: get help now. ``emergency`` ones mean call the urgent number or emergency services."""

    id: Id
    text: Text
    emergency: bool = False


class Aftercare(Model):
    wound_care: list[AftercareItem] = Field(default_factory=list)
    medication: list[AftercareItem] = Field(default_factory=list)
    diet: list[AftercareItem] = Field(default_factory=list)
    activity: list[AftercareItem] = Field(default_factory=list)
    sun: list[AftercareItem] = Field(default_factory=list)
    other: list[AftercareItem] = Field(default_factory=list)
    red_flags: list[RedFlag] = Field(default_factory=list)

    TOPICS: ClassVar[tuple[str, ...]] = ("wound_care", "medication", "diet", "activity", "sun", "other")

    def topics(self) -> list[tuple[str, list[AftercareItem]]]:
        return [(name, getattr(self, name)) for name in self.TOPICS]


class FollowUp(Model):
    """A visit or call ``at`` a time after the procedure; ``sutures`` marks the visit where stitches come out."""

    id: Id
    at: Duration
    purpose: Text
    kind: Literal["visit", "call"] = "visit"
    sutures: bool = False
    applies_if: ConditionText | None = None


class CoolingOff(Model):
    """Minimum whole days between the patient's signed disclosure and the procedure, for this procedure.
    The jurisdiction's policy may require more; the longer applies."""

    days: int = Field(ge=0, le=365)
    reason: Text | None = None


class Reference(Model):
    id: Id
    citation: NonEmptyText
    url: str | None = None
    verified: bool = True


class Review(Model):
    owner: NonEmptyText
    last_reviewed: dt.date
    interval_months: int = Field(ge=1, le=60)


class ProcedureSpec(Model):
    """One procedure, described once, from which every patient's documents are rendered."""

    id: Id
    version: SemVer
    category: Category
    grading: dict[Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")], NonEmptyText] = Field(
        default_factory=dict, description="Regulatory grading by jurisdiction, e.g. {cn: '一级', tw: '特定美容手術'}"
    )
    locales: list[Locale] = Field(min_length=1)
    title: Text
    description: Text | None = None
    anaesthesia: Text | None = None
    indications: list[Item] = Field(default_factory=list)
    outcome: Text | None = None
    options: list[Option] = Field(default_factory=list)
    benefits: list[Item] = Field(default_factory=list)
    risks: list[Risk] = Field(default_factory=list)
    contraindications: list[Contraindication] = Field(default_factory=list)
    alternatives: list[Alternative] = Field(default_factory=list)
    preparation: Preparation = Field(default_factory=Preparation)
    recovery: list[RecoveryPhase] = Field(default_factory=list)
    aftercare: Aftercare = Field(default_factory=Aftercare)
    follow_up: list[FollowUp] = Field(default_factory=list)
    cooling_off: CoolingOff | None = None
    references: list[Reference] = Field(default_factory=list)
    review: Review | None = None

    @field_validator("locales")
    @classmethod
    def _unique_locales(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a locale is listed twice")
        return value

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


# --- intake catalogue --------------------------------------------------------------------------------------

QuestionKind = Literal["boolean", "integer", "number", "choice", "multichoice", "text"]


class Question(Model):
    """One intake question. ``derived_from: date_of_birth`` means the answer is computed (age), not asked."""

    id: Id
    type: QuestionKind
    label: Text
    help: Text | None = None
    choices: list[Choice] | None = None
    min: float | None = None
    max: float | None = None
    derived_from: Literal["date_of_birth"] | None = None

    @model_validator(mode="after")
    def _choices_match_type(self) -> Question:
        has_choices = bool(self.choices)
        if self.type in ("choice", "multichoice") and not has_choices:
            raise ValueError(f"a '{self.type}' question needs choices")
        if self.type not in ("choice", "multichoice") and self.choices is not None:
            raise ValueError(f"a '{self.type}' question cannot have choices")
        return self


class IntakeCatalogue(Model):
    """``procedures/intake.yaml``: the questions every condition may refer to."""

    locales: list[Locale] = Field(min_length=1)
    questions: list[Question] = Field(min_length=1)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


# --- jurisdiction policy -----------------------------------------------------------------------------------


class CoolingOffRule(Model):
    """``days`` full days after the signed disclosure; ``not_same_day`` forbids the calendar day of signing."""

    days: int = Field(default=0, ge=0, le=365)
    not_same_day: bool = False


class SignerRules(Model):
    required_roles: list[Role] = Field(min_length=1)
    witness_for: list[Category] = Field(default_factory=list)
    operating_physician_must_consent: bool = False


class GuardianRules(Model):
    age_of_majority: int = Field(ge=14, le=21)
    guardian_must_sign: bool = True
    patient_also_signs: bool = True
    prohibited_for_minors: list[Id] = Field(default_factory=list, description="procedure ids never done under age")


class Retention(Model):
    adult_years: int = Field(ge=1, le=100)
    minor_until_age: int | None = Field(default=None, ge=18, le=40)
    minor_years_after_majority: int | None = Field(default=None, ge=0, le=40)


class Approvals(Model):
    required_roles: list[ReviewerRole] = Field(default_factory=list)
    # one person may fill only one required review role per version; a policy may allow it explicitly
    same_reviewer_for_several_roles: bool = False


class Policy(Model):
    """``procedures/policies/<jurisdiction>.yaml``: what the law and professional rules of one place require."""

    jurisdiction: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
    name: Text
    required_sections: list[Section] = Field(default_factory=list)
    cooling_off: dict[Category, CoolingOffRule] = Field(default_factory=dict)
    signers: SignerRules
    guardian: GuardianRules
    retention: Retention
    approvals: Approvals = Field(default_factory=Approvals)
    # The numbers to call for an ambulance there, most usual first ("120"; France "15", "112"): printed beside the
    # clinic's urgent line on every red-flags box, so spec texts say "call the emergency number" without a number.
    # Required: without one, no document would tell the patient which number that is.
    emergency_numbers: list[Annotated[str, StringConstraints(pattern=r"^[0-9]{2,4}$")]] = Field(
        min_length=1,
        max_length=3,
        description="the numbers to call for an ambulance where the clinic is, most usual first: cn 120, tw 119",
    )
    notes: list[Text] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)

    def cooling_off_for(self, category: str) -> CoolingOffRule:
        for key, rule in self.cooling_off.items():
            if key == category:
                return rule
        return CoolingOffRule()
