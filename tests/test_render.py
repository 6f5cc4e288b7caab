"""Rendering units: natural frequencies, CSS strings, catalogues, template hashes, the sandbox, local-only loading,
fonts and HarfBuzz checks, and the legal preview (``consentkit render``)."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _packet_fixtures import REPO, docx_text, pdf_pages, pdf_text, squash
from consentkit.cli import main
from consentkit.errors import ConfigError, InputError, RenderError
from consentkit.render.env import css_page_counter, css_string, render_template, template_hashes
from consentkit.render.fonts import check_harfbuzz_subset, load_fonts, local_names
from consentkit.render.frequency import band_phrase, rate_phrase, round_denominator
from consentkit.render.i18n import catalogue_path, compile_check, translator
from consentkit.render.specimen import parse_locales, render_document, specimen_input
from consentkit.resources import builtin_dir

TEMPLATES = builtin_dir("templates")


# --- natural frequencies -------------------------------------------------------------------------------------


@given(st.floats(min_value=1e-7, max_value=0.199, allow_nan=False))
def test_rounding_never_understates(rate: float) -> None:
    n = round_denominator(rate)
    assert n >= 1
    assert 1 / n >= rate * (1 - 1e-12)


@pytest.mark.parametrize(
    ("rate", "n"), [(0.1, 10), (0.04, 25), (0.03, 30), (0.0333, 30), (0.005, 200), (0.0004, 2500), (0.0001, 10000)]
)
def test_round_denominators(rate: float, n: int) -> None:
    assert round_denominator(rate) == n


def test_phrases_per_locale() -> None:
    en, cn, tw = (translator((TEMPLATES,), loc) for loc in ("en", "zh-CN", "zh-TW"))
    assert rate_phrase(0.04, en) == "about 1 in 25 people"
    assert rate_phrase(0.04, cn) == "大约每 25 人中有 1 人"
    assert rate_phrase(0.04, tw) == "大約每 25 人中有 1 人"
    assert rate_phrase(0.25, en) == "about 3 in 10 people"  # rounded up
    assert band_phrase("common", en) == "between 1 in 100 and 1 in 10 people"
    assert band_phrase("very-rare", cn) == "每 10,000 人中不到 1 人"
    assert band_phrase("very-common", tw) == "每 10 人中超過 1 人"


# --- CSS strings, catalogues, hashes ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ['A "quoted" clinic', "back\\slash", "</style><script>", "line\nbreak", "诊所"])
def test_css_string_cannot_break_out(text: str) -> None:
    out = str(css_string(text))
    assert out.startswith('"') and out.endswith('"')
    inner = out[1:-1]
    assert '"' not in inner and "<" not in inner and "\n" not in inner


def test_page_counter_tokens() -> None:
    assert (
        str(css_page_counter("第 %(page)s 页，共 %(pages)s 页"))
        == '"第 " counter(page) " 页，共 " counter(pages) " 页"'
    )


@pytest.mark.parametrize("locale", ["zh-CN", "zh-TW", "en"])
def test_catalogues_are_complete(locale: str) -> None:
    path = catalogue_path(TEMPLATES, locale)
    assert compile_check(path) == []


def test_catalogues_match_the_templates(tmp_path: Path) -> None:
    """Every message the templates and the code use is in the catalogues (pybabel extract, as translators run it)."""
    from babel.messages.pofile import read_po

    pot = tmp_path / "consentkit.pot"
    subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "pybabel"),
            "extract",
            "-F",
            str(TEMPLATES / "i18n" / "babel.cfg"),
            "-k",
            "N_",
            "-k",
            "_",
            "-o",
            str(pot),
            ".",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    wanted = {m.id for m in read_po(pot.open("rb")) if m.id}
    for locale in ("zh-CN", "zh-TW", "en"):
        have = {m.id for m in read_po(catalogue_path(TEMPLATES, locale).open("rb")) if m.id}
        assert wanted - have == set(), locale


def test_template_hashes_follow_overrides(tmp_path: Path) -> None:
    base = template_hashes((TEMPLATES,), ["zh-CN"])
    assert "html/consent.html.j2" in base and "i18n/zh_CN/LC_MESSAGES/consentkit.po" in base
    assert "i18n/zh_TW/LC_MESSAGES/consentkit.po" not in base
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "consent.html.j2").write_text("{# clinic's own #}", encoding="utf-8")
    layered = template_hashes((tmp_path, TEMPLATES), ["zh-CN"])
    assert layered["html/consent.html.j2"] != base["html/consent.html.j2"]
    assert layered["css/document.css"] == base["css/document.css"]


def test_missing_catalogue_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no catalogue for fr"):
        translator((tmp_path,), "fr")


# --- sandbox, strictness, local files ----------------------------------------------------------------------


def _roots_with(tmp_path: Path, name: str, text: str) -> tuple[Path, Path]:
    (tmp_path / "html").mkdir(exist_ok=True)
    (tmp_path / "html" / name).write_text(text, encoding="utf-8")
    return (tmp_path, TEMPLATES)


def test_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    roots = _roots_with(tmp_path, "evil.html.j2", "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(RenderError, match=r"evil\.html\.j2"):
        render_template(roots, "evil.html.j2", {})


def test_undefined_names_fail_with_template_and_line(tmp_path: Path) -> None:
    roots = _roots_with(tmp_path, "typo.html.j2", "<p>ok</p>\n<p>{{ patient.nmae }}</p>")
    with pytest.raises(RenderError, match=r"typo.html.j2:2"):
        render_template(roots, "typo.html.j2", {"patient": {"name": "x"}})


def test_loader_cannot_leave_the_template_roots(tmp_path: Path) -> None:
    roots = _roots_with(tmp_path, "x.html.j2", '{% include "../../../etc/passwd" %}')
    with pytest.raises(RenderError):
        render_template(roots, "x.html.j2", {})


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    from consentkit.render.pdf import engine_for

    return engine_for((TEMPLATES.resolve(),))


def test_fetcher_allows_only_template_files(engine) -> None:  # type: ignore[no-untyped-def]
    assert engine.fetcher.allowed((TEMPLATES / "css" / "document.css").resolve().as_uri())
    assert not engine.fetcher.allowed("file:///etc/passwd")
    assert not engine.fetcher.allowed("https://example.com/logo.png")
    assert not engine.fetcher.allowed("http://127.0.0.1/x.css")


def test_remote_image_fails_the_render(engine) -> None:  # type: ignore[no-untyped-def]
    html = '<html lang="en"><body><img src="https://example.com/logo.png" alt="x"></body></html>'
    with pytest.raises(RenderError, match="only local template files"):
        engine.layout(html, ["en"], "test.html")


def test_missing_local_image_fails_the_render(engine) -> None:  # type: ignore[no-untyped-def]
    missing = (TEMPLATES / "html" / "no-such-logo.png").resolve().as_uri()
    html = f'<html lang="en"><body><img src="{missing}" alt="x"></body></html>'
    with pytest.raises(RenderError, match=r"no-such-logo\.png"):
        engine.layout(html, ["en"], "test.html")


def test_undrawable_character_fails_the_render(engine) -> None:  # type: ignore[no-untyped-def]
    html = '<html lang="zh-Hans"><body><p>\ue000 and \U0001f600</p></body></html>'
    with pytest.raises(RenderError, match="U\\+E000"):
        engine.layout(html, ["zh-CN"], "test.html")


def test_undeclared_font_fails_the_render_naming_the_template(tmp_path: Path) -> None:
    """A stylesheet naming a family fonts.yaml does not declare (here a system font, DejaVu Sans) renders with it
    in WeasyPrint; consentkit refuses it after drawing, naming the template."""
    (tmp_path / "css").mkdir()
    css = (TEMPLATES / "css" / "document.css").read_text(encoding="utf-8")
    (tmp_path / "css" / "document.css").write_text(css + '\nh1 { font-family: "DejaVu Sans"; }\n', encoding="utf-8")
    inp, _ = specimen_input("botulinum-toxin", ("en",))
    with pytest.raises(
        RenderError, match=r"^consent\.html\.j2: uses fonts that fonts\.yaml does not declare: DejaVu Sans"
    ):
        render_document(inp, "consent", "pdf", (tmp_path, TEMPLATES))


def test_missing_harfbuzz_subset_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from weasyprint.text import ffi

    monkeypatch.setattr(ffi, "harfbuzz_subset", None)
    with pytest.raises(RenderError, match="libharfbuzz-subset0"):
        check_harfbuzz_subset()


def test_missing_font_file_is_reported(tmp_path: Path) -> None:
    fonts = tmp_path / "fonts.yaml"
    fonts.write_text(
        "faces:\n  - {family: Gone Sans, weight: 400, system: /nonexistent/GoneSans.ttf}\nstacks:\n  en: [Gone Sans]\n",
        encoding="utf-8",
    )
    with pytest.raises(RenderError, match="declared font file for Gone Sans is missing"):
        load_fonts(fonts)


NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")  # Debian fonts-noto-cjk, a collection


def test_an_embedded_font_collection_is_named_by_its_member(tmp_path: Path) -> None:
    """``render --format html`` names each embedded face with local(): a .ttc made it crash with a traceback."""
    fonts = tmp_path / "fonts.yaml"
    fonts.write_text(
        "faces:\n"
        f"  - {{family: Noto Sans CJK TC, weight: 400, package: consentkit, file: {NOTO_CJK}}}\n"
        "stacks:\n  zh-TW: [Noto Sans CJK TC]\n",
        encoding="utf-8",
    )
    declared = load_fonts(fonts)
    assert declared.faces[0].embedded and declared.faces[0].path == NOTO_CJK
    css = declared.font_face_css(["zh-TW"], portable=True)
    assert f'src: local("Noto Sans CJK TC"), local("NotoSansCJKtc-Regular"), url("{NOTO_CJK.as_uri()}")' in css
    assert local_names(NOTO_CJK, "No Such Family") == ()  # only the file then
    assert declared.missing_characters("繁體", "zh-TW") == set()


def test_spec_text_is_covered_by_the_fonts() -> None:
    fonts = load_fonts((TEMPLATES / "fonts.yaml").resolve())
    assert fonts.missing_characters("肉毒毒素注射 肉毒桿菌素注射 Botulinum — “x” ≥ ²", "zh-CN") == set()
    assert fonts.missing_characters("\ue000", "en") == {"\ue000"}


# --- legal preview ---------------------------------------------------------------------------------------------


def test_parse_locales() -> None:
    assert parse_locales("zh-CN+en", ["zh-CN", "zh-TW", "en"]) == ("zh-CN", "en")
    with pytest.raises(InputError):
        parse_locales("fr", ["zh-CN", "en"])
    with pytest.raises(InputError):
        parse_locales("en+en", ["en"])


def test_specimen_pdf_is_stamped_and_shows_conditions() -> None:
    inp, roots = specimen_input("botulinum-toxin", ("zh-CN",))
    data = render_document(inp, "disclosure", "pdf", roots)
    path = Path(__file__).parent / ".specimen-test.pdf"
    try:
        path.write_bytes(data)
        pages = pdf_pages(path)
        for page in range(1, pages + 1):
            assert "样本" in squash(pdf_text(path, first=page, last=page))
        text = squash(pdf_text(path))
    finally:
        path.unlink(missing_ok=True)
    assert "适用条件：注射部位：咬肌（下颌两侧）" in text  # an option condition in words
    assert "咀嚼无力" in text and "吞咽困难或颈部无力" in text  # every optional risk is shown
    assert "示例诊所（虚构，仅供审阅）" in text


@pytest.mark.parametrize(("lang", "html_lang"), [("zh-CN", "zh-Hans"), ("zh-TW", "zh-Hant"), ("en", "en")])
def test_specimen_html_sets_lang(lang: str, html_lang: str) -> None:
    inp, roots = specimen_input("botulinum-toxin", (lang,))
    html = render_document(inp, "care-guide", "html", roots).decode("utf-8")
    assert f'<html lang="{html_lang}">' in html
    assert "<svg" in html and "<title>" in html  # the chart with its text alternative
    assert "@font-face" in html


def test_specimen_docx_bilingual() -> None:
    inp, roots = specimen_input("botulinum-toxin", ("zh-TW", "en"))
    text = docx_text(render_document(inp, "consent", "docx", roots))
    assert "肉毒桿菌素注射" in text and "Botulinum toxin injections" in text
    assert "樣本" in text and "SPECIMEN" in text
    assert "適用條件" in text and "Applies if" in text


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_cli_render_outside_a_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONSENTKIT_WORKSPACE", raising=False)
    out = tmp_path / "preview" / "consent.pdf"
    out.parent.mkdir()  # render writes into an existing folder only
    code, text = _run(
        ["render", "botulinum-toxin", "--doc", "consent", "--lang", "zh-TW+en", "--format", "pdf", "-o", str(out)],
        capsys,
    )
    assert code == 0, text
    pdf = squash(pdf_text(out))
    assert "樣本" in pdf and "SPECIMEN" in pdf and "同意書" in pdf and "Consentform" in pdf
    assert [p.name for p in out.parent.iterdir()] == ["consent.pdf"]


def test_cli_render_refuses_a_missing_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CONSENTKIT_WORKSPACE", raising=False)
    out = tmp_path / "no" / "such" / "x.pdf"
    code, text = _run(["render", "botulinum-toxin", "--doc", "consent", "--lang", "en", "-o", str(out)], capsys)
    assert code == 2, text
    assert f"the folder {out.parent} does not exist" in text
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW"])
def test_chinese_specimen_is_also_stamped_specimen(lang: str) -> None:
    inp, roots = specimen_input("botulinum-toxin", (lang,))
    html = render_document(inp, "consent", "html", roots).decode("utf-8")
    stamp = {"zh-CN": "样本", "zh-TW": "樣本"}[lang] + " · SPECIMEN"
    assert f'<div class="stamp" aria-hidden="true">{stamp}</div>' in html
    assert stamp in docx_text(render_document(inp, "consent", "docx", roots))


@pytest.mark.parametrize(
    ("lang", "label"),
    [
        ("en", "Regulatory grade (Mainland China): 注射美容（微创）"),
        ("zh-CN", "监管分级（中国大陆）： 注射美容（微创）"),
    ],
)
def test_regulatory_grade_is_labelled(lang: str, label: str) -> None:
    """The grade is a legal term of the clinic's jurisdiction, printed as written there with the place it
    applies to, on a line of its own (not run into the procedure's category)."""
    inp, roots = specimen_input("botulinum-toxin", (lang,))
    html = render_document(inp, "consent", "html", roots).decode("utf-8")
    assert f'<p class="note">{label}</p>' in html
    assert "· 注射美容" not in html
    assert label in docx_text(render_document(inp, "consent", "docx", roots))


def test_html_preview_names_fonts_before_this_machines_files() -> None:
    inp, roots = specimen_input("botulinum-toxin", ("zh-CN",))
    html = render_document(inp, "consent", "html", roots).decode("utf-8")
    rule = next(line for line in html.splitlines() if '"Kurinto Sans SC"; font-weight: 400' in line)
    assert 'src: local("Kurinto Sans SC"), local("KurintoSansSC-Rg"), url("file:///' in rule


def test_cli_render_unknown_procedure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONSENTKIT_WORKSPACE", raising=False)
    code, text = _run(
        ["render", "botox", "--doc", "consent", "--lang", "en", "--format", "html", "-o", str(tmp_path / "x.html")],
        capsys,
    )
    assert code == 3 and "unknown procedure 'botox'" in text
    assert not (tmp_path / "x.html").exists()


def test_workspace_template_overrides_builtin(tmp_path: Path) -> None:
    from consentkit.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws")
    shutil.copytree(TEMPLATES / "html", ws.templates_dir / "html")
    page = ws.templates_dir / "html" / "care-guide.html.j2"
    page.write_text(page.read_text(encoding="utf-8").replace("{{ m.red_flags(v) }}", "{{ m.red_flags(v) }}<p>OWN</p>"))
    inp, roots = specimen_input("botulinum-toxin", ("en",), workspace=ws)
    html = render_document(inp, "care-guide", "html", roots).decode("utf-8")
    assert "<p>OWN</p>" in html
    assert "Example Aesthetic Clinic" in html  # the workspace's clinic, not the sample one


def test_weasyprint_warnings_fail_the_render(engine) -> None:  # type: ignore[no-untyped-def]
    html = '<html lang="en"><body><p style="colr: red">typo in a style</p></body></html>'
    with pytest.raises(RenderError, match="WeasyPrint reported problems"):
        engine.layout(html, ["en"], "test.html")


def test_chart_axis_labels_never_overlap() -> None:
    """On the log axis "3 months" and "6 months" sit close together; the end of recovery keeps its label and the
    one that would touch it is left out."""
    from consentkit.render.chart import Tick, _text_width, _tick_labels

    hours = {"Procedure": 0, "1 day": 24, "1 week": 168, "1 month": 720, "3 months": 2160, "6 months": 4320}
    ticks = [Tick(h, label) for label, h in hours.items()]
    placed = _tick_labels(ticks, 4320)
    labels = [t.label for t, _, _ in placed]
    assert labels[-1] == "6 months" and "3 months" not in labels and "1 month" in labels
    spans = []
    for tick, x, anchor in placed:
        width = _text_width(tick.label)
        left = x if anchor == "start" else x - width if anchor == "end" else x - width / 2
        spans.append((left, left + width))
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
