"""Text for people: findings grouped by file, the offending line beneath each, a summary line."""

from __future__ import annotations

import unicodedata
from itertools import groupby

import click

from consentkit.lint.runner import LintReport

_COLORS = {"error": "red", "warning": "yellow"}


def summary(report: LintReport) -> str:
    files = len({f.file for f in report.findings})
    checked = len(report.files)
    if not report.findings:
        return f"no problems in {checked} file{'s' if checked != 1 else ''}"
    parts = []
    if report.errors:
        parts.append(f"{report.errors} error{'s' if report.errors != 1 else ''}")
    if report.warnings:
        parts.append(f"{report.warnings} warning{'s' if report.warnings != 1 else ''}")
    strict = " (--strict: warnings count as errors)" if report.strict and report.errors else ""
    return f"{', '.join(parts)} in {files} of {checked} file{'s' if checked != 1 else ''}{strict}"


def _visible(text: str) -> str:
    """Control characters (a NUL or ESC CK101 reports) shown as escapes, never sent to the terminal as they are."""
    return "".join(f"\\x{ord(c):02x}" if c != "\t" and unicodedata.category(c) == "Cc" else c for c in text)


def render(report: LintReport, *, color: bool = False) -> str:
    def style(text: str, **kwargs: object) -> str:
        return click.style(text, **kwargs) if color else text  # type: ignore[arg-type]

    out: list[str] = []
    for file, findings in groupby(report.findings, key=lambda f: f.file):
        out.append(style(file, bold=True, underline=True))
        for f in findings:
            where = f"{f.file}:{f.line}"
            field = f" {f.field}" if f.field else ""
            tag = style(f"[{f.rule}]", fg=_COLORS[f.severity], bold=True)
            out.append(f"{where}{field} {tag} {f.severity}: {f.message}")
            if f.source is not None and f.source.strip():
                source = _visible(f.source.strip())
                if len(source) > 160:
                    source = source[:157] + "..."
                out.append(style(f"    {f.line:>5} | {source}", dim=True))
        out.append("")
    line = summary(report)
    if report.errors:
        out.append(style(line, fg="red", bold=True))
    elif report.warnings:
        out.append(style(line, fg="yellow", bold=True))
    else:
        out.append(style(line, fg="green"))
    return "\n".join(out) + "\n"
