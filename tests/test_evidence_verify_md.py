"""VERIFY.md's commands, run as written with real sha256sum, openssl, pdfsig, certutil, xxd and date in a folder
where a real bundle is unzipped: every block passes on the intact bundle, and the right ones fail on a tampered
one (a careful forger also rewrites SHA256SUMS, so only the cryptographic checks stand between them and success)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from _bundle_tools import blocks, event_file, flip_signed_byte, read, run_block, unpack
from _workflow_fixtures import Finished, finished_case, forge_start, full_case, signed_and_too_early
from consentkit.audit.log import AuditLog
from consentkit.workflow import Actor, export_evidence

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("openssl", "pdfsig", "certutil", "xxd", "sha256sum")),
    reason="VERIFY.md needs openssl, pdfsig, certutil, xxd and sha256sum (bootstrap.sh installs them)",
)


def run_all(
    folder: Path, env: dict[str, str] | None = None, only: tuple[int, ...] = ()
) -> dict[int, subprocess.CompletedProcess[str]]:
    steps = blocks((folder / "VERIFY.md").read_text(encoding="utf-8"))
    return {n: run_block(folder, n, code, env) for n, code in sorted(steps.items()) if not only or n in only}


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> Finished:
    return finished_case(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def intact(done: Finished, tmp_path_factory: pytest.TempPathFactory) -> dict[int, subprocess.CompletedProcess[str]]:
    return run_all(unpack(read(done.bundle), tmp_path_factory.mktemp("verify-md")))


def test_every_block_passes_on_the_real_bundle(intact: dict[int, subprocess.CompletedProcess[str]]) -> None:
    assert sorted(intact) == list(range(1, 11))
    for number, result in intact.items():
        assert result.returncode == 0, f"step {number}:\n{result.stdout}\n{result.stderr}"


def test_the_expected_output_is_what_the_tools_print(
    done: Finished, intact: dict[int, subprocess.CompletedProcess[str]]
) -> None:
    text = read(done.bundle)["VERIFY.md"].decode()
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        number = int(section.split(".")[0]) if section[0].isdigit() else None
        expected = re.search(r"Expected:\n\n```\n(.*?)```", section, re.S)
        if number is None or expected is None:
            continue
        shown = intact[number].stdout + intact[number].stderr
        for line in expected.group(1).splitlines():
            assert line in shown, f"step {number}: {line!r} not in\n{shown}"
    assert intact[6].stdout.count("Signature is Valid.") == 5
    assert intact[7].stderr.count("CMS Verification successful") == 5
    assert "from the signature to the check-in: 15 days 0 hours 7 minutes" in intact[9].stdout


def test_every_block_begins_strict_and_refuses_to_run_under_sh(done: Finished, tmp_path: Path) -> None:
    """A block must fail by itself: each begins with set -eu -o pipefail, and sh (dash), which lacks pipefail,
    stops at that line instead of running the checks without it."""
    folder = unpack(read(done.bundle), tmp_path)
    steps = blocks((folder / "VERIFY.md").read_text(encoding="utf-8"))
    assert all(code.startswith("set -eu -o pipefail") for code in steps.values())
    assert not any(re.search(r"&& echo", code) for code in steps.values())  # a failed check never hides behind &&
    if shutil.which("sh") and os.path.realpath(shutil.which("sh") or "").endswith("dash"):
        assert run_block(folder, 3, steps[3], shell="sh").returncode != 0


def test_a_flipped_byte_in_the_packet_fails_the_signature_and_record_checks(done: Finished, tmp_path: Path) -> None:
    files = read(done.bundle)
    files["packet/packet.pdf"] = flip_signed_byte(files["packet/packet.pdf"])
    results = run_all(unpack(files, tmp_path))
    assert results[1].returncode != 0 and "FAILED" in results[1].stdout  # SHA256SUMS, if the forger left it
    for step in (5, 6, 7):
        assert results[step].returncode != 0, f"step {step} passed on a changed packet"
    assert "Digest Mismatch." in results[6].stdout


def test_an_edited_event_fails_the_tree_check(done: Finished, tmp_path: Path) -> None:
    files = read(done.bundle)
    name = event_file(files, "procedure.started")
    files[name] = files[name].replace(b'"at":"20', b'"at":"19')
    results = run_all(unpack(files, tmp_path))
    assert results[4].returncode != 0
    assert f"{name[11:-5]}: NOT in the tree" in results[4].stdout
    assert results[3].returncode == 0  # the head itself is still the clinic's


def test_a_swapped_head_fails_the_tree_check(done: Finished, tmp_path: Path) -> None:
    files = read(done.bundle)
    size = int(re.search(rb'"size":(\d+)', files["log/head.json"]).group(1))  # type: ignore[union-attr]
    with AuditLog.for_workspace(done.clinic.ws) as log:
        older = next(h for h in reversed(log.heads()) if h.size < size)
    for path in older.export(tmp_path / "older.json"):
        files[f"log/head{path.suffix}"] = path.read_bytes()
    results = run_all(unpack(files, tmp_path / "bundle"))
    assert results[3].returncode == 0  # an older head is a real head …
    assert results[4].returncode != 0 and "NOT in the tree" in results[4].stdout  # … but the events do not lead to it
    files["log/head.sig"] = read(done.bundle)["log/head.sig"]  # and a signature over other bytes fails step 3
    assert run_all(unpack(files, tmp_path / "mixed"))[3].returncode != 0


def test_the_cooling_off_block_fails_for_an_early_start(done: Finished, tmp_path: Path) -> None:
    full_case(done.clinic, "C-MD-NOSTART")
    bundle = export_evidence(done.clinic.ws, "C-MD-NOSTART", tmp_path / "b.zip", who=Actor("auditor.wu", "auditor"))
    folder = unpack(read(bundle.path), tmp_path / "b")
    assert "No procedure start is recorded in this bundle" in (folder / "VERIFY.md").read_text(encoding="utf-8")
    signed = bundle.bundle.events[-1].event.data.tsa_time
    zone = done.clinic.ws.zone
    early = (signed + dt.timedelta(days=14, hours=23)).astimezone(zone).isoformat()
    late = (signed + dt.timedelta(days=15, minutes=1)).astimezone(zone).isoformat()
    code = blocks((folder / "VERIFY.md").read_text(encoding="utf-8"))[9]

    def cooling(started: str | None) -> subprocess.CompletedProcess[str]:
        return run_block(folder, 9, code, {"STARTED": started} if started is not None else None)

    assert cooling(early).returncode != 0
    assert cooling(late).returncode == 0
    assert cooling(None).returncode != 0  # the block insists on a start time


def tampered(done: Finished, tmp_path: Path, change: Callable[[dict[str, bytes]], None], step: int) -> int:
    """Run step ``step`` alone, as written, on the bundle after ``change`` (SHA256SUMS rewritten, as a careful
    forger would): its exit status."""
    files = read(done.bundle)
    change(files)
    files["SHA256SUMS"] = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items()) if name != "SHA256SUMS"
    ).encode()
    return run_all(unpack(files, tmp_path), only=(step,))[step].returncode


def _flip(data: bytes, at: int = -10) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def test_each_block_fails_by_itself_when_what_it_checks_is_tampered(done: Finished, tmp_path: Path) -> None:
    original = read(done.bundle)
    named = json.loads(original["bundle.json"])["checkin_heads"]
    heads = [named["lower"], named["upper"]]  # the head the check-in names; the first head holding the start
    assert all(f"{h}/head.tsr" in original for h in heads) and heads[0] != heads[1]
    statement = next(n for n in original if n.endswith(".statement.json"))

    def put(name: str, data: bytes) -> Callable[[dict[str, bytes]], None]:
        return lambda files: files.__setitem__(name, data)

    cases: list[tuple[str, Callable[[dict[str, bytes]], None], int]] = [
        ("another root certificate", put("certs/clinic-root.pem", original["certs/issuing-ca.pem"]), 2),
        ("head.sig flipped", put("log/head.sig", _flip(original["log/head.sig"])), 3),
        ("head.tsr of another head", put("log/head.tsr", original[f"{heads[0]}/head.tsr"]), 3),
        ("manifest edited", put("packet/manifest.json", original["packet/manifest.json"] + b" "), 5),
        ("patient.tsr swapped", put("timestamps/patient.tsr", original["timestamps/physician.tsr"]), 8),
        # step 9 read the patient's time from the .tsr that only step 8 checked (the physician's is earlier)
        ("patient.tsr swapped", put("timestamps/patient.tsr", original["timestamps/physician.tsr"]), 9),
        ("lower head's token swapped", put(f"{heads[0]}/head.tsr", original[f"{heads[1]}/head.tsr"]), 9),
        ("upper head's signature flipped", put(f"{heads[1]}/head.sig", _flip(original[f"{heads[1]}/head.sig"])), 9),
        (
            "approval statement edited",
            put(statement, original[statement].replace(b'"reviewer"', b'"reviewer" ', 1)),
            10,
        ),
    ]
    for n, (what, change, step) in enumerate(cases):
        assert tampered(done, tmp_path / str(n), change, step) != 0, f"step {step} passed with {what}"


def test_an_approval_exported_without_its_signed_statement_fails_step_10(done: Finished, tmp_path: Path) -> None:
    """A cited approval whose statement files were gone at export was only listed; the block now fails on it, as
    verify-evidence reports it."""
    from consentkit.demo import PROCEDURE
    from consentkit.evidence.bundle import assemble
    from consentkit.review import approvals_dir, find_approvals
    from consentkit.workflow import find_packet

    ws = done.clinic.ws
    moved = []
    for approval in find_approvals(approvals_dir(ws), PROCEDURE).approvals:
        target = tmp_path / approval.signature_path.name
        approval.signature_path.rename(target)
        moved.append((target, approval.signature_path))
    try:
        with AuditLog.for_workspace(ws) as log:
            files = assemble(ws, find_packet(ws, done.case_id), log).files
    finally:
        for target, original in moved:
            target.rename(original)
    assert not any(name.startswith("approvals/") and name.endswith(".p7s") for name in files)
    text = files["VERIFY.md"].decode()
    assert text.count("Its signed statement is not in this bundle, so this approval is not proven.") == 2
    result = run_block(unpack(files, tmp_path / "b"), 10, blocks(text)[10])
    assert result.returncode != 0 and "clinical: no signed statement in this bundle: NOT proven" in result.stdout


@pytest.fixture(scope="module")
def forged(done: Finished) -> tuple[str, dt.datetime]:
    """A signed case for starts logged by hand, and the end of its cooling-off period (from a refused check-in)."""
    return "C-MD-FORGED", signed_and_too_early(done.clinic, "C-MD-FORGED")


def cooling_block(bundle: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    unpacked = unpack(read(bundle), folder)
    return run_block(unpacked, 9, blocks((unpacked / "VERIFY.md").read_text(encoding="utf-8"))[9])


def test_the_cooling_off_block_checks_that_the_start_is_this_patients(
    done: Finished, forged: tuple[str, dt.datetime], tmp_path: Path
) -> None:
    """Step 9 followed the start to its check-in without checking that both are this case's and patient's."""
    case_id, earliest = forged
    later = earliest + dt.timedelta(hours=1)
    honest = forge_start(done.clinic, case_id, tmp_path / "a.zip", clock_reads=later, at=later)
    assert cooling_block(honest, tmp_path / "a").returncode == 0
    other = "hmac-sha256:" + "0" * 64  # logged under this case id, about another patient
    bundle = forge_start(done.clinic, case_id, tmp_path / "b.zip", clock_reads=later, at=later, subject=other)
    result = cooling_block(bundle, tmp_path / "b")
    assert result.returncode != 0 and "check-in after" not in result.stdout


def test_the_cooling_off_block_checks_that_the_checkin_passed(
    done: Finished, forged: tuple[str, dt.datetime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A block written for a start that refers to a refused check-in (as whoever wrote VERIFY.md could) passed."""
    import consentkit.evidence.checkin_heads as heads
    import consentkit.evidence.verify_md_cooling as cooling
    from consentkit.evidence.history import LoggedEvent, latest

    def any_checkin(events: list[LoggedEvent]) -> tuple[LoggedEvent | None, LoggedEvent | None]:
        start = latest(events, "procedure.started")
        found = {e.index: e for e in events if e.type == "procedure.checkin"}
        refs = start.event.refs if start is not None else ()
        return start, next((found[r.index] for r in refs if r.index in found), None)

    monkeypatch.setattr(heads, "start_and_checkin", any_checkin)
    monkeypatch.setattr(cooling, "start_and_checkin", any_checkin)
    case_id, earliest = forged
    later = earliest + dt.timedelta(hours=1)
    bundle = forge_start(done.clinic, case_id, tmp_path / "a.zip", clock_reads=later, at=later, outcome="refused")
    text = read(bundle)["VERIFY.md"].decode()
    assert "CHECKIN=log/events/" in text  # the block names the refused check-in
    result = cooling_block(bundle, tmp_path / "a")
    assert result.returncode != 0 and "check-in after" not in result.stdout


def test_the_cooling_off_block_fails_for_a_start_before_the_checkins_lower_bound(
    done: Finished, forged: tuple[str, dt.datetime], tmp_path: Path
) -> None:
    """As verify-evidence says NOT PROVEN, step 9 fails for a start recorded before the check-in provably happened."""
    case_id, earliest = forged
    bundle = forge_start(
        done.clinic,
        case_id,
        tmp_path / "a.zip",
        clock_reads=earliest + dt.timedelta(hours=2),
        at=earliest + dt.timedelta(minutes=10),
    )
    result = cooling_block(bundle, tmp_path / "a")
    assert result.returncode != 0 and "start recorded for:" in result.stdout and "signed:" not in result.stdout
