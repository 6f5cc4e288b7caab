"""Errors that reach a person.

Every failure the CLI can report is a :class:`ConsentkitError`. Each subclass carries the exit code of its
domain (see DESIGN.md, "CLI contract") and a one-line message that says where the problem is and what to do.
Low-level exceptions (``ValueError`` from a parser, ``OSError``, asn1crypto errors) are caught at the edge of the
module that provoked them and re-raised as one of these, so nothing else leaks to the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_PROBLEMS = 1  # a check found problems: lint errors, invalid signature, failed gate, tampering
EXIT_USAGE = 2  # wrong command-line usage (click's own code)
EXIT_BAD_INPUT = 3  # unreadable or invalid spec, case, config, template or PDF


@dataclass(frozen=True)
class SourceLocation:
    """Where in a file a person's mistake is: the file, a 1-based line when known, and a field path."""

    path: Path | str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f" {self.field}"
        return where


class ConsentkitError(Exception):
    """Root of every error consentkit reports. ``exit_code`` is what the CLI exits with."""

    exit_code: int = EXIT_PROBLEMS

    def __init__(self, message: str, *, location: SourceLocation | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.location is None:
            return self.message
        return f"{self.location}: {self.message}"


class InputError(ConsentkitError):
    """A file a person wrote (spec, case, config, template, PDF) is unreadable or invalid."""

    exit_code = EXIT_BAD_INPUT


class MultiInputError(InputError):
    """Several problems in one input file; the first is the message, all are in ``problems``."""

    def __init__(self, problems: Sequence[InputError]) -> None:
        if not problems:
            raise ValueError("MultiInputError needs at least one problem")
        self.problems = list(problems)
        first = problems[0]
        super().__init__(first.message, location=first.location)

    def __str__(self) -> str:
        lines = [str(p) for p in self.problems]
        more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
        return lines[0] + more

    def details(self) -> list[str]:
        return [str(p) for p in self.problems]


class SpecError(InputError):
    """A procedure spec, intake catalogue or policy is invalid."""


class CaseError(InputError):
    """A case file (one patient, one procedure) is invalid or cannot be served."""


class ConfigError(InputError):
    """``consentkit.toml`` or a signing profile is invalid, or no workspace was found."""


class WorkspaceError(ConsentkitError):
    """The workspace is missing or in a state that does not allow the operation."""

    exit_code = EXIT_BAD_INPUT


class RefusedError(ConsentkitError):
    """A request that is well-formed but must be refused (absolute contraindication, missing approval...)."""

    exit_code = EXIT_PROBLEMS


class RenderError(ConsentkitError):
    """A template failed to render, or the rendering engine is not set up correctly (fonts, HarfBuzz)."""

    exit_code = EXIT_PROBLEMS


class SigningError(ConsentkitError):
    """A signature could not be made (wrong order, no TSA answered, key unusable...)."""

    exit_code = EXIT_PROBLEMS


class VerificationError(ConsentkitError):
    """A signature, timestamp, proof or bundle did not verify."""

    exit_code = EXIT_PROBLEMS


class TimestampError(SigningError):
    """No time-stamping authority gave a valid token."""


class IntegrityError(ConsentkitError):
    """The audit log or a stored object was altered."""

    exit_code = EXIT_PROBLEMS


class GateRefused(ConsentkitError):
    """The pre-procedure gate found at least one failing condition."""

    exit_code = EXIT_PROBLEMS

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(reasons) if reasons else "check-in refused")
