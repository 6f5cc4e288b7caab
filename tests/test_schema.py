"""The JSON Schemas in the repository's schema/ folder: what `consentkit schema` writes, and where every built-in
file's modeline points."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from consentkit.spec.schema import SCHEMA_FILES, json_schema, json_schema_text
from test_cli_basics import run

ROOT = Path(__file__).resolve().parent.parent
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


@pytest.mark.parametrize(("kind", "name"), sorted(SCHEMA_FILES.items()))
def test_committed_schema_is_what_consentkit_schema_writes(kind: str, name: str) -> None:
    committed = (ROOT / "schema" / name).read_text(encoding="utf-8")
    assert committed == json_schema_text(kind), f"schema/{name} is stale: run consentkit schema --all -o schema"


def test_no_other_schema_is_committed() -> None:
    assert sorted(p.name for p in (ROOT / "schema").iterdir()) == sorted(SCHEMA_FILES.values())


def test_every_builtin_modeline_resolves() -> None:
    files = [*ROOT.glob("procedures/*.yaml"), *ROOT.glob("procedures/policies/*.yaml"), *ROOT.glob("signatures/*.yaml")]
    assert len(files) >= 17
    for path in files:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        found = MODELINE.match(first)
        assert found, f"{path.relative_to(ROOT)} has no modeline"
        target = (path.parent / found.group(1)).resolve()
        assert target.is_file() and target.parent == ROOT / "schema", f"{path.relative_to(ROOT)} -> {target}"


def test_schemas_are_draft_07_and_strict() -> None:
    for kind in SCHEMA_FILES:
        schema = json_schema(kind)
        assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
        assert schema["additionalProperties"] is False
    signing = json_schema("signing-profile")
    assert signing["properties"]["pades_level"]["enum"] == ["B-T", "B-LT", "B-LTA"]


def test_schema_all_writes_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["schema", "--all", "-o", str(tmp_path / "schema")], capsys)
    assert code == 0, err
    for kind, name in SCHEMA_FILES.items():
        assert (tmp_path / "schema" / name).read_text(encoding="utf-8") == json_schema_text(kind)
    code, _, err = run(["schema", "--all"], capsys)
    assert code == 2 and "--all needs -o DIR" in err
