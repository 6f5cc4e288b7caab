"""``consentkit lint``: rules with stable ids over procedure specs, the intake catalogue and policies.

    from consentkit.lint import lint_paths
    report = lint_paths([Path("procedures")])
    for finding in report.findings: print(finding.file, finding.line, finding.rule, finding.message)

Rules live in ``consentkit.lint.rules.*`` and register themselves (see :mod:`consentkit.lint.registry`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from consentkit.errors import ConfigError
from consentkit.lint.collect import LintTarget, UnknownPolicy, build_context, load_target, resolve_target
from consentkit.lint.context import LintContext
from consentkit.lint.findings import Finding, Hit, Severity, hit
from consentkit.lint.registry import Rule, all_rules, define_rule
from consentkit.lint.runner import LintReport, run_rules
from consentkit.spec.library import LibraryScan

__all__ = [
    "Finding",
    "Hit",
    "LintContext",
    "LintReport",
    "LintTarget",
    "Rule",
    "Severity",
    "all_rules",
    "define_rule",
    "hit",
    "lint_paths",
    "run_rules",
]


def _policy_failed(scan: LibraryScan, jurisdiction: str) -> bool:
    """True when a policy file for ``jurisdiction`` exists but could not be loaded (CK100/CK101 say why)."""
    return any(p.location is not None and Path(p.location.path).stem == jurisdiction for p in scan.problems)


def lint_paths(
    paths: Sequence[Path] = (),
    *,
    workspace_dir: Path | None = None,
    policy: str | None = None,
    include_builtin: bool = False,
    today: date | None = None,
    strict: bool = False,
    debug: bool = False,
    base: Path | None = None,
    jobs: int | None = None,
) -> LintReport:
    """Lint what ``consentkit lint PATHS`` would (see :mod:`consentkit.lint.collect`) and return the report."""
    started = time.perf_counter()
    target = resolve_target(paths, workspace_dir=workspace_dir, policy=policy, include_builtin=include_builtin)
    loaded = time.perf_counter()
    scan = load_target(target)
    parsed = time.perf_counter()
    ctx = build_context(target, scan, today=today)
    if ctx.policy is None and not _policy_failed(scan, target.jurisdiction):
        known = ", ".join(sorted(scan.policies)) or "none"
        if policy is not None:
            raise UnknownPolicy(f"--policy {policy}: no such policy (known: {known})")
        raise ConfigError(
            f"the workspace's jurisdiction '{target.jurisdiction}' has no policy (known: {known}); add "
            f"procedures/policies/{target.jurisdiction}.yaml or correct clinic.jurisdiction in consentkit.toml"
        )
    report = run_rules(ctx, spec_paths=target.spec_files, strict=strict, debug=debug, base=base, jobs=jobs)
    report.timings["resolve"] = loaded - started
    report.timings["load"] = parsed - loaded
    report.timings["total"] = time.perf_counter() - started
    return report
