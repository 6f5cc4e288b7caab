"""CK100, CK101: files that cannot be loaded at all. These come from the loader's problems, one per field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from consentkit.lint.context import LintContext
from consentkit.lint.findings import Hit
from consentkit.lint.registry import define_rule
from consentkit.spec.yamlfile import YamlError

CK100 = define_rule(
    "CK100",
    "error",
    "schema",
    "a spec, intake catalogue, policy or signing profile does not match its schema: unknown key, wrong type, bad "
    "value, or an id that "
    "does not match the file name",
    fix="correct the field named in the message; `consentkit schema` gives editors the schema so they flag it as you "
    "type",
)

CK101 = define_rule(
    "CK101",
    "error",
    "yaml",
    "the file cannot be read as YAML: a syntax error, not a mapping, too big, an alias bomb, not UTF-8, or a "
    "duplicate key",
    fix="fix the YAML at the line given (quote text that contains ': ' or starts with a special character)",
)


def _problems(ctx: LintContext, yaml_errors: bool) -> Iterator[Hit]:
    for problem in ctx.scan.problems:
        if isinstance(problem, YamlError) != yaml_errors:
            continue
        loc = problem.location
        if loc is None:
            continue
        yield Hit(problem.message, path=Path(loc.path), line=loc.line or 1, field=loc.field)


@CK100.per_library
def _schema(ctx: LintContext) -> Iterator[Hit]:
    yield from _problems(ctx, yaml_errors=False)


@CK101.per_library
def _yaml(ctx: LintContext) -> Iterator[Hit]:
    yield from _problems(ctx, yaml_errors=True)
