"""Acceptance of issue 3: every procedure of the built-in library makes a real, approved packet for a sample patient
in every locale (and one bilingual packet), checked the way an outsider would: pdftotext holds the patient's name,
the planned date and every risk that applies; nothing overprints; pdffonts shows the fonts embedded (Chinese faces
for Chinese packets); the manifest is attached; qpdf --check passes; the DOCX copies hold the same risks.

All packets are made in this one process (fonts, stylesheets, library and compiled templates reused), about 1 s of
CPU each."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from _packet_fixtures import docx_text, overprints, sample_case, squash, word_boxes, write_case
from _review_fixtures import approve_procedures
from consentkit.packet import PacketResult, build_packet, cached_library
from consentkit.render.i18n import translator
from consentkit.render.labels import pick
from consentkit.render.timing import Clock
from consentkit.resources import builtin_dir
from consentkit.spec.library import load_library
from consentkit.workspace import Workspace, init_workspace

pytestmark = pytest.mark.slow  # ~31 packets: about 40 s of CPU

LIBRARY = load_library([builtin_dir("procedures")])
PROCEDURES = sorted(LIBRARY.procedures)
COMBOS = [(p, (loc,)) for p in PROCEDURES for loc in LIBRARY.procedures[p].model.locales]
COMBOS.append(("rhinoplasty", ("zh-TW", "en")))
NAMES = {"zh-CN": "李小梅", "zh-TW": "陳美玲", "en": "Mei Li"}
CJK_FACE = {"zh-CN": "Kurinto-Sans-SC", "zh-TW": "Kurinto-Sans-TC", "en": "Source-Sans-3"}
NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)  # before the sample's consultation (1 Dec) and procedure


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace = init_workspace(tmp_path_factory.mktemp("ws") / "clinic")
    approve_procedures(workspace, PROCEDURES)
    return workspace


def _packet(ws: Workspace, folder: Path, procedure: str, locales: tuple[str, ...]) -> PacketResult:
    data = sample_case(cached_library(ws.procedure_roots()), procedure, list(locales), ws.zone)
    data["patient"]["name"] = NAMES[locales[0]]
    return build_packet(ws, write_case(folder / "case.yaml", data), folder / "packet", now=NOW)


@pytest.mark.parametrize(("procedure", "locales"), COMBOS, ids=[f"{p}-{'+'.join(loc)}" for p, loc in COMBOS])
def test_library_packet(ws: Workspace, tmp_path: Path, procedure: str, locales: tuple[str, ...]) -> None:
    result = _packet(ws, tmp_path, procedure, locales)
    folder, case = result.directory, result.case
    spec = case.spec.model
    applying = [r for r in spec.risks if case.applies(r.applies_if)]
    pdf = folder / "packet.pdf"

    # text as pdftotext reads it (from its -bbox output, which also serves the overprint check)
    text = squash(" ".join(w[4] for _, _, words in word_boxes(pdf) for w in words))
    assert squash(NAMES[locales[0]]) in text
    for loc in locales:
        clock = Clock(translator((builtin_dir("templates"),), loc), ZoneInfo(ws.config.clinic.timezone))
        assert squash(clock.date(case.planned_at)) in text, (loc, clock.date(case.planned_at))
        for risk in applying:
            assert squash(pick(risk.title, loc)) in text, (loc, risk.id)
    assert overprints(pdf) == []  # care-guide.pdf holds the same laid-out pages as packet.pdf's care guide

    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all(" yes yes " in row for row in rows), fonts  # every font embedded and subset
    for loc in locales:
        assert any(CJK_FACE[loc] in row for row in rows), (loc, fonts)

    saved = folder.parent / "attached.json"
    subprocess.run(["pdfdetach", "-savefile", "manifest.json", "-o", str(saved), str(pdf)], check=True)
    attached = json.loads(saved.read_text(encoding="utf-8"))
    assert attached == json.loads(result.manifest.attached().to_json())
    assert attached["procedure"]["id"] == procedure and attached["locales"] == list(locales)

    for name in ("packet.pdf", "care-guide.pdf"):
        check = subprocess.run(["qpdf", "--check", str(folder / name)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr

    for doc in ("consent", "disclosure"):
        words = docx_text(folder / f"{doc}.docx")
        assert NAMES[locales[0]] in words, doc
        for loc in locales:
            for risk in applying:
                assert pick(risk.title, loc) in words, (doc, loc, risk.id)
