"""Loading a library: the procedure specs, the intake catalogue and the jurisdiction policies, from a workspace's
folders layered over the built-in ones (a workspace file with the same id replaces the built-in one)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from consentkit.errors import InputError, MultiInputError, SourceLocation, SpecError
from consentkit.spec.canonical import content_hash
from consentkit.spec.conditions import Symbol, Value
from consentkit.spec.models import IntakeCatalogue, Policy, ProcedureSpec
from consentkit.spec.validate import validate_document
from consentkit.spec.yamlfile import KeyPath, YamlDocument, load_mapping

M = TypeVar("M", bound=BaseModel)

INTAKE_FILE = "intake.yaml"
POLICY_DIR = "policies"


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """A validated model together with the YAML it came from (for line numbers in later findings)."""

    model: M
    doc: YamlDocument

    @property
    def path(self) -> Path:
        return self.doc.path

    def location(self, *loc: str | int) -> SourceLocation:
        return self.doc.location(tuple(loc))

    def line(self, *loc: str | int) -> int | None:
        return self.doc.line_of(tuple(loc))


def load_spec(path: Path, *, match_file_name: bool = True) -> Loaded[ProcedureSpec]:
    """One spec file, validated. ``match_file_name=False`` skips the id-is-the-file-name rule, for reading a spec
    that is not in a library (``consentkit review diff old-copy.yaml new.yaml``)."""
    doc = load_mapping(path, what="procedure spec")
    spec = validate_document(ProcedureSpec, doc, error=SpecError)
    if match_file_name and spec.id != path.stem:
        raise SpecError(
            f"id '{spec.id}' must match the file name '{path.stem}' (rename one of them)",
            location=doc.location(("id",)),
        )
    return Loaded(spec, doc)


def load_intake(path: Path) -> Loaded[IntakeCatalogue]:
    doc = load_mapping(path, what="intake catalogue")
    return Loaded(validate_document(IntakeCatalogue, doc, error=SpecError), doc)


def load_policy(path: Path) -> Loaded[Policy]:
    doc = load_mapping(path, what="policy")
    policy = validate_document(Policy, doc, error=SpecError)
    if policy.jurisdiction != path.stem:
        raise SpecError(
            f"jurisdiction '{policy.jurisdiction}' must match the file name '{path.stem}'",
            location=doc.location(("jurisdiction",)),
        )
    return Loaded(policy, doc)


def symbols_for(spec: ProcedureSpec, intake: IntakeCatalogue) -> dict[str, Symbol]:
    """Names a condition in ``spec`` may use: every intake question, then the spec's own options."""
    symbols: dict[str, Symbol] = {}
    for q in intake.questions:
        choices = frozenset(c.id for c in q.choices) if q.choices else None
        symbols[q.id] = Symbol(q.type, choices, "intake")
    for opt in spec.options:
        symbols[opt.id] = Symbol("choice", frozenset(c.id for c in opt.choices), "option")
    return symbols


def spec_conditions(spec: ProcedureSpec) -> Iterable[tuple[KeyPath, str]]:
    """Every ``applies_if`` in a spec with its key path."""
    groups: list[tuple[str, Iterable[object]]] = [
        ("indications", spec.indications),
        ("benefits", spec.benefits),
        ("risks", spec.risks),
        ("contraindications", spec.contraindications),
    ]
    for name, items in groups:
        for i, item in enumerate(items):
            cond = getattr(item, "applies_if", None)
            if cond:
                yield (name, i, "applies_if"), cond
    for i, ins in enumerate(spec.preparation.instructions):
        if ins.applies_if:
            yield ("preparation", "instructions", i, "applies_if"), ins.applies_if
    for i, test in enumerate(spec.preparation.tests):
        if test.applies_if:
            yield ("preparation", "tests", i, "applies_if"), test.applies_if
    for i, visit in enumerate(spec.follow_up):
        if visit.applies_if:
            yield ("follow_up", i, "applies_if"), visit.applies_if
    for topic, aftercare_items in spec.aftercare.topics():
        for i, ac in enumerate(aftercare_items):
            if ac.applies_if:
                yield ("aftercare", topic, i, "applies_if"), ac.applies_if


@dataclass(frozen=True)
class Library:
    procedures: Mapping[str, Loaded[ProcedureSpec]]
    intake: Loaded[IntakeCatalogue]
    policies: Mapping[str, Loaded[Policy]]
    roots: tuple[Path, ...] = ()

    def procedure(self, procedure_id: str, *, location: SourceLocation | None = None) -> Loaded[ProcedureSpec]:
        found = self.procedures.get(procedure_id)
        if found is None:
            close = difflib.get_close_matches(procedure_id, list(self.procedures), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(self.procedures))}"
            raise SpecError(f"unknown procedure '{procedure_id}'{hint}", location=location)
        return found

    def policy(self, jurisdiction: str, *, location: SourceLocation | None = None) -> Loaded[Policy]:
        found = self.policies.get(jurisdiction)
        if found is None:
            raise SpecError(
                f"no policy for jurisdiction '{jurisdiction}' (known: {', '.join(sorted(self.policies))})",
                location=location,
            )
        return found

    def symbols(self, spec: ProcedureSpec) -> dict[str, Symbol]:
        return symbols_for(spec, self.intake.model)

    def spec_hash(self, procedure_id: str) -> str:
        return content_hash(self.procedure(procedure_id).model)


@dataclass
class LibraryScan:
    """Everything found under the roots, valid or not; ``problems`` holds what could not be loaded."""

    procedures: dict[str, Loaded[ProcedureSpec]] = field(default_factory=dict)
    intake: Loaded[IntakeCatalogue] | None = None
    policies: dict[str, Loaded[Policy]] = field(default_factory=dict)
    problems: list[InputError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    shadowed: dict[str, list[Path]] = field(default_factory=dict)  # id → every file that defines it
    profiles: dict[Path, Loaded[BaseModel]] = field(default_factory=dict)  # signing profiles linted (by lint)

    def library(self, roots: tuple[Path, ...]) -> Library:
        if self.intake is None:
            raise SpecError(f"no {INTAKE_FILE} found in {', '.join(map(str, roots))}")
        return Library(self.procedures, self.intake, self.policies, roots)


def _collect(problems: list[InputError], err: InputError) -> None:
    if isinstance(err, MultiInputError):
        problems.extend(err.problems)
    else:
        problems.append(err)


def procedure_files(root: Path) -> list[Path]:
    """Spec files directly in ``root`` (``intake.yaml`` excluded), sorted."""
    return sorted(p for p in root.glob("*.y*ml") if p.suffix in (".yaml", ".yml") and p.name != INTAKE_FILE)


def scan_library(roots: Iterable[Path]) -> LibraryScan:
    """Load every spec, intake and policy under ``roots`` (first root wins for the same id or file)."""
    scan = LibraryScan()
    for root in roots:
        for path in procedure_files(root):
            scan.files.append(path)
            scan.shadowed.setdefault(path.stem, []).append(path)
            if path.stem in scan.procedures:
                continue
            try:
                scan.procedures[path.stem] = load_spec(path)
            except InputError as err:
                _collect(scan.problems, err)
        intake_path = root / INTAKE_FILE
        if intake_path.is_file():
            scan.files.append(intake_path)
            if scan.intake is None:
                try:
                    scan.intake = load_intake(intake_path)
                except InputError as err:
                    _collect(scan.problems, err)
        policy_dir = root / POLICY_DIR
        if policy_dir.is_dir():
            for path in sorted(policy_dir.glob("*.yaml")):
                scan.files.append(path)
                if path.stem in scan.policies:
                    continue
                try:
                    scan.policies[path.stem] = load_policy(path)
                except InputError as err:
                    _collect(scan.problems, err)
    return scan


def load_library(roots: Iterable[Path]) -> Library:
    """Load a library for work (packets, rendering): any invalid file is an error."""
    root_tuple = tuple(roots)
    scan = scan_library(root_tuple)
    if scan.problems:
        raise MultiInputError(scan.problems)
    return scan.library(root_tuple)


def age_on(birth: date, day: date) -> int:
    years = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years


def answers_for(
    spec: ProcedureSpec, intake: Mapping[str, Value | list[str]], options: Mapping[str, str]
) -> dict[str, Value]:
    """The names a condition sees: intake answers (lists become tuples) and the chosen option of each option."""
    env: dict[str, Value] = {}
    for key, value in intake.items():
        env[key] = tuple(value) if isinstance(value, list) else value
    for opt in spec.options:
        if opt.id in options:
            env[opt.id] = options[opt.id]
    return env
