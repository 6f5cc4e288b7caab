"""The fonts documents are set in: declared in ``templates/fonts.yaml``, checked at start-up, and used to check that
every character of a text can be drawn (lint CK200 and every render), so no glyph is ever silently replaced.

No WeasyPrint import here: lint uses the character maps without loading the renderer.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from consentkit.errors import ConfigError, RenderError
from consentkit.spec.models import Model
from consentkit.spec.validate import validate_document
from consentkit.spec.yamlfile import load_mapping

if TYPE_CHECKING:
    from fontTools.ttLib import TTFont

FONTS_FILE = "fonts.yaml"


class FaceSpec(Model):
    family: str
    weight: Literal[400, 700] = 400
    package: str | None = None
    file: str | None = None
    system: str | None = None


class FontsConfig(Model):
    faces: list[FaceSpec] = Field(min_length=1)
    stacks: dict[str, list[str]]


@dataclass(frozen=True)
class Face:
    family: str
    weight: int
    path: Path
    embedded: bool  # True: loaded with @font-face from ``path``; False: a system font found by family name


@dataclass(frozen=True)
class FontSet:
    """The declared faces and stacks, with every file found."""

    source: Path
    faces: tuple[Face, ...]
    stacks: dict[str, tuple[str, ...]]

    def stack(self, locale: str) -> tuple[str, ...]:
        found = self.stacks.get(locale) or self.stacks.get(locale.split("-")[0])
        if not found:
            raise RenderError(f"{self.source}: no font stack for locale {locale}")
        return found

    def css_family(self, locale: str) -> str:
        return ", ".join(f'"{name}"' for name in self.stack(locale))

    def font_face_css(self, locales: Iterable[str], *, portable: bool = False) -> str:
        """``@font-face`` rules for the embedded faces the given locales use. ``portable`` (HTML that may be
        opened on another machine): the face's installed names first (``local("Kurinto Sans SC")``,
        ``local("KurintoSansSC-Rg")``), this machine's file as the fallback. The PDF renderer uses the file only,
        so a PDF never depends on what the machine has installed."""
        wanted = {name for loc in locales for name in self.stack(loc)}
        rules = []
        for face in self.faces:
            if face.embedded and face.family in wanted:
                sources = [f'local("{name}")' for name in local_names(face.path, face.family)] if portable else []
                sources.append(f'url("{face.path.as_uri()}")')
                rules.append(
                    f'@font-face {{ font-family: "{face.family}"; font-weight: {face.weight}; '
                    f"src: {', '.join(sources)}; }}"
                )
        return "\n".join(rules) + "\n"

    def files(self) -> list[Path]:
        return [f.path for f in self.faces]

    def missing_characters(self, text: str, locale: str) -> set[str]:
        """Characters of ``text`` that no face of the locale's stack can draw (spaces and controls excepted)."""
        wanted = {c for c in set(text) if not c.isspace() and ord(c) >= 0x20}
        for family in self.stack(locale):
            if not wanted:
                break
            for face in self.faces:
                if face.family == family and face.weight == 400:
                    mapped = _cmap(face.path, face.family)
                    wanted = {c for c in wanted if ord(c) not in mapped}
        return wanted


def _find_file(spec: FaceSpec, source: Path) -> Path:
    if spec.package:
        found = importlib.util.find_spec(spec.package)
        locations = list(found.submodule_search_locations or []) if found else []
        if not locations:
            raise RenderError(
                f"{source}: font package '{spec.package}' for {spec.family} is not installed "
                f"(pip install {spec.package.replace('_', '-')})"
            )
        path = Path(locations[0]) / (spec.file or "")
    elif spec.system:
        path = Path(spec.system)
    else:
        raise RenderError(f"{source}: face {spec.family} names neither a package nor a system file")
    if not path.is_file():
        hint = "install the Debian package fonts-noto-cjk" if spec.system else f"reinstall {spec.package}"
        raise RenderError(f"{source}: declared font file for {spec.family} is missing: {path} ({hint})")
    return path


def load_fonts(source: Path) -> FontSet:
    """Read and check ``fonts.yaml``: every declared file must exist (read again when the file changes)."""
    st = source.stat()
    return _load_fonts(source, st.st_size, st.st_mtime_ns)


@cache
def _load_fonts(source: Path, size: int, mtime_ns: int) -> FontSet:
    config = validate_document(FontsConfig, load_mapping(source, what="font declaration"), error=ConfigError)
    faces = tuple(
        Face(spec.family, spec.weight, _find_file(spec, source), embedded=spec.system is None) for spec in config.faces
    )
    families = {f.family for f in faces}
    for locale, stack in config.stacks.items():
        for name in stack:
            if name not in families:
                raise RenderError(f"{source}: stack {locale} names {name!r}, which no face declares")
    return FontSet(source, faces, {k: tuple(v) for k, v in config.stacks.items()})


def fonts_for(template_roots: Sequence[Path]) -> FontSet:
    """The font declaration of the first template root that has one (a workspace may declare its own)."""
    for root in template_roots:
        path = root / FONTS_FILE
        if path.is_file():
            return load_fonts(path.resolve())
    raise RenderError(f"no {FONTS_FILE} in {', '.join(map(str, template_roots))}")


@cache
def local_names(path: Path, family: str) -> tuple[str, ...]:
    """The full and PostScript names (name IDs 4 and 6) of ``family``'s face in a font file — in a collection
    (``.ttc``, ``.otc``) the member of that family — which CSS ``local()`` matches. Empty when the file cannot be
    read or holds no such face: the names only let a reader's installed copy be used."""
    try:
        fonts = _fonts_in(path)
        for font in fonts:
            name = font["name"]
            if len(fonts) == 1 or family in (name.getDebugName(16), name.getDebugName(1)):
                found = (name.getDebugName(4), name.getDebugName(6))
                return tuple(dict.fromkeys(n for n in found if n and '"' not in n and "\\" not in n))
    except Exception:  # fontTools raises many kinds on a damaged file; the caller still has the family and file
        return ()
    return ()


def _fonts_in(path: Path) -> list[TTFont]:
    """The faces of a font file: one, or every member of a collection."""
    from fontTools.ttLib import TTCollection, TTFont

    if path.suffix.lower() in (".ttc", ".otc"):
        return list(TTCollection(str(path), lazy=True).fonts)
    return [TTFont(str(path), lazy=True)]


@cache
def _cmap(path: Path, family: str) -> frozenset[int]:
    """The codepoints the face maps to a glyph."""
    from consentkit.render.sfnt import codepoints

    found = codepoints(path, family)
    if found is not None:
        return found
    return _cmap_fonttools(path, family)


def _cmap_fonttools(path: Path, family: str) -> frozenset[int]:
    """fontTools' best Unicode cmap (the reference :mod:`consentkit.render.sfnt` agrees with)."""
    fonts = _fonts_in(path)
    if path.suffix.lower() not in (".ttc", ".otc"):
        return frozenset(fonts[0].getBestCmap())
    for font in fonts:
        if font["name"].getDebugName(1) == family:
            return frozenset(font.getBestCmap())
    raise RenderError(f"{path} holds no face named {family!r}")


def check_harfbuzz_subset() -> None:
    """Without HarfBuzz subsetting every CJK PDF takes ~12 s instead of ~0.5 s, and nothing warns."""
    from weasyprint.text import ffi

    if getattr(ffi, "harfbuzz_subset", None) is None:
        raise RenderError(
            "HarfBuzz subsetting is not available (libharfbuzz-subset0 is missing): Chinese PDFs would take "
            "~12 s each. Install it: apt-get install libharfbuzz-subset0"
        )
