"""``consentkit packet``: one case file → a packet folder (packet.pdf, care-guide.pdf, three DOCX, follow-up.ics,
manifest.json), written atomically: everything is built in a temporary sibling folder that is renamed to the
target only when complete, so the target never holds half a packet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from consentkit import __version__
from consentkit.case import ResolvedCase, load_case, resolve_case, subject_id
from consentkit.cooling_off import cooling_off_period
from consentkit.errors import CaseError, InputError, MultiInputError, RenderError, SourceLocation
from consentkit.manifest import (
    MANIFEST_NAME,
    PACKET_PDF,
    ApprovalRef,
    CoolingOffTerms,
    Manifest,
    OutputFile,
    PacketDigest,
    ProcedureRef,
    SignatureBox,
)
from consentkit.render import pdf as pdf_engine
from consentkit.render.context import DOCS, DocKind, RenderInput, document_id
from consentkit.render.docx import render_docx
from consentkit.render.env import template_hashes
from consentkit.render.fonts import FontSet, fonts_for
from consentkit.render.html import render_html, translators_for
from consentkit.render.ics import calendar_text, events_for
from consentkit.render.labels import DOCUMENT, pick
from consentkit.render.pdf import PdfEngine, anchor_boxes, engine_for
from consentkit.render.specimen import model_hash
from consentkit.sign.profile import SigningProfile, load_profile
from consentkit.spec.library import Library, load_library
from consentkit.spec.yamlfile import KeyPath
from consentkit.workspace import Workspace

CARE_GUIDE_PDF = "care-guide.pdf"
ICS_NAME = "follow-up.ics"
MIN_BOX_PT = (240.0, 70.0)  # a legible signature appearance: name, meaning and time in Chinese and English
MEDIA = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".ics": "text/calendar",
}


@dataclass(frozen=True)
class PacketResult:
    """What was written; ``output_hashes`` covers every file in the folder except manifest.json itself."""

    manifest: Manifest
    directory: Path
    paths: dict[str, Path]
    output_hashes: dict[str, str]
    case: ResolvedCase
    notes: tuple[str, ...] = ()  # for the person who made it: why a draft could not be final as it is


_LIBRARIES: dict[tuple[object, ...], Library] = {}


def cached_library(roots: Sequence[Path]) -> Library:
    """The library under ``roots``, loaded again only when a file under them changed (name, size or mtime), so a
    worker making many packets parses the specs once."""
    stats: list[object] = []
    for root in roots:
        for path in sorted([*root.glob("*.y*ml"), *(root / "policies").glob("*.y*ml")]):
            st = path.stat()
            stats.append((str(path), st.st_size, st.st_mtime_ns))
    key = (tuple(str(r) for r in roots), *stats)
    if key not in _LIBRARIES:
        _LIBRARIES.clear()
        _LIBRARIES[key] = load_library(roots)
    return _LIBRARIES[key]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def prepare_target(out_dir: Path) -> Path:
    """The temporary sibling folder to build in; ``out_dir`` must not exist or be empty."""
    out_dir = out_dir.absolute()
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError(
            "the output folder exists and is not empty; choose a new folder (packets are never overwritten)",
            location=SourceLocation(out_dir),
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    return tmp


def signer_names(resolved: ResolvedCase, ws: Workspace, locale: str) -> dict[str, str]:
    case = resolved.case
    names = {
        "clinic": pick(ws.config.clinic.name, locale),
        "physician": case.physicians.consulting.name,
        "patient": case.patient.name,
    }
    if case.guardian is not None:
        names["guardian"] = case.guardian.name
    if case.witness is not None:
        names["witness"] = case.witness.name
    return names


def packet_input(
    ws: Workspace,
    resolved: ResolvedCase,
    library: Library,
    profile: SigningProfile,
    *,
    draft: bool,
    now: dt.datetime,
) -> RenderInput:
    case = resolved.case
    packet_id = f"{case.case_id}-{now.astimezone(dt.UTC):%Y%m%d%H%M%S}"
    return RenderInput(
        spec=resolved.spec.model,
        spec_hash=model_hash(resolved.spec.model),
        intake=library.intake.model,
        policy=resolved.policy,
        clinic=ws.config.clinic,
        zone=resolved.zone,
        locales=tuple(case.locales),
        profile=profile,
        packet_id=packet_id,
        generated_at=now,
        case=resolved,
        draft=draft,
        roles=tuple(resolved.required_roles()),
        signer_names=signer_names(resolved, ws, case.locales[0]),
    )


def layout_documents(engine: PdfEngine, inp: RenderInput, roots: Sequence[Path]) -> dict[DocKind, Any]:
    """The three documents laid out, each with its own page numbering."""
    return {
        doc: engine.layout(render_html(inp, doc, roots, fonts=engine.fonts), inp.locales, f"{doc}.html.j2")
        for doc in DOCS
    }


def signature_boxes(inp: RenderInput, documents: dict[DocKind, Any]) -> list[SignatureBox]:
    anchors = [inp.profile.role(r).anchor for r in inp.roles]
    found = anchor_boxes([documents[d] for d in DOCS], anchors)
    boxes = []
    for role in inp.roles:
        spec = inp.profile.role(role)
        box = found[spec.anchor]
        x1, y1, x2, y2 = box.rect
        if x2 - x1 < MIN_BOX_PT[0] or y2 - y1 < MIN_BOX_PT[1]:
            raise RenderError(
                f"the {role} signature box is {x2 - x1:.0f}×{y2 - y1:.0f} pt, smaller than "
                f"{MIN_BOX_PT[0]:.0f}×{MIN_BOX_PT[1]:.0f} pt (or split across pages): fix the template"
            )
        boxes.append(
            SignatureBox(
                role=role,  # type: ignore[arg-type]
                field=spec.field,
                page=box.page,
                rect=box.rect,
                signer_name=inp.signer_names.get(role, ""),
                meaning=spec.meaning,
            )
        )
    return boxes


def _local(moment: dt.datetime, zone: ZoneInfo) -> str:
    """ "2026-12-08 14:30 Asia/Shanghai", seconds rounded up (a start at the printed minute is allowed)."""
    if moment.second or moment.microsecond:
        moment = moment.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} {zone.key}"


def check_planned_time(resolved: ResolvedCase, now: dt.datetime) -> None:
    """Refuse a planned procedure time in the past, or earlier than the cooling-off period allows: the patient signs
    at the consultation at the earliest, and not before this packet exists. A :class:`CaseError` (exit 3) naming
    the case file, the line and ``planned_at``, with the earliest permitted start."""
    case, zone = resolved.case, resolved.zone
    where = resolved.doc.location(("planned_at",))
    planned = resolved.planned_at
    if planned <= now:
        raise CaseError(
            f"{_local(planned, zone)} is in the past (it is now {_local(now, zone)}); correct the planned time",
            location=where,
        )
    period = cooling_off_period(resolved.spec.model, resolved.policy)
    signs_at = max(resolved.consultation_at, now)
    earliest = period.earliest(signs_at, zone)
    if planned < earliest:
        when = "the consultation" if signs_at == resolved.consultation_at else "this packet exists (now)"
        raise CaseError(
            f"{_local(planned, zone)} is earlier than the cooling-off period allows: {case.procedure} needs "
            f"{period.describe('en')} ({resolved.policy.jurisdiction} policy) and the patient cannot sign before "
            f"{when}, so the earliest permitted start is {_local(earliest, zone)}; plan the procedure then or later",
            location=where,
        )


_NOT_PRINTED = {"case_id", "procedure", "options", "locales", "intake", "type", "sex", "contraindication"}


def _printed_texts(value: Any, path: KeyPath = ()) -> list[tuple[KeyPath, str]]:
    """Every text of the case file that the documents print (names, numbers, reasons, notes), with its key path."""
    if isinstance(value, str):
        return [(path, value)]
    found: list[tuple[KeyPath, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in _NOT_PRINTED:
                found += _printed_texts(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _printed_texts(item, (*path, i))
    return found


def check_case_glyphs(resolved: ResolvedCase, fonts: FontSet) -> None:
    """Refuse (exit 3, file, line and field) a case whose printed text holds a character no declared font of the
    packet's locales can draw (an emoji in a name): checked before rendering, so the message names the case file
    rather than a template."""
    problems: list[InputError] = []
    data = resolved.case.model_dump(mode="json", exclude_none=True)
    for path, text in _printed_texts(data):
        missing: set[str] = set()
        for locale in resolved.case.locales:
            missing |= fonts.missing_characters(text, locale)
        if missing:
            shown = ", ".join(f"{c} (U+{ord(c):04X})" for c in sorted(missing))
            problems.append(
                CaseError(
                    f"no font of the documents can draw {shown}; write it without that character",
                    location=resolved.doc.location(path),
                )
            )
    if problems:
        raise MultiInputError(problems)


def pinned_approvals(ws: Workspace, spec: Any, policy: Any, roots: Sequence[Path]) -> list[ApprovalRef]:
    """The verified approvals of exactly this spec version and these templates, for every review role the policy
    (or ``[review] required_roles``) requires; :class:`~consentkit.errors.RefusedError` naming the missing ones."""
    from consentkit.review.approvals import require_approvals

    return require_approvals(ws, spec, policy, roots)


def build_packet(
    ws: Workspace, case_path: Path, out_dir: Path, *, draft: bool = False, now: dt.datetime | None = None
) -> PacketResult:
    """Make a patient's packet in ``out_dir`` (which must not exist or be empty). Bad case input raises
    :class:`~consentkit.errors.CaseError` (exit 3), reasons to refuse :class:`~consentkit.errors.RefusedError`
    (including a procedure version whose required approvals are missing, unless ``draft``)."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    case, doc = load_case(case_path)
    library = cached_library(ws.procedure_roots())
    policy = library.policy(ws.config.clinic.jurisdiction)
    resolved = resolve_case(case, doc, library, policy.model, ws.zone)
    notes: list[str] = []
    try:
        check_planned_time(resolved, now)
    except CaseError as exc:
        if not draft:
            raise
        # a draft is never signed (sign, present and checkin refuse it): it may show any planned time, say to
        # discuss dates; the final packet is refused until planned_at is corrected
        notes.append(f"{exc} (allowed in a draft, which is never signed; the final packet is refused until then)")
    roots = ws.template_roots()
    check_case_glyphs(resolved, fonts_for(roots))
    profile = load_profile(ws.signature_roots(), ws.config.signing.profile).model
    approvals = [] if draft else pinned_approvals(ws, resolved.spec.model, policy.model, roots)
    engine = engine_for(tuple(r.resolve() for r in roots))
    inp = packet_input(ws, resolved, library, profile, draft=draft, now=now)

    tmp = prepare_target(out_dir)
    try:
        with pdf_engine.gc_paused():  # one collection after the packet instead of one after each document
            paths, manifest = _write_packet(ws, inp, library, policy.model, roots, engine, tmp, approvals)
        final = out_dir.absolute()
        if final.exists():
            final.rmdir()  # empty, checked above
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    paths = {name: final / name for name in paths}
    hashes = {o.name: o.sha256 for o in manifest.outputs}
    if manifest.packet is not None:
        hashes[PACKET_PDF] = manifest.packet.sha256
    return PacketResult(manifest, final, paths, hashes, resolved, tuple(notes))


def _write_packet(
    ws: Workspace,
    inp: RenderInput,
    library: Library,
    policy: Any,
    roots: Sequence[Path],
    engine: PdfEngine,
    tmp: Path,
    approvals: Sequence[ApprovalRef] = (),
) -> tuple[dict[str, Path], Manifest]:
    resolved = inp.case
    assert resolved is not None
    case = resolved.case
    first = translators_for(roots, inp.locales)[0]
    title = pick(inp.spec.title, first.locale)
    documents = layout_documents(engine, inp, roots)
    boxes = signature_boxes(inp, documents)

    written: dict[str, bytes] = {}
    written[CARE_GUIDE_PDF] = engine.write(
        [documents["care-guide"]],
        title=f"{first(DOCUMENT['care-guide'])} — {title}",
        lang=first.html_lang,
        author=pick(ws.config.clinic.name, first.locale),
        created=inp.generated_at,
    )
    for d in DOCS:
        written[f"{d}.docx"] = render_docx(inp, d, roots)
    events = events_for(
        inp.spec,
        resolved.planned_at,
        inp.zone,
        translators_for(roots, inp.locales),
        inp.packet_id,
        resolved.applies,
        ws.config.clinic.phone,
    )
    written[ICS_NAME] = calendar_text(
        events,
        inp.zone,
        inp.generated_at,
        name=" / ".join(
            dict.fromkeys(f"{pick(inp.spec.title, loc)} — {pick(ws.config.clinic.name, loc)}" for loc in inp.locales)
        ),
        lang=first.locale if len(inp.locales) == 1 else None,
    ).encode("utf-8")

    outputs = [
        OutputFile(name=name, sha256=_sha256(data), size=len(data), media_type=MEDIA[Path(name).suffix])
        for name, data in sorted(written.items())
    ]
    period = cooling_off_period(inp.spec, inp.policy)
    manifest = Manifest(
        packet_id=inp.packet_id,
        case_id=case.case_id,
        subject=subject_id(case, ws.secret("subject-hmac")),
        procedure=ProcedureRef(
            id=inp.spec.id, version=inp.spec.version, spec_hash=inp.spec_hash, category=inp.spec.category
        ),
        jurisdiction=inp.policy.jurisdiction,
        policy_hash=model_hash(inp.policy),
        options=dict(resolved.options),
        locales=list(inp.locales),
        consentkit_version=__version__,
        generated_at=inp.generated_at,
        planned_at=resolved.planned_at,
        templates=template_hashes(roots, inp.locales),
        required_roles=list(inp.roles),  # type: ignore[arg-type]
        signature_boxes=boxes,
        cooling_off=CoolingOffTerms(
            days=period.days, not_same_day=period.not_same_day, earliest_after_signature=period.describe("en")
        ),
        draft=inp.draft,
        approvals=list(approvals),
        outputs=outputs,
    )
    attached = manifest.attached().to_json()
    names = " · ".join(first(DOCUMENT[d]) for d in DOCS)
    packet_pdf = engine.write(
        [documents[d] for d in DOCS],
        title=f"{title} — {names} ({inp.packet_id})",
        description=f"{names}: {title} ({inp.packet_id})",
        keywords=["consentkit", "packet", inp.packet_id, *(document_id(inp.packet_id, d) for d in DOCS)],
        lang=first.html_lang,
        author=pick(ws.config.clinic.name, first.locale),
        created=inp.generated_at,
        attachments=[(MANIFEST_NAME, attached, "consentkit packet manifest")],
    )
    written[PACKET_PDF] = packet_pdf
    manifest = manifest.model_copy(update={"packet": PacketDigest(sha256=_sha256(packet_pdf), size=len(packet_pdf))})
    paths: dict[str, Path] = {}
    for name, data in written.items():
        (tmp / name).write_bytes(data)
        paths[name] = tmp / name
    (tmp / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    paths[MANIFEST_NAME] = tmp / MANIFEST_NAME
    return paths, manifest
