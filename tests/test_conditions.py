from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _lint_fixtures import line_of, lint, minimal_spec, write_spec
from consentkit.spec.conditions import ConditionError, Symbol, parse_condition

SYMBOLS = {
    "smoker": Symbol("boolean"),
    "age": Symbol("integer"),
    "fitzpatrick": Symbol("choice", frozenset({"i", "ii", "iii", "iv", "v", "vi"})),
    "technique": Symbol("choice", frozenset({"incisional", "suture"}), "option"),
    "allergies": Symbol("multichoice", frozenset({"latex", "lidocaine"})),
    "notes": Symbol("text"),
}


@pytest.mark.parametrize(
    ("source", "answers", "expected"),
    [
        ("smoker", {"smoker": True}, True),
        ("not smoker", {"smoker": True}, False),
        ("age < 18", {"age": 17}, True),
        ("age >= 18 and not smoker", {"age": 30, "smoker": False}, True),
        ("fitzpatrick in ['iv', 'v', 'vi']", {"fitzpatrick": "v"}, True),
        ("fitzpatrick not in ['iv', 'v', 'vi']", {"fitzpatrick": "v"}, False),
        ("technique == 'suture' or smoker", {"technique": "incisional", "smoker": False}, False),
        (
            "(smoker or age > 60) and technique != 'suture'",
            {"smoker": True, "age": 20, "technique": "incisional"},
            True,
        ),
        ("'latex' in allergies", {"allergies": ("latex",)}, True),
        ("allergies", {"allergies": ()}, False),
        ("smoker == true", {"smoker": True}, True),
    ],
)
def test_evaluates(source: str, answers: dict[str, object], expected: bool) -> None:
    cond = parse_condition(source)
    cond.check(SYMBOLS)
    assert cond.evaluate(answers) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("smokr", "unknown name 'smokr'"),
        ("fitzpatrick == 'VII'", "not a choice of 'fitzpatrick'"),
        ("age < 'ten'", "is a number"),
        ("fitzpatrick < 'iv'", "use == or in"),
        ("smoker == 1", "yes/no"),
        ("notes == 'x'", "free text"),
        ("fitzpatrick in 'iv'", "needs a list"),
    ],
)
def test_check_rejects(source: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        parse_condition(source).check(SYMBOLS)


@pytest.mark.parametrize(
    "source",
    ["", "smoker and", "(smoker", "age <", "__import__('os')", "a; b", "[smoker]", "smoker ** 2", "age < 18 18"],
)
def test_syntax_errors(source: str) -> None:
    with pytest.raises(ConditionError):
        parse_condition(source)


@given(st.text(max_size=60))
def test_never_crashes_on_any_text(source: str) -> None:
    try:
        cond = parse_condition(source)
    except ConditionError:
        return
    with contextlib.suppress(ConditionError):
        cond.check(SYMBOLS)


@pytest.mark.parametrize(
    "source",
    ["(" * 240 + "smoker" + ")" * 240, "not " * 120 + "smoker", "age in " + "[" * 200, "(" * 17 + "smoker" + ")" * 17],
)
def test_deep_nesting_is_a_condition_error(source: str) -> None:
    assert len(source) <= 500
    with pytest.raises(ConditionError, match="nested more than 16 levels"):
        parse_condition(source)


def test_nesting_up_to_the_limit_parses() -> None:
    cond = parse_condition("(" * 16 + "smoker" + ")" * 16)
    assert cond.evaluate({"smoker": True}) is True


def test_lint_reports_deep_nesting_at_the_condition(tmp_path: Path) -> None:
    spec = minimal_spec()
    spec["risks"][1]["applies_if"] = "(" * 240 + "keloid-history" + ")" * 240
    path = write_spec(tmp_path, spec)
    report = lint(path)
    assert [f.rule for f in report.findings] == ["CK100"]
    finding = report.findings[0]
    assert finding.line == line_of(path, "applies_if") and finding.field == "risks[1].applies_if"
    assert "nested more than 16 levels" in finding.message and len(finding.message) < 300
