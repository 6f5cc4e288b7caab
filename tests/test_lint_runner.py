"""The runner: rules registered by id, a crashing rule becomes a finding, parallel and cached runs agree with a
plain one, --strict, rule selection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _lint_fixtures import TODAY, lint, minimal_spec, only, text, write_spec
from consentkit.lint import choose_rules, lint_paths
from consentkit.lint.collect import build_context, load_target, resolve_target
from consentkit.lint.context import LintContext
from consentkit.lint.findings import Hit
from consentkit.lint.registry import RULE_MODULES, Rule, all_rules, define_rule
from consentkit.lint.runner import run_rules
from consentkit.spec.library import Loaded
from consentkit.spec.models import ProcedureSpec


def test_rule_ids_are_stable_and_complete() -> None:
    ids = [r.id for r in all_rules()]
    numbers = (1, 100, 101, 110, 111, 112, 120, 121, 122, 123, 130, 131, 132, 133, 140, 150, 151, 160, 170, 171)
    numbers += (180, 190)
    expected = {f"CK{n:03d}" for n in numbers}
    assert expected <= set(ids)
    assert ids == sorted(ids)
    for rule in all_rules():
        assert rule.severity in ("error", "warning")
        assert rule.name and rule.summary and rule.fix
        assert rule.spec_checks or rule.library_checks or rule.text_checks or rule.id == "CK001"
    warnings = {r.id for r in all_rules() if r.severity == "warning"}
    assert warnings >= {"CK121", "CK122", "CK123", "CK160", "CK190"}
    assert all(name.startswith("consentkit.lint.rules.") for name in RULE_MODULES)


def test_rule_ids_must_be_unique_and_well_formed() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        define_rule("CK150", "error", "again", "x")
    with pytest.raises(ValueError, match="must look like"):
        define_rule("X1", "error", "bad", "x")


def _context(folder: Path) -> tuple[LintContext, list[Path]]:
    target = resolve_target([folder])
    return build_context(target, load_target(target), today=TODAY), list(target.spec_files)


def test_a_crashing_rule_becomes_a_finding_naming_it(tmp_path: Path) -> None:
    write_spec(tmp_path, minimal_spec())
    boom = Rule("CK999", "warning", "boom", "always fails", "none")

    @boom.per_spec
    def _fails(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
        yield Hit("first", doc=spec.doc, loc=("id",))
        raise KeyError("oops")

    ctx, paths = _context(tmp_path)
    report = run_rules(ctx, [*choose_rules(ignore=["CK2"]), boom], spec_paths=paths, base=tmp_path)
    crash = only(report, "CK001")
    assert len(crash) == 1 and crash[0].file == "sample.yaml" and crash[0].severity == "error"
    assert "rule CK999 (boom)" in crash[0].message and "KeyError" in crash[0].message
    assert [f.message for f in only(report, "CK999")] == ["first"]  # what it found before failing is kept
    assert report.exit_code == 1
    ctx, paths = _context(tmp_path)
    with pytest.raises(KeyError):
        run_rules(ctx, [boom], spec_paths=paths, debug=True)


def test_strict_turns_warnings_into_errors(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["risks"][0]["text"] = text("皮肤会发红。", "皮肤会发红。", "The skin turns red.")
    write_spec(tmp_path, spec)
    relaxed = lint(tmp_path)
    assert [f.severity for f in relaxed.findings] == ["warning"] and relaxed.exit_code == 0
    strict = lint(tmp_path, strict=True)
    assert [f.severity for f in strict.findings] == ["error"] and strict.exit_code == 1


def test_select_and_ignore(tmp_path: Path) -> None:
    write_spec(tmp_path, minimal_spec(follow_up=[], alternatives=[]))
    assert {f.rule for f in lint(tmp_path).findings} == {"CK111", "CK171"}
    assert {f.rule for f in lint(tmp_path, select=["CK17"]).findings} == {"CK171"}
    assert {f.rule for f in lint(tmp_path, ignore=["CK2", "CK111"]).findings} == {"CK171"}
    assert [r.id for r in choose_rules(select=["CK15"])] == ["CK001", "CK150", "CK151"]


def _many(folder: Path, n: int) -> None:
    for i in range(n):
        spec = minimal_spec(f"spec-{i:02d}")
        if i % 3 == 0:
            spec["follow_up"] = []
        if i % 4 == 0:
            spec["risks"][0]["text"]["en"] = f"It is painless ({i})."  # allowed inside a risk
        if i % 5 == 0:
            spec["benefits"][0]["text"]["en"] = "Painless."  # not here
        write_spec(folder, spec)
    (folder / "broken.yaml").write_text("id: [\n")


def test_parallel_run_matches_a_serial_one(tmp_path: Path) -> None:
    _many(tmp_path, 12)
    serial = lint(tmp_path, jobs=1)
    parallel = lint(tmp_path, jobs=2)
    assert parallel.findings == serial.findings
    assert {f.rule for f in serial.findings} == {"CK101", "CK150", "CK171"}
    assert all(f.field == "benefits[0].text.en" for f in only(serial, "CK150"))


def test_cache_reuses_unchanged_files_and_rechecks_changed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "procedures"
    _many(folder, 6)

    def run() -> tuple[list[object], float]:
        report = lint_paths([folder], today=TODAY, ignore=["CK2"], use_cache=True, base=tmp_path)
        return [f.as_dict() for f in report.findings], report.timings.get("cached files", 0.0)

    first, cached = run()
    assert cached == 0 and list((tmp_path / "cache" / "consentkit").glob("lint-*.json"))
    second, cached = run()
    assert second == first, [(x, y) for x, y in zip(first, second, strict=True) if x != y]
    assert any(f["rule"] == "CK150" for f in second)  # per-text findings come back from the cache too
    assert cached == 7  # six specs and the broken file
    write_spec(folder, minimal_spec("spec-01", follow_up=[]))
    third, cached = run()
    assert cached == 6
    assert len(third) == len(first) + 1
    strict = lint_paths([folder], today=TODAY, ignore=["CK2"], use_cache=True, strict=True, base=tmp_path)
    assert strict.timings["cached files"] == 7 and {f.severity for f in strict.findings} == {"error"}
    other_day = lint_paths([folder], today=TODAY.replace(year=2030), ignore=["CK2"], use_cache=True)
    assert other_day.timings["cached files"] == 0  # the date is part of the key (review due dates)


def test_a_damaged_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    write_spec(tmp_path / "p", minimal_spec(follow_up=[]))
    lint_paths([tmp_path / "p"], today=TODAY, ignore=["CK2"], use_cache=True)
    for cache in (tmp_path / "cache" / "consentkit").glob("lint-*.json"):
        cache.write_text("{not json")
    report = lint_paths([tmp_path / "p"], today=TODAY, ignore=["CK2"], use_cache=True)
    assert [f.rule for f in report.findings] == ["CK171"]


def test_cache_fingerprint_covers_the_code_that_reads_and_judges_a_spec() -> None:
    """The findings cache is keyed on the code that decides findings: every consentkit.spec / consentkit.render
    module that the lint package or the spec loader imports at module level must be part of it. Missing before:
    spec/cjk.py (it rewrites every Chinese text as it is loaded) and render/frequency.py (CK134's printed figure)."""
    import ast
    import importlib.util

    from consentkit.lint import cache

    lint_dir = Path(cache.__file__).resolve().parent
    covered = {p.resolve() for p in lint_dir.rglob("*.py")}
    for name in (*RULE_MODULES, *cache._OWN_SOURCES):
        found = cache._module_file(name)
        assert found is not None, name
        covered.add(found.resolve())
    missing = set()
    for path in sorted(covered):
        # module level only: the lazy imports are the rendering rules', keyed on the templates and their code
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            if node.module.startswith(("consentkit.spec.", "consentkit.render.")):
                spec = importlib.util.find_spec(node.module)
                assert spec is not None and spec.origin is not None
                if Path(spec.origin).resolve() not in covered:
                    missing.add(node.module)
    assert missing == set()
