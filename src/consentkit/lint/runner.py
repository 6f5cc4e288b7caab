"""Run rules over a :class:`LintContext` and turn their hits into findings. A rule that crashes becomes a CK001
finding naming the rule (or, with ``debug``, raises), never a traceback in a clinic's CI log."""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
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


Problem = tuple[bool, str, str, int | None, str | None]  # yaml?, message, path, line, field
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


@dataclass
class _SpecPhase:
    findings: list[Finding]
    problems: list[Problem]
    timings: dict[str, float]
    entries: dict[str, Entry] = field(default_factory=dict)  # path → what to cache for it


def _check_specs(
    ctx: LintContext,
    rules: Sequence[Rule],
    paths: Sequence[Path],
    strict: bool,
    debug: bool,
    base: Path | None,
    digests: dict[Path, str] | None = None,
) -> _SpecPhase:
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
    return _SpecPhase(out.findings, problems, timings, entries)


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


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Loading specs allocates millions of objects that stay alive; Python's default collector thresholds then walk
    the growing heap again and again (a quarter of the load time for 300 specs). Freeze what exists, collect less
    often, and restore afterwards."""
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


_FORKED: tuple[LintContext, Sequence[Rule], bool, bool, Path | None, dict[Path, str] | None] | None = None


def _forked_check(paths: Sequence[Path]) -> _SpecPhase:
    assert _FORKED is not None
    ctx, rules, strict, debug, base, digests = _FORKED
    return _check_specs(ctx, rules, paths, strict, debug, base, digests)


PARALLEL_MIN_SPECS = 100
"""Below this many specs, worker processes cost more than they save (measured in bench/bench_lint.py)..."""

COSTLY_PARALLEL_MIN_SPECS = 4
"""... unless a costly rule runs (the template dry run, ~40 ms a spec after ~0.3 s of warming up): then from this
many specs."""


def default_jobs(n_specs: int, *, costly: bool = False) -> int:
    """Worker processes for ``n_specs``: ``$CONSENTKIT_LINT_JOBS`` if set, else one per core (at most 4) for large
    workspaces (or from :data:`COSTLY_PARALLEL_MIN_SPECS` when a ``costly`` rule is selected), else 1. Parallel
    checking needs the ``fork`` start method (Linux, and macOS when allowed)."""
    env = os.environ.get("CONSENTKIT_LINT_JOBS")
    if env and env.isdigit():
        return max(int(env), 1)
    least = COSTLY_PARALLEL_MIN_SPECS if costly else PARALLEL_MIN_SPECS
    if n_specs < least or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def _set_forked(
    ctx: LintContext,
    rules: Sequence[Rule],
    strict: bool,
    debug: bool,
    base: Path | None,
    digests: dict[Path, str] | None,
) -> None:
    """What the next forked workers inherit (a pool forks its workers when it is created)."""
    global _FORKED
    _FORKED = (ctx, rules, strict, debug, base, digests)


def _spec_phase(
    ctx: LintContext,
    rules: Sequence[Rule],
    paths: Sequence[Path],
    strict: bool,
    debug: bool,
    base: Path | None,
    jobs: int,
    digests: dict[Path, str] | None,
) -> list[_SpecPhase]:
    global _FORKED
    if jobs <= 1 or len(paths) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [_check_specs(ctx, rules, paths, strict, debug, base, digests)]
    if any(r.costly for r in rules) and any(not r.costly for r in rules):
        return _costly_apart(ctx, rules, paths, strict, debug, base, jobs, digests)
    # The first spec here, before forking: the workers inherit its compiled patterns, character tables and
    # per-text results instead of each building their own.
    first = _check_specs(ctx, rules, paths[:1], strict, debug, base, digests)
    rest = paths[1:]
    jobs = min(jobs, len(rest))
    chunks = [list(rest[i::jobs]) for i in range(jobs)]  # interleaved: big and small files spread evenly
    _set_forked(ctx, rules, strict, debug, base, digests)
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            return [first, *pool.map(_forked_check, chunks)]
    finally:
        _FORKED = None


def _costly_apart(
    ctx: LintContext,
    rules: Sequence[Rule],
    paths: Sequence[Path],
    strict: bool,
    debug: bool,
    base: Path | None,
    jobs: int,
    digests: dict[Path, str] | None,
) -> list[_SpecPhase]:
    """Costly rules (the template dry run) beside the others: one worker runs every other rule on every spec while
    this process warms the costly rules up on the first spec (imports, compiled templates, fonts: ~0.3 s), then
    ``jobs`` processes — this one and workers forked after the warm-up, so they inherit it — share the rest of the
    costly work. A spec is loaded in both; its load problems are taken from the first. The findings are the same
    as in one process: every check still runs once per spec, on its own."""
    light = [r for r in rules if not r.costly]
    costly = [r for r in rules if r.costly]
    light_job = _fork_check(ctx, light, list(paths), strict, debug, base, digests)
    try:
        heavy = [_check_specs(ctx, costly, paths[:1], strict, debug, base, digests)]
        rest = paths[1:]
        n = min(jobs, len(rest))
        chunks = [list(rest[i::n]) for i in range(n)]
        others = [_fork_check(ctx, costly, chunk, strict, debug, base, digests) for chunk in chunks[1:]]
        try:
            if chunks:
                heavy.append(_check_specs(ctx, costly, chunks[0], strict, debug, base, digests))
        finally:
            heavy.extend(_fork_result(job) for job in others)
    finally:
        light_phase = _fork_result(light_job)
    return [_merge_apart(light_phase, heavy)]


_Job = tuple[Any, Any]  # (process, receiving end of its pipe)


def _fork_check(
    ctx: LintContext,
    rules: Sequence[Rule],
    paths: list[Path],
    strict: bool,
    debug: bool,
    base: Path | None,
    digests: dict[Path, str] | None,
) -> _Job:
    """Check ``paths`` with ``rules`` in a forked process (it inherits everything loaded so far); a plain process
    and a pipe rather than a pool, so no helper threads exist when the next worker is forked."""
    global _FORKED
    fork = multiprocessing.get_context("fork")
    receive, send = fork.Pipe(duplex=False)
    _set_forked(ctx, rules, strict, debug, base, digests)
    try:
        process = fork.Process(target=_child, args=(send, paths), daemon=True)
        process.start()
    finally:
        _FORKED = None
        send.close()
    return process, receive


def _child(send: Any, paths: list[Path]) -> None:
    try:
        result: tuple[bool, object] = (True, _forked_check(paths))
    except BaseException as exc:  # re-raised in the parent (``debug``), never swallowed
        result = (False, exc)
    try:
        send.send(result)
    except Exception as exc:  # an exception that cannot be pickled
        send.send((False, RuntimeError(f"a lint worker failed: {result[1]!r} ({exc})")))
    finally:
        send.close()


def _fork_result(job: _Job) -> _SpecPhase:
    process, receive = job
    try:
        ok, value = receive.recv()
    except EOFError:
        raise RuntimeError(f"a lint worker process died (exit code {process.exitcode})") from None
    finally:
        receive.close()
        process.join()
    if not ok:
        raise value
    assert isinstance(value, _SpecPhase)
    return value


def _merge_apart(light: _SpecPhase, heavy: Sequence[_SpecPhase]) -> _SpecPhase:
    """One phase of the light and costly rules' results: every finding, the load problems once, and a cache entry
    for a file only where both halves made one."""
    findings = list(light.findings)
    timings = dict(light.timings)
    costly_entries: dict[str, Entry | None] = {}
    for phase in heavy:
        findings.extend(phase.findings)
        for key, value in phase.timings.items():
            if key != "parse":  # the costly half loads each spec again; count the reading once
                timings[key] = timings.get(key, 0.0) + value
        costly_entries.update(phase.entries)
    entries = {}
    for key, entry in light.entries.items():
        other = costly_entries.get(key)
        if other is not None:
            entries[key] = Entry(entry.digest, [*entry.hits, *other.hits], entry.problems)
    return _SpecPhase(findings, light.problems, timings, entries)


def _use_cache(
    cache: FindingCache,
    ctx: LintContext,
    rules: Sequence[Rule],
    paths: Sequence[Path],
    strict: bool,
    base: Path | None,
) -> tuple[list[_SpecPhase], list[Path], dict[Path, str]]:
    """Findings of unchanged files from the cache; the files still to check, with their digests."""
    by_id = {rule.id: rule for rule in rules}
    found = _SpecPhase([], [], {"cache": 0.0})
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
    phases: list[_SpecPhase]
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
        phases = [_SpecPhase(out.findings, [], {})]
    else:
        unique: dict[str, Path] = {}
        for path in spec_paths:
            unique.setdefault(path.stem, path)
        paths = list(unique.values())
        phases, todo, digests = [], paths, None
        if cache is not None:
            phases, todo, digests = _use_cache(cache, ctx, chosen, paths, strict, base)
        n_jobs = jobs or default_jobs(len(todo), costly=any(rule.costly for rule in chosen))
        with _fewer_collections():
            phases += _spec_phase(ctx, chosen, todo, strict, debug, base, n_jobs, digests)
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
