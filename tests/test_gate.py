"""The pre-procedure gate on real packets, signed with the embedded TSA: a refusal for each condition, in words a
nurse reads, and a pass; each decision logged with its reason codes and a signed tree head."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from _workflow_fixtures import (
    NURSE,
    OTHER_PHYSICIAN,
    SECRET,
    Clinic,
    clock_at,
    full_case,
    make_clinic,
    make_packet,
    packet_dir,
    sign,
    write_case,
)
from consentkit.audit.log import AuditLog
from consentkit.cli import main
from consentkit.workflow import CheckinResult, checkin


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Clinic:
    clinic = make_clinic(tmp_path_factory.mktemp("gate"))
    full_case(clinic, "C-GATE-FULL")
    make_packet(clinic, "C-GATE-MINOR", minor=True)
    sign(clinic, "C-GATE-MINOR", ("clinic", "physician", "patient"))
    make_packet(clinic, "C-GATE-DRAFT", draft=True)
    make_packet(clinic, "C-GATE-NOSEAL")
    sign(clinic, "C-GATE-NOSEAL", ("clinic", "physician", "patient"))
    from consentkit.case import load_case
    from consentkit.workflow import sign_role

    case = load_case(clinic.cases["C-GATE-NOSEAL"])[0]
    pdf = packet_dir(clinic, "C-GATE-NOSEAL") / "packet.pdf"
    sign_role(clinic.ws, pdf, "witness", "张护士", secret=SECRET, case=case, seal=False)
    return clinic


@pytest.fixture(scope="module")
def earliest(clinic: Clinic) -> dt.datetime:
    result = checkin(clinic.ws, "C-GATE-FULL", who=NURSE)
    assert result.decision.earliest is not None
    return result.decision.earliest


def checkin_at(clinic: Clinic, case_id: str, when: dt.datetime, **options: object) -> CheckinResult:
    """Check in while the clock (and the embedded TSA) reads ``when``, as the demo simulates it."""
    with clock_at(clinic, when) as log:
        return checkin(clinic.ws, case_id, who=NURSE, log=log, **options)  # type: ignore[arg-type]


def events(clinic: Clinic, case_id: str) -> list[tuple[int, object]]:
    with AuditLog.for_workspace(clinic.ws) as log:
        return [(s.index, s.event) for s in log.case_events(case_id)]


def latest_head_size(clinic: Clinic) -> int:
    with AuditLog.for_workspace(clinic.ws) as log:
        head = log.latest_head()
        assert head is not None
        return head.size


def test_too_early_is_refused_with_the_earliest_start_in_the_clinics_zone(
    clinic: Clinic, earliest: dt.datetime
) -> None:
    result = checkin_at(clinic, "C-GATE-FULL", earliest - dt.timedelta(days=3))
    assert not result.passed and result.started is None
    assert result.decision.codes == ["cooling-off-not-elapsed"]
    en = result.decision.failures[0].message("en")
    local = earliest.astimezone(clinic.ws.zone)
    assert f"{local:%Y-%m-%d %H:%M} CST (Asia/Shanghai)" in en
    assert "at least 15 days" in en and "3 days 0 hours after this check-in time" in en
    zh = result.decision.failures[0].message("zh-CN")
    assert "时间太早" in zh and "15 天" in zh
    # logged with the code, the judged time and a head right after it
    index, event = events(clinic, "C-GATE-FULL")[-1]
    assert index == result.checkin.index and event.type == "procedure.checkin"  # type: ignore[attr-defined]
    assert event.data.outcome == "refused" and event.data.reasons == ("cooling-off-not-elapsed",)  # type: ignore[attr-defined]
    assert latest_head_size(clinic) == index + 1


def test_one_second_before_the_end_of_the_period_is_still_too_early(clinic: Clinic, earliest: dt.datetime) -> None:
    assert not checkin_at(clinic, "C-GATE-FULL", earliest - dt.timedelta(seconds=1)).passed


def test_after_the_period_the_gate_passes_and_logs_the_start(clinic: Clinic, earliest: dt.datetime) -> None:
    result = checkin_at(clinic, "C-GATE-FULL", earliest + dt.timedelta(minutes=1))
    at = result.decision.at
    assert dt.timedelta(0) <= at - (earliest + dt.timedelta(minutes=1)) < dt.timedelta(seconds=30)
    assert result.passed, result.decision.codes
    assert result.started is not None and result.started.index == result.checkin.index + 1
    logged = dict(events(clinic, "C-GATE-FULL"))
    passed, started = logged[result.checkin.index], logged[result.started.index]
    assert passed.data.outcome == "pass" and passed.data.at == at  # type: ignore[attr-defined]
    assert started.type == "procedure.started" and started.data.at == at  # type: ignore[attr-defined]
    assert started.refs[0].index == result.checkin.index  # type: ignore[attr-defined]
    assert latest_head_size(clinic) == result.started.index + 1
    assert result.decision.physician_signer == "王医生" and result.decision.operating_physician == "王医生"


def test_a_changed_packet_file_is_refused(clinic: Clinic, earliest: dt.datetime, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(packet_dir(clinic, "C-GATE-FULL"), copy)
    pdf = copy / "packet.pdf"
    data = bytearray(pdf.read_bytes())
    data[len(data) // 3] ^= 0x01
    pdf.write_bytes(bytes(data))
    result = checkin_at(clinic, "C-GATE-FULL", earliest + dt.timedelta(hours=1), packet_dir=copy)
    assert not result.passed and result.started is None
    assert result.decision.codes[:2] == ["packet-altered", "signature-invalid"]
    assert "changed after it was made or signed" in result.decision.failures[0].message("en")
    assert "does not check out (the file does not start with the packet" in result.decision.failures[1].message("en")
    # a file that is no longer a PDF at all
    pdf.write_bytes(b"not a pdf any more")
    result = checkin_at(clinic, "C-GATE-FULL", earliest + dt.timedelta(hours=1), packet_dir=copy)
    assert result.decision.codes[:2] == ["packet-altered", "signature-invalid"]


def test_a_packet_the_log_never_saw_is_refused(clinic: Clinic, tmp_path: Path) -> None:
    from consentkit.packet import build_packet

    case = write_case(clinic, "C-GATE-UNLOGGED")
    build_packet(clinic.ws, case, tmp_path / "p")
    result = checkin(clinic.ws, "C-GATE-UNLOGGED", packet_dir=tmp_path / "p", who=NURSE)
    assert result.decision.codes[:1] == ["packet-not-in-log"]
    assert "not-signed" in result.decision.codes and "cooling-off-not-started" in result.decision.codes


def test_the_operating_physician_must_be_the_one_who_signed(clinic: Clinic, earliest: dt.datetime) -> None:
    at = earliest + dt.timedelta(hours=2)
    result = checkin_at(clinic, "C-GATE-FULL", at, physician=OTHER_PHYSICIAN)
    assert result.decision.codes == ["physician-mismatch"]
    message = result.decision.failures[0].message("en")
    assert "王医生 explained and signed the disclosure, but 李医生 is operating" in message
    # the default comes from the case file's operating physician
    path = clinic.cases["C-GATE-FULL"]
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(
            original.replace("operating:\n    name: 王医生", "operating:\n    name: 李医生"), encoding="utf-8"
        )
        assert "李医生" in path.read_text(encoding="utf-8")
        assert checkin_at(clinic, "C-GATE-FULL", at).decision.codes == ["physician-mismatch"]
    finally:
        path.write_text(original, encoding="utf-8")


def test_a_minors_guardian_must_sign(clinic: Clinic) -> None:
    result = checkin_at(clinic, "C-GATE-MINOR", dt.datetime.now(dt.UTC) + dt.timedelta(days=60))
    codes = result.decision.codes
    assert "guardian-not-signed" in codes
    assert codes.index("guardian-not-signed") < codes.index("not-signed")  # named first, on its own line
    missing = next(f for f in result.decision.failures if f.code == "not-signed").message("en")
    assert "the witness" in missing and "guardian" not in missing
    assert "parent or guardian has not signed" in result.decision.failures[codes.index("guardian-not-signed")].message(
        "en"
    )
    assert "seal-missing" in codes and "cooling-off-not-started" in codes  # every failing condition is listed


def test_a_packet_without_the_required_approvals_is_refused(
    clinic: Clinic, earliest: dt.datetime, tmp_path: Path
) -> None:
    import json

    copy = tmp_path / "copy"
    shutil.copytree(packet_dir(clinic, "C-GATE-FULL"), copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["approvals"] = [a for a in manifest["approvals"] if a["role"] != "legal"]
    (copy / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    result = checkin_at(clinic, "C-GATE-FULL", earliest + dt.timedelta(hours=3), packet_dir=copy)
    assert "not-approved" in result.decision.codes and "packet-not-in-log" in result.decision.codes
    failure = next(f for f in result.decision.failures if f.code == "not-approved")
    assert "no legal approval on record" in failure.message("en") and "法务审批" in failure.message("zh-CN")


def test_a_packet_signed_by_everyone_but_not_sealed_is_refused(clinic: Clinic) -> None:
    result = checkin_at(clinic, "C-GATE-NOSEAL", dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    assert result.decision.codes == ["seal-missing"]  # not "a signature does not check out"
    assert "seal is missing" in result.decision.failures[0].message("en")


def test_a_draft_is_refused(clinic: Clinic) -> None:
    result = checkin(clinic.ws, "C-GATE-DRAFT", who=NURSE)
    assert result.decision.codes[0] == "draft-packet"
    assert "DRAFT" in result.decision.failures[0].message("en")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_refusal_lists_reasons_and_exits_1_pass_exits_0(
    clinic: Clinic, earliest: dt.datetime, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the command opens the workspace's log; here it gets the demo's, whose TSA follows the simulated clock
    from contextlib import contextmanager

    from consentkit.audit import clock
    from consentkit.demo import demo_log

    @contextmanager
    def demo_opened(ws: object, log: object, secret: object = None) -> object:
        with demo_log(ws, SECRET) as own:
            yield own

    import sys

    monkeypatch.setattr(sys.modules["consentkit.workflow.checkin"], "opened", demo_opened)
    w = ["-w", str(clinic.ws.root)]
    with clock.simulated(earliest - dt.timedelta(hours=5)):
        code, out, err = run([*w, "checkin", "C-GATE-FULL", "--lang", "en", "--actor", "li.na"], capsys)
    assert code == 1, err
    assert "REFUSED" in out and "  1. Too early." in out and "cooling-off-not-elapsed" in out
    late = earliest + dt.timedelta(minutes=2)
    with clock.simulated(late):
        code, out, err = run([*w, "checkin", "C-GATE-FULL", "--at", late.isoformat()], capsys)
    assert code == 0, out + err
    assert "PASSED" in out and "procedure.started" in out
    assert "the RFC 3161 time of the tree head made just before" in out
    code, out, err = run([*w, "checkin", "C-GATE-MINOR"], capsys)
    assert code == 1 and "1. 患者未成年，监护人还没有签署" in out  # the clinic's first language by default


def test_a_checkin_time_in_the_future_is_refused_as_bad_input(
    clinic: Clinic, earliest: dt.datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gate cannot be passed ahead of time: --at 15 days ahead of the real clock is exit 3, nothing logged."""
    w = ["-w", str(clinic.ws.root)]
    before = len(events(clinic, "C-GATE-FULL"))
    ahead = (earliest + dt.timedelta(minutes=10)).astimezone(clinic.ws.zone).strftime("%Y-%m-%dT%H:%M")
    code, _out, err = run([*w, "checkin", "C-GATE-FULL", "--at", ahead], capsys)
    assert code == 3 and "is in the future" in err and "Traceback" not in err
    assert len(events(clinic, "C-GATE-FULL")) == before


def test_a_checkin_time_in_the_past_is_refused_as_bad_input(
    clinic: Clinic, earliest: dt.datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    """--at could be any distance in the past, so procedure.started recorded a time before the RFC 3161 time the
    check-in provably followed: a check-in recorded after the procedure is no gate. Exit 3, nothing logged; a watch
    a minute behind is still fine."""
    w = ["-w", str(clinic.ws.root)]
    before = len(events(clinic, "C-GATE-FULL"))
    now = dt.datetime.now(clinic.ws.zone)
    code, _out, err = run([*w, "checkin", "C-GATE-FULL", "--at", (now - dt.timedelta(minutes=10)).isoformat()], capsys)
    assert code == 3 and "is in the past" in err and "--procedure-at" in err and "Traceback" not in err
    assert len(events(clinic, "C-GATE-FULL")) == before
    result = checkin(clinic.ws, "C-GATE-FULL", at=now - dt.timedelta(seconds=60), who=NURSE)
    assert result.decision.codes == ["cooling-off-not-elapsed"]  # judged, not refused as bad input


def test_a_checkin_time_a_little_ahead_is_judged_at_the_timestamped_head(clinic: Clinic, earliest: dt.datetime) -> None:
    """--at 90 s ahead of the clock is within the tolerance for a watch that runs fast, but the period is judged at
    the RFC 3161 time of the head made just before the check-in, which is still inside it."""
    with clock_at(clinic, earliest - dt.timedelta(seconds=60)) as log:
        result = checkin(clinic.ws, "C-GATE-FULL", at=earliest + dt.timedelta(seconds=30), who=NURSE, log=log)
    assert result.decision.codes == ["cooling-off-not-elapsed"]
    assert result.decision.proven_after is not None and result.decision.proven_after < earliest
    (_, event) = events(clinic, "C-GATE-FULL")[-1]
    from consentkit.audit.events import sha256_id
    from consentkit.audit.heads import token_to_response

    docs = {d.name: d.sha256 for d in event.documents}  # type: ignore[attr-defined]
    assert docs["tree-head.tsr"] == sha256_id(token_to_response(result.before.token))
    assert docs["tree-head.json"] == sha256_id(result.before.checkpoint)


def test_cli_bad_input_is_exit_3_and_logs_nothing(clinic: Clinic, capsys: pytest.CaptureFixture[str]) -> None:
    w = ["-w", str(clinic.ws.root)]
    before = len(events(clinic, "C-GATE-FULL"))
    for args in (["--at", "next tuesday"], ["--actor", "王护士"]):
        code, _out, err = run([*w, "checkin", "C-GATE-FULL", *args], capsys)
        assert code == 3 and "Traceback" not in err, err
    code, _out, err = run([*w, "checkin", "../../etc/passwd"], capsys)
    assert code == 3 and "not a case id" in err
    code, _out, err = run([*w, "checkin", "C-NO-SUCH-CASE"], capsys)
    assert code == 3 and "no packet is recorded for case C-NO-SUCH-CASE" in err
    assert len(events(clinic, "C-GATE-FULL")) == before


def test_the_log_never_holds_names_or_identity_numbers(clinic: Clinic) -> None:
    with AuditLog.for_workspace(clinic.ws) as log:
        bodies = b"".join(log.event(i).body for i in range(log.size()))
    for secret in ("陈思雨", "王医生", "张护士", "310101199605120028", "MRN-DEMO-0001", "陈大山"):
        assert secret.encode() not in bodies
    index = (clinic.ws.state_dir / "cases" / "C-GATE-FULL.json").read_text(encoding="utf-8")
    assert "陈思雨" not in index and "310101199605120028" not in index


def test_every_reason_code_and_command_is_documented() -> None:
    from consentkit.evidence.gate_words import MESSAGES

    docs = (Path(__file__).resolve().parent.parent / "docs" / "evidence.md").read_text(encoding="utf-8")
    for code in MESSAGES:
        assert f"`{code}`" in docs, code
    for command in ("present", "checkin", "evidence", "verify-evidence", "demo"):
        assert f"consentkit {command} " in docs, command
