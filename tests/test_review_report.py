"""``consentkit review report``: the whole library as a PDF a compliance officer files (text extracted back with
poppler, pages counted, PDF/A checked by qpdf), and as HTML."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from _packet_fixtures import pdf_pages, pdf_text, squash
from _review_fixtures import approve_procedures
from consentkit.cli import main
from consentkit.review.report import write_report
from consentkit.spec.library import load_library
from consentkit.workspace import Workspace, init_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace = init_workspace(tmp_path_factory.mktemp("report") / "clinic")
    approve_procedures(workspace, ["botulinum-toxin"])
    return workspace


@pytest.fixture(scope="module")
def pdf(ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float, int]:
    out = tmp_path_factory.mktemp("pdf") / "report.pdf"
    start = time.perf_counter()
    done = write_report(ws, out)
    return out, time.perf_counter() - start, done.pages or 0


def test_whole_library_report(ws: Workspace, pdf: tuple[Path, float, int]) -> None:
    path, seconds, pages = pdf
    library = load_library(ws.procedure_roots())
    assert pdf_pages(path) == pages
    assert pages >= 1 + 4 * len(library.procedures)  # cover, then a status page and three documents each
    cover = pdf_text(path, first=1, last=1)
    assert "Procedure library review report" in cover
    assert f"{len(library.procedures)}: 1 approved, {len(library.procedures) - 1} not approved" in cover
    text = pdf_text(path)
    for procedure in library.procedures:
        assert f"{procedure} · version" in text, procedure
    assert "Approved. Packets may be made" in text
    assert "consentkit review approve rhinoplasty --reviewer NAME --role legal" in text
    assert "Dr Li Na" in text and "signature and audit event verified" in text
    for check in ("Required sections present", "Cooling-off at least the policy's", "No-treatment alternative",
                  "Red flags", "Follow-up schedule", "Lint clean"):  # fmt: skip
        assert check in text
    assert text.count("FAIL") == 0  # the built-in library passes every policy check
    compact = squash(text)
    assert compact.count("知情同意书") >= len(library.procedures)  # the specimens, in the clinic's first locale
    assert "样本" in compact  # SPECIMEN stamp in zh-CN
    print(f"\nreview report: {pages} pages, {path.stat().st_size // 1024} KiB in {seconds:.1f} s")


def test_report_is_a_valid_pdf_a(pdf: tuple[Path, float, int]) -> None:
    path = pdf[0]
    done = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    info = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line for line in info.splitlines()[2:] if line.strip()]
    assert rows and all(re.search(r"\byes\s+yes\b", line) for line in rows), info  # embedded and subset


def test_report_pages_as_pictures(pdf: tuple[Path, float, int], tmp_path: Path) -> None:
    """The cover and the first status page rasterise (what a person looked at while writing the report)."""
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "2", str(pdf[0]), str(tmp_path / "p")], check=True)
    pictures = sorted(tmp_path.glob("p-*.png"))
    assert len(pictures) == 2 and all(p.stat().st_size > 5_000 for p in pictures)


def test_html_report(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    code = int(main(["--workspace", str(ws.root), "review", "report", "-o", str(out), "botulinum-toxin",
                     "rhinoplasty", "--lang", "en"]) or 0)  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "2 procedures" in err
    page = out.read_text(encoding="utf-8")
    assert page.count('<iframe class="specimen"') == 6
    assert "Approved." in page and "Not approved." in page
    assert 'srcdoc="&lt;!DOCTYPE html&gt;' in page


def test_report_needs_pdf_or_html(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        main(["--workspace", str(ws.root), "review", "report", "-o", str(tmp_path / "r.txt")])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 2 and ".pdf or .html" in capsys.readouterr().err
