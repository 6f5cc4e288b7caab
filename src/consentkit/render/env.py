"""The Jinja environment the documents are rendered with: sandboxed, strict, escaping, and able to load only the
template roots' own files (a workspace's ``templates/`` first, then the built-in ones, by file name)."""

from __future__ import annotations

import hashlib
import re
import traceback
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from consentkit.errors import RenderError
from consentkit.render.compiled import template_cache
from consentkit.render.fonts import FONTS_FILE
from consentkit.render.i18n import catalogue_path

HTML_DIR = "html"
CSS_DIR = "css"
DOCX_DIR = "docx"


def css_string(value: Any) -> Markup:
    """A CSS string literal: safe inside ``<style>`` (``content: {{ name|css_string }}``) whatever the text."""
    text = str(value)
    out = []
    for ch in text:
        if ch in '"\\' or ch in "<>&" or ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return Markup('"' + "".join(out) + '"')  # noqa: S704 - every special character is escaped above


def css_page_counter(pattern: str) -> Markup:
    """Turn a translated "Page %(page)s of %(pages)s" into CSS ``content`` tokens with page counters."""
    tokens = []
    for part in re.split(r"(%\(pages?\)s)", pattern):
        if part == "%(page)s":
            tokens.append("counter(page)")
        elif part == "%(pages)s":
            tokens.append("counter(pages)")
        elif part:
            tokens.append(str(css_string(part)))
    return Markup(" ".join(tokens))  # noqa: S704 - made of css_string() literals and counters


@lru_cache(maxsize=8)
def _environment(roots: tuple[Path, ...], listing: tuple[tuple[str, int, int], ...]) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader([str(r / HTML_DIR) for r in roots], followlinks=False),
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        bytecode_cache=template_cache("documents-html"),
    )
    env.filters["css_string"] = css_string
    env.filters["css_page_counter"] = css_page_counter
    return env


def _listing(roots: tuple[Path, ...]) -> tuple[tuple[str, int, int], ...]:
    """Every HTML template file with its size and mtime: a new, removed or edited template gives a new environment
    (Jinja's own cache would keep serving a built-in template that a workspace file now overrides)."""
    found = []
    for root in roots:
        folder = root / HTML_DIR
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                st = path.stat()
                found.append((str(path), st.st_size, st.st_mtime_ns))
    return tuple(found)


def environment(template_roots: Sequence[Path]) -> SandboxedEnvironment:
    roots = tuple(Path(r).resolve() for r in template_roots)
    return _environment(roots, _listing(roots))


def render_template(
    template_roots: Sequence[Path], name: str, context: dict[str, Any], *, env: SandboxedEnvironment | None = None
) -> str:
    """``env``: :func:`environment` of the same roots, when the caller renders many documents in a row (the lint's
    dry run) and need not look for changed template files before each one."""
    env = env or environment(template_roots)
    try:
        return env.get_template(name).render(context)
    except TemplateNotFound as exc:
        raise RenderError(f"template {exc.name} not found in {', '.join(map(str, template_roots))}") from exc
    except RenderError:
        raise
    except Exception as exc:  # undefined names, sandbox refusals, a template calling something the wrong way
        where, line = getattr(exc, "filename", None) or name, getattr(exc, "lineno", None)
        if line is None:  # runtime errors: Jinja maps the template's frames back to its lines
            for frame in traceback.extract_tb(exc.__traceback__):
                if frame.filename.endswith(".j2"):
                    where, line = frame.filename, frame.lineno
        kind = "" if isinstance(exc, TemplateError) else f"{type(exc).__name__}: "
        raise RenderError(f"{where}{f':{line}' if line else ''}: template failed: {kind}{exc}") from exc


def resolve(template_roots: Sequence[Path], relative: str) -> Path:
    """The first root's file with that name (workspace overrides built-in)."""
    for root in template_roots:
        path = root / relative
        if path.is_file():
            return path
    raise RenderError(f"{relative} not found in {', '.join(map(str, template_roots))}")


def used_files(template_roots: Sequence[Path], locales: Iterable[str]) -> dict[str, Path]:
    """Every template, stylesheet, catalogue and font declaration a render may use, by relative name, after
    overriding (the first root wins)."""
    found: dict[str, Path] = {}
    for root in template_roots:
        candidates: list[Path] = []
        for sub in (HTML_DIR, CSS_DIR, DOCX_DIR):
            folder = root / sub
            if folder.is_dir():
                candidates.extend(p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith("."))
        if (root / FONTS_FILE).is_file():
            candidates.append(root / FONTS_FILE)
        for locale in locales:
            po = catalogue_path(root, locale)
            if po.is_file():
                candidates.append(po)
        for path in candidates:
            found.setdefault(path.relative_to(root).as_posix(), path)
    return dict(sorted(found.items()))


def template_hashes(template_roots: Sequence[Path], locales: Iterable[str]) -> dict[str, str]:
    """sha256 of every template, stylesheet, fixed-wording catalogue and font declaration the documents of
    ``locales`` are rendered with, keyed by relative name — what an approval pins besides the spec hash."""
    return {
        name: hashlib.sha256(path.read_bytes()).hexdigest()
        for name, path in used_files(template_roots, locales).items()
    }


def render_fingerprint(template_roots: Sequence[Path]) -> str:
    """One hash of everything a rendering depends on besides the spec: every file under the template roots
    (templates, stylesheets, catalogues of every locale, fonts.yaml) and the rendering code itself. Lint's cache
    keys its CK200/CK210 findings on it, so a changed template is checked again."""
    digest = hashlib.sha256()
    files: list[Path] = []
    for root in template_roots:
        if root.is_dir():
            files += [p for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    files += sorted(Path(__file__).resolve().parent.glob("*.py"))
    for path in files:
        digest.update(str(path).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
