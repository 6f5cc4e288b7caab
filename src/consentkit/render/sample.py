"""A made-up adult patient for any procedure: used by lint CK210 (do the templates render for every procedure?)
and by the benchmark. The first choice of every option, "no" to every yes/no question, a mid-range number for
numeric ones, an override with a reason for every relative contraindication. With ``minor_age``, a patient of that
age with a guardian (CK210 runs the templates' guardian code too)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from consentkit.case import CaseFile, ResolvedCase, resolve_case
from consentkit.errors import CaseError
from consentkit.spec.conditions import parse_condition
from consentkit.spec.library import Library, spec_conditions
from consentkit.spec.models import Policy, ProcedureSpec
from consentkit.spec.validate import validate_document
from consentkit.spec.yamlfile import parse_yaml

SAMPLE_PATH = Path("sample-case.yaml")


def sample_case_data(
    library: Library, spec: ProcedureSpec, locales: list[str], zone: ZoneInfo, *, minor_age: int | None = None
) -> dict[str, Any]:
    intake = library.intake.model
    answers: dict[str, Any] = {}
    for _, cond in spec_conditions(spec):
        for name in sorted(parse_condition(cond).names):
            q = intake.question(name)
            if q is None or q.derived_from or name in answers:
                continue
            if q.type == "boolean":
                answers[name] = False
            elif q.type == "choice":
                answers[name] = (q.choices or [])[0].id
            elif q.type == "multichoice":
                answers[name] = []
            elif q.type in ("integer", "number"):
                low, high = q.min or 0, q.max if q.max is not None else (q.min or 0) + 100
                value = low + (high - low) * 0.15
                answers[name] = int(value) if q.type == "integer" else round(value, 1)
            else:
                answers[name] = "none"
    data: dict[str, Any] = {
        "case_id": "SAMPLE-1",
        "procedure": spec.id,
        "options": {o.id: (o.default or o.choices[0].id) for o in spec.options},
        "patient": {
            "name": "Sample Patient",
            "date_of_birth": dt.date(1990, 4, 18),
            "record_number": "SAMPLE-0001",
            "sex": "female",
            "identity": {"type": "passport", "number": "X0000000"},
        },
        "physicians": {"consulting": {"name": "Dr Sample"}, "operating": {"name": "Dr Sample"}},
        "witness": {"name": "Sample Witness"},
        "consultation_at": dt.datetime(2026, 12, 1, 10, 0, tzinfo=zone),
        "planned_at": dt.datetime(2026, 12, 22, 9, 0, tzinfo=zone),
        "locales": locales,
        "intake": answers,
        "overrides": [
            {
                "contraindication": c.id,
                "reason": "Sample override written for a rendering check.",
                "physician": "Dr Sample",
            }
            for c in spec.contraindications
            if c.kind == "relative"
        ],
    }
    if minor_age is not None:
        data["patient"]["date_of_birth"] = dt.date(2026 - minor_age, 4, 18)  # minor_age at the consultation
        data["guardian"] = {
            "name": "Sample Guardian",
            "relationship": "mother",
            "identity": {"type": "passport", "number": "X0000001"},
        }
    return data


def sample_resolved_case(
    library: Library, spec_id: str, policy: Policy, zone: ZoneInfo, locales: list[str], *, minor: bool = False
) -> ResolvedCase:
    """The sample case, resolved; ``minor``: two years under the policy's age of majority, with a guardian."""
    spec = library.procedure(spec_id).model
    minor_age = policy.guardian.age_of_majority - 2 if minor else None
    data = sample_case_data(library, spec, locales, zone, minor_age=minor_age)
    # libyaml's emitter writes the same text as PyYAML's (tests/test_perf_equivalence.py) in a fifth of the time
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False)
    doc = parse_yaml(text, SAMPLE_PATH)
    case = validate_document(CaseFile, doc, error=CaseError)
    return resolve_case(case, doc, library, policy, zone)
