"""`consentkit lint` from the command line: bad input never shows a traceback, exit codes, workspaces, the
built-in library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from _lint_fixtures import TODAY, lint, minimal_spec, write_spec
from consentkit.lint import lint_paths
from consentkit.resources import builtin_dir
from consentkit.workspace import init_workspace

CONSENTKIT = str(Path(sys.executable).parent / "consentkit")


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "CONSENTKIT_WORKSPACE"}
    environ.update({"XDG_CACHE_HOME": str(cwd / ".cache"), "NO_COLOR": "1", **(env or {})})
    return subprocess.run(
        [CONSENTKIT, "lint", "--today", TODAY.isoformat(), "--ignore", "CK2", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_clean_failure(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode in (1, 3), out
    for word in words:
        assert word in out, out


def test_not_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    proc = run("list.yaml", cwd=tmp_path)
    assert_clean_failure(proc, "list.yaml:1", "[CK101]", "must be a YAML mapping")


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_unknown_rule_is_a_usage_error(tmp_path: Path, option: str) -> None:
    proc = run(option, "CK999", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert f"{option}: no rule CK999" in proc.stderr and "Traceback" not in proc.stderr


def test_fifty_megabyte_file(tmp_path: Path) -> None:
    with (tmp_path / "huge.yaml").open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: instant, no disk used
    proc = run("huge.yaml", cwd=tmp_path)
    assert_clean_failure(proc, "huge.yaml:1", "[CK101]", "50.0 MiB")


def test_alias_bomb(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    previous = "a"
    for name in "bcdefghij":
        bomb += f"{name}: &{name} [{', '.join(['*' + previous] * 10)}]\n"
        previous = name
    (tmp_path / "bomb.yaml").write_text(bomb)
    proc = run("bomb.yaml", cwd=tmp_path)
    assert_clean_failure(proc, "bomb.yaml:", "[CK101]", "aliases")


def test_id_that_escapes_its_folder(tmp_path: Path) -> None:
    write_spec(tmp_path, minimal_spec("../../etc/passwd"), name="passwd.yaml")
    proc = run("passwd.yaml", cwd=tmp_path)
    assert_clean_failure(proc, "passwd.yaml:1 id [CK100]", "lower-case id")


def test_every_field_of_the_wrong_type(tmp_path: Path) -> None:
    body = (
        "id: 5\nversion: [1]\ncategory: {a: b}\nlocales: zh-CN\ntitle: plain text\ndescription: []\n"
        "options: yes\nbenefits: {x: 1}\nrisks: none\ncontraindications: 3\nalternatives: 'no'\n"
        "preparation: []\nrecovery: 2026-01-01\naftercare: [1]\nfollow_up: 7d\ncooling_off: 15\n"
        "references: true\nreview: soon\n"
    )
    (tmp_path / "wrong.yaml").write_text(body)
    proc = run("--format", "json", "wrong.yaml", cwd=tmp_path)
    assert_clean_failure(proc)
    findings = json.loads(proc.stdout)
    assert {f["rule"] for f in findings} == {"CK100"}
    fields = {f["field"] for f in findings}
    assert {"id", "version", "category", "locales", "title", "risks", "cooling_off", "review"} <= fields
    lines = {f["field"]: f["line"] for f in findings}
    assert lines["risks"] == 9 and lines["review"] == 18


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    proc = run("nowhere.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_policy_and_empty_folder_are_usage_errors(tmp_path: Path) -> None:
    write_spec(tmp_path / "p", minimal_spec())
    proc = run("--policy", "xx", "p", cwd=tmp_path)
    assert proc.returncode == 2 and "--policy xx" in proc.stderr and "known: cn" in proc.stderr
    (tmp_path / "empty").mkdir()
    proc = run("empty", cwd=tmp_path)
    assert proc.returncode == 2 and "no procedure specs" in proc.stderr


def test_formats_output_file_and_strict(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["review"]["last_reviewed"] = TODAY.replace(year=2020)
    write_spec(tmp_path / "p", spec)
    proc = run("p", cwd=tmp_path)
    assert proc.returncode == 0 and "[CK160]" in proc.stdout and "1 warning in 1 of 1 file" in proc.stdout
    proc = run("--strict", "p", cwd=tmp_path)
    assert proc.returncode == 1 and "1 error" in proc.stdout
    proc = run("--format", "sarif", "--output", "out/lint.sarif", "p", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ""
    assert "report written to out/lint.sarif" in proc.stderr
    assert json.loads((tmp_path / "out" / "lint.sarif").read_text())["runs"][0]["results"][0]["ruleId"] == "CK160"
    proc = run("--format", "github", "p", cwd=tmp_path)
    assert proc.stdout.startswith("::warning file=p/sample.yaml,line=")


def test_workspace_is_linted_as_its_effective_library(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "clinic")
    write_spec(ws.procedures_dir, minimal_spec("house-special", follow_up=[]))
    # the clinic's own botulinum-toxin overrides the built-in one; a problem in it is the clinic's
    text = (builtin_dir("procedures") / "botulinum-toxin.yaml").read_text(encoding="utf-8")
    (ws.procedures_dir / "botulinum-toxin.yaml").write_text(text.replace("follow_up:", "follow_up: []\nunused:"))
    own = lint(ws.root, base=ws.root, include_builtin=False)
    assert {f.file for f in own.findings} == {"procedures/house-special.yaml", "procedures/botulinum-toxin.yaml"}
    assert all(not f.startswith("/") for f in own.files)
    assert len(own.files) == 2
    report = lint(ws.root, base=ws.root, ignore=("CK2", "CK160"))  # by default: the built-ins it uses too
    assert len(report.files) > 10
    builtin = builtin_dir("procedures").resolve()
    assert str(builtin / "rhinoplasty.yaml") in report.files  # named by their built-in path
    assert not any(f.endswith("/procedures/botulinum-toxin.yaml") for f in report.files)  # not the overridden one
    assert {f.file for f in report.findings} == {f.file for f in own.findings}  # the built-ins are clean


def test_workspace_locales_apply_to_the_builtin_specs_it_uses(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "clinic")
    config = ws.root / "consentkit.toml"
    config.write_text(config.read_text().replace('locales = ["zh-CN", "en"]', 'locales = ["zh-CN", "en", "fr"]'))
    proc = run("--format", "json", "--select", "CK120", cwd=ws.root)
    found = json.loads(proc.stdout)
    assert proc.returncode == 1 and len({f["file"] for f in found}) == 11
    assert all(f["file"].startswith(str(builtin_dir("procedures").parent.resolve())) for f in found)
    profile = [f for f in found if f["file"].endswith("signatures/default.yaml")]
    assert profile and "no 'fr' text (the locales in consentkit.toml (clinic.locales)" in profile[0]["message"]
    proc = run("--no-builtin", "--select", "CK120", cwd=ws.root)
    assert proc.returncode == 0 and "no problems in 0 files" in proc.stdout
    proc = run("--include-builtin", "--select", "CK120", cwd=ws.root)  # deprecated, still works
    assert proc.returncode == 1 and "--include-builtin is the default now" in proc.stderr


def test_broken_template_override_is_found_through_the_builtin_specs(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "clinic")
    macros = (builtin_dir("templates") / "html" / "_macros.html.j2").read_text(encoding="utf-8")
    assert "v.clinic.name" in macros
    (ws.templates_dir / "html").mkdir(parents=True)
    (ws.templates_dir / "html" / "_macros.html.j2").write_text(macros.replace("v.clinic.name", "v.clinic.nmae"))
    report = lint_paths(workspace_dir=ws.root, select=["CK210"], base=ws.root, today=TODAY)
    assert len({f.file for f in report.findings}) == 10
    assert all("_macros.html.j2" in f.message and "nmae" in f.message for f in report.findings)


def test_no_path_lints_the_current_workspace(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "clinic", jurisdiction="tw")
    spec = minimal_spec()
    del spec["outcome"]  # required by the Taiwan policy
    write_spec(ws.procedures_dir, spec)
    (ws.root / "sub").mkdir()
    proc = run("--format", "json", "--ignore", "CK2,CK160", cwd=ws.root / "sub")  # built-ins: reviewed after TODAY
    assert proc.returncode == 1, proc.stderr
    found = json.loads(proc.stdout)
    assert [f["rule"] for f in found] == ["CK110"]
    assert found[0]["file"] == str((ws.procedures_dir / "sample.yaml").resolve())  # outside the working folder


def test_pre_commit_style_file_arguments(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "clinic")
    write_spec(ws.procedures_dir, minimal_spec("a"))
    write_spec(ws.procedures_dir, minimal_spec("b", follow_up=[]))
    proc = run("procedures/a.yaml", cwd=ws.root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run("procedures/a.yaml", "procedures/b.yaml", cwd=ws.root)
    assert proc.returncode == 1 and "procedures/b.yaml:" in proc.stdout and "[CK171]" in proc.stdout


def test_builtin_library_lints_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rule, the real date, the default jurisdiction: no errors and no warnings."""
    monkeypatch.delenv("CONSENTKIT_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    report = lint_paths([])
    overdue = [f for f in report.findings if f.rule == "CK160"]
    assert not overdue, (
        "the built-in library's clinical review is due (CK160): review every procedure against its references, "
        "then move review.last_reviewed forward and bump the patch version — this test uses the real date on purpose"
    )
    assert report.findings == [], "\n".join(
        f"{f.file}:{f.line} {f.field} [{f.rule}] {f.message}" for f in report.findings
    )
    assert len(report.files) == len(list(builtin_dir("procedures").rglob("*.yaml")))


@pytest.mark.parametrize("policy", ["tw", "uk", "fr", "us"])
def test_builtin_library_lints_clean_under_every_policy(tmp_path: Path, policy: str) -> None:
    report = lint_paths([builtin_dir("procedures")], policy=policy, ignore=["CK2"], base=tmp_path)
    assert report.findings == [], [(f.file, f.rule, f.message) for f in report.findings]


def test_help_names_the_formats() -> None:
    proc = subprocess.run([CONSENTKIT, "lint", "--help"], capture_output=True, text=True, check=True)
    for word in ("text", "json", "junit", "sarif", "github", "--strict", "--policy", "--output"):
        assert word in proc.stdout


def test_lint_import_stays_light() -> None:
    code = (
        "import sys, consentkit.cli.lint_cmd, consentkit.lint, consentkit.lint.registry as r; r.all_rules();"
        "heavy = [m for m in ('weasyprint', 'pyhanko', 'jinja2', 'docxtpl', 'fontTools') if m in sys.modules];"
        "print(heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_copied_workspace_can_be_linted_from_anywhere(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "clinic")
    write_spec(ws.procedures_dir, minimal_spec())
    shutil.copytree(ws.root, tmp_path / "copy", ignore=shutil.ignore_patterns(".consentkit"))
    proc = run(str(tmp_path / "copy"), cwd=Path("/"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_unreadable_workspace_config_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "consentkit.toml").write_text("[clinic\nname = 1\n")
    (tmp_path / "procedures").mkdir()
    proc = run(cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "consentkit.toml" in proc.stderr and "Traceback" not in proc.stderr


def test_verbose_shows_the_traceback_of_a_crashing_rule(tmp_path: Path) -> None:
    write_spec(tmp_path / "p", minimal_spec())
    plugin = tmp_path / "crashing_rule.py"
    plugin.write_text(
        "from consentkit.lint.registry import define_rule\n"
        "CK998 = define_rule('CK998', 'error', 'crash', 'always fails', fix='none')\n"
        "@CK998.per_spec\n"
        "def _boom(ctx, spec):\n"
        "    raise ZeroDivisionError('boom')\n"
        "    yield\n"
    )
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import consentkit.lint.registry as r;"
        "r.RULE_MODULES = (*r.RULE_MODULES, 'crashing_rule'); from consentkit.cli import main;"
        "sys.exit(main(sys.argv[1:]))"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / ".cache")}
    env.pop("CONSENTKIT_WORKSPACE", None)
    args = ["lint", "--no-cache", "--ignore", "CK2", "p"]
    quiet = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stdout + quiet.stderr
    assert "[CK001]" in quiet.stdout and "rule CK998 (crash)" in quiet.stdout and "ZeroDivisionError" in quiet.stdout
    loud = subprocess.run(
        [sys.executable, "-c", code, "--verbose", *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert "Traceback" in loud.stderr and "ZeroDivisionError: boom" in loud.stderr
