"""Small procedure specs for lint tests: a minimal spec that every rule accepts, written to a folder that is linted
over the built-in intake catalogue and policies."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from consentkit.lint import LintReport, lint_paths
from consentkit.lint.findings import Finding

TODAY = date(2026, 6, 1)
RENDERING = ("CK2",)  # the rendering rules (templates, fonts) have their own tests and take seconds per spec


def text(cn: str, tw: str, en: str) -> dict[str, str]:
    return {"zh-CN": cn, "zh-TW": tw, "en": en}


_MINIMAL: dict[str, Any] = {
    "id": "sample",
    "version": "1.0.0",
    "category": "minimally-invasive",
    "locales": ["zh-CN", "zh-TW", "en"],
    "title": text("示例治疗", "示例治療", "Sample treatment"),
    "description": text(
        "医生在皮肤上做一个小治疗。", "醫師在皮膚上做一個小治療。", "The doctor gives a small treatment on the skin."
    ),
    "anaesthesia": text("不需要麻醉。", "不需要麻醉。", "No numbing cream is used."),
    "indications": [{"id": "lines", "text": text("细纹。", "細紋。", "Fine lines.")}],
    "outcome": text("效果因人而异。", "效果因人而異。", "Results differ from person to person."),
    "options": [
        {
            "id": "area",
            "label": text("部位", "部位", "Area"),
            "choices": [
                {"id": "face", "label": text("面部", "臉部", "Face")},
                {"id": "neck", "label": text("颈部", "頸部", "Neck")},
            ],
        }
    ],
    "benefits": [{"id": "smoother", "text": text("皮肤更平滑。", "皮膚更平滑。", "Smoother skin for a while.")}],
    "risks": [
        {
            "id": "redness",
            "title": text("发红", "發紅", "Redness"),
            "band": "very-common",
            "severity": "minor",
            "permanence": "temporary",
            "text": text("皮肤会发红。", "皮膚會發紅。", "The skin turns red."),
            "management": text("会自行消退。", "會自行消退。", "It fades on its own."),
        },
        {
            "id": "scarring",
            "title": text("瘢痕", "疤痕", "Scarring"),
            "band": "rare",
            "rate": 0.0005,
            "severity": "moderate",
            "permanence": "may-be-permanent",
            "applies_if": "keloid-history",
            "text": text("可能留下瘢痕。", "可能留下疤痕。", "A scar may form."),
            "management": text("医生会检查。", "醫師會檢查。", "The doctor checks it."),
            "references": ["label"],
        },
    ],
    "contraindications": [
        {
            "id": "pregnancy",
            "kind": "absolute",
            "applies_if": "pregnant",
            "text": text("怀孕。", "懷孕。", "Pregnancy."),
        }
    ],
    "alternatives": [
        {
            "id": "no-treatment",
            "no_treatment": True,
            "title": text("不治疗", "不治療", "No treatment"),
            "text": text(
                "不治疗不会损害健康。", "不治療不會損害健康。", "Having no treatment does not harm your health."
            ),
        }
    ],
    "recovery": [
        {
            "id": "day-one",
            "from": "0d",
            "to": "1d",
            "title": text("第一天", "第一天", "First day"),
            "expect": text("会有一点红。", "會有一點紅。", "A little redness."),
        },
        {
            "id": "week-one",
            "from": "1d",
            "to": "1w",
            "title": text("第一周", "第一週", "First week"),
            "expect": text("红色消退。", "紅色消退。", "The redness fades."),
        },
    ],
    "aftercare": {
        "wound_care": [{"id": "clean", "text": text("保持清洁。", "保持清潔。", "Keep the area clean.")}],
        "red_flags": [{"id": "fever", "text": text("发烧。", "發燒。", "A fever.")}],
    },
    "follow_up": [
        {"id": "check", "at": "7d", "purpose": text("复诊。", "回診。", "A check-up visit.")},
        {"id": "call", "at": "1mo", "kind": "call", "purpose": text("电话随访。", "電話追蹤。", "A phone call.")},
    ],
    "cooling_off": {"days": 1},
    "references": [{"id": "label", "citation": "Product label"}],
    "review": {"owner": "Clinical lead", "last_reviewed": date(2026, 1, 15), "interval_months": 12},
}


def minimal_spec(spec_id: str = "sample", **fields: Any) -> dict[str, Any]:
    """A spec every rule accepts (under the cn and tw policies, on ``TODAY``); ``fields`` replace top-level keys."""
    spec = copy.deepcopy(_MINIMAL)
    spec["id"] = spec_id
    spec.update(copy.deepcopy(fields))
    return spec


def dump(spec: dict[str, Any]) -> str:
    return yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, width=1000)


def write_spec(folder: Path, spec: dict[str, Any] | str, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(spec, dict):
        body = dump(spec)
        name = name or f"{spec['id']}.yaml"
    else:
        body = spec
        name = name or "spec.yaml"
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def lint(
    *paths: Path,
    policy: str | None = None,
    today: date = TODAY,
    ignore: Sequence[str] = RENDERING,
    base: Path | None = None,
    **kwargs: Any,
) -> LintReport:
    """Lint ``paths`` (no cache, rendering rules off) as seen from ``base`` (default: the first path's folder)."""
    first = paths[0]
    return lint_paths(
        list(paths),
        policy=policy,
        today=today,
        ignore=ignore,
        base=base or (first if first.is_dir() else first.parent),
        use_cache=False,
        **kwargs,
    )


def only(report: LintReport, rule: str) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule]


def line_of(path: Path, needle: str, nth: int = 0) -> int:
    """1-based line of the ``nth`` line of ``path`` that contains ``needle``."""
    rows = [i for i, row in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if needle in row]
    assert len(rows) > nth, f"{needle!r} not in {path} ({len(rows)} times)"
    return rows[nth]
