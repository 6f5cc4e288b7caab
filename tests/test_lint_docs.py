"""docs/lint.md, the CI examples and the pre-commit hook stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from consentkit.lint.registry import all_rules
from consentkit.lint.report import FORMATS

REPO = Path(__file__).resolve().parent.parent
DOC = (REPO / "docs" / "lint.md").read_text(encoding="utf-8")


def test_every_rule_is_documented_with_its_severity() -> None:
    for rule in all_rules():
        row = re.search(rf"^\| \[?{rule.id}\]?.*$", DOC, re.MULTILINE)
        assert row, f"{rule.id} missing from the rule table"
        assert f"| {rule.name} |" in row.group(0) and f"| {rule.severity} |" in row.group(0), row.group(0)
        if not rule.id.startswith("CK2"):  # the rendering rules are documented in rendering.md
            assert f"### {rule.id}\n\n**{rule.name}** ({rule.severity})" in DOC, rule.id


def test_every_format_and_option_is_documented() -> None:
    for fmt in FORMATS:
        assert f"`{fmt}`" in DOC
    for option in ("--strict", "--policy", "--output", "--include-builtin", "--select", "--ignore", "--no-cache"):
        assert option in DOC


def test_pre_commit_hook() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "consentkit-lint")
    assert hook["language"] == "python" and hook["entry"] == "consentkit lint"
    pattern = re.compile(hook["files"])
    assert pattern.search("procedures/rhinoplasty.yaml") and pattern.search("procedures/policies/tw.yaml")
    assert pattern.search("procedures/a.yml") and not pattern.search("templates/html/consent.html.j2")


def test_ci_examples_run_the_documented_commands() -> None:
    github = yaml.safe_load((REPO / "docs" / "ci" / "github-actions.yml").read_text(encoding="utf-8"))
    steps = github["jobs"]["lint"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "consentkit lint --format github" in runs and "--format sarif" in runs
    assert any(step.get("uses", "").startswith("github/codeql-action/upload-sarif") for step in steps)
    assert github["permissions"]["security-events"] == "write"
    gitlab = yaml.safe_load((REPO / "docs" / "ci" / "gitlab-ci.yml").read_text(encoding="utf-8"))
    job = gitlab["consent-lint"]
    assert job["artifacts"]["reports"]["junit"] == "consentkit-lint.xml"
    assert any("--format junit" in line for line in job["script"])
