"""Build the docxtpl templates templates/docx/{consent,disclosure,care-guide}.docx with python-docx.

The templates hold Jinja tags (docxtpl syntax: ``{%p ...%}`` paragraph, ``{%tr ...%}`` table-row statements) over
the same context as the HTML templates (consentkit.render.context.build_context). Run after changing this script
and commit both the script and the .docx files:

    .venv/bin/python scripts/build_docx_templates.py

A clinic may instead edit a copy of a generated .docx in Word and put it in its workspace's templates/docx/.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

OUT = Path(__file__).resolve().parent.parent / "templates" / "docx"
NAVY = RGBColor(0x1F, 0x3B, 0x57)
RED = RGBColor(0xA4, 0x00, 0x00)
Doc = type(Document())


def base() -> Doc:  # type: ignore[valid-type]
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(16)
    section.top_margin, section.bottom_margin = Mm(20), Mm(18)
    styles = doc.styles
    normal = styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.2
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), "Microsoft YaHei")  # replaced per locale when rendered
    for name, size in (("Heading 1", 17), ("Heading 2", 12), ("Heading 3", 10.5)):
        style = styles[name]
        style.font.name = "Arial"
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.color.rgb = NAVY if name != "Heading 3" else RGBColor(0x11, 0x11, 0x11)
        style.paragraph_format.keep_with_next = True
        style.paragraph_format.space_before = Pt(10 if name != "Heading 3" else 6)
        style.paragraph_format.space_after = Pt(3)
    header = section.header.paragraphs[0]
    header.text = "{{ main.clinic.name }}\t\t{{ main.docs[doc] }} {{ doc_id }}"
    _small(header)
    # DRAFT / SPECIMEN on every page, like the PDF's stamp: the header repeats on every page of the section
    section.header.add_paragraph("{%p if stamp %}")
    stamp = section.header.add_paragraph()
    stamp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = stamp.add_run("{{ stamp }}")
    run.bold, run.font.size, run.font.color.rgb = True, Pt(11), RED
    section.header.add_paragraph("{%p endif %}")
    footer = section.footer.paragraphs[0]
    footer.text = "{{ main.procedure.title }} v{{ main.procedure.version }}\t\t{{ page_words[0] }}"
    _field(footer, "PAGE")
    footer.add_run("{{ page_words[1] }}")
    _field(footer, "NUMPAGES")
    footer.add_run("{{ page_words[2] }}")
    _small(footer)
    return doc


def _small(par: Paragraph) -> None:
    for run in par.runs:
        run.font.size = Pt(7.5)
        run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)


def _field(par: Paragraph, code: str) -> None:
    run = par.add_run()
    for kind, text in (("begin", None), ("instr", f" {code} "), ("separate", None), ("end", None)):
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        run._r.append(el)
        if kind == "separate":
            t = OxmlElement("w:t")
            t.text = "1"
            run._r.append(t)


def tag(doc: Doc, statement: str) -> None:  # type: ignore[valid-type]
    doc.add_paragraph("{%p " + statement + " %}")


def para(
    doc: Doc,
    text: str,
    *,
    bold: bool = False,
    small: bool = False,
    color: RGBColor | None = None,  # type: ignore[valid-type]
    keep: bool = False,
) -> Paragraph:
    p = doc.add_paragraph()
    run = p.add_run(text)
    run.bold = bold
    if small:
        run.font.size = Pt(8.5)
        run.font.color.rgb = RGBColor(0x44, 0x44, 0x44)
    if color is not None:
        run.font.color.rgb = color
    p.paragraph_format.keep_with_next = keep
    return p


def heading(doc: Doc, text: str, level: int) -> None:  # type: ignore[valid-type]
    doc.add_heading(text, level)


def _cant_split(row: object) -> None:
    tr_pr = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    el = OxmlElement("w:cantSplit")
    tr_pr.append(el)


def _header_row(row: object) -> None:
    tr_pr = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    tr_pr.append(OxmlElement("w:tblHeader"))


def _shade(cell: object, fill: str) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()  # type: ignore[attr-defined]
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tc_pr.append(shd)


def loop_table(doc: Doc, headers: list[str], cells: list[str], loop: str, widths: list[float]) -> Table:  # type: ignore[valid-type]
    """A table with a header row and one data row repeated by ``{%tr for ... %}``."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, text in enumerate(headers):
        cell = table.rows[0].cells[i]
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
        _shade(cell, "E8EEF3")
    _header_row(table.rows[0])
    table.rows[1].cells[0].text = "{%tr " + loop + " %}"
    for i, text in enumerate(cells):
        table.rows[2].cells[i].text = text
    table.rows[3].cells[0].text = "{%tr endfor %}"
    for row in table.rows:
        _cant_split(row)
        for i, width in enumerate(widths):
            row.cells[i].width = Mm(width)
    return table


def facts_table(doc: Doc, rows: list[tuple[str, str, str | None]]) -> None:  # type: ignore[valid-type]
    """Label/value rows; a row with a condition is wrapped in ``{%tr if %}``."""
    flat: list[tuple[str, str]] = []
    for label, value, cond in rows:
        if cond:
            flat += [("{%tr if " + cond + " %}", ""), (label, value), ("{%tr endif %}", "")]
        else:
            flat.append((label, value))
    table = doc.add_table(rows=len(flat), cols=2)
    table.style = "Table Grid"
    for row, (label, value) in zip(table.rows, flat, strict=True):
        row.cells[0].text = label
        row.cells[1].text = value
        if value and row.cells[1].paragraphs[0].runs:
            row.cells[1].paragraphs[0].runs[0].bold = True
        row.cells[0].width, row.cells[1].width = Mm(50), Mm(128)
        _cant_split(row)
    doc.add_paragraph()


def doc_heading(doc: Doc, kind: str) -> None:  # type: ignore[valid-type]
    tag(doc, "for v in views")
    tag(doc, "set _ = v._")
    heading(doc, '{{ v.docs["' + kind + '"] }}', 1)
    para(doc, "{{ v.procedure.title }}", bold=True)
    para(
        doc,
        '{{ _("Document") }} {{ doc_id }} · {{ _("Procedure version") }} {{ v.procedure.version }} · '
        '{{ _("Prepared") }} {{ v.generated }}',
        small=True,
    )
    tag(doc, "if specimen")
    para(
        doc,
        '{{ stamp }}: {{ _("Specimen for review: no patient. Every optional item is shown, with the condition '
        "under which a patient's documents include it.\") }}",
        bold=True,
        color=RED,
    )
    tag(doc, "endif")


def doc_end(doc: Doc) -> None:  # type: ignore[valid-type]
    tag(doc, "if not loop.last")
    p = doc.add_paragraph()
    p.add_run().add_break(WD_BREAK.PAGE)
    tag(doc, "endif")
    tag(doc, "endfor")


COND = '{% if r.condition %} ({{ _("Applies if: %(condition)s", condition=r.condition) }}){% endif %}'


def red_flags(doc: Doc) -> None:  # type: ignore[valid-type]
    heading(doc, '{{ _("Get help at once if you notice") }}', 2)
    tag(doc, "for flag in v.red_flags")
    para(doc, "• {{ flag.text }}", bold=False)
    tag(doc, "endfor")
    para(doc, '{{ _("Clinic urgent line, day and night:") }} {{ v.clinic.urgent_phone }}', bold=True, color=RED)
    tag(doc, "if v.emergency")
    para(doc, '{{ _("Emergency number (ambulance):") }} {{ v.emergency }}', bold=True, color=RED)
    para(
        doc,
        '{{ _("If you cannot reach us and you have trouble breathing or swallowing, call the emergency '
        'number or go to the nearest emergency department.") }}',
        small=True,
    )
    tag(doc, "else")
    para(
        doc,
        '{{ _("If you cannot reach us and you have trouble breathing or swallowing, call your local emergency '
        'number or go to the nearest emergency department.") }}',
        small=True,
    )
    tag(doc, "endif")


def consent() -> Doc:  # type: ignore[valid-type]
    doc = base()
    doc_heading(doc, "consent")
    facts_table(
        doc,
        [
            (
                '{{ _("Clinic") }}',
                '{{ v.clinic.name }}{% if v.clinic.licence %} ({{ _("licence") }} {{ v.clinic.licence }}){% endif %}'
                " · {{ v.clinic.address }} · {{ v.clinic.phone }}",
                None,
            ),
            (
                '{{ _("Patient") }}',
                "{{ v.patient.name }}{% if v.patient.sex %} · {{ v.patient.sex }}{% endif %}",
                "v.patient",
            ),
            (
                '{{ _("Date of birth") }}',
                '{{ v.patient.date_of_birth }} ({{ _("age %(age)s", age=v.patient.age) }})',
                "v.patient",
            ),
            ('{{ _("Record number") }}', "{{ v.patient.record_number }}", "v.patient"),
            ('{{ _("Identity document") }}', "{{ v.patient.identity }}", "v.patient"),
            (
                '{{ _("Guardian") }}',
                "{{ v.guardian.name }} ({{ v.guardian.relationship }}) · {{ v.guardian.identity }}",
                "v.guardian",
            ),
            ('{{ _("Consulting physician") }}', "{{ v.physicians.consulting.line }}", "v.physicians"),
            ('{{ _("Operating physician") }}', "{{ v.physicians.operating.line }}", "v.physicians"),
            ('{{ _("Consultation") }}', "{{ v.consultation }}", "v.patient"),
            ('{{ _("Planned procedure") }}', "{{ v.planned }}", "v.patient"),
        ],
    )
    heading(doc, '{{ _("The procedure") }}', 2)
    para(doc, "{{ v.procedure.title }} · {{ v.procedure.category }}", bold=True)
    tag(doc, "if v.procedure.grading")
    para(doc, "{{ v.procedure.grading_label }} {{ v.procedure.grading }}", small=True)
    tag(doc, "endif")
    para(doc, "{{ v.procedure.description }}")
    tag(doc, "for o in v.options")
    para(doc, "{{ o.label }}: {{ o.value }}", bold=True)
    tag(doc, "endfor")
    tag(doc, "if v.procedure.anaesthesia")
    heading(doc, '{{ _("Anaesthesia") }}', 3)
    para(doc, "{{ v.procedure.anaesthesia }}")
    tag(doc, "endif")
    heading(doc, '{{ _("What it can do for you") }}', 2)
    tag(doc, "for b in v.benefits")
    para(
        doc,
        '• {{ b.text }}{% if b.condition %} ({{ _("Applies if: %(condition)s", condition=b.condition) }}){% endif %}',
    )
    tag(doc, "endfor")
    para(doc, "{{ v.procedure.outcome }}")
    heading(doc, '{{ _("Risks") }}', 2)
    para(
        doc,
        '{{ _("These are the risks that matter most for this procedure. The risk disclosure in this packet '
        'explains each one, how often it happens and what we do about it.") }}'
        "{% if not specimen %} {{ v.personal_note }}{% endif %}",
    )
    loop_table(
        doc,
        ['{{ _("Risk") }}', '{{ _("How often") }}', '{{ _("How serious") }}', '{{ _("How long") }}'],
        [
            '{{ r.title }}{% if r.personal %} [{{ _("for you") }}]{% endif %}' + COND,
            "{{ r.band_name }}: {{ r.frequency }}",
            "{{ r.severity }}",
            "{{ r.permanence }}",
        ],
        "for r in v.risks",
        [60, 62, 28, 28],
    )
    heading(doc, '{{ _("Reasons not to have this procedure") }}', 2)
    para(
        doc,
        '{{ _("The doctor checked these with you. Tell us at once if any of them changes before the procedure.") }}',
    )
    tag(doc, "for c in v.contraindications.absolute")
    para(
        doc,
        '• {{ c.text }}{% if c.condition %} ({{ _("Applies if: %(condition)s", condition=c.condition) }}){% endif %}',
    )
    tag(doc, "endfor")
    tag(doc, "if v.contraindications.relative")
    heading(doc, '{{ _("Reasons for extra care") }}', 3)
    tag(doc, "for c in v.contraindications.relative")
    para(
        doc,
        '• {{ c.text }}{% if c.condition %} ({{ _("Applies if: %(condition)s", condition=c.condition) }}){% endif %}',
    )
    tag(doc, "endfor")
    tag(doc, "endif")
    tag(doc, "if v.overrides")
    heading(doc, '{{ _("Applies to you: the doctor\'s decision") }}', 3)
    tag(doc, "for o in v.overrides")
    para(
        doc,
        '{{ o.text }} — {{ _("Reason to go ahead:") }} {{ o.reason }} ({{ _("Decided by") }} {{ o.physician }})',
        bold=True,
    )
    tag(doc, "endfor")
    tag(doc, "endif")
    heading(doc, '{{ _("Other choices") }}', 2)
    tag(doc, "for a in v.alternatives")
    para(doc, "• {{ a.title }} — {{ a.text }}")
    tag(doc, "endfor")
    heading(doc, '{{ _("Time to think it over") }}', 2)
    para(doc, '{{ _("Waiting period:") }} {{ v.cooling_off.rule }}', bold=True)
    para(doc, "{{ v.cooling_off.reason }}")
    tag(doc, "if v.cooling_off.earliest")
    para(
        doc,
        '{{ _("If you sign at the time of your consultation, the procedure may start at the earliest on '
        '%(date)s.", date=v.cooling_off.earliest) }}',
    )
    tag(doc, "endif")
    para(
        doc,
        '{{ _("The exact earliest time is worked out from the time your signature is timestamped; the clinic '
        'checks it again before the procedure starts.") }}',
        small=True,
    )
    heading(doc, '{{ _("Your statements") }}', 2)
    para(doc, '{{ _("Tick each box you agree with. Ask us about anything you do not understand before you sign.") }}')
    tag(doc, "for s in v.statements")
    para(doc, "☐  {{ s }}")
    tag(doc, "endfor")
    heading(doc, '{{ _("The physician\'s statement") }}', 2)
    para(doc, "{{ v.physician_statement }}")
    tag(doc, "if v.notes")
    heading(doc, '{{ _("Physician\'s notes") }}', 3)
    tag(doc, "for line in v.notes.splitlines()")
    para(doc, "{{ line }}")
    tag(doc, "endfor")
    tag(doc, "endif")
    doc_end(doc)
    # Signatures: one row per role, never split across pages, kept with the heading.
    heading(doc, '{% for v in views %}{{ v._("Signatures") }}{% if not loop.last %} / {% endif %}{% endfor %}', 2)
    table = doc.add_table(rows=3, cols=2)
    table.style = "Table Grid"
    table.rows[0].cells[0].text = "{%tr for s in signatures %}"
    cell = table.rows[1].cells[0]
    cell.text = ""
    p = cell.paragraphs[0]
    p.add_run("{{ s.labels|join(' / ') }}").bold = True
    p.paragraph_format.keep_with_next = True
    p2 = cell.add_paragraph()
    p2.add_run("{{ s.name }}{% if s.condition %} ({{ s.condition }}){% endif %}").bold = True
    p2.paragraph_format.keep_with_next = True
    p3 = cell.add_paragraph("{% for mn in s.meanings %}{{ mn.text }}{% if not loop.last %} / {% endif %}{% endfor %}")
    p3.runs[0].font.size = Pt(8.5)
    table.rows[1].cells[1].text = ""
    table.rows[2].cells[0].text = "{%tr endfor %}"
    for row in table.rows:
        _cant_split(row)
        row.cells[0].width, row.cells[1].width = Mm(88), Mm(90)
    tr_pr = table.rows[1]._tr.get_or_add_trPr()
    height = OxmlElement("w:trHeight")
    height.set(qn("w:val"), str(int(Pt(90).twips)))  # ≥ 240 × 70 pt signature appearance
    height.set(qn("w:hRule"), "atLeast")
    tr_pr.append(height)
    return doc


def disclosure() -> Doc:  # type: ignore[valid-type]
    doc = base()
    doc_heading(doc, "disclosure")
    tag(doc, "if v.patient")
    para(doc, '{{ _("For") }} {{ v.patient.name }} · {{ _("Planned procedure") }}: {{ v.planned }}', bold=True)
    tag(doc, "endif")
    para(doc, "{{ v.disclosure_intro }}")
    tag(doc, "for b in v.risk_bands")
    heading(doc, "{{ b.name }} — {{ b.range }}", 2)
    tag(doc, "for r in b.risks")
    heading(doc, '{{ r.title }}{% if r.personal %} [{{ _("for you") }}]{% endif %}', 3)
    tag(doc, "if r.condition")
    para(doc, '{{ _("Applies if: %(condition)s", condition=r.condition) }}', bold=True, small=True, keep=True)
    tag(doc, "endif")
    para(
        doc,
        '{{ _("How often:") }} {{ r.frequency }} · {{ _("How serious:") }} {{ r.severity }} · '
        '{{ _("How long:") }} {{ r.permanence }}',
        small=True,
        keep=True,
    )
    para(doc, "{{ r.text }}", keep=True)
    para(doc, '{{ _("What we do:") }} {{ r.management }}')
    tag(doc, "endfor")
    tag(doc, "endfor")
    red_flags(doc)
    doc_end(doc)
    return doc


def care_guide() -> Doc:  # type: ignore[valid-type]
    doc = base()
    doc_heading(doc, "care-guide")
    tag(doc, "if v.patient")
    para(doc, '{{ _("For") }} {{ v.patient.name }} · {{ _("Your procedure:") }} {{ v.planned }}', bold=True)
    tag(doc, "endif")
    para(
        doc,
        '{{ _("Questions:") }} {{ v.clinic.phone }} · {{ _("Urgent, day and night:") }} {{ v.clinic.urgent_phone }}',
        bold=True,
        color=RED,
    )
    para(doc, '{{ _("All dates and times are in %(zone)s.", zone=v.zone) }}', small=True)
    heading(doc, '{{ _("Before the procedure") }}', 2)
    tag(doc, "for x in v.tests")
    para(doc, "• {{ x.text }}")
    tag(doc, "endfor")
    loop_table(
        doc,
        ['{{ _("When") }}', '{{ _("Date") }}', '{{ _("What to do") }}'],
        [
            "{{ x.when }}",
            "{{ x.date }}",
            '{{ x.text }}{% if x.condition %} ({{ _("Applies if: %(condition)s", condition=x.condition) }}){% endif %}',
        ],
        "for x in v.instructions",
        [38, 42, 98],
    )
    heading(doc, '{{ _("Recovery") }}', 2)
    loop_table(
        doc,
        ['{{ _("Phase") }}', '{{ _("What to expect") }}', '{{ _("Do") }}', '{{ _("Avoid") }}'],
        ["{{ p.title }} ({{ p.span }})", "{{ p.expect }}", "{{ p.do }}", "{{ p.avoid }}"],
        "for p in v.recovery",
        [40, 50, 44, 44],
    )
    heading(doc, '{{ _("Looking after yourself") }}', 2)
    tag(doc, "for topic in v.aftercare")
    heading(doc, "{{ topic.topic }}", 3)
    tag(doc, "for x in topic.entries")
    para(
        doc,
        "• {{ x.text }}{% if x.until %} ({{ x.until }}){% endif %}{% if x.condition %} "
        '({{ _("Applies if: %(condition)s", condition=x.condition) }}){% endif %}',
    )
    tag(doc, "endfor")
    tag(doc, "endfor")
    red_flags(doc)
    heading(doc, '{{ _("Follow-up") }}', 2)
    loop_table(
        doc,
        ['{{ _("When") }}', '{{ _("Date") }}', '{{ _("How") }}', '{{ _("Why") }}'],
        [
            "{{ f.when }}",
            "{{ f.date }}",
            "{{ f.kind }}",
            "{{ f.purpose }}{% if f.condition %} "
            '({{ _("Applies if: %(condition)s", condition=f.condition) }}){% endif %}',
        ],
        "for f in v.follow_up",
        [34, 40, 24, 80],
    )
    doc_end(doc)
    return doc


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in (("consent", consent), ("disclosure", disclosure), ("care-guide", care_guide)):
        document = build()
        core = document.core_properties
        # the packet's own title, subject, author and description replace these when a document is rendered
        core.author, core.title, core.comments = (
            "consentkit",
            name,
            "docxtpl template built by scripts/build_docx_templates.py",
        )
        core.created = core.modified = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        core.revision = 1
        path = OUT / f"{name}.docx"
        document.save(str(path))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
