"""What every rule sees: the files loaded for this lint, the policy in force, the workspace, today's date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from consentkit.lint.texts import TextField, texts_of
from consentkit.spec.conditions import Symbol
from consentkit.spec.library import LibraryScan, Loaded, symbols_for
from consentkit.spec.models import IntakeCatalogue, Policy, ProcedureSpec
from consentkit.workspace import Workspace


@dataclass
class LintContext:
    """The input of every rule.

    ``scan`` holds what was loaded: the intake catalogue and policies in force (first root wins), every spec file
    found (``scan.shadowed``), the problems of files that could not be loaded, and in ``scan.procedures`` the spec
    whose checks are running (specs are loaded one at a time, possibly in worker processes, and dropped after their
    checks). Only findings in ``reported`` files are shown: a workspace's own files, not the built-in
    ones it layers over (see docs/lint.md, "What is checked").
    """

    scan: LibraryScan
    policy: Loaded[Policy] | None
    jurisdiction: str
    workspace: Workspace | None
    today: date
    procedure_roots: tuple[Path, ...]
    template_roots: tuple[Path, ...]
    reported: frozenset[Path]
    memo: dict[str, Any] = field(default_factory=dict)  # per-run cache shared by rules (keys: "<rule-id>:<what>")
    spec_memo: dict[str, Any] = field(default_factory=dict)  # per-file cache, emptied after each spec's checks

    @property
    def intake(self) -> Loaded[IntakeCatalogue] | None:
        return self.scan.intake

    def is_reported(self, path: Path) -> bool:
        if path in self.reported:
            return True
        key = f"resolved:{path}"
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = path.resolve() in self.reported
        return bool(found)

    def specs(self) -> list[Loaded[ProcedureSpec]]:
        """The specs to lint, in file order."""
        return sorted((s for s in self.scan.procedures.values() if self.is_reported(s.path)), key=lambda s: str(s.path))

    def symbols(self, spec: ProcedureSpec) -> dict[str, Symbol] | None:
        """Names the spec's conditions may use, or None when no intake catalogue could be loaded."""
        if self.scan.intake is None:
            return None
        return symbols_for(spec, self.scan.intake.model)

    def texts(self, source: Loaded[Any]) -> list[TextField]:
        """Every human text of a loaded spec, intake or policy (computed once per file)."""
        key = f"texts:{source.path}"
        found = self.spec_memo.get(key)
        if found is None:
            found = self.spec_memo[key] = texts_of(source.model)
        return list(found)

    @property
    def workspace_locales(self) -> tuple[str, ...]:
        return tuple(self.workspace.config.clinic.locales) if self.workspace else ()
