"""Fixed wording of the documents (headings, statements, labels) in gettext catalogues, one per locale.

Catalogues live in ``<template root>/i18n/<ll_CC>/LC_MESSAGES/consentkit.po`` (Babel's layout, so ``pybabel
extract/update/compile`` work on them; see docs/rendering.md). The ``.po`` files are the source of truth: they are
compiled in memory when first used, so a stale ``.mo`` can never be used. A workspace's catalogue overrides the
built-in one for the same locale.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from consentkit.errors import ConfigError

DOMAIN = "consentkit"
HTML_LANG = {"zh-CN": "zh-Hans", "zh-TW": "zh-Hant", "zh-HK": "zh-Hant-HK", "en": "en"}
BABEL_LOCALE = {"zh-CN": "zh_Hans_CN", "zh-TW": "zh_Hant_TW", "zh-HK": "zh_Hant_HK", "en": "en_GB"}


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def catalogue_dir(locale: str) -> str:
    return locale.replace("-", "_")


def catalogue_path(root: Path, locale: str) -> Path:
    return root / "i18n" / catalogue_dir(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"


def find_catalogue(template_roots: Sequence[Path], locale: str) -> Path | None:
    for root in template_roots:
        path = catalogue_path(root, locale)
        if path.is_file():
            return path
    return None


@cache
def _compiled(path: Path, mtime_ns: int) -> dict[str, str]:
    from babel.messages.pofile import PoFileError, read_po

    try:
        with path.open("rb") as fh:
            catalog = read_po(fh, abort_invalid=True)
    except (OSError, PoFileError, ValueError) as exc:
        raise ConfigError(f"{path}: catalogue is not readable: {exc}") from exc
    messages: dict[str, str] = {}
    for message in catalog:
        if message.id and isinstance(message.id, str) and isinstance(message.string, str) and message.string:
            if message.fuzzy:
                continue
            messages[message.id] = message.string
    return messages


@dataclass(frozen=True)
class Translator:
    """``gettext`` for one locale: the catalogue's translation, else the English source text."""

    locale: str
    messages: dict[str, str]
    source: Path | None

    def gettext(self, message: str, **params: Any) -> str:
        text = self.messages.get(message, message)
        return text % params if params else text

    def __call__(self, message: str, **params: Any) -> str:
        return self.gettext(message, **params)

    @property
    def html_lang(self) -> str:
        return HTML_LANG.get(self.locale, self.locale)

    @property
    def babel_locale(self) -> str:
        return BABEL_LOCALE.get(self.locale, self.locale.replace("-", "_"))


def translator(template_roots: Sequence[Path], locale: str) -> Translator:
    path = find_catalogue(template_roots, locale)
    if path is None:
        if locale == "en":
            return Translator(locale, {}, None)
        raise ConfigError(
            f"no catalogue for {locale}: expected {catalogue_path(template_roots[-1], locale)} "
            "(create it with pybabel init, see docs/rendering.md)"
        )
    return Translator(locale, _compiled(path, path.stat().st_mtime_ns), path)


def compile_check(path: Path) -> list[str]:
    """Problems a translator should fix: untranslated or fuzzy entries, placeholders that do not match."""
    import re

    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        catalog = read_po(fh)
    problems = []
    for message in catalog:
        if not message.id or not isinstance(message.id, str):
            continue
        if not message.string:
            problems.append(f"untranslated: {message.id!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif sorted(re.findall(r"%\((\w+)\)s", message.id)) != sorted(re.findall(r"%\((\w+)\)s", str(message.string))):
            problems.append(f"placeholders differ: {message.id!r}")
    return problems


def mo_bytes(path: Path) -> bytes:
    """The compiled catalogue (what ``pybabel compile`` would write), for tools that want a ``.mo``."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        catalog = read_po(fh)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


Gettext = Callable[..., str]
