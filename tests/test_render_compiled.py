"""Compiled templates kept between processes (consentkit.render.compiled): same output, an edited source compiled
afresh, nothing loaded from a folder that is not the user's own, and everything still works with the cache off."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jinja2.sandbox import SandboxedEnvironment

from consentkit.render import compiled


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CONSENTKIT_TEMPLATE_CACHE", raising=False)
    compiled._folder.cache_clear()
    compiled.template_cache.cache_clear()
    yield tmp_path / "cache"
    compiled._folder.cache_clear()
    compiled.template_cache.cache_clear()


def test_compiled_code_is_kept_and_gives_the_same_output(cache_home: Path) -> None:
    env = SandboxedEnvironment(autoescape=True)
    first = compiled.compiled_from_string(env, "Hello {{ name }}!", "test").render(name="<b>")
    kept = list((cache_home / "consentkit").rglob("__jinja2_*"))
    assert len(kept) == 1
    again = compiled.compiled_from_string(env, "Hello {{ name }}!", "test").render(name="<b>")
    assert first == again == "Hello &lt;b&gt;!"
    other = compiled.compiled_from_string(env, "Bye {{ name }}", "test").render(name="x")
    assert other == "Bye x" and len(list((cache_home / "consentkit").rglob("__jinja2_*"))) == 2


def test_a_damaged_entry_is_compiled_afresh(cache_home: Path) -> None:
    env = SandboxedEnvironment()
    compiled.compiled_from_string(env, "{{ 1 + 1 }}", "test")
    (entry,) = (cache_home / "consentkit").rglob("__jinja2_*")
    entry.write_bytes(b"not marshalled code")
    assert compiled.compiled_from_string(env, "{{ 1 + 1 }}", "test").render() == "2"


def test_off_and_unwritable_caches_still_render(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENTKIT_TEMPLATE_CACHE", "0")
    compiled._folder.cache_clear()
    assert compiled.template_cache("test") is None
    assert compiled.compiled_from_string(SandboxedEnvironment(), "{{ 6 * 7 }}", "test").render() == "42"
    assert compiled.cached_texts("test", "k", lambda: ("a", "b")) == ("a", "b")
    assert not (cache_home / "consentkit").exists()


def test_someone_elses_folder_is_not_used(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getuid", lambda: 12345)
    assert compiled.template_cache("test") is None


def test_texts_are_kept_by_key(cache_home: Path) -> None:
    calls: list[int] = []

    def make() -> tuple[str, ...]:
        calls.append(1)
        return ("<w:body>{{ x }}</w:body>",)

    assert compiled.cached_texts("parts", "file-sha", make) == ("<w:body>{{ x }}</w:body>",)
    assert compiled.cached_texts("parts", "file-sha", make) == ("<w:body>{{ x }}</w:body>",)
    assert len(calls) == 1
    assert compiled.cached_texts("parts", "other-sha", make) and len(calls) == 2


def test_lint_finds_the_same_with_and_without_the_cache(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The template dry run (CK210) on a workspace's broken template: the same finding from a fresh cache, from the
    kept compiled code, and with the cache off; once the template is fixed (same name, new source) it passes."""
    import shutil

    from consentkit.lint import lint_paths
    from consentkit.resources import builtin_dir
    from consentkit.workspace import init_workspace

    ws = init_workspace(cache_home.parent / "ws")
    shutil.copy(builtin_dir("procedures") / "botulinum-toxin.yaml", ws.procedures_dir / "botulinum-toxin.yaml")
    shutil.copytree(builtin_dir("templates") / "html", ws.templates_dir / "html")
    page = ws.templates_dir / "html" / "disclosure.html.j2"
    good = page.read_text(encoding="utf-8")
    page.write_text(good.replace("{{ r.management }}", "{{ r.managment }}"), encoding="utf-8")

    def found() -> list[str]:
        report = lint_paths([ws.root], workspace_dir=ws.root, use_cache=False, select=["CK210"])
        return sorted(f.message for f in report.findings)

    fresh, kept = found(), found()
    assert fresh and fresh == kept and all("managment" in m for m in fresh)
    assert list((cache_home / "consentkit").rglob("__jinja2_*"))
    monkeypatch.setenv("CONSENTKIT_TEMPLATE_CACHE", "0")
    compiled._folder.cache_clear()
    compiled.template_cache.cache_clear()
    assert found() == fresh
    monkeypatch.delenv("CONSENTKIT_TEMPLATE_CACHE")
    compiled._folder.cache_clear()
    compiled.template_cache.cache_clear()
    page.write_text(good, encoding="utf-8")
    assert found() == []


def test_a_folder_others_can_write_to_is_not_used(cache_home: Path) -> None:
    """Compiled code from the cache is executed: a folder that other users could write to (left 0777 by an old
    umask, or a shared XDG_CACHE_HOME) must not be used, as Jinja's own default cache refuses it."""
    folder = compiled._folder("test")
    assert folder is not None
    compiled._folder.cache_clear()
    folder.chmod(0o777)
    assert compiled._folder("test") is None and compiled.template_cache("test") is None
    assert compiled.cached_texts("test", "k", lambda: ("made",)) == ("made",)
    assert list(folder.iterdir()) == []
