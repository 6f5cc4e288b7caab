"""Rules CK100-CK133, CK160-CK180: each triggered by a small spec at the right line and field, and quiet on the
minimal valid spec."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from _lint_fixtures import line_of, lint, minimal_spec, only, text, write_spec


def test_minimal_spec_is_clean_under_every_policy(tmp_path: Path) -> None:
    write_spec(tmp_path, minimal_spec())
    for policy in ("cn", "tw", "uk", "fr", "us"):
        report = lint(tmp_path, policy=policy)
        assert report.findings == [], (policy, report.findings)
        assert report.exit_code == 0


# --- CK100 / CK101: files that cannot be loaded ------------------------------------------------------------


def test_ck100_unknown_key_and_wrong_type(tmp_path: Path) -> None:
    spec = minimal_spec(colour="red", cooling_off={"days": "5"})
    path = write_spec(tmp_path, spec)
    found = {f.field: f for f in only(lint(tmp_path), "CK100")}
    assert found["colour"].line == line_of(path, "colour:")
    assert "unknown field 'colour'" in found["colour"].message
    assert found["cooling_off.days"].line == line_of(path, "days: '5'")
    assert "whole number" in found["cooling_off.days"].message
    assert found["colour"].severity == "error"


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        ("1.0.0", True),
        ("1.0.0-beta+x", True),
        ("2.1.0-rc.1", True),
        ("1.0.0+build.5", True),
        ("01.0.0", False),
        ("1.0", False),
        ("1.0.0-01", False),
        ("1.0.0-", False),
    ],
)
def test_ck100_version_follows_semver(tmp_path: Path, version: str, ok: bool) -> None:
    write_spec(tmp_path, minimal_spec(version=version))
    found = only(lint(tmp_path), "CK100")
    assert (found == []) is ok, found
    if not ok:
        assert found[0].field == "version" and "Semantic Versioning" in found[0].message


def test_ck100_wrong_types_read_naturally(tmp_path: Path) -> None:
    spec = minimal_spec(locales=True, cooling_off={"days": True})
    spec["title"] = "plain"
    write_spec(tmp_path, spec)
    found = {f.field: f.message for f in only(lint(tmp_path), "CK100")}
    assert found["locales"] == "expected a list, got true"
    assert found["cooling_off.days"] == "expected a whole number, got true"
    assert found["title"] == "expected a mapping, got text 'plain'"


def test_ck100_id_must_match_file_name_and_be_a_slug(tmp_path: Path) -> None:
    path = write_spec(tmp_path, minimal_spec("../../etc/passwd"), name="passwd.yaml")
    found = only(lint(tmp_path), "CK100")
    assert [f.field for f in found] == ["id"]
    assert found[0].line == line_of(path, "id: ../../etc/passwd")
    assert "lower-case id" in found[0].message


def test_ck100_bad_value_in_intake_is_reported(tmp_path: Path) -> None:
    intake = tmp_path / "intake.yaml"
    intake.write_text("locales: [zh-CN]\nquestions:\n  - id: smoker\n    type: maybe\n    label: {zh-CN: 吸烟}\n")
    found = only(lint(tmp_path), "CK100")
    assert [(f.file, f.line, f.field) for f in found] == [("intake.yaml", 4, "questions[0].type")]


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("id: sample\nrisks: [\n  - a\n", 3, "cannot be parsed"),
        ("- just\n- a list\n", 1, "must be a YAML mapping"),
        ("id: sample\nversion: 1.0.0\nid: again\n", 3, "duplicate key 'id'"),
    ],
)
def test_ck101_unreadable_yaml(tmp_path: Path, body: str, line: int, words: str) -> None:
    (tmp_path / "sample.yaml").write_text(body)
    found = only(lint(tmp_path), "CK101")
    assert len(found) == 1
    assert found[0].line == line
    assert words in found[0].message
    assert only(lint(tmp_path), "CK100") == []


def test_ck101_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "sample.yaml").write_bytes("id: sample\ntitle: 肉毒\n".encode("gb18030"))
    found = only(lint(tmp_path), "CK101")
    assert found and "not UTF-8" in found[0].message and found[0].line == 2


def test_clean_file_beside_a_broken_one_is_still_checked(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("id: [\n")
    write_spec(tmp_path, minimal_spec(alternatives=[]))
    report = lint(tmp_path)
    assert {f.rule for f in report.findings} == {"CK101", "CK111"}


# --- CK110-CK112 -------------------------------------------------------------------------------------------


def test_ck110_missing_section_required_by_policy(tmp_path: Path) -> None:
    spec = minimal_spec()
    del spec["outcome"]
    path = write_spec(tmp_path, spec)
    assert only(lint(tmp_path, policy="cn"), "CK110") == []  # cn does not require an outcome section
    found = only(lint(tmp_path, policy="tw"), "CK110")
    assert len(found) == 1
    assert found[0].line == line_of(path, "id: sample")
    assert "'outcome' is missing" in found[0].message and "'tw' policy" in found[0].message


def test_ck110_empty_section_points_at_its_key(tmp_path: Path) -> None:
    path = write_spec(tmp_path, minimal_spec(indications=[]))
    found = only(lint(tmp_path), "CK110")
    assert [(f.line, f.field) for f in found] == [(line_of(path, "indications: []"), "indications")]
    assert "is empty" in found[0].message


def test_ck111_no_treatment_alternative(tmp_path: Path) -> None:
    alternatives = [
        {"id": "creams", "title": text("外用药", "外用藥", "Creams"), "text": text("乳膏。", "乳膏。", "Creams.")}
    ]
    path = write_spec(tmp_path, minimal_spec(alternatives=alternatives))
    found = only(lint(tmp_path), "CK111")
    assert [(f.line, f.field) for f in found] == [(line_of(path, "alternatives:"), "alternatives")]
    assert "no_treatment: true" in found[0].message


def test_ck112_no_red_flags(tmp_path: Path) -> None:
    aftercare = {"wound_care": [{"id": "clean", "text": text("保持清洁。", "保持清潔。", "Keep it clean.")}]}
    path = write_spec(tmp_path, minimal_spec(aftercare=aftercare))
    found = only(lint(tmp_path), "CK112")
    assert [(f.line, f.field) for f in found] == [(line_of(path, "aftercare:"), "aftercare")]
    assert only(lint(tmp_path), "CK110") == []  # red_flags is CK112's, not reported twice


# --- CK130-CK133 -------------------------------------------------------------------------------------------


def test_ck130_unknown_name_in_condition(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["risks"][1]["applies_if"] = "smokes or keloid-history"
    path = write_spec(tmp_path, spec)
    found = only(lint(tmp_path), "CK130")
    assert [(f.line, f.field) for f in found] == [(line_of(path, "applies_if: smokes"), "risks[1].applies_if")]
    assert "unknown name 'smokes'" in found[0].message


def test_ck130_ill_typed_condition(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["contraindications"][0]["applies_if"] = "fitzpatrick == 'vii' or area == 'face'"
    path = write_spec(tmp_path, spec)
    found = only(lint(tmp_path), "CK130")
    assert [f.line for f in found] == [line_of(path, "applies_if: fitzpatrick")]
    assert "'vii' is not a choice of 'fitzpatrick'" in found[0].message


def test_ck131_duplicate_ids_in_a_list(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["risks"][1]["id"] = "redness"
    spec["options"][0]["choices"][1]["id"] = "face"
    path = write_spec(tmp_path, spec)
    found = {f.field: f for f in only(lint(tmp_path), "CK131")}
    assert found["risks[1].id"].line == line_of(path, "id: redness", nth=1)
    assert f"first at line {line_of(path, 'id: redness')}" in found["risks[1].id"].message
    assert found["options[0].choices[1].id"].line == line_of(path, "id: face", nth=1)


def test_ck131_aftercare_ids_across_topics_and_option_named_like_intake(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["aftercare"]["sun"] = [{"id": "clean", "text": text("防晒。", "防曬。", "Use sunscreen.")}]
    spec["options"][0]["id"] = "smoker"
    path = write_spec(tmp_path, spec)
    found = {f.field: f for f in only(lint(tmp_path), "CK131")}
    assert found["aftercare.sun[0].id"].line == line_of(path, "id: clean", nth=1)
    assert found["options[0].id"].line == line_of(path, "id: smoker")
    assert "intake question" in found["options[0].id"].message


def test_ck131_two_files_with_one_id(tmp_path: Path) -> None:
    write_spec(tmp_path, minimal_spec("twin"))
    other = write_spec(tmp_path, minimal_spec("twin"), name="twin.yml")
    found = only(lint(tmp_path), "CK131")
    assert {f.file for f in found} == {"twin.yaml", "twin.yml"}
    ignored = next(f for f in found if f.file == "twin.yml")
    assert "this file is ignored" in ignored.message and ignored.line == line_of(other, "id: twin")


def test_ck132_rate_outside_band(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["risks"][1]["rate"] = 0.05
    path = write_spec(tmp_path, spec)
    found = only(lint(tmp_path), "CK132")
    assert [(f.line, f.field) for f in found] == [(line_of(path, "rate: 0.05"), "risks[1].rate")]
    assert "it is 'common'" in found[0].message


def test_ck133_unknown_reference(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["risks"][1]["references"] = ["label", "nowhere"]
    path = write_spec(tmp_path, spec)
    found = only(lint(tmp_path), "CK133")
    assert [(f.line, f.field) for f in found] == [(line_of(path, "- nowhere"), "risks[1].references[1]")]


# --- CK160-CK180 -------------------------------------------------------------------------------------------


def test_ck160_review_overdue_future_and_missing(tmp_path: Path) -> None:
    path = write_spec(tmp_path, minimal_spec())
    assert only(lint(tmp_path, today=date(2027, 1, 15)), "CK160") == []  # due that day, not yet overdue
    overdue = only(lint(tmp_path, today=date(2027, 1, 16)), "CK160")
    assert [(f.line, f.field, f.severity) for f in overdue] == [
        (line_of(path, "last_reviewed:"), "review.last_reviewed", "warning")
    ]
    assert "overdue since 2027-01-15" in overdue[0].message
    future = only(lint(tmp_path, today=date(2026, 1, 1)), "CK160")
    assert "in the future" in future[0].message
    spec = minimal_spec()
    del spec["review"]
    path = write_spec(tmp_path, spec)
    missing = only(lint(tmp_path), "CK160")
    assert [f.line for f in missing] == [line_of(path, "id: sample")]


def test_ck160_months_are_clamped_to_the_month_end() -> None:
    from consentkit.lint.rules.timeline import add_months

    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_ck170_recovery_and_follow_up_order(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["recovery"][1]["from"] = "12h"  # starts before the first phase
    spec["recovery"][1]["to"] = "6h"  # and ends before it starts
    spec["follow_up"][1]["at"] = "1w"  # same time as the visit above (7d)
    path = write_spec(tmp_path, spec)
    found = {f.field: f for f in only(lint(tmp_path), "CK170")}
    assert set(found) == {"recovery[1].to", "follow_up[1].at"}  # 12h is after 0h: order is fine
    assert found["recovery[1].to"].line == line_of(path, "to: 6h")
    assert found["follow_up[1].at"].line == line_of(path, "at: 1w")
    spec["recovery"][1].update({"from": "0h", "to": "2d"})
    spec["recovery"][0].update({"from": "1d", "to": "2d"})
    path = write_spec(tmp_path, spec)
    backwards = only(lint(tmp_path), "CK170")
    assert ("recovery[1].from", line_of(path, "from: 0h")) in {(f.field, f.line) for f in backwards}


def test_ck171_no_follow_up(tmp_path: Path) -> None:
    path = write_spec(tmp_path, minimal_spec(follow_up=[]))
    found = only(lint(tmp_path), "CK171")
    assert [(f.line, f.field) for f in found] == [(line_of(path, "follow_up: []"), "follow_up")]


def test_ck180_surgical_cooling_off(tmp_path: Path) -> None:
    spec = minimal_spec(category="surgical")
    del spec["cooling_off"]
    path = write_spec(tmp_path, spec)
    found = only(lint(tmp_path), "CK180")
    assert [(f.line, f.field) for f in found] == [(line_of(path, "category: surgical"), "category")]
    path = write_spec(tmp_path, minimal_spec(category="surgical", cooling_off={"days": 0}))
    assert [f.line for f in only(lint(tmp_path), "CK180")] == [line_of(path, "days: 0")]


def test_ck180_shorter_than_the_policy(tmp_path: Path) -> None:
    path = write_spec(tmp_path, minimal_spec(category="surgical", cooling_off={"days": 7}))
    assert only(lint(tmp_path, policy="cn"), "CK180") == []
    found = only(lint(tmp_path, policy="uk"), "CK180")
    assert [(f.line, f.field) for f in found] == [(line_of(path, "days: 7"), "cooling_off.days")]
    assert "requires at least 14" in found[0].message
