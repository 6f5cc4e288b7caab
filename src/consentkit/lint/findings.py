"""What a rule reports (:class:`Hit`) and what the runner hands to reporters (:class:`Finding`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from consentkit.spec.library import Loaded
from consentkit.spec.yamlfile import KeyPath, YamlDocument

Severity = Literal["error", "warning"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning")


@dataclass(frozen=True)
class Hit:
    """One problem as a rule sees it: where (a document and key path, or a file and line) and what to do.

    The runner adds the rule id and severity, works out the line, and reads the offending source line. ``needle``
    is a piece of the offending text: when given, the line is narrowed to the line of a multi-line value that holds it.
    """

    message: str
    doc: YamlDocument | None = None
    loc: KeyPath = ()
    path: Path | None = None
    line: int | None = None
    field: str | None = None
    needle: str | None = None


def hit(source: Loaded[Any] | YamlDocument, loc: KeyPath, message: str, *, needle: str | None = None) -> Hit:
    """A problem at key path ``loc`` of a loaded file: ``hit(spec, ("risks", 3, "band"), "...")``."""
    doc = source.doc if isinstance(source, Loaded) else source
    return Hit(message, doc=doc, loc=tuple(loc), needle=needle)


@dataclass(frozen=True)
class Finding:
    """A reported problem. ``file`` is as shown to people (relative to the working folder when inside it)."""

    rule: str
    severity: Severity
    name: str
    file: str
    line: int
    message: str
    field: str | None = None
    source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Stable keys for JSON output."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "name": self.name,
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "source": self.source,
        }

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.file, self.line, self.rule, self.field or "")
