"""JUnit XML for CI dashboards (GitLab, Jenkins, Azure): one test suite; per file, one test case per rule that
found something (a failure when any finding is an error, warnings in system-out), or one passing case ``lint``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from consentkit.lint.findings import Finding
from consentkit.lint.runner import LintReport


def _line(f: Finding) -> str:
    field = f" {f.field}" if f.field else ""
    return f"{f.file}:{f.line}{field} [{f.rule}] {f.severity}: {f.message}"


def render(report: LintReport, *, color: bool = False) -> str:
    by_file: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for f in report.findings:
        by_file[f.file][f.rule].append(f)
    names = {rule.id: rule.name for rule in report.rules}
    suites = ET.Element("testsuites", name="consentkit lint")
    suite = ET.SubElement(suites, "testsuite", name="consentkit lint")
    tests = failures = 0
    for file in sorted(set(report.files) | set(by_file)):
        rules = by_file.get(file)
        if not rules:
            ET.SubElement(suite, "testcase", classname=file, name="lint", file=file)
            tests += 1
            continue
        for rule_id in sorted(rules):
            found = rules[rule_id]
            case = ET.SubElement(
                suite,
                "testcase",
                classname=file,
                name=f"{rule_id} {names.get(rule_id, found[0].name)}",
                file=file,
                line=str(found[0].line),
            )
            tests += 1
            errors = [f for f in found if f.severity == "error"]
            if errors:
                failures += 1
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=f"{len(errors)} error(s): {errors[0].message}"[:500],
                    type=rule_id,
                )
                failure.text = "\n".join(_line(f) for f in found)
            else:
                out = ET.SubElement(case, "system-out")
                out.text = "\n".join(_line(f) for f in found)
    for el, value in ((suites, tests), (suite, tests)):
        el.set("tests", str(value))
        el.set("failures", str(failures))
        el.set("errors", "0")
        el.set("skipped", "0")
    seconds = f"{report.timings.get('total', report.timings.get('rules', 0.0)):.3f}"
    suites.set("time", seconds)
    suite.set("time", seconds)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
