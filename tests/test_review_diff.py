"""``consentkit review diff``: the semantic summary for each kind of change, PROCEDURE@VERSION from git history,
and the three output formats."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from consentkit.cli import main
from consentkit.errors import InputError
from consentkit.resources import builtin_dir
from consentkit.review.diff import html_lines, semantic_diff
from consentkit.review.history import resolve_version
from consentkit.spec.library import load_spec
from consentkit.spec.models import ProcedureSpec
from consentkit.workspace import Workspace, init_workspace

PROCEDURE = "botulinum-toxin"


def builtin() -> dict[str, Any]:
    return yaml.safe_load((builtin_dir("procedures") / f"{PROCEDURE}.yaml").read_text(encoding="utf-8"))


def spec_of(data: dict[str, Any], folder: Path) -> ProcedureSpec:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{PROCEDURE}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_spec(path).model


def summaries(old: dict[str, Any], new: dict[str, Any], tmp: Path) -> list[str]:
    return [c.describe() for c in semantic_diff(spec_of(old, tmp / "a"), spec_of(new, tmp / "b"))]


def test_identical_specs_have_no_change(tmp_path: Path) -> None:
    assert summaries(builtin(), builtin(), tmp_path) == []


def test_risk_changes_are_named(tmp_path: Path) -> None:
    old, new = builtin(), builtin()
    risks = {r["id"]: r for r in new["risks"]}
    first, second = new["risks"][0]["id"], new["risks"][1]["id"]
    risks[first]["band"] = "common" if risks[first]["band"] != "common" else "uncommon"
    risks[first].pop("rate", None)
    risks[second]["text"]["zh-TW"] += "。"
    risks[second]["text"]["zh-CN"] += "。"
    removed = new["risks"].pop()
    new["risks"].append(
        {
            "id": "new-risk",
            "title": {"zh-CN": "新风险", "zh-TW": "新風險", "en": "A new risk"},
            "band": "rare",
            "severity": "minor",
            "permanence": "temporary",
            "text": {"zh-CN": "说明。", "zh-TW": "說明。", "en": "Text."},
            "management": {"zh-CN": "处理。", "zh-TW": "處理。", "en": "Care."},
        }
    )
    out = summaries(old, new, tmp_path)
    band = next(line for line in out if line.startswith(f"risks[{first}].band"))
    assert "re-banded" in band
    assert any(line.startswith(f"risks[{first}].rate: re-rated") for line in out) or "rate" not in old["risks"][0]
    assert f"risks[{second}].text: re-worded (zh-CN, zh-TW)" in out
    assert f"risks[{removed['id']}]: removed — {removed['title']['en']}" in out
    assert "risks[new-risk]: added — A new risk" in out


def test_contraindication_cooling_off_follow_up_options_version(tmp_path: Path) -> None:
    old, new = builtin(), builtin()
    new["version"] = "9.0.0"
    new["contraindications"][0]["kind"] = (
        "relative" if new["contraindications"][0]["kind"] == "absolute" else "absolute"
    )
    new["cooling_off"] = {"days": 9}
    new["follow_up"][0]["at"] = "3w"
    new["options"][0]["choices"].pop()
    out = summaries(old, new, tmp_path)
    assert out[0] == f"version: changed {old['version']} → 9.0.0"
    assert any(
        line.startswith(f"contraindications[{new['contraindications'][0]['id']}].kind: re-classified") for line in out
    )
    assert any(line.startswith("cooling_off") for line in out)
    assert any(re.match(rf"follow_up\[{new['follow_up'][0]['id']}\]\.at: changed .* → 3w", line) for line in out)
    assert any(line.startswith(f"options[{new['options'][0]['id']}].choices[") and "removed" in line for line in out)


def test_html_lines_keep_rows_and_skip_stamps() -> None:
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body>"
        '<div class="stamp" aria-hidden="true">SPECIMEN<br>x</div>'
        "<h1>Title</h1><p>One <strong>two</strong></p>"
        "<table><tr><td>a<span class='c'>if b</span></td><td>c</td></tr></table></body></html>"
    )
    assert html_lines(html) == ["Title", "One two", "a if b | c"]


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def history_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace repo with two committed versions of the spec and an uncommitted third."""
    ws = init_workspace(tmp_path_factory.mktemp("hist") / "clinic")
    path = ws.procedures_dir / f"{PROCEDURE}.yaml"
    data = builtin()
    data["version"] = "2.0.0"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    git(ws.root, "init", "-q")
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", "2.0.0")
    data["version"] = "2.1.0"
    data["cooling_off"] = {"days": 3}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    git(ws.root, "commit", "-q", "-am", "2.1.0")
    data["version"] = "2.2.0"
    data["risks"][0]["title"]["en"] = "Changed title"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return ws


def test_versions_from_git_history(history_ws: Workspace) -> None:
    old = resolve_version(history_ws, f"{PROCEDURE}@2.0.0")
    assert old.model.version == "2.0.0" and old.origin.startswith("workspace git ")
    mid = resolve_version(history_ws, f"{PROCEDURE}@2.1.0")
    assert mid.model.cooling_off is not None and mid.model.cooling_off.days == 3
    now = resolve_version(history_ws, PROCEDURE)
    assert now.model.version == "2.2.0" and now.origin == "workspace working tree"
    builtin_version = builtin()["version"]
    origin = resolve_version(history_ws, f"{PROCEDURE}@{builtin_version}").origin
    # the clone's own history of the built-in file, saying plainly that it is not the workspace's repository
    assert origin == "built-in library file" or re.fullmatch(
        r"built-in library git [0-9a-f]{10}, repository .+", origin
    )
    with pytest.raises(InputError, match=r"no such version .*known: .*2\.0\.0.*2\.1\.0"):
        resolve_version(history_ws, f"{PROCEDURE}@7.7.7")


def _run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = int(main(list(args)) or 0)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_formats(history_ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    w = ["--workspace", str(history_ws.root)]
    code, out, err = _run(*w, "review", "diff", f"{PROCEDURE}@2.1.0", PROCEDURE, "--format", "json", "--lang", "en",
                          capsys=capsys)  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["old"]["version"] == "2.1.0" and data["new"]["version"] == "2.2.0"
    first_risk = builtin()["risks"][0]["id"]
    wheres = [c["where"] for c in data["changes"]]
    assert wheres == ["version", f"risks[{first_risk}].title"]
    assert data["changes"][1]["locales"] == ["en"] and data["changes"][1]["item"] == first_risk
    changed = {(d["doc"], d["locale"]) for d in data["documents"] if d["changed"]}
    assert ("disclosure", "en") in changed
    code, out, err = _run(*w, "review", "diff", f"{PROCEDURE}@2.0.0", f"{PROCEDURE}@2.1.0", "--lang", "zh-CN",
                          "--doc", "consent", capsys=capsys)  # fmt: skip
    assert code == 0, err
    assert "cooling_off" in out and "== consent · zh-CN ==" in out
    html_file = tmp_path / "diff.html"
    code, _, err = _run(*w, "review", "diff", f"{PROCEDURE}@2.1.0", PROCEDURE, "--format", "html", "-o",
                        str(html_file), "--lang", "en", capsys=capsys)  # fmt: skip
    assert code == 0, err
    page = html_file.read_text(encoding="utf-8")
    assert "<del>" in page and "<ins>Changed" in page and "risks[" in page
    code, out, err = _run(*w, "review", "diff", "nope@1.0.0", PROCEDURE, capsys=capsys)
    assert code == 3 and "unknown procedure 'nope'" in err and "Traceback" not in err


def test_diff_of_two_plain_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = tmp_path / "a" / f"{PROCEDURE}.yaml"
    b = tmp_path / "b" / f"{PROCEDURE}.yaml"
    data = builtin()
    spec_of(data, a.parent)
    data["aftercare"]["red_flags"].pop()
    spec_of(data, b.parent)
    code, out, err = _run("review", "diff", str(a), str(b), "--no-render", capsys=capsys)
    assert code == 0, err
    assert "aftercare.red_flags[" in out and ": removed" in out
    assert "Rendered documents" not in out


def test_diff_of_files_with_any_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Copies named old-ha.yaml and new-ha.yaml (not <id>.yaml) compare: the id = file-name rule is the library's."""
    data = builtin()
    old, new = tmp_path / "old-ha.yaml", tmp_path / "new-ha.yaml"
    old.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    data["risks"][0]["title"]["en"] = "Changed title"
    new.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    code, out, err = _run("review", "diff", str(old), str(new), "--lang", "en", "--doc", "disclosure", capsys=capsys)
    assert code == 0, err
    assert f"risks[{data['risks'][0]['id']}].title: re-worded (en)" in out
    assert "== disclosure · en ==" in out and "{+Changed" in out
    # a broken copy still names its file and line (exit 3), whatever its name
    new.write_text(new.read_text(encoding="utf-8").replace("category: minimally-invasive", "category: sometimes"))
    code, _, err = _run("review", "diff", str(old), str(new), "--no-render", capsys=capsys)
    assert code == 3 and "new-ha.yaml:" in err and "category" in err and "Traceback" not in err


def test_changed_words_are_marked_everywhere(history_ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """Terminal summary and side by side mark the changed words ([-old-] {+new+}, coloured on a terminal); JSON
    hunks and changes carry word runs; the HTML table has old/new headings naming both versions."""
    from consentkit.review.diff import rendered_diff
    from consentkit.review.diffview import DiffResult, as_html, as_text

    old, new = resolve_version(history_ws, f"{PROCEDURE}@2.1.0"), resolve_version(history_ws, PROCEDURE)
    title = builtin()["risks"][0]["title"]["en"]
    result = DiffResult(
        old,
        new,
        semantic_diff(old.model, new.model),
        rendered_diff(history_ws, old, new, docs=["disclosure"], locales=["en"]),
    )
    text = as_text(result, width=200)
    assert f"      en: [-{title}-]" in text and "        → {+Changed title+}" in text
    assert "\x1b[" not in text
    coloured = as_text(result, width=200, color=True)
    assert f"\x1b[31m[-{title}-]\x1b[0m" in coloured and "\x1b[32m{+Changed title+}\x1b[0m" in coloured
    assert "(workspace git " in text and "(workspace working tree)" in text
    page = as_html(result)
    assert '<thead><tr><th colspan="2" class="old">Old: botulinum-toxin 2.1.0 (workspace git ' in page
    assert "New: botulinum-toxin 2.2.0 (workspace working tree)</th>" in page
    code, out, err = _run("--workspace", str(history_ws.root), "review", "diff", f"{PROCEDURE}@2.1.0", PROCEDURE,
                          "--format", "json", "--lang", "en", "--doc", "disclosure", capsys=capsys)  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    words = data["changes"][1]["words"]["en"]
    assert words == {"old": [{"text": title, "changed": True}], "new": [{"text": "Changed title", "changed": True}]}
    rows = [row for d in data["documents"] for h in d["hunks"] for row in h["lines"]]
    row = next(r for r in rows if r["old"] and f"[-{title}-]" in r["old"])
    assert "{+Changed title+}" in row["new"] and {"text": "Changed title", "changed": True} in row["new_words"]
    assert isinstance(row["old_line"], int) and isinstance(row["new_line"], int)
