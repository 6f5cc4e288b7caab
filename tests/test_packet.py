"""``consentkit packet``: a real packet built from the example case, checked with poppler, qpdf and python-docx."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from _dates import EXAMPLE_NOW
from _packet_fixtures import docx_text, example_case, pdf_pages, pdf_text, squash, write_case
from _review_fixtures import approve_procedures
from consentkit.cli import main
from consentkit.errors import CaseError, InputError, RefusedError
from consentkit.manifest import read_manifest
from consentkit.packet import PacketResult, build_packet
from consentkit.workspace import Workspace, init_workspace

APPLYING = ["头痛", "上眼皮下垂", "淤青更多、更久", "过敏反应", "药物扩散到远处"]  # upper-face, anticoagulants
NOT_APPLYING = ["咀嚼无力", "吞咽困难或颈部无力"]  # jaw, neck only


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace = init_workspace(tmp_path_factory.mktemp("ws") / "clinic")
    approve_procedures(workspace)
    return workspace


@pytest.fixture(scope="module")
def packet(ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> PacketResult:
    folder = tmp_path_factory.mktemp("packet")
    case = write_case(folder / "case.yaml", example_case(as_written=True))  # its exact dates are checked below
    return build_packet(ws, case, folder / "out", now=EXAMPLE_NOW)


def test_packet_folder_holds_every_output(packet: PacketResult) -> None:
    names = sorted(p.name for p in packet.directory.iterdir())
    assert names == [
        "care-guide.docx",
        "care-guide.pdf",
        "consent.docx",
        "disclosure.docx",
        "follow-up.ics",
        "manifest.json",
        "packet.pdf",
    ]
    manifest = read_manifest(packet.directory / "manifest.json")
    assert manifest == packet.manifest
    for out in manifest.outputs:
        data = (packet.directory / out.name).read_bytes()
        assert out.size == len(data)
        import hashlib

        assert out.sha256 == hashlib.sha256(data).hexdigest()
    assert manifest.packet is not None
    assert manifest.packet.size == (packet.directory / "packet.pdf").stat().st_size
    assert set(packet.output_hashes) == {o.name for o in manifest.outputs} | {"packet.pdf"}


def test_manifest_contract(packet: PacketResult) -> None:
    m = packet.manifest
    assert m.case_id == "C-2026-0042"
    assert m.procedure.id == "botulinum-toxin"
    assert m.procedure.spec_hash.startswith("sha256:")
    assert m.subject.startswith("hmac-sha256:")
    assert m.required_roles == ["clinic", "physician", "patient"]
    assert [b.role for b in m.signature_boxes] == m.required_roles
    assert [b.field for b in m.signature_boxes] == ["sig-clinic", "sig-physician", "sig-patient"]
    assert m.options == {"area": "upper-face"}
    assert m.cooling_off.days == 1
    assert not m.draft
    for name in ("html/consent.html.j2", "css/document.css", "fonts.yaml", "i18n/zh_CN/LC_MESSAGES/consentkit.po"):
        assert name in m.templates
    # no names or identity numbers besides the printed signer names
    text = (packet.directory / "manifest.json").read_text(encoding="utf-8")
    assert "110101199004180023" not in text
    assert "MRN-000123" not in text
    data = json.loads(text)
    for box in data["signature_boxes"]:
        box.pop("signer_name")
    assert "李小梅" not in json.dumps(data, ensure_ascii=False)


def test_signature_boxes_are_large_whole_and_in_order(packet: PacketResult) -> None:
    pages = pdf_pages(packet.directory / "packet.pdf")
    previous: tuple[int, float] | None = None
    for box in packet.manifest.signature_boxes:
        x1, y1, x2, y2 = box.rect
        assert 1 <= box.page <= pages
        assert x2 - x1 >= 240 and y2 - y1 >= 70
        assert 0 <= x1 < x2 <= 595.3 and 0 <= y1 < y2 <= 841.9
        if previous is not None:  # later roles sit lower on the same page, or on a later page
            assert (box.page, -y2) > (previous[0], -previous[1])
        previous = (box.page, y1)
    assert packet.manifest.signature_boxes[0].signer_name == "示例医疗美容诊所"
    assert packet.manifest.signature_boxes[2].signer_name == "李小梅"


def test_pdf_text_holds_risks_patient_and_dates(packet: PacketResult) -> None:
    text = squash(pdf_text(packet.directory / "packet.pdf"))
    for title in APPLYING:
        assert title in text
    for title in NOT_APPLYING:
        assert title not in text
    assert "李小梅" in text
    assert "2026年12月8日" in text  # planned procedure
    assert "2026年12月1日" in text  # stop aspirin 7 days before
    assert "2026年12月22日" in text  # 2-week review
    assert "2027年3月8日" in text  # 3-month call
    assert "中国标准时间" in text  # zone named
    assert "大约每25人中有1人" in text  # rate 0.04 as a natural frequency
    assert "+862155550199" in text  # urgent line
    assert re.search(r"第1页，共\d页.*第1页，共\d页.*第1页，共\d页", text)  # each document numbered on its own
    for role_meaning in ("同意接受本项目", "回答了患者的问题"):
        assert role_meaning in text


def test_care_guide_pdf_stands_alone(packet: PacketResult) -> None:
    text = squash(pdf_text(packet.directory / "care-guide.pdf"))
    assert text.count("护理指南") >= 1
    assert "知情同意书" not in text.replace("知情同意书C", "")  # no consent pages in the take-home copy
    assert "2026年12月1日" in text
    assert "恢复时间线" in text or "第一天" in text  # the chart's labels extract as text


def test_fonts_are_embedded(packet: PacketResult) -> None:
    out = subprocess.run(["pdffonts", str(packet.directory / "packet.pdf")], capture_output=True, text=True, check=True)
    rows = out.stdout.splitlines()[2:]
    assert rows and all(" yes yes " in row for row in rows)  # embedded, subset
    assert any("Kurinto-Sans-SC" in row for row in rows)


def test_pdfa_metadata_and_attached_manifest(packet: PacketResult, tmp_path: Path) -> None:
    pdf = packet.directory / "packet.pdf"
    meta = subprocess.run(["pdfinfo", "-meta", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert 'pdfaid:part="3"' in meta and 'pdfaid:conformance="B"' in meta
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Tagged:          yes" in info
    assert "肉毒毒素注射" in info  # title
    listing = subprocess.run(["pdfdetach", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "manifest.json" in listing
    subprocess.run(["pdfdetach", "-save", "1", "-o", str(tmp_path / "m.json"), str(pdf)], check=True)
    attached = (tmp_path / "m.json").read_text(encoding="utf-8")
    assert attached == packet.manifest.attached().to_json()
    assert json.loads(attached)["packet"] is None


def test_qpdf_check(packet: PacketResult) -> None:
    for name in ("packet.pdf", "care-guide.pdf"):
        result = subprocess.run(["qpdf", "--check", str(packet.directory / name)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_docx_copies_hold_the_same_content(packet: PacketResult) -> None:
    consent = docx_text(packet.directory / "consent.docx")
    disclosure = docx_text(packet.directory / "disclosure.docx")
    care = docx_text(packet.directory / "care-guide.docx")
    for title in APPLYING:
        assert title in consent and title in disclosure
    for title in NOT_APPLYING:
        assert title not in consent
    assert "李小梅" in consent
    assert "2026年12月1日" in care and "2026年12月22日" in care
    assert "{{" not in consent + disclosure + care and "{%" not in consent + disclosure + care


def test_ics_holds_dated_events(packet: PacketResult) -> None:
    ics = (packet.directory / "follow-up.ics").read_bytes().decode("utf-8")
    assert "DTSTART;VALUE=DATE:20261201" in ics  # stop aspirin
    assert "DTSTART;VALUE=DATE:20261222" in ics  # 2-week visit
    assert "DTSTART;TZID=Asia/Shanghai:20261208T143000" in ics  # the procedure


def _build(ws: Workspace, tmp_path: Path, data: dict[str, Any], **kwargs: Any) -> PacketResult:
    return build_packet(ws, write_case(tmp_path / "case.yaml", data), tmp_path / "out", **kwargs)


def test_draft_is_stamped_on_every_page(ws: Workspace, tmp_path: Path) -> None:
    result = _build(ws, tmp_path, example_case(), draft=True)
    assert result.manifest.draft
    pdf = result.directory / "packet.pdf"
    for page in range(1, pdf_pages(pdf) + 1):
        assert "草稿——不得签署" in squash(pdf_text(pdf, first=page, last=page))
    assert "草稿" in docx_text(result.directory / "consent.docx")


def test_minor_gets_a_guardian_box(ws: Workspace, tmp_path: Path) -> None:
    data = example_case()
    data["patient"]["date_of_birth"] = dt.date(2010, 6, 1)
    data["guardian"] = {
        "name": "李大海",
        "relationship": "父亲",
        "identity": {"type": "resident-id", "number": "110101197501010011"},
    }
    result = _build(ws, tmp_path, data)
    roles = [b.role for b in result.manifest.signature_boxes]
    assert roles == ["clinic", "physician", "patient", "guardian"]
    assert result.manifest.box("guardian").signer_name == "李大海"  # type: ignore[union-attr]
    text = squash(pdf_text(result.directory / "packet.pdf"))
    assert "李大海" in text and "法定" not in text  # zh-CN wording: 监护人
    assert "监护人" in text


def test_minor_without_guardian_is_refused_with_location(ws: Workspace, tmp_path: Path) -> None:
    data = example_case()
    data["patient"]["date_of_birth"] = dt.date(2010, 6, 1)
    with pytest.raises(CaseError) as err:
        _build(ws, tmp_path, data)
    assert err.value.location is not None and err.value.location.line is not None
    assert str(err.value).startswith(str(tmp_path / "case.yaml") + ":")
    assert "guardian" in str(err.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "{{ 7*7 }}", "{% raw %}x&amp;y"])
def test_patient_text_prints_literally(ws: Workspace, tmp_path: Path, name: str) -> None:
    data = example_case()
    data["patient"]["name"] = name
    data["notes"] = name
    result = _build(ws, tmp_path, data)
    assert squash(name) in squash(pdf_text(result.directory / "packet.pdf"))
    assert name in docx_text(result.directory / "consent.docx")
    assert result.manifest.box("patient").signer_name == name  # type: ignore[union-attr]


def test_bilingual_packet(ws: Workspace, tmp_path: Path) -> None:
    data = example_case()
    data["locales"] = ["zh-CN", "en"]
    result = _build(ws, tmp_path, data)
    text = squash(pdf_text(result.directory / "packet.pdf"))
    assert "上眼皮下垂" in text and "Droopinguppereyelid" in text
    assert "about1in25people" in text
    assert result.manifest.locales == ["zh-CN", "en"]


def test_absolute_contraindication_refuses(ws: Workspace, tmp_path: Path) -> None:
    data = example_case()
    data["intake"]["pregnant"] = True
    with pytest.raises(RefusedError, match="pregnancy"):
        _build(ws, tmp_path, data)
    assert not (tmp_path / "out").exists()


def test_relative_contraindication_override_is_printed(ws: Workspace, tmp_path: Path) -> None:
    data = example_case()
    data["intake"]["aminoglycosides"] = True
    with pytest.raises(RefusedError, match="override"):
        _build(ws, tmp_path, data)
    data["overrides"] = [
        {
            "contraindication": "aminoglycosides",
            "reason": "Course of gentamicin ends 10 days before; dose reduced.",
            "physician": "王医生",
        }
    ]
    result = _build(ws, tmp_path, data)
    text = squash(pdf_text(result.directory / "packet.pdf"))
    assert "Courseofgentamicinends10daysbefore" in text


def test_failure_midway_leaves_nothing(ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import consentkit.packet as packet_module

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("disk full while writing the calendar")

    monkeypatch.setattr(packet_module, "calendar_text", broken)
    with pytest.raises(RuntimeError):
        _build(ws, tmp_path, example_case())
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["case.yaml"]  # no temporary folder left behind


def test_non_empty_target_is_refused(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        _build(ws, tmp_path, example_case())
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


def _cli(ws: Workspace, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(["--workspace", str(ws.root), *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_cli_packet(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = write_case(tmp_path / "case.yaml", example_case())
    code, out = _cli(ws, "packet", str(case), "-o", str(tmp_path / "p"), "--draft", capsys=capsys)
    assert code == 0, out
    assert "signatures needed: clinic (page" in out
    assert (tmp_path / "p" / "manifest.json").exists()


BAD_CASES = [
    ("procedure", "botox-forever", "case.yaml:2 procedure", "unknown procedure"),
    ("options", {"area": "scalp"}, "options.area", "not a choice"),
    ("options", {"colour": "blue"}, "options.colour", "not an option"),
    ("intake", {"smoker": False, "favourite-food": True}, "intake.favourite-food", "not an intake question"),
    ("planned_at", "08/12/2026 14:30", "planned_at", ""),
]


@pytest.mark.parametrize(("key", "value", "where", "message"), BAD_CASES)
def test_cli_bad_case_exits_3_with_file_line_field(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: Any, where: str, message: str
) -> None:
    data = example_case()
    if key == "intake":
        data["intake"].update(value)
    else:
        data[key] = value
    case = write_case(tmp_path / "case.yaml", data)
    code, out = _cli(ws, "packet", str(case), "-o", str(tmp_path / "p"), capsys=capsys)
    assert code == 3, out
    first = out.strip().splitlines()[0]
    assert first.startswith("error: " + str(tmp_path / "case.yaml") + ":"), first
    assert where.split(":")[-1].split()[-1] in first
    assert message in out
    assert "Traceback" not in out
    assert not (tmp_path / "p").exists()


def test_cli_refusal_exits_1(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = example_case()
    data["intake"]["toxin-allergy"] = True
    case = write_case(tmp_path / "case.yaml", data)
    code, out = _cli(ws, "packet", str(case), "-o", str(tmp_path / "p"), capsys=capsys)
    assert code == 1, out
    assert "absolute contraindication 'toxin-allergy'" in out
