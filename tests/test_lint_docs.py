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
    for option in ("--strict", "--policy", "--output", "--no-builtin", "--select", "--ignore", "--no-cache"):
        assert option in DOC


def test_pre_commit_hook() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "consentkit-lint")
    assert hook["language"] == "python" and hook["entry"] == "consentkit lint"
    pattern = re.compile(hook["files"])
    assert pattern.search("procedures/rhinoplasty.yaml") and pattern.search("procedures/policies/tw.yaml")
    assert pattern.search("procedures/a.yml") and pattern.search("templates/html/_macros.html.j2")
    assert pattern.search("signatures/default.yaml") and pattern.search("consentkit.toml")
    assert not pattern.search("README.md") and not pattern.search("signatures/trust/clinic-root.pem")


def _system_fonts() -> list[str]:
    fonts = yaml.safe_load((REPO / "templates" / "fonts.yaml").read_text(encoding="utf-8"))
    return sorted({face["system"] for face in fonts["faces"] if "system" in face})


RENDERING_PACKAGES = ("fonts-noto-cjk", "libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0")


def test_hook_says_what_the_machine_needs() -> None:
    text = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert _system_fonts() == ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"]
    for needed in (*_system_fonts(), *RENDERING_PACKAGES, "CK200,CK210"):
        assert needed in text, needed


def test_ci_examples_install_the_declared_fonts() -> None:
    bootstrap = (REPO / "bootstrap.sh").read_text(encoding="utf-8")
    github = yaml.safe_load((REPO / "docs" / "ci" / "github-actions.yml").read_text(encoding="utf-8"))
    steps = github["jobs"]["lint"]["steps"]
    runs = [step.get("run", "") for step in steps]
    install = next(i for i, run in enumerate(runs) if "apt-get install" in run)
    assert install < next(i for i, run in enumerate(runs) if "consentkit lint" in run)
    gitlab = yaml.safe_load((REPO / "docs" / "ci" / "gitlab-ci.yml").read_text(encoding="utf-8"))
    script = gitlab["consent-lint"]["script"]
    apt = next(i for i, line in enumerate(script) if "apt-get install" in line)
    assert apt < next(i for i, line in enumerate(script) if "consentkit lint" in line)
    for package in RENDERING_PACKAGES:
        assert package in bootstrap  # the same packages the project's own set-up installs
        assert package in runs[install] and package in script[apt], package


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
