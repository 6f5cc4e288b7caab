from __future__ import annotations

from pathlib import Path

import pytest

from consentkit.spec.yamlfile import YamlError, load_mapping, parse_yaml


def test_lines_follow_key_paths(tmp_path: Path) -> None:
    doc = parse_yaml("id: x\nrisks:\n  - id: a\n    band: common\n  - id: b\n    band: rare\n", tmp_path / "x.yaml")
    assert doc.line_of(("risks", 1, "band")) == 6
    assert doc.line_of(("risks", 0, "nope", 3)) == 3  # nearest known ancestor
    assert doc.location(("risks", 1, "band")).field == "risks[1].band"


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(YamlError, match="duplicate key 'id'") as err:
        parse_yaml("id: a\nversion: 1.0.0\nid: b\n", tmp_path / "x.yaml")
    assert err.value.location is not None and err.value.location.line == 3


def test_keys_stay_text(tmp_path: Path) -> None:
    doc = parse_yaml("no: 1\non: 2\n", tmp_path / "x.yaml")
    assert doc.data == {"no": 1, "on": 2}


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    prev = "a"
    for name in "bcdefghij":
        bomb += f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]\n"
        prev = name
    with pytest.raises(YamlError, match="aliases"):
        parse_yaml(bomb, tmp_path / "bomb.yaml")


def test_parse_error_has_line(tmp_path: Path) -> None:
    with pytest.raises(YamlError, match="cannot be parsed") as err:
        parse_yaml("id: a\nrisks: [\n  - b\n", tmp_path / "x.yaml")
    assert err.value.exit_code == 3
    assert err.value.location is not None and err.value.location.line is not None


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("just text\n", "text"), ("", "empty")])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(YamlError, match=f"must be a YAML mapping.*{kind}"):
        load_mapping(path, what="procedure spec")


def test_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    with pytest.raises(YamlError, match="larger than"):
        load_mapping(path, what="procedure spec")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"id: a\n\xff\xfe\n")
    with pytest.raises(YamlError, match="not UTF-8") as err:
        load_mapping(path, what="procedure spec")
    assert err.value.location is not None and err.value.location.line == 2


@pytest.mark.parametrize(("char", "name"), [("\x00", "NUL"), ("\x1b", "ESC")])
def test_control_character_is_reported_at_its_line_in_one_line(tmp_path: Path, char: str, name: str) -> None:
    with pytest.raises(YamlError) as err:
        parse_yaml(f"id: a\nname: ab{char}c\nversion: 1.0.0\n", tmp_path / "x.yaml")
    assert err.value.location is not None and err.value.location.line == 2
    assert f"the {name} U+00{ord(char):02X} in column 9" in err.value.message
    assert "\n" not in str(err.value) and "position" not in str(err.value)


@pytest.mark.parametrize("end", ["\n", ""])
def test_unclosed_quote_is_reported_where_it_opens(tmp_path: Path, end: str) -> None:
    text = f'id: a\nversion: 1.0.0\ntitle: "never closed\nnotes: x{end}'
    with pytest.raises(YamlError, match="a quoted text starts on this line and is never closed") as err:
        parse_yaml(text, tmp_path / "x.yaml")
    assert err.value.location is not None and err.value.location.line == 3
    assert "\n" not in str(err.value)


def test_parse_error_line_is_inside_the_file(tmp_path: Path) -> None:
    text = "id: a\nlist: [a, b\n"
    with pytest.raises(YamlError) as err:
        parse_yaml(text, tmp_path / "x.yaml")
    assert err.value.location is not None and err.value.location.line == 2
