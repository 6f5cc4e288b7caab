"""Layout of a patient's packet: nothing overprints or runs off the page, however long the dates (English, timed
preparation steps) or the patient-supplied text (a 175-character name with no spaces)."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from _packet_fixtures import docx_text, example_case, overprints, pdf_text, sample_case, squash, word_boxes, write_case
from consentkit.packet import PacketResult, build_packet, cached_library
from consentkit.workspace import Workspace, init_workspace

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
ZONE = ZoneInfo("Asia/Shanghai")
NOTES = "Frown lines 2/4 at rest.\nPatient asked about repeat treatment; told 3 to 4 months."
LONG_NAME = "Wolfeschlegelsteinhausenbergerdorff" * 5  # 175 characters, no space


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return init_workspace(tmp_path_factory.mktemp("ws") / "clinic")


@pytest.fixture(scope="module")
def long_packet(ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> PacketResult:
    """Rhinoplasty in English (timed fasting steps: "Tue, 22 Dec 2026, 01:00 (China Standard Time)"), every
    person's name 175 characters long."""
    folder = tmp_path_factory.mktemp("long")
    data = sample_case(cached_library(ws.procedure_roots()), "rhinoplasty", ["en"], ws.zone)
    data["patient"]["name"] = LONG_NAME
    data["patient"]["record_number"] = "R" * 64
    data["physicians"] = {
        "consulting": {"name": "Dr" + LONG_NAME, "specialty": "S" * 80, "licence": "L" * 60},
        "operating": {"name": "Dr" + LONG_NAME},
    }
    data["witness"] = {"name": "W" + LONG_NAME}
    return build_packet(ws, write_case(folder / "case.yaml", data), folder / "out", draft=True, now=NOW)


@pytest.mark.parametrize("name", ["packet.pdf", "care-guide.pdf"])
def test_nothing_overprints_or_leaves_the_page(long_packet: PacketResult, name: str) -> None:
    assert overprints(long_packet.directory / name) == []


def test_long_dates_and_name_are_all_printed(long_packet: PacketResult) -> None:
    text = squash(pdf_text(long_packet.directory / "packet.pdf"))
    assert "Tue,22Dec2026" in text and "01:00(ChinaStandardTime)" in text  # fasting, 8 hours before
    assert text.count(LONG_NAME) >= 3  # consent form facts, signature block, disclosure


def test_signature_boxes_stay_empty(long_packet: PacketResult) -> None:
    """A long name beside a signature box wraps beside it; no text runs into the box the signer signs in."""
    pages = word_boxes(long_packet.directory / "packet.pdf")
    for box in long_packet.manifest.signature_boxes:
        _width, height, words = pages[box.page - 1]
        x1, y1, x2, y2 = box.rect  # PDF points, origin bottom-left
        top, bottom = height - y2, height - y1
        inside = [w[4] for w in words if w[0] < x2 and w[2] > x1 and w[1] < bottom and w[3] > top and w[3] - w[1] < 30]
        assert inside == [], (box.role, inside)


@pytest.fixture(scope="module")
def bilingual_packet(ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> PacketResult:
    folder = tmp_path_factory.mktemp("bilingual")
    data = example_case()
    data["locales"] = ["zh-CN", "en"]
    data["notes"] = NOTES
    return build_packet(ws, write_case(folder / "case.yaml", data), folder / "out", draft=True, now=NOW)


def test_calendar_agrees_with_the_care_guide(bilingual_packet: PacketResult) -> None:
    """Each aftercare rule's last day in the calendar (DTEND is exclusive) is the date the care guide prints."""
    from consentkit.render.i18n import translator
    from consentkit.render.timing import Clock
    from consentkit.resources import builtin_dir

    spec = bilingual_packet.case.spec.model
    guide = squash(pdf_text(bilingual_packet.directory / "care-guide.pdf"))
    ics = bilingual_packet.directory.joinpath("follow-up.ics").read_bytes().decode("utf-8").replace("\r\n ", "")
    clocks = {loc: Clock(translator((builtin_dir("templates"),), loc), ZONE) for loc in ("zh-CN", "en")}
    events = re.findall(r"UID:[^\r]*-care-([a-z-]+)@consentkit\r\n(.*?)END:VEVENT", ics, re.DOTALL)
    assert {uid for uid, _ in events} >= {"no-rubbing", "other-treatments", "alcohol", "stay-upright"}
    for uid, body in events:
        end = re.search(r"DTEND;VALUE=DATE:(\d{8})", body)
        if end is None:
            continue  # hour-based: a timed event
        last = dt.datetime.strptime(end.group(1), "%Y%m%d").date() - dt.timedelta(days=1)
        item = next(i for _, items in spec.aftercare.topics() for i in items if i.id == uid)
        assert item.lasts is not None
        span = item.lasts.replace("d", " day" if item.lasts == "1d" else " days")
        en = f"{item.text['en']} (for {span}, until {clocks['en'].date(last)})"
        assert squash(en) in guide, en
        zh = re.escape(squash(item.text["zh-CN"])) + r"\(持续\d+天，至" + re.escape(squash(clocks["zh-CN"].date(last)))
        assert re.search(zh, guide), zh


def test_docx_facts_match_the_pdf(bilingual_packet: PacketResult) -> None:
    """Every row of the consent DOCX's facts table says what the PDF says (the physicians' specialty and licence
    included)."""
    import docx

    def words(text: str) -> str:  # the PDF sets the clinic's address on its own line, the DOCX after a " · "
        return squash(text).replace("·", "")

    pdf = words(pdf_text(bilingual_packet.directory / "packet.pdf"))
    document = docx.Document(str(bilingual_packet.directory / "consent.docx"))
    rows = [(r.cells[0].text, r.cells[1].text) for r in document.tables[0].rows]
    assert any("整形外科" in value and "110310000000001" in value for _, value in rows), rows
    for label, value in rows:
        assert words(label) in pdf and words(value) in pdf, (label, value)


def test_docx_draft_stamp_on_every_page_and_packet_metadata(bilingual_packet: PacketResult) -> None:
    import docx

    stamp = "草稿——不得签署 · DRAFT — NOT FOR SIGNATURE"
    for name, kind in (("consent", "知情同意书"), ("disclosure", "风险告知书"), ("care-guide", "护理指南")):
        document = docx.Document(str(bilingual_packet.directory / f"{name}.docx"))
        for section in document.sections:  # the header repeats on every page of its section
            assert stamp in [p.text for p in section.header.paragraphs], name
        core = document.core_properties
        doc_id = (
            f"{bilingual_packet.manifest.packet_id}-{ {'consent': 'C', 'disclosure': 'D', 'care-guide': 'G'}[name] }"
        )
        assert core.title == f"{kind} — 肉毒毒素注射"
        assert core.subject == f"肉毒毒素注射 v{bilingual_packet.manifest.procedure.version}"
        assert core.author == "示例医疗美容诊所"
        assert core.identifier == doc_id and doc_id in core.comments and "docxtpl" not in core.comments
        assert core.category == stamp


def _struct_elements(pdf: Path) -> list[dict[str, Any]]:
    out = subprocess.run(["qpdf", "--json=2", "--json-key=qpdf", str(pdf)], capture_output=True, check=True).stdout
    objects = json.loads(out)["qpdf"][1]
    values = [o.get("value") for o in objects.values()]
    return [v for v in values if isinstance(v, dict) and v.get("/Type") == "/StructElem"]


def test_bilingual_tags_carry_each_sections_language(bilingual_packet: PacketResult) -> None:
    """Screen readers read each half in its language: every locale section's structure element has /Lang, and
    the recovery chart's /Alt reads the timeline out in words (its <title> and <desc>)."""
    elements = _struct_elements(bilingual_packet.directory / "packet.pdf")
    sections = [e.get("/Lang") for e in elements if e.get("/S") == "/Sect"]
    assert set(sections) == {"u:zh-Hans", "u:en"}, sections  # one element per section and page, none without
    figures = [e for e in elements if e.get("/S") == "/Figure"]
    alts = [str(e.get("/Alt", "")) for e in figures]
    assert any("Recovery timeline: First 4 hours: within 4 hours after; First day:" in a for a in alts), alts
    assert {e.get("/Lang") for e in figures} == {"u:zh-Hans", "u:en"}


def test_physicians_notes_are_printed_on_the_consent_form(bilingual_packet: PacketResult) -> None:
    consent = squash(pdf_text(bilingual_packet.directory / "packet.pdf", first=1, last=6))
    for line in NOTES.splitlines():
        assert consent.count(squash(line)) == 2  # in each locale's section, under 医生备注 / Physician's notes
    assert "医生备注" in consent and "Physician'snotes" in consent
    docx = docx_text(bilingual_packet.directory / "consent.docx")
    assert all(line in docx for line in NOTES.splitlines())


def test_packet_pdf_metadata_is_the_packets(bilingual_packet: PacketResult) -> None:
    info = subprocess.run(
        ["pdfinfo", str(bilingual_packet.directory / "packet.pdf")], capture_output=True, text=True, check=True
    ).stdout
    packet_id = bilingual_packet.manifest.packet_id
    subject = next(line for line in info.splitlines() if line.startswith("Subject:"))
    keywords = next(line for line in info.splitlines() if line.startswith("Keywords:"))
    assert subject.endswith(f"知情同意书 · 风险告知书 · 护理指南: 肉毒毒素注射 ({packet_id})"), subject
    assert f"packet, {packet_id}, {packet_id}-C, {packet_id}-D, {packet_id}-G" in keywords, keywords
