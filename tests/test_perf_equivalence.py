"""The speed-ups of lint and rendering give the same answers as the straightforward code they replace: character
maps read without fontTools, the sample case dumped with libyaml, Babel formatting and spec hashes kept per
process, the lint's rendering rules run in parallel."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from consentkit.render import sfnt
from consentkit.render.fonts import _cmap_fonttools, fonts_for
from consentkit.resources import builtin_dir
from consentkit.spec.library import load_library

TEMPLATES = builtin_dir("templates")


@pytest.fixture(scope="module")
def library():  # type: ignore[no-untyped-def]
    return load_library((builtin_dir("procedures"),))


def _font_files() -> list[tuple[Path, str | None]]:
    """Every declared face, and the system's other font files (other cmap layouts and formats)."""
    found: list[tuple[Path, str | None]] = [(f.path, f.family) for f in fonts_for((TEMPLATES,)).faces]
    for path in sorted(Path("/usr/share/fonts").rglob("*")):
        if path.suffix.lower() in (".ttf", ".otf"):
            found.append((path, None))
    return found


@pytest.mark.parametrize(("path", "family"), _font_files(), ids=lambda v: getattr(v, "name", str(v)))
def test_cmap_reader_agrees_with_fonttools(path: Path, family: str | None) -> None:
    fast = sfnt.codepoints(path, family)
    if family is None:
        from fontTools.ttLib import TTFont

        expected = frozenset(TTFont(str(path), lazy=True).getBestCmap() or {})
    else:
        expected = _cmap_fonttools(path, family)
    # None means "ask fontTools" (an unusual table): never a different answer
    assert fast is None or fast == expected
    if family is not None:
        assert fast is not None, "the declared faces must take the fast path"


def test_cmap_reader_every_face_of_a_collection() -> None:
    from fontTools.ttLib import TTCollection

    path = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
    if not path.is_file():
        pytest.skip("fonts-noto-cjk is not installed")
    for font in TTCollection(str(path), lazy=True).fonts:
        family = font["name"].getDebugName(1)
        assert sfnt.codepoints(path, family) == frozenset(font.getBestCmap())
    assert sfnt.codepoints(path, "No Such Face") is None  # then fontTools raises the usual error


def test_cmap_reader_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"\x00\x01\x00\x00" + b"\xff" * 20)
    assert sfnt.codepoints(bad) is None
    assert sfnt.codepoints(tmp_path / "missing.ttf") is None


def test_sample_case_yaml_is_the_same_with_libyaml(library) -> None:  # type: ignore[no-untyped-def]
    from consentkit.render.sample import sample_case_data

    if not hasattr(yaml, "CSafeDumper"):
        pytest.skip("PyYAML without libyaml")
    zone = ZoneInfo("Asia/Shanghai")
    for spec_id in sorted(library.procedures):
        spec = library.procedure(spec_id).model
        for locales in (["zh-CN"], ["zh-TW"], ["en"], ["zh-CN", "en"]):
            data = sample_case_data(library, spec, locales, zone)
            assert yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False) == yaml.safe_dump(
                data, allow_unicode=True, sort_keys=False
            )


def test_kept_babel_formatting_equals_babel() -> None:
    from babel.dates import format_skeleton, format_time, get_timezone_name
    from babel.numbers import format_decimal

    from consentkit.render.frequency import _decimal
    from consentkit.render.i18n import translator
    from consentkit.render.timing import Clock

    instant = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)  # a different date in London, Shanghai, Los Angeles
    moments = [instant + dt.timedelta(hours=h) for h in range(0, 48, 7)] + [
        dt.datetime(2026, 11, 1, 8, 30, tzinfo=dt.UTC)
    ]
    for locale in ("zh-CN", "zh-TW", "en"):
        t = translator((TEMPLATES,), locale)
        for zone_name in ("Asia/Shanghai", "Europe/London", "America/Los_Angeles", "UTC"):
            zone = ZoneInfo(zone_name)
            clock = Clock(t, zone)
            for at in moments:
                local = at.astimezone(zone)
                assert clock.date(at) == format_skeleton("yMMMEd", local, locale=t.babel_locale)
                assert clock.plain_date(local.date()) == format_skeleton("yMMMd", local.date(), locale=t.babel_locale)
                assert clock.time(at) == format_time(local, "HH:mm", locale=t.babel_locale)
                assert clock.zone_name(at) == get_timezone_name(local, locale=t.babel_locale)
        for n in (1, 10, 12, 1000, 3002, 10000, 100000):
            assert _decimal(n, t.babel_locale) == format_decimal(n, locale=t.babel_locale)


def testmodel_hash_is_kept_per_spec_object(library) -> None:  # type: ignore[no-untyped-def]
    from consentkit.render.specimen import model_hash
    from consentkit.spec.canonical import content_hash

    for spec_id in sorted(library.procedures):
        spec = library.procedure(spec_id).model
        assert model_hash(spec) == content_hash(spec)
        assert model_hash(spec) == content_hash(spec)
    other = library.procedure("rhinoplasty").model.model_copy(update={"version": "9.9.9"})
    assert model_hash(other) == content_hash(other) != content_hash(library.procedure("rhinoplasty").model)


@pytest.fixture()
def broken_ws(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Four specs, a glyph no font has, and templates that fail only for a patient, only as a specimen, only in
    English — so every pass of the dry run has something to find."""
    import shutil

    from consentkit.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws")
    for name in ("botulinum-toxin", "rhinoplasty", "liposuction", "chemical-peel"):
        shutil.copy(builtin_dir("procedures") / f"{name}.yaml", ws.procedures_dir)
    spec = ws.procedures_dir / "rhinoplasty.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("en: ", "en: \ue123 ", 1), encoding="utf-8")
    shutil.copytree(TEMPLATES / "html", ws.templates_dir / "html")
    page = ws.templates_dir / "html" / "consent.html.j2"
    page.write_text(
        page.read_text(encoding="utf-8").replace(
            "{% block body %}",
            "{% block body %}{% if not specimen %}{{ v.patient.nmae }}{% endif %}"
            "{% if v.code == 'en' %}{{ v.only_en }}{% endif %}",
            1,
        ),
        encoding="utf-8",
    )
    page = ws.templates_dir / "html" / "care-guide.html.j2"
    page.write_text(
        page.read_text(encoding="utf-8").replace(
            "{% block body %}", "{% block body %}{% if specimen %}{{ v.only_specimen }}{% endif %}", 1
        ),
        encoding="utf-8",
    )
    return ws


def test_costly_rules_apart_in_workers_find_the_same(broken_ws) -> None:  # type: ignore[no-untyped-def]
    from consentkit.lint import lint_paths

    serial = lint_paths([broken_ws.root], workspace_dir=broken_ws.root, include_builtin=False, jobs=1)
    parallel = lint_paths([broken_ws.root], workspace_dir=broken_ws.root, include_builtin=False, jobs=2)
    assert parallel.findings == serial.findings
    rules = {f.rule for f in serial.findings}
    assert {"CK200", "CK210"} <= rules
    messages = " ".join(f.message for f in serial.findings)
    assert "for a sample patient" in messages and "as a specimen" in messages and " in en:" in messages


def test_costly_rules_apart_fill_the_cache_per_file(broken_ws) -> None:  # type: ignore[no-untyped-def]
    from consentkit.lint import lint_paths

    reference = lint_paths([broken_ws.root], workspace_dir=broken_ws.root, include_builtin=False, jobs=1)
    first = lint_paths([broken_ws.root], workspace_dir=broken_ws.root, include_builtin=False, jobs=2, use_cache=True)
    again = lint_paths([broken_ws.root], workspace_dir=broken_ws.root, include_builtin=False, jobs=2, use_cache=True)
    assert first.findings == again.findings == reference.findings
    assert again.timings.get("cached files") == 4.0


def test_default_jobs_for_costly_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    from consentkit.lint.workers import COSTLY_PARALLEL_MIN_SPECS, PARALLEL_MIN_SPECS, default_jobs

    monkeypatch.delenv("CONSENTKIT_LINT_JOBS", raising=False)
    assert default_jobs(COSTLY_PARALLEL_MIN_SPECS - 1, costly=True) == 1
    assert default_jobs(PARALLEL_MIN_SPECS - 1) == 1
    many = default_jobs(COSTLY_PARALLEL_MIN_SPECS, costly=True)
    assert many == max(1, min(__import__("os").cpu_count() or 1, 4))
    monkeypatch.setenv("CONSENTKIT_LINT_JOBS", "1")
    assert default_jobs(1000, costly=True) == 1
