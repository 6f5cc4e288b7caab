"""The rule registry: every rule has a stable id, a severity, a short name, what it catches and how to fix it.

Rules live in topic modules listed in :data:`RULE_MODULES`; the runner imports them lazily, in that order, the first
time rules are needed. To add rules (a later issue's rendering or governance checks):

1. write a module, e.g. ``consentkit/lint/rules/rendering.py``::

       from consentkit.lint.registry import define_rule

       CK200 = define_rule("CK200", "error", "glyph-missing", "a character is not in the document font",
                           fix="use a character the font has, or add a fallback font")

       @CK200.per_spec
       def _glyphs(ctx, spec):
           from fontTools.ttLib import TTFont   # heavy imports go inside the check, never at module top
           ...
           yield hit(spec, ("title", "en"), "...")

2. append ``"consentkit.lint.rules.rendering"`` to :data:`RULE_MODULES` below. The runner, the reporters and the
   SARIF rule table pick the new rules up without any other change.

A module whose rules depend on files other than the spec (templates, fonts) defines
``cache_fingerprint(ctx) -> str`` summarising them; the findings cache (:mod:`consentkit.lint.cache`) is then
invalidated when they change.

A check is ``per_text`` (a pure function of one human text and its :class:`~consentkit.lint.texts.TextInfo`,
cached, run on every text of every linted spec, intake and policy: wording, translation, placeholders),
``per_spec`` (called once per linted spec: ``(ctx, spec) -> Iterable[Hit]``; an exception is reported against that
spec only) or ``per_library`` (called once: ``(ctx) -> Iterable[Hit]``, for intake, policies and cross-file
problems). Ids are never reused or renumbered: CI configurations and suppressions refer to them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from consentkit.lint.findings import Hit, Severity

if TYPE_CHECKING:
    from consentkit.lint.context import LintContext
    from consentkit.lint.texts import TextInfo
    from consentkit.spec.library import Loaded
    from consentkit.spec.models import ProcedureSpec

SpecCheck = Callable[["LintContext", "Loaded[ProcedureSpec]"], Iterable[Hit]]
LibraryCheck = Callable[["LintContext"], Iterable[Hit]]
TextProblem = tuple[str | None, str, str | None]  # locale (None: the whole text), message, needle
TextCheck = Callable[[tuple[tuple[str, str], ...], "TextInfo"], Iterable[TextProblem]]

RULE_MODULES: tuple[str, ...] = (
    "consentkit.lint.rules.schema",
    "consentkit.lint.rules.completeness",
    "consentkit.lint.rules.translation",
    "consentkit.lint.rules.structure",
    "consentkit.lint.rules.frequency",
    "consentkit.lint.rules.wording",
    "consentkit.lint.rules.timeline",
    "consentkit.lint.rules.readability",
    "consentkit.lint.rules.rendering",
    "consentkit.lint.rules.governance",
)
"""Modules that define rules, imported in this order. Later issues append theirs (rendering: CK200/CK210,
governance: CK220)."""

DOCS_URL = "https://github.com/consentkit/consentkit/blob/main/docs/lint.md"


@dataclass(eq=False)
class Rule:
    """One lint rule. ``summary`` says what it catches, ``fix`` how to fix it (both one or two sentences)."""

    id: str
    severity: Severity
    name: str
    summary: str
    fix: str = ""
    costly: bool = False  # its per-spec checks take tens of milliseconds (rendering): run apart, in parallel
    spec_checks: list[SpecCheck] = field(default_factory=list)
    library_checks: list[LibraryCheck] = field(default_factory=list)
    text_checks: list[TextCheck] = field(default_factory=list)

    def per_spec(self, check: SpecCheck) -> SpecCheck:
        """Decorator: run ``check(ctx, spec)`` for every spec being linted."""
        self.spec_checks.append(check)
        return check

    def per_library(self, check: LibraryCheck) -> LibraryCheck:
        """Decorator: run ``check(ctx)`` once per lint."""
        self.library_checks.append(check)
        return check

    def per_text(self, check: TextCheck) -> TextCheck:
        """Decorator: run ``check(items, info)`` on every human text of every linted spec, intake and policy.

        ``items`` are the text's ``(locale, text)`` pairs, ``info`` a :class:`~consentkit.lint.texts.TextInfo`;
        yield ``(locale or None, message, needle)``. The check must depend on nothing else: its results are
        cached on ``(items, info)``, so a text repeated across specs is checked once."""
        self.text_checks.append(check)
        return check

    @property
    def help_uri(self) -> str:
        return f"{DOCS_URL}#{self.id.lower()}"


_RULES: dict[str, Rule] = {}
_loaded = False


def define_rule(
    rule_id: str, severity: Severity, name: str, summary: str, *, fix: str = "", costly: bool = False
) -> Rule:
    """Create and register a rule. Ids are ``CK`` and three digits, unique across all modules. ``costly``: its
    per-spec checks cost far more than the others' (a template dry run), so the runner gives them worker processes
    of their own even for a small library (see :func:`consentkit.lint.workers.default_jobs`)."""
    if not (len(rule_id) == 5 and rule_id.startswith("CK") and rule_id[2:].isdigit()):
        raise ValueError(f"rule id {rule_id!r} must look like CK123")
    if rule_id in _RULES:
        raise ValueError(f"rule {rule_id} is defined twice")
    rule = Rule(rule_id, severity, name, summary, fix, costly)
    _RULES[rule_id] = rule
    return rule


INTERNAL_ERROR = define_rule(
    "CK001",
    "error",
    "internal-error",
    "a lint rule failed with an unexpected error (a bug in consentkit, not in your file)",
    fix="report it with the file that triggers it; run with --verbose to see the traceback",
)


def all_rules(modules: Iterable[str] | None = None) -> list[Rule]:
    """Every registered rule, sorted by id, importing the rule modules (:data:`RULE_MODULES`) on first use."""
    global _loaded
    if not _loaded:
        for name in RULE_MODULES if modules is None else modules:
            importlib.import_module(name)
        _loaded = True
    return sorted(_RULES.values(), key=lambda r: r.id)


def get_rule(rule_id: str) -> Rule:
    all_rules()
    return _RULES[rule_id]
