"""``consentkit review report``: the whole library as a PDF a compliance officer files (text extracted back with
poppler page by page, pages numbered across the report, PDF/A checked by qpdf, pages rasterised and looked at as
pictures), and as one self-contained, printable HTML file."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from _packet_fixtures import pdf_pages, squash
from _review_fixtures import approve_procedures
from consentkit.cli import main
from consentkit.review.report import ReportDone, write_report
from consentkit.spec.library import load_library
from consentkit.workspace import Workspace, find_workspace, init_workspace

LOCALES = ["zh-CN", "zh-TW", "en"]
STAMPS = {"zh-CN": "样本", "zh-TW": "樣本", "en": "SPECIMEN"}


def page_texts(path: Path) -> list[str]:
    """The text of every page (pdftotext separates pages with a form feed)."""
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return out.split("\f")[:-1]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A clinic issuing documents in three locales, with botulinum-toxin approved."""
    root = tmp_path_factory.mktemp("report") / "clinic"
    init_workspace(root)
    config = root / "consentkit.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"(?m)^locales = .*$", f"locales = {LOCALES!r}".replace("'", '"'), text, count=1))
    workspace = find_workspace(explicit=root)
    assert workspace is not None and list(workspace.config.clinic.locales) == LOCALES
    approve_procedures(workspace, ["botulinum-toxin"])
    return workspace


@pytest.fixture(scope="module")
def pdf(ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float, ReportDone]:
    """The whole library, specimens in zh-CN (every locale is checked on one procedure below)."""
    out = tmp_path_factory.mktemp("pdf") / "report.pdf"
    start = time.perf_counter()
    done = write_report(ws, out, locales=["zh-CN"])
    return out, time.perf_counter() - start, done


@pytest.fixture(scope="module")
def one(ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ReportDone]:
    """One procedure with the default locales: every locale the clinic issues."""
    out = tmp_path_factory.mktemp("one") / "report.pdf"
    return out, write_report(ws, out, procedures=["botulinum-toxin"])


def test_whole_library_report(ws: Workspace, pdf: tuple[Path, float, ReportDone]) -> None:
    path, seconds, done = pdf
    pages = done.pages or 0
    library = load_library(ws.procedure_roots())
    assert pdf_pages(path) == pages
    assert pages >= 1 + 4 * len(library.procedures)  # cover, then a status page and three documents each
    texts = page_texts(path)
    assert len(texts) == pages
    cover = texts[0]
    assert "Procedure library review report" in cover
    assert f"{len(library.procedures)}: 1 approved, {len(library.procedures) - 1} not approved" in cover
    text = "\n".join(texts)
    for procedure in library.procedures:
        assert f"{procedure} · version" in text, procedure
    assert "Approved. Packets may be made" in text
    assert "consentkit review approve rhinoplasty --reviewer NAME --role legal" in text
    assert "Dr Li Na" in text
    assert "signature(certificateissuedforclinicalreview)andauditeventverified" in squash(text)
    assert "Signing-profile and policy" in text and "signing profile default: the meaning printed" in text
    for check in ("Required sections present", "Cooling-off at least the policy's", "No-treatment alternative",
                  "Red flags", "Follow-up schedule", "Lint clean"):  # fmt: skip
        assert check in text
    assert text.count("FAIL") == 0  # the built-in library passes every policy check
    compact = squash(text)
    assert compact.count("知情同意书") >= len(library.procedures)  # the specimens, in the chosen locale
    assert "样本" in compact  # SPECIMEN stamp in zh-CN
    # numbered across the whole report, not per section
    for number, page in enumerate(texts, 1):
        assert f"Report page {number} of {pages}" in page, number
    assert "Cover · 1 / 1" not in text and " / 1" not in cover
    assert f"{pages}pages,eachnumbered" in squash(cover)
    # the cover's "Page" column points at each procedure's status page (a wrapped title may take a second line)
    covers = "\n".join(t for t in texts[:3] if "The library" in t or "Lint" in t)  # the cover may take 2 pages
    for procedure in library.procedures:
        found = re.search(rf"(\d+)[ \t]*\n(?:[^\n]*\n)?[ \t]*{re.escape(procedure)} · (?:workspace|built-in)", covers)
        assert found, procedure
        assert f"{procedure} · version" in texts[int(found.group(1)) - 1], (procedure, found.group(1))
    print(f"\nreview report: {pages} pages, {path.stat().st_size // 1024} KiB in {seconds:.1f} s")


def test_default_locales_are_every_locale_the_clinic_issues(one: tuple[Path, ReportDone]) -> None:
    path, done = one
    assert done.locales == tuple(LOCALES) and done.documents == 3 * len(LOCALES)
    compact = squash("\n".join(page_texts(path)))
    assert "知情同意书" in compact and "同意書" in compact and "Consentform" in compact  # zh-CN, zh-TW, en titles
    assert all(stamp in compact for stamp in STAMPS.values())


def test_report_is_a_valid_pdf_a(pdf: tuple[Path, float, ReportDone]) -> None:
    path = pdf[0]
    done = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    info = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line for line in info.splitlines()[2:] if line.strip()]
    assert rows and all(re.search(r"\byes\s+yes\b", line) for line in rows), info  # embedded and subset


def _red(r: int, g: int, b: int) -> bool:
    return r - max(g, b) > 30


def _share(image: Any, test: Callable[[int, int, int], bool]) -> float:
    """The share of an RGB image's pixels for which ``test(r, g, b)`` holds."""
    data = image.tobytes()
    pixels = list(zip(data[0::3], data[1::3], data[2::3], strict=True))
    return sum(1 for p in pixels if test(*p)) / len(pixels)


def test_report_pages_as_pictures(one: tuple[Path, ReportDone], tmp_path: Path) -> None:
    """Every page of a one-procedure report, rasterised: one picture per page, A4, neither blank nor a solid block;
    the status page names the procedure and its verdict; every SPECIMEN page carries the stamp in its own locale
    (as text, and as red ink in the picture) and the report's page number."""
    from PIL import Image

    path, done = one
    pages = done.pages or 0
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "p")], check=True)
    pictures = sorted(tmp_path.glob("p-*.png"))
    assert len(pictures) == pages == pdf_pages(path)
    texts = page_texts(path)
    status = squash(texts[1])
    assert "Botulinumtoxininjections" in status and "Approved.Packetsmaybemade" in status
    assert "botulinum-toxin·version" in status
    for number, (picture, text) in enumerate(zip(pictures, texts, strict=True), 1):
        with Image.open(picture) as image:
            rgb = image.convert("RGB")
            width, height = rgb.size
            assert abs(height / width - 297 / 210) < 0.02, (picture.name, rgb.size)
            inked = _share(rgb, lambda r, g, b: r + g + b < 600)
            # the red SPECIMEN band at the top centre of every page of a specimen document
            band = _share(rgb.crop((width * 3 // 10, 0, width * 7 // 10, height * 6 // 100)), _red)
        assert 0.003 < inked < 0.35, (number, inked)  # not blank, not a solid block
        assert f"Report page {number} of {pages}" in text
        if number > 2:  # the specimen documents
            assert any(stamp in squash(text) for stamp in STAMPS.values()), number
            assert band > 0.002, (number, band)  # the stamp is red ink on the page, not only text in the file
        else:
            assert band == 0, number


def test_html_report(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One file that can be filed alone: no frames, no file:// fonts, no absolute paths; each SPECIMEN document a
    section that starts a printed page; a summary line without '?' pages."""
    out = tmp_path / "report.html"
    code = int(main(["--workspace", str(ws.root), "review", "report", "-o", str(out), "botulinum-toxin",
                     "rhinoplasty", "--lang", "en"]) or 0)  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "2 procedures, 6 SPECIMEN documents (en), one self-contained HTML file" in err and "?" not in err
    page = out.read_text(encoding="utf-8")
    assert "<iframe" not in page and "srcdoc" not in page and "vh;" not in page
    assert "file:" not in page and str(ws.root) not in page and "/usr/" not in page and "site-packages" not in page
    assert not re.search(r"""(?:src|href)=["'](?!#|data:)""", page)
    assert page.count('<section class="specimen"') == 6
    assert page.count('<div class="stamp"') == 6  # each document keeps its SPECIMEN stamp
    assert "Approved." in page and "Not approved." in page
    assert 'src: local("Source Sans 3")' in page and "sans-serif" in page
    assert ".specimen-doc h1" in page and "section.specimen { break-before: page; }" in page
    assert 'counter(page) " of " counter(pages)' in page


def test_report_needs_pdf_or_html(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        main(["--workspace", str(ws.root), "review", "report", "-o", str(tmp_path / "r.txt")])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 2 and ".pdf or .html" in capsys.readouterr().err
