"""The legal preview: a procedure's document without a patient, every optional item shown with its condition,
stamped SPECIMEN on every page — and :func:`render_document`, the one-document entry point (PDF, DOCX or HTML)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from consentkit.errors import InputError
from consentkit.render.context import DOCS, DocKind, RenderInput
from consentkit.render.docx import render_docx
from consentkit.render.html import render_html, standalone_css, translators_for
from consentkit.render.labels import DOCUMENT, pick
from consentkit.render.sample import sample_resolved_case
from consentkit.resources import builtin_dir
from consentkit.sign.profile import SIGNING_ORDER, SigningProfile, load_profile
from consentkit.spec.canonical import content_hash
from consentkit.spec.library import Library, load_library
from consentkit.spec.models import Policy
from consentkit.workspace import ClinicConfig, Workspace

Format = Literal["pdf", "docx", "html"]
FORMATS: tuple[Format, ...] = ("pdf", "docx", "html")

# Outside a workspace the preview shows a clinic that plainly does not exist.
SAMPLE_CLINIC = ClinicConfig(
    name={
        "zh-CN": "示例诊所（虚构，仅供审阅）",
        "zh-TW": "示例診所（虛構，僅供審閱）",
        "en": "Sample Clinic (fictional, for review)",
    },
    address={"zh-CN": "示例路 0 号", "zh-TW": "示例路 0 號", "en": "0 Sample Road"},
    phone="000-0000-0000",
    urgent_phone="000-0000-0001",
    timezone="Asia/Shanghai",
    jurisdiction="cn",
    locales=["zh-CN", "zh-TW", "en"],
)


def parse_locales(value: str, known: Sequence[str]) -> tuple[str, ...]:
    """``zh-CN`` or a bilingual pair ``zh-CN+en``."""
    parts = tuple(p.strip() for p in value.split("+") if p.strip())
    if not 1 <= len(parts) <= 2 or len(set(parts)) != len(parts):
        raise InputError(f"--lang {value!r}: give one locale or two joined by '+', like zh-CN+en")
    for part in parts:
        if part not in known:
            raise InputError(f"--lang {value!r}: {part} is not a locale of this procedure ({', '.join(known)})")
    return parts


_HASHES: list[tuple[BaseModel, str]] = []


def model_hash(model: BaseModel) -> str:
    """``content_hash(model)``, computed once per model object: a spec or a policy from the (cached) library.
    Lint previews each spec six times and a worker makes many packets of one spec; the models are frozen, so the
    hash of one object never changes (30 ms of canonical JSON saved per packet)."""
    for seen, digest in _HASHES:
        if seen is model:
            return digest
    digest = content_hash(model)
    _HASHES.append((model, digest))
    del _HASHES[:-16]
    return digest


def preview_input(
    library: Library,
    procedure_id: str,
    locales: Sequence[str],
    *,
    clinic: ClinicConfig,
    policy: Policy,
    profile: SigningProfile,
    now: dt.datetime | None = None,
    sample_patient: bool = False,
    minor: bool = False,
) -> RenderInput:
    """A SPECIMEN (no patient; every signature role) or, with ``sample_patient``, a made-up adult's documents
    (``minor``: a made-up minor's, with a guardian)."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    spec = library.procedure(procedure_id).model
    zone = ZoneInfo(clinic.timezone)
    names = {"clinic": pick(clinic.name, locales[0])}
    case = None
    if sample_patient:
        case = sample_resolved_case(library, procedure_id, policy, zone, list(locales), minor=minor)
        roles = tuple(case.required_roles())
        names.update(patient=case.case.patient.name, physician=case.case.physicians.consulting.name, witness="Witness")
    else:
        known = [r.role for r in profile.roles]
        roles = tuple(r for r in SIGNING_ORDER if r in known)
    return RenderInput(
        spec=spec,
        spec_hash=model_hash(spec),
        intake=library.intake.model,
        policy=policy,
        clinic=clinic,
        zone=zone,
        locales=tuple(locales),
        profile=profile,
        packet_id=f"{'SAMPLE' if sample_patient else 'SPECIMEN'}-{spec.id}-{spec.version}",
        generated_at=now,
        case=case,
        roles=roles,
        signer_names=names,
    )


def specimen_input(
    procedure_id: str, locales: Sequence[str], *, workspace: Workspace | None = None, now: dt.datetime | None = None
) -> tuple[RenderInput, tuple[Path, ...]]:
    """The input of a SPECIMEN rendering (inside a workspace: its library, clinic, policy and signing profile;
    outside: the built-in ones and a fictional clinic) and the template roots to use."""
    if workspace is not None:
        roots = workspace.procedure_roots()
        templates = workspace.template_roots()
        clinic = workspace.config.clinic
        profile_roots, profile_id = workspace.signature_roots(), workspace.config.signing.profile
    else:
        roots = (builtin_dir("procedures"),)
        templates = (builtin_dir("templates"),)
        clinic = SAMPLE_CLINIC
        profile_roots, profile_id = (builtin_dir("signatures"),), "default"
    library = load_library(roots)
    policy = library.policy(clinic.jurisdiction).model
    profile = load_profile(profile_roots, profile_id).model
    inp = preview_input(library, procedure_id, locales, clinic=clinic, policy=policy, profile=profile, now=now)
    return inp, tuple(templates)


def render_document(inp: RenderInput, doc: DocKind, fmt: Format, template_roots: Sequence[Path]) -> bytes:
    """One document as PDF/A-3b, DOCX or standalone HTML."""
    if doc not in DOCS:
        raise InputError(f"unknown document {doc!r} (one of {', '.join(DOCS)})")
    if fmt == "docx":
        return render_docx(inp, doc, template_roots)
    if fmt == "html":
        css = standalone_css(template_roots, inp.locales)
        return render_html(inp, doc, template_roots, stylesheet=css).encode("utf-8")
    from consentkit.render.pdf import engine_for

    engine = engine_for(tuple(Path(r).resolve() for r in template_roots))
    html = render_html(inp, doc, template_roots, fonts=engine.fonts)
    document = engine.layout(html, inp.locales, f"{doc}.html.j2")
    first = translators_for(template_roots, inp.locales)[0]
    return engine.write(
        [document],
        title=f"{first(DOCUMENT[doc])} — {pick(inp.spec.title, first.locale)} ({inp.packet_id})",
        lang=first.html_lang,
        author=pick(inp.clinic.name, first.locale),
        created=inp.generated_at,
    )
