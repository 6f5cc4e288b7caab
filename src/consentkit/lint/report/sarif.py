"""SARIF 2.1.0 for code scanning (GitHub's upload-sarif, GitLab, Azure DevOps): the rule table in
``runs[0].tool.driver.rules`` and one result per finding with its file and start line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from consentkit import __version__
from consentkit.lint.registry import DOCS_URL
from consentkit.lint.runner import LintReport

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning"}


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def _artifact(file: str) -> dict[str, str]:
    """A repository-relative URI (what code scanning expects), or a file: URI outside the working folder."""
    path = Path(file)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    return {"uri": quote(file), "uriBaseId": "%SRCROOT%"}


def render(report: LintReport, *, color: bool = False) -> str:
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for rule in report.rules:
        index[rule.id] = len(rules)
        rules.append(
            {
                "id": rule.id,
                "name": _pascal(rule.name),
                "shortDescription": {"text": rule.summary.split(":")[0][:200]},
                "fullDescription": {"text": rule.summary},
                "help": {
                    "text": f"{rule.summary}. Fix: {rule.fix}",
                    "markdown": f"**{rule.id} {rule.name}**: {rule.summary}.\n\n**Fix:** {rule.fix}\n\n"
                    f"[Documentation]({rule.help_uri})",
                },
                "helpUri": rule.help_uri,
                "defaultConfiguration": {"level": _LEVEL[rule.severity]},
                "properties": {"tags": ["consent", rule.name]},
            }
        )
    results: list[dict[str, Any]] = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": _LEVEL[f.severity],
            "message": {"text": f"{f.field}: {f.message}" if f.field else f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(f.file),
                        "region": {"startLine": f.line},
                    }
                }
            ],
            "partialFingerprints": {
                "consentkitFinding/v1": hashlib.sha256(
                    f"{f.rule}\0{f.file}\0{f.field}\0{f.message}".encode()
                ).hexdigest()
            },
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        if f.field:
            result["locations"][0]["logicalLocations"] = [{"fullyQualifiedName": f.field, "kind": "member"}]
        results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "consentkit",
                        "semanticVersion": __version__,
                        "version": __version__,
                        "informationUri": DOCS_URL,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(report.base).as_uri().rstrip("/") + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
