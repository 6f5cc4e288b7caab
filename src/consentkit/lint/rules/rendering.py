"""CK200-CK210: what only shows when a document is rendered — a character the declared fonts cannot draw, and a
template that fails for some procedure × locale × document (a StrictUndefined dry run, no PDF written)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from consentkit.lint.context import LintContext
from consentkit.lint.findings import Hit, hit
from consentkit.lint.registry import define_rule
from consentkit.spec.library import Loaded
from consentkit.spec.models import ProcedureSpec

CK200 = define_rule(
    "CK200",
    "error",
    "glyph-missing",
    "a character of a spec text is in none of the fonts the documents declare for its locale (templates/fonts.yaml; "
    "checked against each font's character map): it would print as a box or in a substituted font",
    fix="write the character another way (a common variant, or words), or declare a face that has it in fonts.yaml",
)
CK210 = define_rule(
    "CK210",
    "error",
    "template-fails",
    "a document template (HTML or DOCX) fails to render for this procedure in some locale, as a specimen, for a "
    "sample adult patient, or for a sample minor with a guardian in a bilingual packet: an undefined name, a "
    "missing field, a template error",
    fix="fix the template the message names (file and line), or add what the spec lacks",
    costly=True,  # 36 template renders per spec (3 documents x 2 formats x 6 samples, see _samples)
)


def cache_fingerprint(ctx: LintContext) -> str:
    """What CK200/CK210 depend on besides the spec file (templates, fonts, catalogues, rendering code), for the
    lint cache's key."""
    from consentkit.render.env import render_fingerprint

    return render_fingerprint(ctx.template_roots)


def _fonts(ctx: LintContext) -> Any:
    """The declared fonts, or the error that stops loading them (memoised per run)."""
    from consentkit.errors import ConsentkitError
    from consentkit.render.fonts import fonts_for

    key = "CK200:fonts"
    if key not in ctx.memo:
        try:
            ctx.memo[key] = fonts_for(ctx.template_roots)
        except ConsentkitError as exc:
            ctx.memo[key] = exc
    return ctx.memo[key]


@CK200.per_spec
def _glyphs(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    from consentkit.errors import ConsentkitError

    fonts = _fonts(ctx)
    if isinstance(fonts, ConsentkitError):
        yield hit(spec, ("locales",), f"the document fonts cannot be loaded: {fonts}")
        return
    stacks: dict[str, str] = {}
    for text in ctx.texts(spec):
        for locale, value in text.value.items():
            try:
                missing = fonts.missing_characters(value, locale)
            except ConsentkitError:
                stacks.setdefault(locale, "")
                continue
            for char in sorted(missing):
                families = ", ".join(fonts.stack(locale))
                yield hit(
                    spec,
                    (*text.loc, locale),
                    f"'{char}' (U+{ord(char):04X}) is in none of the {locale} document fonts ({families})",
                    needle=char,
                )
    for locale in stacks:
        yield hit(spec, ("locales",), f"no font stack is declared for {locale} in fonts.yaml")


def _render_inputs(ctx: LintContext) -> Any:
    """Library, clinic, policy and signing profile for the dry run (memoised), or None if they cannot be had."""
    key = "CK210:inputs"
    if key in ctx.memo:
        return ctx.memo[key]
    from consentkit.errors import ConsentkitError
    from consentkit.render.specimen import SAMPLE_CLINIC
    from consentkit.resources import builtin_dir
    from consentkit.sign.profile import load_profile

    found: Any = None
    if ctx.scan.intake is not None:
        try:
            library = ctx.scan.library(ctx.procedure_roots)
            clinic = ctx.workspace.config.clinic if ctx.workspace else SAMPLE_CLINIC
            if ctx.workspace:
                profile = load_profile(ctx.workspace.signature_roots(), ctx.workspace.config.signing.profile).model
            else:
                profile = load_profile((builtin_dir("signatures"),)).model
            policy = ctx.policy.model if ctx.policy else library.policy(clinic.jurisdiction).model
            found = (library, clinic, policy, profile)
        except ConsentkitError:
            found = None
    ctx.memo[key] = found
    return found


@CK210.per_spec
def _templates_render(ctx: LintContext, spec: Loaded[ProcedureSpec]) -> Iterator[Hit]:
    from consentkit.errors import ConsentkitError
    from consentkit.render.context import DOCS
    from consentkit.render.docx import dry_run_docx
    from consentkit.render.env import environment
    from consentkit.render.html import render_html

    inputs = _render_inputs(ctx)
    if inputs is None:
        return  # the intake, policy or signing profile is broken: other rules report it
    library, clinic, policy, profile = inputs
    if spec.model.id not in library.procedures or library.procedures[spec.model.id].path != spec.path:
        return
    roots: tuple[Path, ...] = ctx.template_roots
    # looked up once per spec instead of once per render (each lookup stats the template and font files)
    fonts = _fonts(ctx)
    fonts = None if isinstance(fonts, ConsentkitError) else fonts
    try:
        env = environment(roots)
    except OSError:
        env = None  # each render then fails the way it always did
    renders = (("HTML", partial(render_html, fonts=fonts, env=env)), ("DOCX", partial(dry_run_docx, fonts=fonts)))
    seen: set[str] = set()
    for locales, sample, who in _samples(spec.model.locales):
        try:
            inp = _prepared(library, spec.model.id, locales, clinic, policy, profile, sample)
        except ConsentkitError as exc:
            message = f"cannot prepare {who} ({'+'.join(locales)}): {exc.message}"
            if message not in seen:
                seen.add(message)
                yield hit(spec, ("id",), message)
            continue
        if inp is None:  # the procedure is not done on minors: the bilingual packet of an adult instead
            who = "for a sample patient, bilingual,"
            try:
                inp = _prepared(library, spec.model.id, locales, clinic, policy, profile, "adult")
            except ConsentkitError:
                continue  # reported by the adult sample above
        for doc in DOCS:
            for kind, render in renders:
                try:
                    render(inp, doc, roots)
                except ConsentkitError as exc:
                    if str(exc) in seen:
                        continue
                    seen.add(str(exc))
                    yield hit(spec, ("id",), f"the {kind} {doc} fails {who} in {'+'.join(locales)}: {exc}")


def _samples(locales: list[str]) -> Iterator[tuple[list[str], str, str]]:
    """What the dry run renders: each locale as a specimen, each locale but the first for an adult, and last a minor
    with a guardian in a bilingual packet (the spec's first and last locales; an adult's when the procedure is
    refused for minors), so that the guardian and bilingual code paths of the templates run. The first locale's
    one-locale adult documents are left out: the bilingual packet renders that locale for a patient (DOCX is made in
    the first locale), and a minor in every locale would cost half as much again for code that does not depend on
    the locale. 36 renders per spec for three locales, as many as before the minor was added."""
    for i, locale in enumerate(locales):
        yield [locale], "specimen", "as a specimen"
        if i > 0 or len(locales) == 1:
            yield [locale], "adult", "for a sample patient"
    pair = [locales[0], locales[-1]] if len(locales) > 1 else list(locales[:1])
    yield pair, "minor", "for a sample minor with a guardian" + (", bilingual," if len(pair) > 1 else "")


def _prepared(
    library: Any, spec_id: str, locales: list[str], clinic: Any, policy: Any, profile: Any, sample: str
) -> Any:
    """The render input of one sample; None for a minor when the procedure is refused for minors (prohibited by
    the policy, or an absolute contraindication such as an age under 18)."""
    from consentkit.errors import RefusedError
    from consentkit.render.specimen import preview_input

    try:
        return preview_input(
            library,
            spec_id,
            locales,
            clinic=clinic,
            policy=policy,
            profile=profile,
            sample_patient=sample != "specimen",
            minor=sample == "minor",
        )
    except RefusedError:
        if sample == "minor":
            return None
        raise
