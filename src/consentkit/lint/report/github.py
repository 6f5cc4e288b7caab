"""GitHub Actions workflow commands: ``::error file=…,line=…,title=CK150::message`` (one per finding), which GitHub
shows as annotations on the pull request's changed lines."""

from __future__ import annotations

from consentkit.lint.findings import Finding
from consentkit.lint.runner import LintReport


def escape_data(value: str) -> str:
    """The message part: % CR LF escaped, as GitHub's toolkit does."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A property value (file, title): also : and , escaped."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(f: Finding) -> str:
    level = "error" if f.severity == "error" else "warning"
    title = f"{f.rule} {f.name}"
    message = f"{f.field}: {f.message}" if f.field else f.message
    props = f"file={escape_property(f.file)},line={f.line},title={escape_property(title)}"
    return f"::{level} {props}::{escape_data(message)}"


def render(report: LintReport, *, color: bool = False) -> str:
    lines = [command(f) for f in report.findings]
    lines.append(
        f"consentkit lint: {report.errors} error(s), {report.warnings} warning(s) in {len(report.files)} file(s)"
    )
    return "\n".join(lines) + "\n"
