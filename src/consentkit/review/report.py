"""``consentkit review report``: the library's review status as a document a compliance officer can file.

A cover page (clinic, policy, required approvals, one row per procedure), then per procedure a status page — what
an approval pins, who approved and when (or what changed since), the policy checks, open lint findings — followed
by its consent form, risk disclosure and care guide rendered as SPECIMEN by the same engine as packets. PDF (one
PDF/A-3b, pages of separately laid-out documents combined, like a packet) or HTML (documents embedded).

The report's own template and stylesheet live in ``templates/review/``, outside the folders whose hashes an
approval pins (``html/``, ``css/``, ``docx/``, catalogues): changing the report never unapproves a procedure.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from consentkit import __version__
from consentkit.errors import RenderError
from consentkit.render.labels import pick
from consentkit.review.status import ProcedureStatus, library_status
from consentkit.spec.canonical import content_hash
from consentkit.workspace import ClinicConfig, Workspace

REPORT_DIR = "review"
REPORT_TEMPLATE = "report.html.j2"
REPORT_CSS = "report.css"
TITLE = "Procedure library review report"
DOC_NAMES = {"consent": "Consent form", "disclosure": "Risk disclosure", "care-guide": "Care guide"}


@dataclass(frozen=True)
class ReportDone:
    procedures: int
    pages: int | None  # PDF only
    seconds: float
    timings: dict[str, float]
    documents: int = 0  # SPECIMEN documents included
    locales: tuple[str, ...] = ()  # their locales


@dataclass(frozen=True)
class _Setup:
    ws: Workspace | None
    clinic: ClinicConfig
    templates: tuple[Path, ...]
    library: Any
    policy: Any
    profile: Any


def _setup(ws: Workspace | None) -> _Setup:
    from consentkit.render.specimen import SAMPLE_CLINIC
    from consentkit.resources import builtin_dir
    from consentkit.sign.profile import load_profile
    from consentkit.spec.library import load_library

    if ws is not None:
        library = load_library(ws.procedure_roots())
        clinic, templates = ws.config.clinic, ws.template_roots()
        profile = load_profile(ws.signature_roots(), ws.config.signing.profile).model
    else:
        library = load_library([builtin_dir("procedures")])
        clinic, templates = SAMPLE_CLINIC, (builtin_dir("templates"),)
        profile = load_profile((builtin_dir("signatures"),)).model
    policy = library.policy(clinic.jurisdiction).model
    return _Setup(ws, clinic, tuple(Path(t).resolve() for t in templates), library, policy, profile)


def _environment(roots: Sequence[Path]) -> Any:
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    from consentkit.render.env import css_string

    env = SandboxedEnvironment(
        loader=FileSystemLoader([str(r / REPORT_DIR) for r in roots], followlinks=False),
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["css_string"] = css_string
    return env


def _role_views(s: ProcedureStatus, zone: Any) -> list[dict[str, Any]]:
    views = []
    for role, rs in s.state.roles.items():
        chosen = rs.current or rs.previous
        if rs.current is not None and role in s.invalid:
            state, ok, detail = "does not verify", False, s.invalid[role]
        elif rs.current is not None:
            state, ok = "approved", True
            local = rs.current.approved_at.astimezone(zone)
            detail = (
                f"{rs.current.reviewer}, {local:%Y-%m-%d %H:%M} ({zone}); signature (certificate issued for {role} "
                "review) and audit event verified"
            )
        elif rs.uncounted is not None:
            state, ok, detail = "not counted", False, rs.uncounted_because
        elif rs.previous is not None:
            state, ok = "changed since approval", False
            detail = (
                f"{rs.previous.reviewer} approved {rs.previous.statement.version} on "
                f"{rs.previous.approved_at.astimezone(zone):%Y-%m-%d}; changed since: {'; '.join(rs.changes)}"
            )
        else:
            state, ok, detail = "not approved", not rs.required, "no approval recorded"
        short = detail.split(";")[0] if ok else state
        views.append(
            {
                "role": role,
                "required": rs.required,
                "ok": ok,
                "state": state,
                "detail": detail,
                "short": short,
                "event": chosen.index if chosen is not None and ok else None,
                "leaf": (chosen.leaf or "")[:23] + "…" if chosen is not None else "",
                "certificate": chosen.statement.reviewer.certificate[:23] + "…" if chosen is not None else "",
            }
        )
    return views


def _wording_view(s: ProcedureStatus) -> str:
    """What an approval pins from the signing profile and the policy, in one line."""
    profile, policy = s.state.pinned.signing_profile, s.state.pinned.policy
    if profile is None or policy is None:
        return "—"
    cooling = policy.cooling_off.text.get("en") or next(iter(policy.cooling_off.text.values()), "")
    witness = ", ".join(policy.witness_for) or "none"
    return (
        f"signing profile {profile.id}: the meaning printed beside each of {len(profile.meanings)} signatures "
        f"({', '.join(profile.meanings)}); {policy.jurisdiction} policy: cooling-off {cooling}; signers "
        f"{', '.join(policy.required_signers)}, a witness for {witness}; combined "
    )


def _status_view(s: ProcedureStatus, locale: str, zone: Any, documents: list[dict[str, Any]]) -> dict[str, Any]:
    spec = s.spec.model
    missing = [r for r in s.state.required if not s.state.roles[r].approved or r in s.invalid]
    commands = [f"consentkit review approve {spec.id} --reviewer NAME --role {r}" for r in missing]
    review = spec.review
    return {
        "id": spec.id,
        "title": pick(spec.title, "en"),
        "local_title": pick(spec.title, locale) if pick(spec.title, locale) != pick(spec.title, "en") else "",
        "version": spec.version,
        "category": spec.category,
        "source": s.source,
        "approved": s.approved,
        "missing": missing,
        "approve_commands": commands,
        "roles": _role_views(s, zone),
        "spec_hash": s.spec_hash,
        "template_count": len(s.state.pinned.templates),
        "templates_hash": content_hash(s.state.pinned.templates),
        "wording": _wording_view(s),
        "wording_hash": content_hash(
            [w.model_dump(mode="json") for w in (s.state.pinned.signing_profile, s.state.pinned.policy) if w]
        ),
        "spec_locales": list(spec.locales),
        "review_owner": review.owner if review else None,
        "last_reviewed": review.last_reviewed.isoformat() if review else None,
        "interval": review.interval_months if review else None,
        "next_review": s.next_review.isoformat() if s.next_review else None,
        "overdue": s.review_overdue,
        "checks": s.checks,
        "lint": s.lint,
        "lint_lines": list(s.lint.first) if s.lint else [],
        "documents": documents,
    }


def _context(setup: _Setup, statuses: list[dict[str, Any]], locales: Sequence[str], now: dt.datetime) -> dict[str, Any]:
    from consentkit.review.state import required_roles

    zone = ZoneInfo(setup.clinic.timezone)
    clinic = pick(setup.clinic.name, "en")
    generated = f"{now.astimezone(zone):%Y-%m-%d %H:%M} ({zone})"
    lint = [s["lint"] for s in statuses if s["lint"] is not None]
    return {
        "title": TITLE,
        "clinic": clinic,
        "version": __version__,
        "jurisdiction": setup.policy.jurisdiction,
        "policy_name": pick(setup.policy.name, "en"),
        "required_roles": list(required_roles(setup.ws, setup.policy)),
        "statuses": statuses,
        "approved_count": sum(1 for s in statuses if s["approved"]),
        "overdue_count": sum(1 for s in statuses if s["overdue"]),
        "lint_errors": sum(x.errors for x in lint) if lint else None,
        "lint_warnings": sum(x.warnings for x in lint) if lint else None,
        "locales": list(locales),
        "generated": generated,
        "header_left": f"{TITLE} — {clinic}",
        "header_right": "",
        "footer_left": f"Generated {generated}",
        "footer_right": "Cover",
    }


def _locales_for(spec: Any, wanted: Sequence[str]) -> list[str]:
    chosen = [loc for loc in wanted if loc in spec.locales]
    return chosen or [spec.locales[0]]


def _number_pages(engine: Any, documents: Sequence[Any], roots: Sequence[Path], label: str) -> int:
    """Number every page of the combined report "Report page X of Y" at the foot, below each page's own footer
    (a SPECIMEN document keeps its own "page 1 of 3", as the patient sees it). The numbers are laid out once, as a
    document of Y empty pages, and their margin boxes added to the report's pages: the documents are not laid out a
    second time. Returns Y."""
    from weasyprint import HTML

    from consentkit.render.env import css_string
    from consentkit.render.fonts import fonts_for
    from consentkit.render.pdf import strict_weasyprint

    pages = [page for document in documents for page in document.pages]
    fonts = fonts_for(roots)
    html = (
        f"<!DOCTYPE html><html lang='en'><head><style>{fonts.font_face_css(['en'])}"
        f"html {{ font-family: {fonts.css_family('en')}; }}"
        "@page { size: A4; margin: 20mm 16mm 7mm 16mm; @bottom-center { content: "
        f"{css_string(label)} 'Report page ' counter(page) ' of ' counter(pages); font-size: 7pt; color: #555;"
        " vertical-align: middle; } }</style></head><body>"
        + "<div style='break-after: page'></div>" * (len(pages) - 1)
        + "<div></div></body></html>"
    )
    with strict_weasyprint("review report page numbers"):
        numbers = HTML(string=html, url_fetcher=engine.fetcher).render(font_config=engine.font_config)
    for page, numbered in zip(pages, numbers.pages, strict=True):
        boxes = [box for box in numbered._page_box.children if type(box).__name__ == "MarginBox"]
        page._page_box.children = [*page._page_box.children, *boxes]
    return len(pages)


def write_report(
    ws: Workspace | None,
    output: Path,
    *,
    procedures: Sequence[str] = (),
    locales: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> ReportDone:
    """Write the report to ``output`` (``.pdf`` or ``.html``), atomically. ``locales``: the SPECIMEN documents'
    locales (default: every locale the clinic issues; a procedure shows those it has, else its first)."""
    from markupsafe import Markup

    from consentkit.render.context import DOCS
    from consentkit.render.html import render_html
    from consentkit.render.specimen import preview_input
    from consentkit.review.diff import write_atomic
    from consentkit.review.report_html import specimen_body

    started = time.perf_counter()
    timings: dict[str, float] = {}
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    pdf = output.suffix.lower() == ".pdf"
    setup = _setup(ws)
    wanted = list(locales) or list(setup.clinic.locales)
    statuses = library_status(ws, procedures=procedures)
    timings["status and lint"] = time.perf_counter() - started
    zone = ZoneInfo(setup.clinic.timezone)
    env = _environment(setup.templates)
    template = env.get_template(REPORT_TEMPLATE)
    engine = None
    if pdf:
        from consentkit.render.pdf import engine_for

        engine = engine_for(setup.templates)
    views: list[dict[str, Any]] = []
    laid: list[tuple[Any, list[Any]]] = []  # per procedure: its specimen documents (PDF)
    t0 = time.perf_counter()
    for s in statuses:
        spec = s.spec.model
        documents: list[dict[str, Any]] = []
        layouts = []
        for locale in _locales_for(spec, wanted):
            inp = preview_input(
                setup.library,
                spec.id,
                [locale],
                clinic=setup.clinic,
                policy=setup.policy,
                profile=setup.profile,
                now=now,
            )
            for doc in DOCS:
                entry: dict[str, Any] = {"name": DOC_NAMES[doc], "locale": locale, "pages": None, "html": ""}
                if engine is not None:
                    html = render_html(inp, doc, setup.templates, fonts=engine.fonts)
                    document = engine.layout(html, [locale], f"{spec.id} {doc}.html.j2")
                    entry["pages"] = len(document.pages)
                    layouts.append(document)
                else:
                    body_class, body = specimen_body(render_html(inp, doc, setup.templates))
                    entry.update(html=Markup(body), body_class=body_class)  # noqa: S704 - our own rendered document
                documents.append(entry)
        views.append(_status_view(s, wanted[0], zone, documents))
        laid.append((s, layouts))
    timings["specimens"] = time.perf_counter() - t0
    context = _context(setup, views, wanted, now)
    pages: int | None = None
    t0 = time.perf_counter()
    if engine is None:
        from consentkit.render.env import resolve
        from consentkit.review.report_html import family_list, report_stylesheet

        css = report_stylesheet(
            setup.templates,
            resolve(setup.templates, f"{REPORT_DIR}/{REPORT_CSS}").read_text(encoding="utf-8"),
            resolve(setup.templates, "css/document.css").read_text(encoding="utf-8"),
            ["en", *wanted],
        )
        family = _markup(family_list(setup.templates, ["en", *wanted]))
        context.update(part="all", mode="html", stylesheet=_markup(css), font_family=family, footer_right="")
        write_atomic(output, _render(template, context).encode("utf-8"))
    else:
        context.update(mode="pdf", stylesheet="", font_family=_family(setup, wanted))
        after_cover: list[Any] = []
        lengths = []  # pages per procedure: its status page(s) and its specimens
        for view, (_, layouts) in zip(views, laid, strict=True):
            page_context = {
                **context,
                "part": "status",
                "statuses": [view],
                "header_right": f"{view['id']} {view['version']}",
                "footer_right": f"{view['id']} status (SPECIMEN documents follow)",
            }
            procedure = [_layout(engine, setup, template, page_context, wanted), *layouts]
            lengths.append(sum(len(d.pages) for d in procedure))
            after_cover += procedure
        # the cover lists where each procedure starts, so it is laid out last (again if its own length changes)
        cover, cover_pages = None, 1
        while cover is None or len(cover.pages) != cover_pages:
            cover_pages = len(cover.pages) if cover is not None else cover_pages
            start = cover_pages + 1
            for view, length in zip(views, lengths, strict=True):
                view["page"], start = start, start + length
            cover = _layout(engine, setup, template, {**context, "part": "cover", "total_pages": start - 1}, wanted)
        documents_out = [cover, *after_cover]
        pages = _number_pages(engine, documents_out, setup.templates, f"{TITLE} — {context['clinic']} · ")
        timings["report pages"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        data = engine.write(
            documents_out,
            title=f"{TITLE} — {context['clinic']}",
            lang="en",
            author=context["clinic"],
            created=now,
        )
        write_atomic(output, data)
        timings["pdf write"] = time.perf_counter() - t0
    count = sum(len(v["documents"]) for v in views)
    used = tuple(dict.fromkeys(d["locale"] for v in views for d in v["documents"]))
    return ReportDone(len(statuses), pages, time.perf_counter() - started, timings, count, used)


def _markup(text: str) -> Any:
    from markupsafe import Markup

    return Markup(text.replace("</", "<\\/"))  # noqa: S704 - our own stylesheet files, kept inside <style>


def _family(setup: _Setup, locales: Sequence[str]) -> Any:
    from consentkit.render.fonts import fonts_for

    fonts = fonts_for(setup.templates)
    names: list[str] = []
    for loc in ["en", *locales]:
        for name in fonts.stack(loc):
            if name not in names:
                names.append(name)
    return _markup(", ".join(f'"{n}"' for n in names))


def _report_css(roots: Sequence[Path], locales: Sequence[str]) -> str:
    from consentkit.render.env import resolve
    from consentkit.render.fonts import fonts_for

    css = resolve(roots, f"{REPORT_DIR}/{REPORT_CSS}").read_text(encoding="utf-8")
    return fonts_for(roots).font_face_css(locales) + css


def _render(template: Any, context: dict[str, Any]) -> str:
    try:
        return str(template.render(context))
    except Exception as exc:  # the report template is ours; say where it failed
        raise RenderError(f"{REPORT_DIR}/{REPORT_TEMPLATE}: the review report failed to render: {exc}") from exc


_CSS_CACHE: dict[tuple[object, ...], Any] = {}


def _layout(engine: Any, setup: _Setup, template: Any, context: dict[str, Any], locales: Sequence[str]) -> Any:
    from weasyprint import CSS, HTML

    from consentkit.render.env import resolve
    from consentkit.render.pdf import strict_weasyprint

    html = _render(template, context)
    glyph_locales = ["en", *locales]
    engine.check_glyphs(html, glyph_locales, "review report")
    css_path = resolve(setup.templates, f"{REPORT_DIR}/{REPORT_CSS}")
    st = css_path.stat()
    key = (id(engine), *glyph_locales, str(css_path), st.st_size, st.st_mtime_ns)
    if key not in _CSS_CACHE:
        with strict_weasyprint(str(css_path)):
            _CSS_CACHE[key] = CSS(
                string=_report_css(setup.templates, glyph_locales),
                base_url=str(css_path.parent) + "/",
                url_fetcher=engine.fetcher,
                font_config=engine.font_config,
            )
    with strict_weasyprint("review report"):
        return HTML(string=html, base_url=str(css_path.parent) + "/", url_fetcher=engine.fetcher).render(
            font_config=engine.font_config, stylesheets=[_CSS_CACHE[key]], pdf_variant="pdf/a-3b"
        )
