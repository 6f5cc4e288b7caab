"""``consentkit lint``: rules with stable ids over procedure specs, the intake catalogue and policies.

    from consentkit.lint import lint_paths
    report = lint_paths([Path("procedures")])
    for finding in report.findings: print(finding.file, finding.line, finding.rule, finding.message)

Rules live in ``consentkit.lint.rules.*`` and register themselves (see :mod:`consentkit.lint.registry`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from consentkit.errors import ConfigError
from consentkit.lint.cache import FindingCache, code_fingerprint, context_fingerprint, default_cache_dir, file_digest
from consentkit.lint.collect import (
    LintTarget,
    LintUsageError,
    UnknownPolicy,
    build_context,
    load_target,
    resolve_target,
)
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
    "choose_rules",
    "define_rule",
    "hit",
    "lint_paths",
    "run_rules",
]


def _policy_failed(scan: LibraryScan, jurisdiction: str) -> bool:
    """True when a policy file for ``jurisdiction`` exists but could not be loaded (CK100/CK101 say why)."""
    return any(p.location is not None and Path(p.location.path).stem == jurisdiction for p in scan.problems)


def choose_rules(select: Sequence[str] = (), ignore: Sequence[str] = ()) -> list[Rule]:
    """Registered rules whose id starts with one of ``select`` (all when empty) and none of ``ignore``.
    CK001 (internal error) always stays. An id or prefix that matches no rule is a :class:`LintUsageError`: a
    typo in ``--select`` would otherwise check nothing and pass."""
    known = all_rules()
    for option, prefixes in (("--select", select), ("--ignore", ignore)):
        unknown = [p for p in prefixes if not any(rule.id.startswith(p.upper()) for rule in known)]
        if unknown:
            raise LintUsageError(
                f"{option}: no rule {' or '.join(unknown)} (rules: {', '.join(r.id for r in known)}; see docs/lint.md)"
            )
    chosen = []
    for rule in known:
        if rule.id != "CK001":
            if select and not any(rule.id.startswith(p.upper()) for p in select):
                continue
            if any(rule.id.startswith(p.upper()) for p in ignore):
                continue
        chosen.append(rule)
    return chosen


def _cache_for(target: LintTarget, ctx: LintContext, rules: Sequence[Rule]) -> FindingCache:
    from consentkit.lint.registry import RULE_MODULES

    all_rules()  # imports the rule modules, whose cache_fingerprint hooks are read below

    def digest_of(path: Path | None) -> str:
        return (file_digest(path) or "") if path is not None else ""

    from consentkit.lint.rules.rendering import cache_fingerprint

    parts = [
        code_fingerprint(RULE_MODULES),
        cache_fingerprint(ctx),  # CK200/CK210 findings depend on the templates and fonts too
        target.jurisdiction,
        digest_of(ctx.policy.path if ctx.policy else None),
        digest_of(ctx.intake.path if ctx.intake else None),
        ctx.today.isoformat(),
        ",".join(ctx.workspace_locales),
        ",".join(rule.id for rule in rules),
    ]
    for name in RULE_MODULES:  # what a module's rules depend on besides the spec file (templates, fonts...)
        module = sys.modules.get(name)
        hook = getattr(module, "cache_fingerprint", None)
        if callable(hook):
            parts.append(f"{name}:{hook(ctx)}")
    where = context_fingerprint([str(r) for r in target.roots] + [target.jurisdiction])[:16]
    folder = default_cache_dir(target.workspace.state_dir if target.workspace else None)
    return FindingCache(folder / f"lint-{where}.json", context_fingerprint(parts))


def lint_paths(
    paths: Sequence[Path] = (),
    *,
    workspace_dir: Path | None = None,
    policy: str | None = None,
    include_builtin: bool | None = None,
    today: date | None = None,
    strict: bool = False,
    debug: bool = False,
    base: Path | None = None,
    jobs: int | None = None,
    use_cache: bool = False,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
) -> LintReport:
    """Lint what ``consentkit lint PATHS`` would (see :mod:`consentkit.lint.collect`) and return the report.
    A whole workspace is linted with the built-in files it uses unless ``include_builtin=False``.
    ``use_cache`` reuses the findings of unchanged spec files (see :mod:`consentkit.lint.cache`). ``select`` and
    ``ignore`` choose rules by id prefix (``select=["CK1"]``, ``ignore=["CK190", "CK2"]``)."""
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
    rules = choose_rules(select, ignore)
    cache = _cache_for(target, ctx, rules) if use_cache else None
    report = run_rules(
        ctx, rules, spec_paths=target.spec_files, strict=strict, debug=debug, base=base, jobs=jobs, cache=cache
    )
    report.timings["resolve"] = loaded - started
    report.timings["load"] = parsed - loaded
    report.timings["total"] = time.perf_counter() - started
    return report
