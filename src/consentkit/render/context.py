"""What the templates see: one view per locale, every text already chosen for the patient (or, for the legal
preview, every optional item shown with its condition in words), every date worked out in the clinic's zone.

Templates get plain dicts and lists of strings; patient-supplied text stays plain ``str`` so Jinja escapes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from consentkit.case import Physician, ResolvedCase
from consentkit.cooling_off import cooling_off_period
from consentkit.render.chart import Bar, Tick, recovery_chart
from consentkit.render.fonts import FontSet
from consentkit.render.frequency import BAND_NAMES, band_phrase, frequency_phrase
from consentkit.render.i18n import N_, Translator
from consentkit.render.ics import aftercare_end
from consentkit.render.labels import (
    CATEGORY,
    DOCUMENT,
    FOLLOW_UP_KIND,
    IDENTITY,
    PERMANENCE,
    ROLE,
    SEVERITY,
    SEX,
    TOPIC,
    ConditionWords,
    pick,
)
from consentkit.render.timing import Clock, is_timed, shift, span_words
from consentkit.sign.profile import SigningProfile
from consentkit.spec.models import BANDS, SEVERITIES, IntakeCatalogue, Policy, ProcedureSpec, duration_hours
from consentkit.workspace import ClinicConfig

DocKind = Literal["consent", "disclosure", "care-guide"]
DOCS: tuple[DocKind, ...] = ("consent", "disclosure", "care-guide")
DOC_SUFFIX = {"consent": "C", "disclosure": "D", "care-guide": "G"}

PATIENT_STATEMENTS = (
    N_("I have read the risk disclosure and the care guide in this packet, or they were read to me."),
    N_(
        "The doctor explained what the procedure is, what it can and cannot achieve, its risks, "
        "and the alternatives, including having no treatment."
    ),
    N_("I was able to ask questions, and my questions were answered."),
    N_("I told the clinic the truth about my health, my medicines and my allergies."),
    N_("I understand that no result can be guaranteed and that further treatment may be needed."),
    N_(
        "I know that I may change my mind and withdraw my consent at any time before the procedure, without giving a reason."  # noqa: E501
    ),
)
DISCLOSURE_INTRO = N_(
    "This document lists the known risks of the procedure, grouped by how often they happen. “About 1 in 100 "
    "people” means that if 100 people have the procedure, about one of them will have this problem. Some risks are "
    "rare but serious; they are listed because you have the right to know them."
)
PERSONAL_NOTE = N_("Risks marked “for you” apply to you because of your answers or your choices.")
ROLE_CONDITION = {
    "guardian": N_("only when the patient is a minor"),
    "witness": N_("only when the policy or the case requires a witness"),
}
PHYSICIAN_STATEMENT = N_(
    "I explained to the patient the nature of this procedure, its realistic benefits, the material risks listed "
    "here, including those that apply to this patient, and the alternatives, including no treatment. I answered "
    "the patient's questions."
)


@dataclass(frozen=True)
class RenderInput:
    """Everything a document depends on. ``case`` is None for the legal preview (specimen)."""

    spec: ProcedureSpec
    spec_hash: str
    intake: IntakeCatalogue
    policy: Policy
    clinic: ClinicConfig
    zone: ZoneInfo
    locales: tuple[str, ...]
    profile: SigningProfile
    packet_id: str
    generated_at: dt.datetime
    case: ResolvedCase | None = None
    draft: bool = False
    roles: tuple[str, ...] = ()  # signature boxes to draw, in signing order
    signer_names: dict[str, str] = field(default_factory=dict)

    @property
    def specimen(self) -> bool:
        return self.case is None


def document_id(packet_id: str, doc: DocKind) -> str:
    return f"{packet_id}-{DOC_SUFFIX[doc]}"


def _applies(inp: RenderInput, applies_if: str | None) -> bool:
    return inp.case is None or inp.case.applies(applies_if)


def _cond(inp: RenderInput, words: ConditionWords, applies_if: str | None) -> str:
    """The condition in words, shown on the specimen (on a patient's documents the item simply applies)."""
    return words(applies_if) if (inp.specimen and applies_if) else ""


def _risks(inp: RenderInput, t: Translator, words: ConditionWords) -> list[dict[str, Any]]:
    rows = []
    for risk in inp.spec.risks:
        if not _applies(inp, risk.applies_if):
            continue
        rows.append(
            {
                "id": risk.id,
                "title": pick(risk.title, t.locale),
                "band": risk.band,
                "band_name": t(BAND_NAMES[risk.band]),
                "frequency": frequency_phrase(risk.band, risk.rate, t),
                "severity": t(SEVERITY[risk.severity]),
                "severity_code": risk.severity,
                "permanence": t(PERMANENCE[risk.permanence]),
                "text": pick(risk.text, t.locale),
                "management": pick(risk.management, t.locale),
                "personal": bool(risk.applies_if) and not inp.specimen,
                "condition": _cond(inp, words, risk.applies_if),
            }
        )
    return rows


def _dated(inp: RenderInput, duration: str | None, sign: int, clock: Clock) -> dict[str, str]:
    """The planned time moved by ``duration``: ``date`` in one piece ("Tue, 22 Dec 2026, 01:00 (China Standard
    Time)", DOCX and running text) and as ``day`` and ``time`` (tables put the time on a line of its own); all empty
    on a specimen, ``time`` empty for day-based durations."""
    if inp.case is None or duration is None:
        return {"date": "", "day": "", "time": ""}
    at = shift(inp.case.planned_at, duration, sign, inp.zone)
    if not is_timed(duration):
        day = clock.date(at)
        return {"date": day, "day": day, "time": ""}
    return {"date": clock.datetime(at), "day": clock.date(at), "time": clock.time_and_zone(at)}


def _instruction_when(before: str | None, t: Translator) -> str:
    """ "7 days before", "On the day of the procedure"."""
    if before is None:
        return t(N_("Before the procedure"))
    if duration_hours(before) == 0:
        return t(N_("On the day of the procedure"))
    return t(N_("%(span)s before"), span=span_words(before, t))


def _until(inp: RenderInput, duration: str, clock: Clock) -> str:
    """The end of an aftercare rule, the same moment or last day as its calendar event (:func:`aftercare_end`)."""
    assert inp.case is not None
    end = aftercare_end(inp.case.planned_at, duration, inp.zone)
    return clock.datetime(end) if isinstance(end, dt.datetime) else clock.date(end)


def _phase_span(start: str, end: str, t: Translator) -> str:
    if duration_hours(start) == 0:
        return t(N_("within %(end)s after"), end=span_words(end, t))
    return t(N_("%(start)s to %(end)s after"), start=span_words(start, t), end=span_words(end, t))


def _chart(inp: RenderInput, t: Translator, fonts: FontSet) -> Any:
    bars = []
    for phase in inp.spec.recovery:
        start, end = duration_hours(phase.start), duration_hours(phase.end)
        span = _phase_span(phase.start, phase.end, t)
        bars.append(Bar(pick(phase.title, t.locale), start, end, span))
    ticks = [Tick(0, t(N_("Procedure")))]
    for duration in ("1d", "1w", "1mo", "3mo", "6mo", "1y"):
        ticks.append(Tick(duration_hours(duration), span_words(duration, t)))
    return recovery_chart(
        bars,
        ticks,
        title=t(N_("Recovery timeline")),
        font_family=fonts.css_family(t.locale),
        lang=t.html_lang,
    )


def _physician(doctor: Physician, t: Translator) -> dict[str, str]:
    """The physician's fields and ``line``, what the PDF and the DOCX print: "王医生 · 整形外科 · 执业证号 …"."""
    parts = [doctor.name]
    if doctor.specialty:
        parts.append(doctor.specialty)
    if doctor.licence:
        parts.append(f"{t(N_('licence'))} {doctor.licence}")
    return {**doctor.model_dump(mode="json"), "line": " · ".join(parts)}


def _person_rows(inp: RenderInput, t: Translator, clock: Clock) -> dict[str, Any]:
    if inp.case is None:
        return {"patient": None, "guardian": None, "physicians": None}
    case = inp.case.case
    p = case.patient
    patient = {
        "name": p.name,
        "date_of_birth": clock.plain_date(p.date_of_birth),
        "age": inp.case.age,
        "sex": t(SEX[p.sex]) if p.sex else "",
        "record_number": p.record_number,
        "identity": f"{t(IDENTITY[p.identity.type])} {p.identity.number}",
        "phone": p.phone or "",
    }
    guardian = None
    if case.guardian is not None:
        g = case.guardian
        guardian = {
            "name": g.name,
            "relationship": g.relationship,
            "identity": f"{t(IDENTITY[g.identity.type])} {g.identity.number}",
            "phone": g.phone or "",
        }
    physicians = {
        "consulting": _physician(case.physicians.consulting, t),
        "operating": _physician(case.physicians.operating, t),
    }
    return {"patient": patient, "guardian": guardian, "physicians": physicians}


def locale_view(inp: RenderInput, t: Translator, fonts: FontSet) -> dict[str, Any]:
    """Everything one locale's section of a document shows."""
    spec = inp.spec
    loc = t.locale
    clock = Clock(t, inp.zone)
    words = ConditionWords(spec, inp.intake, t)
    risks = _risks(inp, t, words)
    bands = []
    for band in BANDS:
        members = [r for r in risks if r["band"] == band]
        if members:
            members.sort(key=lambda r: -SEVERITIES.index(r["severity_code"]))
            bands.append({"band": band, "name": t(BAND_NAMES[band]), "range": band_phrase(band, t), "risks": members})
    material = sorted(risks, key=lambda r: (-SEVERITIES.index(r["severity_code"]), BANDS.index(r["band"])))

    options = []
    for opt in spec.options:
        if inp.case is not None:
            chosen = inp.case.options[opt.id]
            choice = next(c for c in opt.choices if c.id == chosen)
            options.append({"label": pick(opt.label, loc), "value": pick(choice.label, loc)})
        else:
            options.append(
                {"label": pick(opt.label, loc), "value": " / ".join(pick(c.label, loc) for c in opt.choices)}
            )

    def items(seq: Any) -> list[dict[str, str]]:
        return [
            {"text": pick(i.text, loc), "condition": _cond(inp, words, i.applies_if)}
            for i in seq
            if _applies(inp, i.applies_if)
        ]

    instructions = []
    for ins in sorted(spec.preparation.instructions, key=lambda i: -duration_hours(i.before or "0h")):
        if not _applies(inp, ins.applies_if):
            continue
        instructions.append(
            {
                "text": pick(ins.text, loc),
                "when": _instruction_when(ins.before, t),
                **_dated(inp, ins.before, -1, clock),
                "condition": _cond(inp, words, ins.applies_if),
            }
        )

    recovery = []
    for phase in spec.recovery:
        recovery.append(
            {
                "title": pick(phase.title, loc),
                "span": _phase_span(phase.start, phase.end, t),
                "expect": pick(phase.expect, loc),
                "do": pick(phase.do, loc),
                "avoid": pick(phase.avoid, loc),
            }
        )

    aftercare = []
    for topic, entries in spec.aftercare.topics():
        rows = []
        for item in entries:
            if not _applies(inp, item.applies_if):
                continue
            until = ""
            if item.lasts:
                until = t(N_("for %(span)s"), span=span_words(item.lasts, t))
                if inp.case is not None:
                    until = t(
                        N_("for %(span)s, until %(date)s"),
                        span=span_words(item.lasts, t),
                        date=_until(inp, item.lasts, clock),
                    )
            rows.append({"text": pick(item.text, loc), "until": until, "condition": _cond(inp, words, item.applies_if)})
        if rows:
            aftercare.append({"topic": t(TOPIC[topic]), "entries": rows})

    follow_up = [
        {
            "when": t(N_("%(span)s after"), span=span_words(f.at, t)),
            **_dated(inp, f.at, +1, clock),
            "kind": t(FOLLOW_UP_KIND[f.kind]),
            "purpose": pick(f.purpose, loc),
            "condition": _cond(inp, words, f.applies_if),
        }
        for f in sorted(spec.follow_up, key=lambda f: duration_hours(f.at))
        if _applies(inp, f.applies_if)
    ]

    period = cooling_off_period(spec, inp.policy)
    cooling: dict[str, Any] = {"rule": period.describe(loc, t), "days": period.days, "earliest": "", "reason": ""}
    if spec.cooling_off and spec.cooling_off.reason:
        cooling["reason"] = pick(spec.cooling_off.reason, loc)
    if inp.case is not None:
        earliest = period.earliest(inp.case.consultation_at, inp.zone)
        cooling["earliest"] = clock.datetime(earliest)

    overrides = []
    if inp.case is not None:
        by_id = {o.contraindication: o for o in inp.case.case.overrides}
        for ci in inp.case.holding_contraindications():
            if ci.id in by_id:
                o = by_id[ci.id]
                overrides.append({"text": pick(ci.text, loc), "reason": o.reason, "physician": o.physician})

    contraindications: dict[str, list[dict[str, str]]] = {"absolute": [], "relative": []}
    for ci in spec.contraindications:
        contraindications[ci.kind].append({"text": pick(ci.text, loc), "condition": _cond(inp, words, ci.applies_if)})

    red_flags = [{"text": pick(r.text, loc), "emergency": r.emergency} for r in spec.aftercare.red_flags]
    red_flags.sort(key=lambda r: not r["emergency"])

    numbers = inp.policy.emergency_numbers
    emergency = numbers[0] if numbers else ""
    for other in numbers[1:]:
        emergency = t(N_("%(number)s or %(other)s"), number=emergency, other=other)
    # the grading is a legal term of the clinic's jurisdiction: shown with the place it applies to, as written there
    grading = spec.grading.get(inp.policy.jurisdiction, "")
    grading_label = t(N_("Regulatory grade (%(place)s):"), place=pick(inp.policy.name, loc)) if grading else ""
    planned = clock.datetime(inp.case.planned_at) if inp.case is not None else ""
    consultation = clock.datetime(inp.case.consultation_at) if inp.case is not None else ""
    c = inp.clinic
    return {
        "code": loc,
        "lang": t.html_lang,
        "_": t,
        "font_family": fonts.css_family(loc),
        "docs": {d: t(DOCUMENT[d]) for d in DOCS},
        "clinic": {
            "name": pick(c.name, loc),
            "address": pick(c.address, loc),
            "phone": c.phone,
            "urgent_phone": c.urgent_phone,
            "licence": c.licence or "",
        },
        "procedure": {
            "title": pick(spec.title, loc),
            "description": pick(spec.description, loc),
            "anaesthesia": pick(spec.anaesthesia, loc),
            "outcome": pick(spec.outcome, loc),
            "category": t(CATEGORY[spec.category]),
            "grading": grading,
            "grading_label": grading_label,
            "version": spec.version,
        },
        "planned": planned,
        "consultation": consultation,
        "generated": clock.datetime(inp.generated_at),
        "zone": clock.zone_name(inp.generated_at),
        "options": options,
        "indications": items(spec.indications),
        "benefits": items(spec.benefits),
        "risks": material,
        "risk_bands": bands,
        "contraindications": contraindications,
        "overrides": overrides,
        "alternatives": [
            {"title": pick(a.title, loc), "text": pick(a.text, loc), "no_treatment": a.no_treatment}
            for a in sorted(spec.alternatives, key=lambda a: not a.no_treatment)
        ],
        "tests": items(spec.preparation.tests),
        "instructions": instructions,
        "recovery": recovery,
        "chart": _chart(inp, t, fonts),
        "aftercare": aftercare,
        "red_flags": red_flags,
        "emergency": emergency,  # the jurisdiction's ambulance number(s): "120", "15 or 112"
        "follow_up": follow_up,
        "cooling_off": cooling,
        "statements": [t(s) for s in PATIENT_STATEMENTS],
        "physician_statement": t(PHYSICIAN_STATEMENT),
        # texts with typographic quotes live here: docxtpl turns quotes inside template tags into ASCII ones
        "disclosure_intro": t(DISCLOSURE_INTRO),
        "personal_note": t(PERSONAL_NOTE),
        "references": [r.citation for r in spec.references],
        "notes": (inp.case.case.notes or "").strip() if inp.case is not None else "",
        **_person_rows(inp, t, clock),
    }


def signature_rows(inp: RenderInput, translators: list[Translator]) -> list[dict[str, Any]]:
    rows = []
    for role in inp.roles:
        spec = inp.profile.role(role)
        rows.append(
            {
                "role": role,
                "anchor": spec.anchor,
                "field": spec.field,
                "labels": [t(ROLE[role]) for t in translators],
                "name": inp.signer_names.get(role, ""),
                "condition": " / ".join(t(ROLE_CONDITION[role]) for t in translators)
                if inp.specimen and role in ROLE_CONDITION
                else "",
                "meanings": [{"lang": t.html_lang, "text": pick(spec.meaning, t.locale)} for t in translators],
            }
        )
    return rows


_VIEWS: list[tuple[RenderInput, tuple[Translator, ...], FontSet, list[dict[str, Any]]]] = []


def _views(inp: RenderInput, translators: list[Translator], fonts: FontSet) -> list[dict[str, Any]]:
    """The locale views of one input, built once for its three documents in HTML and DOCX (the same objects:
    templates only read them)."""
    key = tuple(translators)
    for seen_inp, seen_tr, seen_fonts, views in _VIEWS:
        if seen_inp is inp and seen_tr == key and seen_fonts is fonts:
            return views
    views = [locale_view(inp, t, fonts) for t in translators]
    _VIEWS.append((inp, key, fonts, views))
    del _VIEWS[:-4]
    return views


def build_context(inp: RenderInput, translators: list[Translator], fonts: FontSet, doc: DocKind) -> dict[str, Any]:
    first = translators[0]
    stamp = ""
    # the stamp in each locale of the document, and in English for whoever handles the paper (样本 · SPECIMEN)
    if inp.specimen:
        stamp = " · ".join(dict.fromkeys([*(t(N_("SPECIMEN")) for t in translators), "SPECIMEN"]))
    elif inp.draft:
        stamp = " · ".join(
            dict.fromkeys([*(t(N_("DRAFT — NOT FOR SIGNATURE")) for t in translators), "DRAFT — NOT FOR SIGNATURE"])
        )
    views = _views(inp, translators, fonts)
    return {
        "doc": doc,
        "doc_id": document_id(inp.packet_id, doc),
        "packet_id": inp.packet_id,
        "views": views,
        "main": views[0],
        "lang": first.html_lang,
        "bilingual": len(views) > 1,
        "specimen": inp.specimen,
        "draft": inp.draft,
        "stamp": stamp,
        "signatures": signature_rows(inp, translators) if doc == "consent" else [],
        "spec_hash": inp.spec_hash,
        "font_family": ", ".join(dict.fromkeys(f for v in views for f in v["font_family"].split(", "))),
    }
