"""Reporters: turn a :class:`~consentkit.lint.runner.LintReport` into text, JSON, JUnit XML, SARIF or GitHub
workflow commands. Each module has ``render(report, *, color=False) -> str``; they are imported only when chosen."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from consentkit.lint.runner import LintReport

FORMATS: dict[str, str] = {
    "text": "consentkit.lint.report.text",
    "json": "consentkit.lint.report.json_report",
    "junit": "consentkit.lint.report.junit",
    "sarif": "consentkit.lint.report.sarif",
    "github": "consentkit.lint.report.github",
}


class _Render(Protocol):
    def __call__(self, report: LintReport, *, color: bool = False) -> str: ...


def render(report: LintReport, fmt: str, *, color: bool = False) -> str:
    """``report`` in format ``fmt`` (one of :data:`FORMATS`)."""
    module = importlib.import_module(FORMATS[fmt])
    renderer: _Render = module.render
    return renderer(report, color=color)
