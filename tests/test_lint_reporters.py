"""Reporters: text for people, JSON, JUnit XML, SARIF 2.1.0, GitHub workflow commands."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from _lint_fixtures import lint, minimal_spec, text, write_spec
from consentkit.lint.findings import Finding
from consentkit.lint.report import FORMATS, render
from consentkit.lint.report.github import command, escape_data, escape_property
from consentkit.lint.runner import LintReport


@pytest.fixture
def report(tmp_path: Path) -> LintReport:
    spec = minimal_spec(benefits=[{"id": "easy", "text": text("无痛。", "無痛。", "It is painless.")}])
    spec["risks"][1]["rate"] = 0.5
    spec["review"]["last_reviewed"] = date(2020, 1, 1)
    write_spec(tmp_path / "procedures", spec)
    write_spec(tmp_path / "procedures", minimal_spec("clean"))
    (tmp_path / "procedures" / "broken.yaml").write_text("id: [\n")
    return lint(tmp_path / "procedures", base=tmp_path)


def test_report_has_errors_and_warnings(report: LintReport) -> None:
    assert report.errors >= 3 and report.warnings >= 1
    assert report.exit_code == 1
    assert {f.rule for f in report.findings} >= {"CK101", "CK132", "CK150", "CK160"}


def test_text_groups_by_file_and_shows_the_line(report: LintReport) -> None:
    out = render(report, "text")
    assert "\x1b[" not in out  # no colour unless asked
    lines = out.splitlines()
    assert lines[0] == "procedures/broken.yaml"
    first = next(i for i, row in enumerate(lines) if "[CK150]" in row)
    assert lines[first].startswith("procedures/sample.yaml:")
    assert " benefits[0].text." in lines[first] and "error: '" in lines[first]
    assert "|" in lines[first + 1] and ("无痛" in lines[first + 1] or "painless" in lines[first + 1])
    assert lines[-1].startswith(f"{report.errors} errors, {report.warnings} warning")
    assert lines[-1].endswith("of 3 files")
    assert "\x1b[" in render(report, "text", color=True)


def test_json_is_one_object_per_finding(report: LintReport) -> None:
    data = json.loads(render(report, "json"))
    assert len(data) == len(report.findings)
    for item in data:
        assert list(item) == ["rule", "severity", "name", "file", "line", "field", "message", "source"]
        assert isinstance(item["line"], int) and item["line"] >= 1
    assert any(item["rule"] == "CK150" and "无痛" in item["message"] for item in data)


def test_junit_is_valid_xml_with_failures_for_errors(report: LintReport) -> None:
    root = ET.fromstring(render(report, "junit"))
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert int(suite.get("tests", "0")) == len(cases)
    failures = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("failures", "0")) == len(failures) > 0
    clean = [c for c in cases if c.get("classname") == "procedures/clean.yaml"]
    assert [c.get("name") for c in clean] == ["lint"] and clean[0].find("failure") is None
    names = {c.get("name") for c in cases if c.get("classname") == "procedures/sample.yaml"}
    assert "CK150 promise" in names
    warning = next(c for c in cases if c.get("name") == "CK160 review-due")
    assert warning.find("failure") is None and warning.find("system-out") is not None


def test_sarif_structure(report: LintReport) -> None:
    doc = json.loads(render(report, "sarif"))
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "consentkit"
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert ids == sorted(ids) and "CK150" in ids and "CK001" in ids
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["helpUri"].startswith("https://")
        assert rule["defaultConfiguration"]["level"] in ("error", "warning")
    assert len(run["results"]) == len(report.findings)
    for result in run["results"]:
        assert result["ruleId"] in ids
        assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning")
        assert result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].startswith("procedures/")
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert location["region"]["startLine"] >= 1
        assert result["partialFingerprints"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file:///")
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")


def test_sarif_outside_the_working_folder_uses_file_uris(tmp_path: Path) -> None:
    write_spec(tmp_path / "a", minimal_spec(follow_up=[]))
    report = lint(tmp_path / "a", base=tmp_path / "elsewhere")
    doc = json.loads(render(report, "sarif"))
    uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file:///") and uri.endswith("/a/sample.yaml")


def test_github_escaping() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    finding = Finding("CK150", "error", "promise", "procedures/a,b.yaml", 7, "'100%' reads as: x", "risks[0].text")
    assert command(finding) == (
        "::error file=procedures/a%2Cb.yaml,line=7,title=CK150 promise::risks[0].text: '100%25' reads as: x"
    )
    warning = Finding("CK190", "warning", "readability", "x.yaml", 3, "long", None)
    assert command(warning) == "::warning file=x.yaml,line=3,title=CK190 readability::long"


def test_github_report_one_command_per_finding(report: LintReport) -> None:
    lines = render(report, "github").splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert len(commands) == len(report.findings)
    assert all(line.startswith(("::error file=", "::warning file=")) for line in commands)


def test_every_format_renders_an_empty_report(tmp_path: Path) -> None:
    write_spec(tmp_path, minimal_spec())
    empty = lint(tmp_path)
    for fmt in FORMATS:
        assert render(empty, fmt)
    assert json.loads(render(empty, "json")) == []
    assert render(empty, "text").strip() == "no problems in 1 file"
