"""Chinese texts in folded YAML scalars: the space folding leaves between two Chinese characters is dropped when
loading (zh-* only), the content hash sees the normalised text, and CK124 flags the gaps loading cannot remove."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from _lint_fixtures import dump, line_of, lint, minimal_spec, only, text, write_spec
from consentkit.resources import builtin_dir
from consentkit.spec.canonical import content_hash
from consentkit.spec.cjk import normalise_chinese
from consentkit.spec.library import load_library, load_spec
from consentkit.spec.yamlfile import parse_yaml

HAN_GAP = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef] +[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("会肿。 这可能是正常的。", "会肿。这可能是正常的。"),
        ("红肿、  淤青", "红肿、淤青"),
        ("每 100 人中有 1 人", "每 100 人中有 1 人"),  # spaces beside digits stay
        ("使用 PDO 线", "使用 PDO 线"),
        ("（见 附录）", "（见附录）"),
    ],
)
def test_normalise_chinese(before: str, after: str) -> None:
    assert normalise_chinese(before) == after


def test_folded_chinese_is_joined_and_english_keeps_its_spaces(tmp_path: Path) -> None:
    doc = parse_yaml(
        "text:\n  zh-CN: >-\n    术后会肿。\n    这可能是正常的。\n  zh-TW: >-\n    術後會腫。\n    這可能是正常的。\n"
        "  en: >-\n    It swells.\n    This is normal.\nnote: >-\n  不是。\n  文本\n",
        tmp_path / "x.yaml",
    )
    assert doc.data["text"] == {
        "zh-CN": "术后会肿。这可能是正常的。",
        "zh-TW": "術後會腫。這可能是正常的。",
        "en": "It swells. This is normal.",
    }
    assert doc.data["note"] == "不是。 文本"  # not under a zh-* key: left alone


def test_content_hash_uses_the_normalised_text(tmp_path: Path) -> None:
    spec = minimal_spec()
    one_line = write_spec(tmp_path / "a", spec)
    folded = dump(spec).replace(
        "  text:\n    zh-CN: 皮肤会发红。\n", "  text:\n    zh-CN: >-\n      皮肤\n      会发红。\n"
    )
    assert folded != dump(spec)
    folded_path = write_spec(tmp_path / "b", folded, name="sample.yaml")
    assert load_spec(folded_path).model.risks[0].text["zh-CN"] == "皮肤会发红。"
    assert content_hash(load_spec(folded_path).model) == content_hash(load_spec(one_line).model)


def test_builtin_library_has_no_gap_between_chinese_characters() -> None:
    library = load_library([builtin_dir("procedures")])
    texts = 0
    for loaded in library.procedures.values():
        for value in _zh_texts(loaded.model.model_dump(by_alias=True)):
            texts += 1
            assert not HAN_GAP.search(value), value
    assert texts > 2000


def _zh_texts(data: object) -> list[str]:
    if isinstance(data, dict):
        out = []
        for key, value in data.items():
            if isinstance(key, str) and key.startswith("zh-") and isinstance(value, str):
                out.append(value)
            else:
                out.extend(_zh_texts(value))
        return out
    if isinstance(data, list):
        return [t for item in data for t in _zh_texts(item)]
    return []


def test_ck124_flags_a_literal_block_line_break_not_a_folded_one(tmp_path: Path) -> None:
    body = dump(minimal_spec())
    one_line = "    zh-CN: 皮肤更平滑。\n"
    assert body.count(one_line) == 1
    path = write_spec(
        tmp_path, body.replace(one_line, "    zh-CN: |-\n      皮肤更\n      平滑。\n"), name="sample.yaml"
    )
    found = only(lint(path), "CK124")
    assert [(f.field, f.severity) for f in found] == [("benefits[0].text.zh-CN", "warning")]
    assert "a line break between '更' and '平'" in found[0].message
    assert found[0].line == line_of(path, "皮肤更")
    path.write_text(path.read_text().replace("zh-CN: |-", "zh-CN: >-"))
    assert only(lint(path), "CK124") == []


def test_ck124_flags_a_no_break_space(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["outcome"] = text("效果因人而异。\u00a0请复诊。", "效果因人而異。", "Results differ from person to person.")
    path = write_spec(tmp_path, spec)
    found = only(lint(path), "CK124")
    assert [f.field for f in found] == ["outcome.zh-CN"] and "a no-break space" in found[0].message


ZH_VALUE = re.compile(r"^\s*(?:- )?zh-[A-Za-z]+: ")  # a one-line zh-* text (citations may space their parts)


def test_builtin_sources_have_no_space_inside_a_chinese_line() -> None:
    """The loader drops such a space, so documents never show it, but the source is what reviewers read and diff
    ("拨打急救电话 或到急诊" was left by an edit); only a folded block's line breaks may stand between Chinese."""
    found = []
    for path in sorted(builtin_dir("procedures").rglob("*.yaml")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if ZH_VALUE.match(line) and HAN_GAP.search(line):
                found.append(f"{path.name}:{number}: {line.strip()}")
    assert found == []
