from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from consentkit.case import load_case, resolve_case, subject_id
from consentkit.errors import CaseError, InputError, MultiInputError, RefusedError
from consentkit.spec.library import Library

REPO = Path(__file__).resolve().parent.parent
SAMPLE = (REPO / "examples" / "case-botulinum-toxin.yaml").read_text(encoding="utf-8")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _case(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _resolve(path: Path, library: Library, jurisdiction: str = "cn"):  # type: ignore[no-untyped-def]
    case, doc = load_case(path)
    return resolve_case(case, doc, library, library.policy(jurisdiction).model, SHANGHAI)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_sample_case_resolves(tmp_path: Path, builtin_library: Library) -> None:
    resolved = _resolve(_case(tmp_path, SAMPLE), builtin_library)
    assert resolved.age == 36
    assert resolved.options == {"area": "upper-face"}
    assert resolved.required_roles() == ["clinic", "physician", "patient"]
    risks = [r.id for r in resolved.spec.model.risks if resolved.applies(r.applies_if)]
    assert "eyelid-droop" in risks and "chewing-weakness" not in risks
    assert "more-bruising" in risks  # anticoagulants: true


def test_unknown_procedure_names_line(tmp_path: Path, builtin_library: Library) -> None:
    text = SAMPLE.replace("procedure: botulinum-toxin", "procedure: botox")
    with pytest.raises(CaseError, match="unknown procedure 'botox'") as err:
        _resolve(_case(tmp_path, text), builtin_library)
    assert err.value.location is not None and err.value.location.line == _line_of(text, "procedure: botox")


def test_unknown_option_and_intake_reported_together(tmp_path: Path, builtin_library: Library) -> None:
    text = SAMPLE.replace("options: {area: upper-face}", "options: {area: elbow}").replace(
        "  smoker: false", "  smokes: false"
    )
    with pytest.raises(MultiInputError) as err:
        _resolve(_case(tmp_path, text), builtin_library)
    messages = err.value.details()
    assert any("'elbow' is not a choice of area" in m and f":{_line_of(text, 'elbow')} " in m for m in messages)
    assert any("'smokes' is not an intake question" in m and "intake.smokes" in m for m in messages)
    assert err.value.exit_code == 3


def test_wrong_date_format(tmp_path: Path) -> None:
    text = SAMPLE.replace("planned_at: 2026-12-08T14:30:00+08:00", "planned_at: 08/12/2026 14:30")
    with pytest.raises(InputError, match="planned_at: expected a date and time") as err:
        load_case(_case(tmp_path, text))
    assert err.value.location is not None and err.value.location.line == _line_of(text, "planned_at")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("date_of_birth: 1990-04-18", "date_of_birth: 1990-13-45", "patient.date_of_birth"),
        ("planned_at: 2026-12-08T14:30:00+08:00", "planned_at: 2026-02-30T14:30:00+08:00", "planned_at"),
    ],
)
def test_impossible_date_names_its_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    text = SAMPLE.replace(old, new)
    with pytest.raises(InputError) as err:
        load_case(_case(tmp_path, text))
    line = _line_of(text, new.split(": ")[1])
    assert str(err.value).startswith(f"{tmp_path / 'case.yaml'}:{line} {field}: cannot read value "), str(err.value)
    assert err.value.exit_code == 3


def test_minor_without_guardian(tmp_path: Path, builtin_library: Library) -> None:
    text = SAMPLE.replace("date_of_birth: 1990-04-18", "date_of_birth: 2010-04-18")
    with pytest.raises(CaseError, match="under 18: add a guardian") as err:
        _resolve(_case(tmp_path, text), builtin_library)
    assert err.value.location is not None and err.value.location.field == "patient"


def test_minor_prohibited_by_policy(tmp_path: Path, builtin_library: Library) -> None:
    text = SAMPLE.replace("date_of_birth: 1990-04-18", "date_of_birth: 2010-04-18")
    with pytest.raises(RefusedError, match="not allowed for patients under 18 in uk"):
        _resolve(_case(tmp_path, text), builtin_library, "uk")


def test_absolute_contraindication_refuses(tmp_path: Path, builtin_library: Library) -> None:
    text = SAMPLE.replace("  pregnant: false", "  pregnant: true")
    with pytest.raises(RefusedError, match="absolute contraindication 'pregnancy'") as err:
        _resolve(_case(tmp_path, text), builtin_library)
    assert err.value.exit_code == 1


def test_relative_contraindication_needs_override(tmp_path: Path, builtin_library: Library) -> None:
    text = SAMPLE.replace("  aminoglycosides: false", "  aminoglycosides: true")
    with pytest.raises(RefusedError, match="relative contraindication 'aminoglycosides'"):
        _resolve(_case(tmp_path, text), builtin_library)
    text += (
        "overrides:\n  - contraindication: aminoglycosides\n"
        "    reason: Course ends two days before; dose reduced and patient observed.\n    physician: 王医生\n"
    )
    assert _resolve(_case(tmp_path, text), builtin_library).case.overrides[0].contraindication == "aminoglycosides"


def test_missing_answer_needed_by_conditions(tmp_path: Path, builtin_library: Library) -> None:
    text = SAMPLE.replace("  anticoagulants: true\n", "")
    with pytest.raises(MultiInputError, match="needs an answer to: anticoagulants"):
        _resolve(_case(tmp_path, text), builtin_library)


def test_subject_id_is_keyed_and_stable(tmp_path: Path) -> None:
    case, _ = load_case(_case(tmp_path, SAMPLE))
    a = subject_id(case, b"k" * 32)
    assert a == subject_id(case, b"k" * 32) and a != subject_id(case, b"j" * 32)
    assert "110101" not in a and a.startswith("hmac-sha256:")


def test_absolute_contraindication_points_at_the_answer(tmp_path: Path, builtin_library: Library) -> None:
    text = SAMPLE.replace("  pregnant: false", "  pregnant: true")
    with pytest.raises(RefusedError, match="absolute contraindication 'pregnancy' holds") as err:
        _resolve(_case(tmp_path, text), builtin_library)
    assert err.value.location is not None
    assert (err.value.location.line, err.value.location.field) == (_line_of(text, "pregnant: true"), "intake.pregnant")
    assert "botulinum-toxin.yaml:" in err.value.message and "pregnant or breastfeeding" in err.value.message


def test_relative_contraindication_says_how_to_override(tmp_path: Path, builtin_library: Library) -> None:
    text = SAMPLE.replace("  aminoglycosides: false", "  aminoglycosides: true")
    with pytest.raises(RefusedError) as err:
        _resolve(_case(tmp_path, text), builtin_library)
    assert err.value.location is not None
    line = _line_of(text, "aminoglycosides: true")
    assert (err.value.location.line, err.value.location.field) == (line, "intake.aminoglycosides")
    assert "overrides: [{contraindication: aminoglycosides, reason:" in err.value.message
