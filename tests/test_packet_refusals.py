"""Case input the packet refuses before rendering anything: exit 3 with the case file, line and field."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from _packet_fixtures import example_case, write_case
from consentkit.cli import main
from consentkit.errors import CaseError
from consentkit.packet import build_packet
from consentkit.workspace import Workspace, init_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return init_workspace(tmp_path_factory.mktemp("ws") / "clinic")


def _packet(
    ws: Workspace, case: Path, out: Path, capsys: pytest.CaptureFixture[str], *, draft: bool = True
) -> tuple[int, str]:
    try:
        main(["--workspace", str(ws.root), "packet", str(case), "-o", str(out), *(["--draft"] if draft else [])])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_emoji_in_a_name_names_the_case_field(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = example_case()
    data["patient"]["name"] = "李小梅😀"
    data["overrides"] = []
    case = write_case(tmp_path / "case.yaml", data)
    line = next(i for i, row in enumerate(case.read_text(encoding="utf-8").splitlines(), 1) if "😀" in row)
    code, out = _packet(ws, case, tmp_path / "out", capsys)
    assert code == 3, out
    first = out.strip().splitlines()[0]
    message = "no font of the documents can draw 😀 (U+1F600); write it without that character"
    assert first == f"error: {case}:{line} patient.name: {message}"
    assert "html.j2" not in out and "Traceback" not in out
    assert not (tmp_path / "out").exists()


def _beijing(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone(dt.timedelta(hours=8)))


def test_cli_planned_before_cooling_off_ends_exits_3(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Botulinum toxin needs a day between signing and the procedure; 3 hours is refused, with the earliest
    permitted start and the planned_at line."""
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    data = example_case()
    data["consultation_at"] = _beijing(now - dt.timedelta(hours=1))
    data["planned_at"] = _beijing(now + dt.timedelta(hours=3))
    case = write_case(tmp_path / "case.yaml", data)
    rows = case.read_text(encoding="utf-8").splitlines()
    line = next(i for i, row in enumerate(rows, start=1) if row.startswith("planned_at:"))
    code, out = _packet(ws, case, tmp_path / "p", capsys, draft=False)  # checked before the approvals
    assert code == 3, out
    first = out.strip().splitlines()[0]
    assert first.startswith(f"error: {case}:{line} planned_at: "), first
    assert "earlier than the cooling-off period allows" in first
    assert "at least 1 day (24 hours) after the patient signs" in first
    assert re.search(r"the earliest permitted start is \d{4}-\d\d-\d\d \d\d:\d\d Asia/Shanghai", first)
    assert not (tmp_path / "p").exists()


def test_cli_planned_in_the_past_exits_3(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = example_case()
    data["consultation_at"] = _beijing(dt.datetime(2020, 1, 1, 2, 0, tzinfo=dt.UTC))
    data["planned_at"] = _beijing(dt.datetime(2020, 1, 9, 2, 0, tzinfo=dt.UTC))
    case = write_case(tmp_path / "case.yaml", data)
    code, out = _packet(ws, case, tmp_path / "p", capsys, draft=False)
    assert code == 3, out
    assert "planned_at: 2020-01-09 10:00 Asia/Shanghai is in the past" in out
    assert not (tmp_path / "p").exists()


def test_a_draft_may_be_made_for_any_planned_time_with_a_note(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A draft is never signed, presented or checked in: it may show a past date (say, to discuss one)."""
    data = example_case()
    data["consultation_at"] = _beijing(dt.datetime(2020, 1, 1, 2, 0, tzinfo=dt.UTC))
    data["planned_at"] = _beijing(dt.datetime(2020, 1, 9, 2, 0, tzinfo=dt.UTC))
    case = write_case(tmp_path / "case.yaml", data)
    code, out = _packet(ws, case, tmp_path / "p", capsys)
    assert code == 0, out
    assert "draft: every page is stamped DRAFT" in out
    assert "note: " in out and "planned_at: 2020-01-09 10:00 Asia/Shanghai is in the past" in out
    assert "allowed in a draft, which is never signed" in out
    assert (tmp_path / "p" / "packet.pdf").is_file()


def test_cooling_off_counts_from_when_the_packet_is_made(ws: Workspace, tmp_path: Path) -> None:
    """A packet made after the consultation cannot be signed before it exists."""
    case = write_case(tmp_path / "case.yaml", example_case(as_written=True))  # consultation 1 Dec 10:00, planned 8 Dec
    earliest = r"sign before this packet exists \(now\), so the earliest permitted start is 2026-12-08 15:00"
    late = dt.datetime(2026, 12, 7, 7, 0, tzinfo=dt.UTC)
    with pytest.raises(CaseError, match=earliest):
        build_packet(ws, case, tmp_path / "out", now=late)
    draft = build_packet(ws, case, tmp_path / "draft", draft=True, now=late)  # a draft is made, with the note
    assert len(draft.notes) == 1 and re.search(earliest, draft.notes[0]) and draft.manifest.draft
    result = build_packet(ws, case, tmp_path / "out", draft=True, now=dt.datetime(2026, 12, 7, 6, 0, tzinfo=dt.UTC))
    assert result.manifest.planned_at == dt.datetime(2026, 12, 8, 6, 30, tzinfo=dt.UTC) and result.notes == ()
