"""Run rules over a :class:`LintContext` and turn their hits into findings. A rule that crashes becomes a CK001
finding naming the rule (or, with ``debug``, raises), never a traceback in a clinic's CI log."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from consentkit.errors import InputError, MultiInputError, SourceLocation, SpecError
from consentkit.lint.cache import Entry, FindingCache, file_digest
from consentkit.lint.context import LintContext
from consentkit.lint.findings import Finding, Hit, Severity
from consentkit.lint.registry import INTERNAL_ERROR, Rule, TextCheck, all_rules
from consentkit.lint.texts import FileKind, TextInfo
from consentkit.lint.workers import Problem, SpecPhase, default_jobs, fewer_collections, spec_phase
from consentkit.spec.library import Loaded, load_spec
from consentkit.spec.yamlfile import MAX_FILE_BYTES, YamlError, format_path


@dataclass
class LintReport:
    """The findings of one lint, the files checked and the rules that ran."""

    findings: list[Finding]
    files: list[str]
    rules: list[Rule]
    strict: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    base: str = field(default_factory=lambda: Path.cwd().as_posix())

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


@lru_cache(maxsize=64)
def _resolved(base: Path) -> Path:
    return base.resolve()


def display_path(path: Path, base: Path | None = None) -> str:
    """``path`` relative to ``base`` (the working folder) when inside it, else absolute; always with ``/``."""
    root = _resolved(base) if base is not None else Path.cwd().resolve()
    absolute = path if path.is_absolute() and ".." not in path.parts else path.resolve()
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        resolved = absolute.resolve()  # a symlinked folder may still be inside
        try:
            return resolved.relative_to(root).as_posix()
        except ValueError:
            return resolved.as_posix()


def refine_line(rows: Sequence[str], line: int, needle: str) -> int:
    """The line, at or below ``line``, of the same multi-line value that contains ``needle`` (else ``line``)."""
    start = line - 1
    if not 0 <= start < len(rows):
        return line
    indent = len(rows[start]) - len(rows[start].lstrip())
    for i in range(start, min(len(rows), start + 400)):
        row = rows[i]
        if i > start and row.strip() and len(row) - len(row.lstrip()) <= indent:
            break
        if needle in row:
            return i + 1
    return line


class _Sources:
    """Source lines of files, read once per file."""

    def __init__(self) -> None:
        self._rows: dict[Path, list[str]] = {}

    def rows(self, path: Path, text: str | None = None) -> list[str]:
        rows = self._rows.get(path)
        if rows is None:
            if text is None:
                text = _read_small(path)
            rows = self._rows[path] = text.splitlines()
        return rows


def _read_small(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return ""
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


class _Collector:
    def __init__(self, ctx: LintContext, strict: bool, base: Path | None) -> None:
        self.ctx = ctx
        self.strict = strict
        self.base = base
        self.sources = _Sources()
        self.findings: list[Finding] = []
        self.seen: set[tuple[object, ...]] = set()
        self.shown: dict[Path, str] = {}

    def show(self, path: Path) -> str:
        shown = self.shown.get(path)
        if shown is None:
            shown = self.shown[path] = display_path(path, self.base)
        return shown

    def add(self, rule: Rule, item: Hit, *, force: bool = False) -> None:
        doc = item.doc
        path = doc.path if doc is not None else item.path
        if path is None:
            raise ValueError(f"rule {rule.id} reported a problem without a file")
        if not force and not self.ctx.is_reported(path):
            return
        rows = self.sources.rows(path, doc.text if doc is not None else None)
        line = item.line
        if line is None and doc is not None:
            line = doc.line_of(item.loc)
        line = line if line and line > 0 else 1
        if item.needle and item.line is None:
            line = refine_line(rows, line, item.needle)
        field_path = item.field if item.field is not None else (format_path(item.loc) or None)
        source = rows[line - 1] if 0 < line <= len(rows) else None
        severity = "error" if self.strict else rule.severity
        key = (rule.id, path, line, field_path, item.message)
        if key in self.seen:
            return
        self.seen.add(key)
        self.findings.append(
            Finding(rule.id, severity, rule.name, self.show(path), line, item.message, field_path, source)
        )

    def crashed(self, rule: Rule, path: Path, exc: BaseException | str) -> None:
        what = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        message = (
            f"rule {rule.id} ({rule.name}) failed on this file: {what}. "
            "This is a bug in consentkit; the other rules still ran. Run with --verbose for the traceback."
        )
        self.add(INTERNAL_ERROR, Hit(message, path=path, line=1), force=True)


TextChecks = tuple[tuple[str, TextCheck], ...]
_CRASH = "\0crash"


def _text_problems_uncached(
    checks: TextChecks, items: tuple[tuple[str, str], ...], info: TextInfo, debug: bool = False
) -> tuple[tuple[str, str | None, str, str | None], ...]:
    out: list[tuple[str, str | None, str, str | None]] = []
    for rule_id, check in checks:
        try:
            for locale, message, needle in check(items, info):
                out.append((rule_id, locale, message, needle))
        except Exception as exc:
            if debug:
                raise
            out.append((rule_id, None, f"{type(exc).__name__}: {exc}", _CRASH))
    return tuple(out)


class _TextCache:
    """Per-text results for one set of checks, keyed by the text and its info: a text that recurs (a clinic's
    copies of built-in procedures) is checked once. Bounded: emptied when it grows past ``limit`` entries."""

    def __init__(self, checks: TextChecks, limit: int = 100_000) -> None:
        self.checks = checks
        self.limit = limit
        self.results: dict[tuple[object, ...], tuple[tuple[str, str | None, str, str | None], ...]] = {}

    def get(
        self, items: tuple[tuple[str, str], ...], info: TextInfo
    ) -> tuple[tuple[str, str | None, str, str | None], ...]:
        key = (items, info)
        found = self.results.get(key)
        if found is None:
            if len(self.results) >= self.limit:
                self.results.clear()
            found = self.results[key] = _text_problems_uncached(self.checks, items, info)
        return found


_text_caches: dict[TextChecks, _TextCache] = {}


def _text_cache(checks: TextChecks) -> _TextCache:
    cache = _text_caches.get(checks)
    if cache is None:
        cache = _text_caches[checks] = _TextCache(checks)
    return cache


def text_checks_of(rules: Sequence[Rule]) -> TextChecks:
    return tuple((rule.id, check) for rule in rules for check in rule.text_checks)


def _check_texts(
    ctx: LintContext,
    out: _Collector,
    source: Loaded[Any],
    kind: FileKind,
    locales: tuple[str, ...],
    checks: TextChecks,
    by_id: dict[str, Rule],
    debug: bool,
) -> None:
    """Run every per-text check on every human text of ``source``."""
    if not checks:
        return
    cache = _text_cache(checks)
    for text in ctx.texts(source):
        info = TextInfo.of(text, kind, locales)
        if debug:
            problems = _text_problems_uncached(checks, text.items, info, debug=True)
        else:
            problems = cache.get(text.items, info)
        for rule_id, locale, message, needle in problems:
            rule = by_id[rule_id]
            if needle == _CRASH:
                out.crashed(rule, source.path, message)
                continue
            loc = (*text.loc, locale) if locale else text.loc
            out.add(rule, Hit(message, doc=source.doc, loc=loc, needle=needle))


def _check_specs(
    ctx: LintContext,
    rules: Sequence[Rule],
    paths: Sequence[Path],
    strict: bool,
    debug: bool,
    base: Path | None,
    digests: dict[Path, str] | None = None,
) -> SpecPhase:
    """Load each spec and run every per-spec check on it. With ``digests``, also say what to cache per file."""
    out = _Collector(ctx, strict, base)
    problems: list[Problem] = []
    timings: dict[str, float] = {}
    entries: dict[str, Entry] = {}
    checks = [(rule, check) for rule in rules for check in rule.spec_checks]
    text_checks = text_checks_of(rules)
    by_id = {rule.id: rule for rule in rules}
    for path in paths:
        first_finding, first_problem = len(out.findings), len(problems)
        t0 = time.perf_counter()
        spec = None
        try:
            spec = load_spec(path)
        except InputError as err:
            for problem in err.problems if isinstance(err, MultiInputError) else [err]:
                loc = problem.location
                problems.append(
                    (
                        isinstance(problem, YamlError),
                        problem.message,
                        str(loc.path) if loc else str(path),
                        loc.line if loc else None,
                        loc.field if loc else None,
                    )
                )
        except Exception as exc:  # a bug in loading, not in the file: report it, check the rest
            if debug:
                raise
            out.crashed(INTERNAL_ERROR, path, exc)
        timings["parse"] = timings.get("parse", 0.0) + time.perf_counter() - t0
        added = False
        if spec is not None:
            # only while its checks run: keeping a thousand parsed specs costs memory and collector time
            added = ctx.scan.procedures.setdefault(spec.model.id, spec) is spec
            t0 = time.perf_counter()
            _check_texts(ctx, out, spec, "spec", tuple(spec.model.locales), text_checks, by_id, debug)
            timings["texts"] = timings.get("texts", 0.0) + time.perf_counter() - t0
            for rule, check in checks:
                t0 = time.perf_counter()
                try:
                    _drain(rule, check(ctx, spec), out)
                except Exception as exc:
                    if debug:
                        raise
                    out.crashed(rule, spec.path, exc)
                timings[rule.id] = timings.get(rule.id, 0.0) + time.perf_counter() - t0
        ctx.spec_memo.clear()
        if added and spec is not None:
            del ctx.scan.procedures[spec.model.id]
        digest = digests.get(path) if digests else None
        if digest is not None:
            entry = _entry(digest, path, out.findings[first_finding:], problems[first_problem:], out.show(path))
            if entry is not None:
                entries[str(path)] = entry
    return SpecPhase(out.findings, problems, timings, entries)


def _entry(
    digest: str, path: Path, findings: Sequence[Finding], problems: Sequence[Problem], shown: str
) -> Entry | None:
    """What to cache for one file, or None when it must be checked afresh next time (a crash, another file)."""
    if any(f.rule == INTERNAL_ERROR.id or f.file != shown for f in findings):
        return None
    if any(Path(p[2]) != path for p in problems):
        return None
    return Entry(
        digest,
        [(f.rule, f.line, f.field, f.message, f.source) for f in findings],
        [(y, m, n, fld) for y, m, _, n, fld in problems],
    )


def _from_cache(
    entry: Entry, path: Path, rules: dict[str, Rule], strict: bool, shown: str
) -> tuple[list[Finding], list[Problem]] | None:
    findings = []
    for rule_id, line, field_path, message, source in entry.hits:
        rule = rules.get(rule_id)
        if rule is None:
            return None  # a rule that no longer runs: check afresh
        level: Severity = "error" if strict else rule.severity
        findings.append(Finding(rule_id, level, rule.name, shown, line, message, field_path, source))
    problems = [(y, m, str(path), n, fld) for y, m, n, fld in entry.problems]
    return findings, problems


def _use_cache(
    cache: FindingCache,
    ctx: LintContext,
    rules: Sequence[Rule],
    paths: Sequence[Path],
    strict: bool,
    base: Path | None,
) -> tuple[list[SpecPhase], list[Path], dict[Path, str]]:
    """Findings of unchanged files from the cache; the files still to check, with their digests."""
    by_id = {rule.id: rule for rule in rules}
    found = SpecPhase([], [], {"cache": 0.0})
    todo: list[Path] = []
    digests: dict[Path, str] = {}
    t0 = time.perf_counter()
    for path in paths:
        try:
            too_big = path.stat().st_size > MAX_FILE_BYTES
        except OSError:
            too_big = True
        digest = None if too_big else file_digest(path)
        entry = cache.get(path, digest) if digest else None
        reused = _from_cache(entry, path, by_id, strict, display_path(path, base)) if entry else None
        if reused is None:
            todo.append(path)
            if digest:
                digests[path] = digest
            continue
        found.findings.extend(reused[0])
        found.problems.extend(reused[1])
    found.timings["cache"] = time.perf_counter() - t0
    found.timings["cached files"] = float(len(paths) - len(todo))
    return [found], todo, digests


def run_rules(
    ctx: LintContext,
    rules: Sequence[Rule] | None = None,
    *,
    spec_paths: Sequence[Path] | None = None,
    strict: bool = False,
    debug: bool = False,
    base: Path | None = None,
    jobs: int | None = None,
    cache: FindingCache | None = None,
) -> LintReport:
    """Run ``rules`` (default: every registered rule) over ``ctx``.

    ``spec_paths``: spec files to load and check (one per procedure id: the first of two files with one id is
    used); without it, the specs already in ``ctx.scan.procedures`` are checked. ``jobs`` > 1 checks the specs in
    that many worker processes; per-library checks then run in this process, where ``ctx.scan.procedures`` stays
    empty — a per-library check must not rely on it. ``strict`` reports warnings as errors; ``debug`` lets a
    crashing rule raise instead of becoming a CK001 finding. ``cache`` reuses the per-spec findings of files whose
    content has not changed (see :mod:`consentkit.lint.cache`).
    """
    started = time.perf_counter()
    base = (base or Path.cwd()).resolve()  # once per run; findings show paths relative to it
    chosen = list(all_rules()) if rules is None else list(rules)
    timings: dict[str, float] = {}
    phases: list[SpecPhase]
    if spec_paths is None:
        out = _Collector(ctx, strict, base)
        checks = [(rule, check) for rule in chosen for check in rule.spec_checks]
        text_checks = text_checks_of(chosen)
        by_id = {rule.id: rule for rule in chosen}
        for spec in ctx.specs():
            _check_texts(ctx, out, spec, "spec", tuple(spec.model.locales), text_checks, by_id, debug)
            for rule, check in checks:
                try:
                    _drain(rule, check(ctx, spec), out)
                except Exception as exc:
                    if debug:
                        raise
                    out.crashed(rule, spec.path, exc)
            ctx.spec_memo.clear()
        phases = [SpecPhase(out.findings, [], {})]
    else:
        unique: dict[str, Path] = {}
        for path in spec_paths:
            unique.setdefault(path.stem, path)
        paths = list(unique.values())
        phases, todo, digests = [], paths, None
        if cache is not None:
            phases, todo, digests = _use_cache(cache, ctx, chosen, paths, strict, base)
        n_jobs = jobs or default_jobs(len(todo), costly=any(rule.costly for rule in chosen))

        def check_some(rules: Sequence[Rule], paths: Sequence[Path]) -> SpecPhase:
            return _check_specs(ctx, rules, paths, strict, debug, base, digests)

        with fewer_collections():
            phases += spec_phase(check_some, chosen, todo, n_jobs)
        if cache is not None:
            for phase in phases:
                for key, entry in phase.entries.items():
                    cache.put(Path(key), entry)
            cache.save()
    findings: list[Finding] = []
    for phase in phases:
        findings.extend(phase.findings)
        for key, value in phase.timings.items():
            timings[key] = timings.get(key, 0.0) + value
        for is_yaml, message, path_text, line, field_path in phase.problems:
            error_type = YamlError if is_yaml else SpecError
            ctx.scan.problems.append(error_type(message, location=SourceLocation(path_text, line, field_path)))
    timings["specs"] = time.perf_counter() - started
    out = _Collector(ctx, strict, base)
    intake_locales = tuple(ctx.intake.model.locales) if ctx.intake is not None else ()
    other_files: list[tuple[Loaded[Any], FileKind, tuple[str, ...]]] = [
        (p, "policy", intake_locales) for p in ctx.scan.policies.values()
    ]
    if ctx.intake is not None:
        other_files.insert(0, (ctx.intake, "intake", intake_locales))
    # a signing profile's printed meanings must carry the locales the clinic's packets use
    other_files.extend((p, "profile", ctx.workspace_locales) for p in ctx.scan.profiles.values())
    text_checks = text_checks_of(chosen)
    by_id = {rule.id: rule for rule in chosen}
    for loaded, kind, locales in other_files:
        if ctx.is_reported(loaded.path):
            _check_texts(ctx, out, loaded, kind, locales, text_checks, by_id, debug)
            ctx.spec_memo.clear()
    fallback = next(iter(sorted(ctx.reported)), Path())
    for rule in chosen:
        t0 = time.perf_counter()
        for library_check in rule.library_checks:
            try:
                _drain(rule, library_check(ctx), out)
            except Exception as exc:
                if debug:
                    raise
                out.crashed(rule, fallback, exc)
        timings[rule.id] = timings.get(rule.id, 0.0) + time.perf_counter() - t0
    findings.extend(out.findings)
    seen: set[tuple[object, ...]] = set()
    unique_findings = []
    for f in sorted(findings, key=Finding.sort_key):
        identity = (f.rule, f.file, f.line, f.field, f.message)
        if identity not in seen:
            seen.add(identity)
            unique_findings.append(f)
    files = sorted({display_path(p, base) for p in ctx.reported})
    timings["rules"] = time.perf_counter() - started
    base_dir = (base or Path.cwd()).resolve().as_posix()
    return LintReport(unique_findings, files, chosen, strict, timings, base_dir)


def _drain(rule: Rule, hits: Iterable[Hit], out: _Collector) -> None:
    for item in hits:
        out.add(rule, item)
