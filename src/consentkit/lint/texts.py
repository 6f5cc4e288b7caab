"""Walk every human text (a locale → text map) of a spec, intake catalogue or policy, with its key path."""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from consentkit.spec.models import Text
from consentkit.spec.yamlfile import KeyPath

HEADING_KEYS = frozenset({"title", "label", "name"})
"""Texts that are headings or labels, not sentences (readability skips them)."""

_Kind = Literal["text", "text-list", "model", "model-list", "model-map"]
FileKind = Literal["spec", "intake", "policy", "profile"]


@dataclass(frozen=True, eq=False)  # compared by identity: TextInfo.of returns one shared instance per value
class TextInfo:
    """What a per-text check may know about a text besides its words (hashable: results are cached on it).

    ``kind`` of file, ``section`` (top-level key), ``key`` (the field's own name), ``in_risk``, ``is_heading``, and
    ``locales``: the locales every text of the file must carry (the spec's, or the intake's)."""

    kind: FileKind
    section: str
    key: str
    in_risk: bool
    is_heading: bool
    locales: tuple[str, ...]

    @classmethod
    def of(cls, text: TextField, kind: FileKind, locales: tuple[str, ...]) -> TextInfo:
        return _info(kind, text.section, text.key, text.in_risk, text.is_heading, locales)


@cache
def _info(
    kind: FileKind, section: str, key: str, in_risk: bool, is_heading: bool, locales: tuple[str, ...]
) -> TextInfo:
    """One shared instance per distinct info (there are a few dozen), so cache keys hash and compare quickly."""
    return TextInfo(kind, section, key, in_risk, is_heading, locales)


@dataclass(frozen=True)
class TextField:
    """One human text: ``loc`` is its key path as written in YAML (``("risks", 3, "text")``).

    ``key`` is the field's own name (``text``, ``title``, ``purpose``...), ``section`` the top-level key,
    ``in_risk`` whether it is inside ``risks[]`` (where harm words belong), ``is_heading`` whether it is a title or
    label rather than sentences."""

    loc: KeyPath
    value: Mapping[str, str]
    key: str = ""
    section: str = ""
    in_risk: bool = False
    is_heading: bool = False

    @property
    def items(self) -> tuple[tuple[str, str], ...]:
        """The ``(locale, text)`` pairs, hashable: what per-text checks receive."""
        return tuple(self.value.items())

    @classmethod
    def at(cls, loc: KeyPath, value: Mapping[str, str], key: str | None = None) -> TextField:
        if key is None:
            key = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
        section = str(loc[0]) if loc else ""
        return cls(loc, value, key, section, section == "risks", key in HEADING_KEYS)


def _strip_optional(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


@cache
def field_plan(model: type[BaseModel]) -> tuple[tuple[str, str, _Kind], ...]:
    """(attribute, YAML key, kind) for each field of ``model`` that holds or contains texts."""
    plan: list[tuple[str, str, _Kind]] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        ann = _strip_optional(info.annotation)
        if ann == Text:
            plan.append((name, key, "text"))
        elif _is_model(ann):
            plan.append((name, key, "model"))
        elif get_origin(ann) is list and get_args(ann):
            item = _strip_optional(get_args(ann)[0])
            if item == Text:
                plan.append((name, key, "text-list"))
            elif _is_model(item):
                plan.append((name, key, "model-list"))
        elif get_origin(ann) is dict and len(get_args(ann)) == 2 and _is_model(get_args(ann)[1]):
            plan.append((name, key, "model-map"))
    return tuple(plan)


def iter_texts(model: BaseModel, loc: KeyPath = ()) -> Iterator[TextField]:
    """Every text under ``model``, depth first in field order."""
    for name, key, kind in field_plan(type(model)):
        value = getattr(model, name)
        if value is None:
            continue
        here = (*loc, key)
        if kind == "text":
            yield TextField.at(here, value, key)
        elif kind == "model":
            yield from iter_texts(value, here)
        elif kind == "text-list":
            for i, text in enumerate(value):
                yield TextField.at((*here, i), text, key)
        elif kind == "model-list":
            for i, item in enumerate(value):
                yield from iter_texts(item, (*here, i))
        else:
            for sub, item in value.items():
                yield from iter_texts(item, (*here, sub))


def texts_of(model: BaseModel) -> list[TextField]:
    """:func:`iter_texts` as a list."""
    return list(iter_texts(model))
