"""``consentkit init`` and ``consentkit.toml``: options checked before anything is written, nothing left behind on
failure, the schemas the modelines point to, the size limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from consentkit.errors import ConfigError, WorkspaceError
from consentkit.spec.schema import SCHEMA_FILES, json_schema_text
from consentkit.workspace import CONFIG_FILE, DOCS_URL, Workspace, init_workspace, load_config
from test_cli_basics import run


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--timezone", "Mars/Olympus"], "--timezone: unknown time zone 'Mars/Olympus'"),
        (["--jurisdiction", "zz"], "--jurisdiction: no policy 'zz' (known: cn, fr, tw, uk, us"),
    ],
)
def test_init_with_a_bad_option_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, option: list[str], message: str
) -> None:
    monkeypatch.delenv("CONSENTKIT_PASSPHRASE", raising=False)  # refused before the passphrase is asked for
    target = tmp_path / "ws9"
    code, _, err = run(["init", str(target), *option], capsys)
    assert code == 3 and message in err and "Traceback" not in err
    assert not target.exists()
    existing = tmp_path / "repo"
    existing.mkdir()
    (existing / ".gitignore").write_text("node_modules/\n")
    code, _, _ = run(["init", str(existing), *option], capsys)
    assert code == 3
    assert sorted(p.name for p in existing.iterdir()) == [".gitignore"]


def test_a_policy_of_the_workspace_is_a_known_jurisdiction(tmp_path: Path) -> None:
    policies = tmp_path / "clinic" / "procedures" / "policies"
    policies.mkdir(parents=True)
    (policies / "hk.yaml").write_text("jurisdiction: hk\n")
    ws = init_workspace(tmp_path / "clinic", jurisdiction="hk")
    assert ws.config.clinic.jurisdiction == "hk"


def test_a_failure_while_populating_removes_what_init_created(tmp_path: Path) -> None:
    target = tmp_path / "repo"
    (target / "procedures").mkdir(parents=True)
    (target / "procedures" / "mine.yaml").write_text("id: mine\n")
    (target / ".gitignore").write_text("build/\n")

    def broken_pki(ws: Workspace) -> None:
        (ws.signatures_dir / "trust").mkdir()
        (ws.signatures_dir / "trust" / "clinic-root.pem").write_text("half")
        raise WorkspaceError("the PKI could not be created")

    with pytest.raises(WorkspaceError, match="PKI"):
        init_workspace(target, populate=broken_pki)
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == [
        ".gitignore",
        "procedures",
        "procedures/mine.yaml",
    ]
    assert (target / ".gitignore").read_text() == "build/\n"
    ws = init_workspace(target)  # and it can simply be run again
    assert (ws.root / CONFIG_FILE).is_file()


def test_a_failure_in_a_new_folder_removes_the_folder(tmp_path: Path) -> None:
    def broken(ws: Workspace) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        init_workspace(tmp_path / "new", populate=broken)
    assert not (tmp_path / "new").exists()


def test_clinic_name_is_written_as_toml_text(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "clinic", clinic_name='Dr "Li" \\ Partners\n')
    assert ws.config.clinic.name["en"] == 'Dr "Li" \\ Partners\n'
    assert load_config(ws.root / CONFIG_FILE) == ws.config


def test_init_writes_the_schemas_the_modelines_point_to(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "clinic")
    for kind, name in SCHEMA_FILES.items():
        assert (ws.root / "schema" / name).read_text(encoding="utf-8") == json_schema_text(kind)
    # a built-in spec copied into the workspace keeps its modeline, which must resolve there
    modeline = "# yaml-language-server: $schema=../schema/procedure.json"
    assert (ws.procedures_dir / ".." / "schema" / "procedure.json").is_file()
    assert modeline in (ws.procedures_dir / "README.md").read_text()
    assert (ws.procedures_dir / "policies" / ".." / ".." / "schema" / "policy.json").is_file()
    assert (ws.signatures_dir / ".." / "schema" / "signing-profile.json").is_file()


def test_generated_config_links_to_the_workspace_docs(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "clinic")
    assert DOCS_URL in (ws.root / CONFIG_FILE).read_text(encoding="utf-8")
    assert DOCS_URL.endswith("docs/workspace.md")
    assert (Path(__file__).parent.parent / "docs" / "workspace.md").is_file()


def test_huge_config_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_FILE
    with path.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    with pytest.raises(ConfigError, match="larger than"):
        load_config(path)


def test_init_keeps_schema_files_that_are_already_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "repo"
    (target / "schema").mkdir(parents=True)
    mine = target / "schema" / "procedure.json"
    mine.write_text('{"title": "our own, edited"}\n')

    def broken_pki(ws: Workspace) -> None:
        raise WorkspaceError("the PKI could not be created")

    with pytest.raises(WorkspaceError):
        init_workspace(target, populate=broken_pki)
    assert mine.read_text() == '{"title": "our own, edited"}\n'
    assert sorted(p.name for p in (target / "schema").iterdir()) == ["procedure.json"]

    monkeypatch.setenv("CONSENTKIT_PASSPHRASE", "correct horse battery staple")
    code, out, err = run(["init", str(target)], capsys)
    assert code == 0, err
    assert mine.read_text() == '{"title": "our own, edited"}\n'
    assert f"kept {mine}: not this version's schema" in out
    for kind, name in SCHEMA_FILES.items():
        if name != "procedure.json":
            assert (target / "schema" / name).read_text(encoding="utf-8") == json_schema_text(kind)
