"""JSON: a list of objects, one per finding, with stable keys (rule, severity, name, file, line, field, message,
source)."""

from __future__ import annotations

import json

from consentkit.lint.runner import LintReport


def render(report: LintReport, *, color: bool = False) -> str:
    return json.dumps([f.as_dict() for f in report.findings], ensure_ascii=False, indent=2) + "\n"
