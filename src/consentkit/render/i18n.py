"""Fixed wording of the documents (headings, statements, labels) in gettext catalogues, one per locale.

Catalogues live in ``<template root>/i18n/<ll_CC>/LC_MESSAGES/consentkit.po`` (Babel's layout, so ``pybabel
extract/update/compile`` work on them; see docs/rendering.md). The ``.po`` files are the source of truth: they are
compiled in memory when first used, so a stale ``.mo`` can never be used. A workspace's catalogue overrides the
built-in one for the same locale.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class _Catalogue:
    messages: dict[str, str]
    plurals: dict[str, tuple[str, ...]]  # singular msgid -> the translated forms
    plural_expr: str  # the C expression of the header's Plural-Forms, e.g. "(n != 1)"


@cache
def _compiled(path: Path, mtime_ns: int) -> _Catalogue:
    from babel.messages.pofile import PoFileError, read_po

    try:
        with path.open("rb") as fh:
            catalog = read_po(fh, abort_invalid=True)
    except (OSError, PoFileError, ValueError) as exc:
        raise ConfigError(f"{path}: catalogue is not readable: {exc}") from exc
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, str) and isinstance(message.string, str) and message.string:
            messages[message.id] = message.string
        elif isinstance(message.id, tuple | list) and isinstance(message.string, tuple | list) and all(message.string):
            plurals[str(message.id[0])] = tuple(str(form) for form in message.string)
    return _Catalogue(messages, plurals, str(catalog.plural_expr))


@cache
def _plural_rule(expr: str) -> Callable[[int], int]:
    """The catalogue's Plural-Forms expression as a function (the standard library's parser of it)."""
    import gettext

    return gettext.c2py(expr)


@dataclass(frozen=True)
class Translator:
    """``gettext`` for one locale: the catalogue's translation, else the English source text."""

    locale: str
    messages: dict[str, str]
    source: Path | None
    plurals: dict[str, tuple[str, ...]] = field(default_factory=dict)
    plural_expr: str = "(n != 1)"

    def gettext(self, message: str, **params: Any) -> str:
        text = self.messages.get(message, message)
        return text % params if params else text

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        """The form for ``n`` (``%(n)s`` and the other ``params`` filled in): "1 day" / "2 days" in English, one
        form in Chinese, as the catalogue's Plural-Forms says."""
        forms = self.plurals.get(singular)
        if forms:
            text = forms[min(_plural_rule(self.plural_expr)(n), len(forms) - 1)]
        else:
            text = singular if n == 1 else plural
        return text % {"n": n, **params}

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
    compiled = _compiled(path, path.stat().st_mtime_ns)
    return Translator(locale, compiled.messages, path, compiled.plurals, compiled.plural_expr)


def compile_check(path: Path) -> list[str]:
    """Problems a translator should fix: untranslated or fuzzy entries, placeholders that do not match."""
    import re

    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        catalog = read_po(fh)

    def names(text: object) -> list[str]:
        return sorted(set(re.findall(r"%\((\w+)\)s", str(text))))

    problems = []
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):  # plural forms: every form translated, the same placeholders
            singular = str(message.id[0])
            forms = list(message.string) if isinstance(message.string, tuple | list) else [message.string]
            if len(forms) != catalog.num_plurals or not all(forms):
                problems.append(f"untranslated plural form: {singular!r}")
            elif message.fuzzy:
                problems.append(f"fuzzy: {singular!r}")
            elif any(names(form) != names(message.id[1]) for form in forms):
                problems.append(f"placeholders differ: {singular!r}")
            continue
        if not message.string:
            problems.append(f"untranslated: {message.id!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif names(message.id) != names(message.string):
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
