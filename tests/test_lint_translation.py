"""CK120 missing locales, CK121 copied texts, CK122/CK123 characters of the wrong script."""

from __future__ import annotations

from pathlib import Path

from _lint_fixtures import line_of, lint, minimal_spec, only, text, write_spec
from consentkit.lint.hanzi import script_of, tables
from consentkit.workspace import init_workspace


def test_script_of_locales() -> None:
    assert [script_of(x) for x in ("zh-CN", "zh-TW", "zh-HK", "zh-Hant", "zh-Hans-SG", "en", "fr")] == [
        "hans",
        "hant-tw",
        "hant-hk",
        "hant",
        "hans",
        "latin",
        "latin",
    ]


def test_character_tables_leave_ambiguous_characters_alone() -> None:
    han = tables()
    assert han.foreign("头发干燥", "hant-tw") == [("头", ["頭"]), ("发", ["發", "髮"])]  # 干 is also Traditional
    assert han.foreign("皇后在台上", "hant-tw") == []  # 后, 台 are Traditional too
    assert han.foreign("穿着", "hant-tw") == [("着", ["著"])]  # Taiwan writes 著
    assert han.foreign("唇疱疹", "hant-tw") == []  # Taiwan's medical term
    assert han.foreign("頭髮說", "hans") == [("頭", ["头"]), ("髮", ["发"]), ("說", ["说"])]
    assert han.foreign("著名的乾隆", "hans") == []


def test_ck120_missing_locale(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["risks"][0]["text"] = {"zh-CN": "皮肤会发红。", "en": "The skin turns red."}
    path = write_spec(tmp_path, spec)
    found = only(lint(tmp_path), "CK120")
    assert len(found) == 1
    assert found[0].field == "risks[0].text"
    assert found[0].line == line_of(path, "zh-CN: 皮肤会发红。") - 1  # the `text:` key above the map
    assert "no 'zh-TW' text" in found[0].message


def test_ck120_intake_label_lacks_a_locale(tmp_path: Path) -> None:
    intake = tmp_path / "intake.yaml"
    intake.write_text(
        "locales: [zh-CN, en]\nquestions:\n  - id: smoker\n    type: boolean\n    label: {zh-CN: 吸烟}\n",
        encoding="utf-8",
    )
    found = only(lint(tmp_path), "CK120")
    assert [(f.file, f.line, f.field) for f in found] == [("intake.yaml", 5, "questions[0].label")]


def test_ck120_workspace_locale_missing_from_spec(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "clinic")
    spec = minimal_spec(locales=["zh-CN", "zh-TW"])
    for field in ("title", "description", "anaesthesia", "outcome"):
        spec[field].pop("en")
    path = write_spec(ws.procedures_dir, spec)
    found = [f for f in only(lint(ws.root), "CK120") if f.field == "locales"]
    assert len(found) == 1
    assert found[0].line == line_of(path, "locales:")
    assert "consentkit.toml" in found[0].message


def test_ck121_copied_between_scripts(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["risks"][0]["text"] = text("皮肤会发红。", "皮肤会发红。", "The skin turns red.")
    spec["risks"][0]["management"] = text("It fades on its own.", "會自行消退。", "It fades on its own.")
    spec["options"][0]["choices"][0]["label"] = text("PDO", "PDO", "PDO")  # a name, fine in every locale
    spec["aftercare"]["wound_care"][0]["text"] = text("保持清洁。", "保持清潔。", "保持清洁。")
    path = write_spec(tmp_path, spec)
    found = {f.field: f for f in only(lint(tmp_path), "CK121")}
    assert set(found) == {"risks[0].text.zh-TW", "risks[0].management.zh-CN", "aftercare.wound_care[0].text.en"}
    assert found["risks[0].text.zh-TW"].line == line_of(path, "zh-TW: 皮肤会发红。")
    assert "Simplified characters" in found["risks[0].text.zh-TW"].message
    assert found["risks[0].text.zh-TW"].severity == "warning"
    assert only(lint(tmp_path), "CK122") == []  # CK121 already says it


def test_ck121_identical_chinese_without_differing_characters_is_fine(tmp_path: Path) -> None:
    write_spec(tmp_path, minimal_spec())  # e.g. 不需要麻醉。 and 第一天 are the same in both scripts
    assert only(lint(tmp_path), "CK121") == []


def test_ck122_and_ck123_wrong_script_characters(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["risks"][0]["text"] = text("皮肤會发红。", "皮膚会發紅。", "The skin turns red.")
    path = write_spec(tmp_path, spec)
    tw = only(lint(tmp_path), "CK122")
    assert [(f.field, f.line) for f in tw] == [("risks[0].text.zh-TW", line_of(path, "zh-TW: 皮膚会發紅"))]
    assert "会 → 會" in tw[0].message
    cn = only(lint(tmp_path), "CK123")
    assert [(f.field, f.line) for f in cn] == [("risks[0].text.zh-CN", line_of(path, "zh-CN: 皮肤會发红"))]
    assert "會 → 会" in cn[0].message
