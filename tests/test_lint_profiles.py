"""Signing profiles (signatures/*.yaml) are linted with the signing code's own model, not as procedure specs."""

from __future__ import annotations

from pathlib import Path

from _lint_fixtures import line_of
from consentkit.lint import lint_paths
from consentkit.resources import builtin_dir
from consentkit.workspace import init_workspace

BROKEN = """\
id: default
pades_level: B-LTX
colour: red
roles:
  - role: clinic
    field: sig-clinic
    anchor: sigbox-clinic
    certify: true
    meaning: {zh-CN: 本机构确认, en: The clinic certifies}
"""


def _broken_workspace(tmp_path: Path) -> Path:
    ws = init_workspace(tmp_path / "clinic")
    (ws.signatures_dir / "default.yaml").write_text(BROKEN, encoding="utf-8")
    return ws.root


def test_workspace_lint_checks_its_signing_profile(tmp_path: Path) -> None:
    root = _broken_workspace(tmp_path)
    report = lint_paths(workspace_dir=root, include_builtin=False, ignore=["CK2"], base=root)
    found = sorted((f.rule, f.file, f.line, f.field) for f in report.findings)
    profile = root / "signatures" / "default.yaml"
    assert found == [
        ("CK100", "signatures/default.yaml", line_of(profile, "pades_level"), "pades_level"),
        ("CK100", "signatures/default.yaml", line_of(profile, "colour"), "colour"),
    ]
    assert "'B-LTX' is not one of" in report.findings[0].message
    assert report.exit_code == 1


def test_a_profile_named_on_the_command_line_is_checked_as_a_profile(tmp_path: Path) -> None:
    root = _broken_workspace(tmp_path)
    for target in (root / "signatures" / "default.yaml", root / "signatures"):
        report = lint_paths([target], ignore=["CK2"], base=root)
        assert {f.field for f in report.findings} == {"pades_level", "colour"}, target
        assert all(f.rule == "CK100" for f in report.findings)  # not "unknown field 'roles'" as a spec


def test_profile_id_must_match_the_file_name(tmp_path: Path) -> None:
    root = _broken_workspace(tmp_path)
    good = (builtin_dir("signatures") / "default.yaml").read_text(encoding="utf-8")
    (root / "signatures" / "default.yaml").write_text(good, encoding="utf-8")
    (root / "signatures" / "clinic.yaml").write_text(good, encoding="utf-8")
    report = lint_paths(workspace_dir=root, include_builtin=False, ignore=["CK2"], base=root)
    assert [(f.rule, f.file, f.field) for f in report.findings] == [("CK100", "signatures/clinic.yaml", "id")]


def test_builtin_profile_is_clean_and_linted_with_the_workspace(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "clinic")
    report = lint_paths(workspace_dir=ws.root, ignore=["CK2", "CK160"], base=ws.root)
    assert str((builtin_dir("signatures") / "default.yaml").resolve()) in report.files
    assert report.findings == []


def test_a_yml_profile_is_reported_not_skipped(tmp_path: Path) -> None:
    """The signing code reads only <id>.yaml: a profile saved as .yml would never be used, so lint says so rather
    than passing it unchecked (before: 'no problems', even with an unknown key in it)."""
    ws = init_workspace(tmp_path / "clinic")
    (ws.signatures_dir / "clinic.yml").write_text(BROKEN.replace("id: default", "id: clinic"), encoding="utf-8")
    whole = lint_paths(workspace_dir=ws.root, include_builtin=False, ignore=["CK2"], base=ws.root)
    named = lint_paths([ws.signatures_dir / "clinic.yml"], ignore=["CK2"], base=ws.root)
    for report in (whole, named):
        found = [(f.rule, f.file, f.line) for f in report.findings]
        assert found == [("CK100", "signatures/clinic.yml", 1)], report.findings
        assert "rename it to clinic.yaml" in report.findings[0].message
        assert report.exit_code == 1
