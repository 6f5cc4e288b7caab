"""The disclosure certificate: one A4 page a court clerk can read — what happened to the case and when (a timeline
picture, times in the clinic's zone), whether the cooling-off period was kept, who approved the text, and the
hashes that tie the page to the signed packet and the audit log. It summarises the bundle; the proof is the rest
of the bundle (VERIFY.md), and the page says so.

Rendered like the packets — the render package's WeasyPrint engine and declared fonts, PDF/A-3b — from
``templates/evidence/certificate.html.j2`` and ``certificate.css`` (a folder of their own: packet approvals pin the
``html/`` and ``css/`` templates, and a change to this page must not unapprove every procedure).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from consentkit.errors import RenderError
from consentkit.evidence import gate_words
from consentkit.evidence.timeline import CoolingOff, Moment

TEMPLATE_DIR = "evidence"
TEMPLATE = "certificate.html.j2"
STYLESHEET = "certificate.css"

WORDS: dict[str, dict[str, str]] = {
    "title": {
        "zh-CN": "知情告知与同意证明",
        "zh-TW": "知情說明與同意證明",
        "en": "Certificate of disclosure and consent",
    },
    "case": {"zh-CN": "病例", "zh-TW": "病例", "en": "Case"},
    "packet": {"zh-CN": "文件编号", "zh-TW": "文件編號", "en": "Packet"},
    "times": {"zh-CN": "时间均为", "zh-TW": "時間均為", "en": "Times in"},
    "timeline": {"zh-CN": "经过", "zh-TW": "經過", "en": "What happened"},
    "cooling": {"zh-CN": "考虑期", "zh-TW": "考慮期", "en": "Cooling-off period"},
    "required": {"zh-CN": "要求", "zh-TW": "要求", "en": "Required"},
    "consent": {"zh-CN": "患者签署（时间戳）", "zh-TW": "病人簽署（時間戳）", "en": "Patient signed (RFC 3161 time)"},
    "earliest": {"zh-CN": "最早可开始", "zh-TW": "最早可開始", "en": "Earliest permitted start"},
    "started": {"zh-CN": "手术开始", "zh-TW": "手術開始", "en": "Procedure started"},
    "elapsed": {"zh-CN": "相隔", "zh-TW": "相隔", "en": "Time between"},
    "checked_in": {
        "zh-CN": "术前核查发生在（两个时间戳之间）",
        "zh-TW": "術前核查發生在（兩個時間戳之間）",
        "en": "Check-in happened between (RFC 3161 times)",
    },
    "kept": {
        "zh-CN": "已遵守考虑期（由时间戳证明）",
        "zh-TW": "已遵守考慮期（由時間戳證明）",
        "en": "Cooling-off period kept (proven by RFC 3161 times)",
    },
    "unproven": {
        "zh-CN": "无法用时间戳证明已遵守考虑期",
        "zh-TW": "無法用時間戳證明已遵守考慮期",
        "en": "Not proven by RFC 3161 times that the cooling-off period was kept",
    },
    "before_checkin": {
        "zh-CN": "无法证明：记录的手术开始时间早于术前核查的时间戳",
        "zh-TW": "無法證明：記錄的手術開始時間早於術前核查的時間戳",
        "en": "Not proven: the start was recorded before the check-in's RFC 3161 time",
    },
    "broken": {
        "zh-CN": "未满考虑期即开始",
        "zh-TW": "未滿考慮期即開始",
        "en": "Started before the cooling-off period ended",
    },
    "pending": {"zh-CN": "尚未记录手术开始", "zh-TW": "尚未記錄手術開始", "en": "No procedure start recorded yet"},
    "unsigned": {"zh-CN": "患者尚未签署", "zh-TW": "病人尚未簽署", "en": "The patient has not signed"},
    "approvals": {"zh-CN": "告知内容审批", "zh-TW": "告知內容核准", "en": "Who approved the disclosure text"},
    "reviewer": {"zh-CN": "审核人", "zh-TW": "審核人", "en": "Reviewer"},
    "review": {"zh-CN": "审核类别", "zh-TW": "審核類別", "en": "Review"},
    "approved_at": {"zh-CN": "批准时间", "zh-TW": "核准時間", "en": "Approved"},
    "none": {"zh-CN": "无记录", "zh-TW": "無紀錄", "en": "none recorded"},
    "clinical": {"zh-CN": "临床", "zh-TW": "臨床", "en": "clinical"},
    "legal": {"zh-CN": "法务", "zh-TW": "法務", "en": "legal"},
    "hashes": {"zh-CN": "校验值（SHA-256）", "zh-TW": "校驗值（SHA-256）", "en": "Fingerprints (SHA-256)"},
    "spec_hash": {"zh-CN": "项目内容", "zh-TW": "項目內容", "en": "Procedure text (spec)"},
    "packet_hash": {"zh-CN": "签署前文件", "zh-TW": "簽署前文件", "en": "Packet as printed"},
    "final_hash": {"zh-CN": "签署后文件", "zh-TW": "簽署後文件", "en": "Signed packet file"},
    "manifest_hash": {"zh-CN": "文件清单", "zh-TW": "文件清單", "en": "Manifest"},
    "head": {"zh-CN": "审计日志树根", "zh-TW": "稽核日誌樹根", "en": "Audit log tree head"},
    "signers": {"zh-CN": "签署人", "zh-TW": "簽署人", "en": "Signed by"},
    "note": {
        "zh-CN": "本页是证据包的摘要，本身不是证明。请按证据包中 VERIFY.md 的步骤，"
        "用 openssl、pdfsig 和 sha256sum 自行核验，或运行 consentkit verify-evidence。",
        "zh-TW": "本頁是證據包的摘要，本身不是證明。請按證據包中 VERIFY.md 的步驟，"
        "用 openssl、pdfsig 和 sha256sum 自行核驗，或執行 consentkit verify-evidence。",
        "en": "This page summarises the evidence bundle; it is not itself the proof. Check the bundle with the "
        "openssl, pdfsig and sha256sum commands in its VERIFY.md, or run consentkit verify-evidence.",
    },
}
ROLE_WORDS = {
    "clinic": {"zh-CN": "诊所", "zh-TW": "診所", "en": "Clinic"},
    "physician": {"zh-CN": "医生", "zh-TW": "醫師", "en": "Physician"},
    "patient": {"zh-CN": "患者", "zh-TW": "病人", "en": "Patient"},
    "guardian": {"zh-CN": "监护人", "zh-TW": "法定代理人", "en": "Guardian"},
    "witness": {"zh-CN": "见证人", "zh-TW": "見證人", "en": "Witness"},
    "seal": {"zh-CN": "诊所封存", "zh-TW": "診所封存", "en": "Clinic seal"},
}


@dataclass(frozen=True)
class ApprovalLine:
    reviewer: str
    review: str  # clinical | legal
    approved_at: dt.datetime


@dataclass(frozen=True)
class CertificateFacts:
    clinic: str
    procedure: str  # title and version, in the first locale
    case_id: str
    packet_id: str
    locales: Sequence[str]
    zone: ZoneInfo
    moments: Sequence[Moment]
    cooling: CoolingOff
    signers: Sequence[tuple[str, str]]  # (role, name on the certificate)
    approvals: Sequence[ApprovalLine]
    hashes: Sequence[tuple[str, str]]  # (WORDS key, value)
    generated_at: dt.datetime


def both(table: dict[str, str], locales: Sequence[str]) -> str:
    """A label in each of the packet's languages: ``患者签名 · Patient signed``."""
    return " · ".join(dict.fromkeys(table.get(loc) or table["en"] for loc in locales))


def _when(value: dt.datetime, zone: ZoneInfo) -> str:
    here = value.astimezone(zone)
    return f"{here:%Y-%m-%d %H:%M:%S}"


# -- the timeline picture ----------------------------------------------------------------------------------------
WIDTH = 700.0
ROW = 21.0
GAP = 16.0  # extra space where days pass between two moments
TOP = 10.0
X_TIME = 4.0
X_LINE = 142.0
X_LABEL = 156.0
X_BRACKET = 630.0


def timeline_svg(facts: CertificateFacts, font_family: str) -> Markup:
    """A vertical timeline: each moment a dot with its local time and label; long pauses drawn as a dashed stretch
    with the time that passed; the cooling-off period a bracket from the consent signature to its end."""
    loc = facts.locales
    rows: list[tuple[float, Moment]] = []
    y = TOP
    previous: Moment | None = None
    gaps: list[tuple[float, float, str]] = []
    for m in facts.moments:
        if previous is not None:
            pause = m.time - previous.time
            if pause >= dt.timedelta(hours=12):
                start = y - ROW + 10
                y += GAP
                gaps.append((start, y - 10, _pause_words(pause, loc)))
        rows.append((y, m))
        previous = m
        y += ROW
    height = y + 4
    desc = "; ".join(f"{_when(m.time, facts.zone)} {m.label('en')}" for _, m in rows)
    title = both(WORDS["timeline"], loc)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" viewBox="0 0 {WIDTH:.0f} {height:.0f}" '
        f'width="{WIDTH:.0f}" height="{height:.0f}" font-family=\'{escape(font_family)}\' font-size="11.5">',
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
    ]
    if rows:
        parts.append(
            f'<line x1="{X_LINE}" y1="{rows[0][0]:.1f}" x2="{X_LINE}" y2="{rows[-1][0]:.1f}" stroke="#1f3b57" '
            'stroke-width="1.6"/>'
        )
    for top, bottom, words in gaps:
        parts.append(
            f'<line x1="{X_LINE}" y1="{top:.1f}" x2="{X_LINE}" y2="{bottom:.1f}" stroke="#ffffff" stroke-width="3"/>'
            f'<line x1="{X_LINE}" y1="{top:.1f}" x2="{X_LINE}" y2="{bottom:.1f}" stroke="#1f3b57" '
            'stroke-width="1.6" stroke-dasharray="3 3"/>'
            f'<text x="{X_LABEL}" y="{(top + bottom) / 2 + 4:.1f}" fill="#555">'
            f"{escape(words)}</text>"
        )
    bracket = _bracket(rows, facts)
    for row_y, m in rows:
        colour = _colour(m, facts.cooling)
        shape = (
            f'<rect x="{X_LINE - 5}" y="{row_y - 5:.1f}" width="10" height="10" fill="{colour}"/>'
            if m.key == "cooling-off.ends"
            else f'<circle cx="{X_LINE}" cy="{row_y:.1f}" r="5" fill="{colour}"/>'
        )
        weight = ' font-weight="700"' if m.key in ("signed.patient", "signed.guardian", "procedure.started") else ""
        parts.append(
            f'<text x="{X_TIME}" y="{row_y + 4:.1f}" fill="#111">{escape(_when(m.time, facts.zone))}</text>'
            + shape
            + f'<text x="{X_LABEL}" y="{row_y + 4:.1f}" fill="#111"{weight}>{escape(both(_label(m), loc))}</text>'
        )
    parts.extend(bracket)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def _label(m: Moment) -> dict[str, str]:
    from consentkit.evidence.timeline import LABELS

    return LABELS[m.key]


def _colour(m: Moment, cooling: CoolingOff) -> str:
    if m.key == "checkin.refused":
        return "#a40000"
    if m.key == "procedure.started" and cooling.satisfied is not True:
        return "#a40000"
    if m.key in ("checkin.pass", "procedure.started", "cooling-off.ends"):
        return "#1b6e20"
    return "#1f3b57"


def _bracket(rows: list[tuple[float, Moment]], facts: CertificateFacts) -> list[str]:
    """The cooling-off bracket at the right: from the consent signature to the end of the period."""
    c = facts.cooling
    start = next((y for y, m in rows if m.key in ("signed.patient", "signed.guardian") and m.time == c.signed_at), None)
    end = next((y for y, m in rows if m.key == "cooling-off.ends"), None)
    if start is None or end is None:
        return []
    mid = (start + end) / 2
    colour = "#1b6e20" if c.satisfied is not False else "#a40000"
    days = c.period.days
    per_locale = {"zh-CN": f"{days} 天", "zh-TW": f"{days} 天", "en": f"{days} days"}
    if not days:
        per_locale = {"zh-CN": "不同日", "zh-TW": "不同日", "en": "next day"}
    lines = list(dict.fromkeys(per_locale.get(loc, per_locale["en"]) for loc in facts.locales))
    first = mid - 7 * (len(lines) - 1) + 4
    return [
        f'<path d="M {X_BRACKET - 8} {start:.1f} H {X_BRACKET} V {end:.1f} H {X_BRACKET - 8}" fill="none" '
        f'stroke="{colour}" stroke-width="1.4"/>',
        *(
            f'<text x="{X_BRACKET + 6}" y="{first + 14 * i:.1f}" fill="{colour}" font-weight="700" font-size="10.5">'
            f"{escape(text)}</text>"
            for i, text in enumerate(lines)
        ),
    ]


def _pause_words(pause: dt.timedelta, locales: Sequence[str]) -> str:
    return " · ".join(
        dict.fromkeys(
            {"zh-CN": "{} 后", "zh-TW": "{} 後", "en": "{} later"}.get(loc, "{} later").format(
                gate_words.duration(pause, loc if loc in gate_words.LOCALES else "en")
            )
            for loc in locales
        )
    )


# -- the page ------------------------------------------------------------------------------------------------------
def render_certificate(facts: CertificateFacts, template_roots: Sequence[Path]) -> bytes:
    """The certificate as PDF/A-3b bytes; a :class:`RenderError` if it does not fit on one page."""
    from consentkit.render.pdf import engine_for

    engine = engine_for(tuple(Path(r).resolve() for r in template_roots))
    locales = list(facts.locales)
    family = ", ".join(dict.fromkeys(f for loc in locales for f in engine.fonts.stack(loc)))
    html = _html(facts, template_roots, f'"{family}"'.replace(", ", '", "'))
    document = engine.layout(html, locales, TEMPLATE)
    if len(document.pages) != 1:
        raise RenderError(f"{TEMPLATE}: the certificate takes {len(document.pages)} pages; it must fit on one")
    return bytes(
        engine.write(
            [document],
            title=f"{both(WORDS['title'], locales)} — {facts.case_id}",
            lang=locales[0],
            author=facts.clinic,
            created=facts.generated_at,
        )
    )


def _html(facts: CertificateFacts, template_roots: Sequence[Path], family: str) -> str:
    from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    from consentkit.render.env import css_string

    env = SandboxedEnvironment(
        loader=FileSystemLoader([str(Path(r) / TEMPLATE_DIR) for r in template_roots], followlinks=False),
        undefined=StrictUndefined,
        autoescape=True,
    )
    env.filters["css_string"] = css_string
    css = _stylesheet(template_roots)
    loc = facts.locales
    c = facts.cooling
    words = {key: both(table, loc) for key, table in WORDS.items()}
    verdict, verdict_class = {
        "unsigned": (words["unsigned"], "pending"),
        "no-start": (words["pending"], "pending"),
        "kept": (words["kept"], "kept"),
        "too-early": (words["broken"], "broken"),
        "before-checkin": (words["before_checkin"], "broken"),
    }.get(c.verdict, (words["unproven"], "broken"))
    zone = facts.zone
    context: dict[str, Any] = {
        "lang": loc[0],
        "w": words,
        "css": Markup(css.replace("</", "<\\/")),  # noqa: S704 - our own stylesheet, kept from closing <style>
        "font_family": Markup(family),  # noqa: S704 - family names from fonts.yaml
        "f": facts,
        "zone": f"{zone.key} ({facts.generated_at.astimezone(zone).tzname()})",
        "timeline": timeline_svg(facts, family.replace('"', "")),
        "verdict": verdict,
        "verdict_class": verdict_class,
        "required": " · ".join(dict.fromkeys(c.period.describe(x) for x in loc)),
        "consent_at": _when(c.signed_at, zone) if c.signed_at else "—",
        "earliest": _when(c.earliest, zone) if c.earliest else "—",
        "started": _when(c.started, zone) if c.started else "—",
        "checked_in": _bounds(c, zone),
        "elapsed": " · ".join(
            dict.fromkeys(
                gate_words.duration(c.elapsed, x if x in gate_words.LOCALES else "en", minutes=True) for x in loc
            )
        )
        if c.elapsed is not None
        else "—",
        "signers": [(both(ROLE_WORDS.get(role, {"en": role}), loc), name) for role, name in facts.signers],
        "approvals": [
            (a.reviewer, both(WORDS.get(a.review, {"en": a.review}), loc), _when(a.approved_at, zone))
            for a in facts.approvals
        ],
        "hashes": [(words[key], value) for key, value in facts.hashes],
    }
    try:
        return env.get_template(TEMPLATE).render(context)
    except TemplateError as exc:
        raise RenderError(f"{TEMPLATE}: {exc}") from exc


def _bounds(c: CoolingOff, zone: ZoneInfo) -> str:
    if c.checked_in_after is None and c.recorded_before is None:
        return "—"
    after = _when(c.checked_in_after, zone) if c.checked_in_after else "?"
    before = _when(c.recorded_before, zone) if c.recorded_before else "?"
    return f"{after} – {before}"


def _stylesheet(template_roots: Sequence[Path]) -> str:
    for root in template_roots:
        path = Path(root) / TEMPLATE_DIR / STYLESHEET
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise RenderError(f"{TEMPLATE_DIR}/{STYLESHEET} not found in {', '.join(map(str, template_roots))}")
