"""consentkit evidence / verify-evidence on a real case: signed with the embedded TSA, refused too early, passed
after the cooling-off period (simulated clock), exported; then verified offline, intact and tampered."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from _bundle_tools import event_file, flip_signed_byte, read, write
from _workflow_fixtures import Finished, anchors, finished_case, forge_start, full_case, signed_and_too_early
from consentkit.audit.log import AuditLog
from consentkit.cli import main
from consentkit.errors import InputError
from consentkit.evidence import zipread
from consentkit.evidence.verify_bundle import verify_evidence
from consentkit.workflow import Actor, export_evidence


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> Finished:
    return finished_case(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def files(done: Finished) -> dict[str, bytes]:
    return read(done.bundle)


def pinned(done: Finished) -> dict[str, object]:
    root, key = anchors(done.clinic.ws)
    return {"trust_roots": [root], "log_key": key}


def test_the_bundle_holds_everything_needed_offline(done: Finished, files: dict[str, bytes]) -> None:
    names = set(files)
    for required in (
        "VERIFY.md",
        "SHA256SUMS",
        "bundle.json",
        "disclosure-certificate.pdf",
        "packet/packet.pdf",
        "packet/manifest.json",
        "log/head.json",
        "log/head.sig",
        "log/head.tsr",
        "certs/clinic-root.pem",
        "certs/issuing-ca.pem",
        "keys/audit-log.pub.pem",
    ):
        assert required in names, required
    roles = {"clinic", "physician", "patient", "witness", "seal", "document-timestamp"}
    assert {n.removeprefix("timestamps/").removesuffix(".tsr") for n in names if n.startswith("timestamps/")} == roles
    assert {"certs/patient.pem", "certs/physician.pem", "certs/witness.pem"} <= names
    kinds = [n.split("-", 1)[1].removesuffix(".json") for n in sorted(names) if n.startswith("log/events/")]
    assert kinds.count("spec.approved") == 2 and kinds.count("document.signed") == 6  # with the document timestamp
    assert kinds[-3:] == ["procedure.checkin", "procedure.checkin", "procedure.started"]
    assert sum(1 for n in names if n.startswith("approvals/")) == 4  # two signed statements and their signatures
    sums = dict(line.split("  ")[::-1] for line in files["SHA256SUMS"].decode().splitlines())
    assert set(sums) == names - {"SHA256SUMS"}
    assert all(hashlib.sha256(files[n]).hexdigest() == d for n, d in sums.items())
    events = b"".join(files[n] for n in names if n.startswith("log/events/"))
    assert "陈思雨".encode() not in events and b"310101199605120028" not in events


def test_evidence_exported_is_logged_after_the_bundle_with_its_hash(done: Finished, files: dict[str, bytes]) -> None:
    with AuditLog.for_workspace(done.clinic.ws) as log:
        exported = [s.event for s in log.case_events(done.case_id) if s.event.type == "evidence.exported"]
    assert len(exported) >= 1
    event = exported[0]
    head = json.loads(files["log/head.json"])
    assert event.data.tree_size == head["size"]
    assert event.documents[0].sha256 == "sha256:" + hashlib.sha256(done.bundle.read_bytes()).hexdigest()
    assert event.actor.id == "auditor.wu"
    assert not any(n.endswith("evidence.exported.json") for n in files)  # it cannot be in the bundle it names


def test_the_disclosure_certificate_is_one_readable_page(files: dict[str, bytes], tmp_path: Path) -> None:
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(files["disclosure-certificate.pdf"])
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           1" in info
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(" yes yes yes " in line for line in fonts)  # embedded, subset, unicode
    text = "".join(
        subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split()
    )
    manifest = json.loads(files["packet/manifest.json"])
    for expected in (
        "知情告知与同意证明",
        "已遵守考虑期",
        "C-EV-0001",
        "手术开始",
        "患者签名（同意）",
        "考虑期结束",
        "术前核查：未通过",
        "DrLiNa",
        manifest["procedure"]["spec_hash"],
        "sha256:" + hashlib.sha256(files["packet/packet.pdf"]).hexdigest(),
        json.loads(files["log/head.json"])["root"],
    ):
        assert expected in text, expected


def test_verify_evidence_with_pinned_anchors(done: Finished) -> None:
    report = verify_evidence(done.bundle, **pinned(done))  # type: ignore[arg-type]
    assert report.ok, report.problems
    assert report.verdict == "kept" and report.sentence.startswith("YES: the disclosure provably preceded")
    assert "happened after" in report.sentence and "(both RFC 3161 times)" in report.sentence
    assert "at least 15 days 0 hours 7 minutes later" in report.sentence and "not pinned" not in report.sentence
    # the proof rests on RFC 3161 times: the check-in followed a token issued after the period ended, and the start
    # was recorded before the token of the head after it
    assert report.checked_in_after is not None and report.recorded_before is not None
    assert report.earliest is not None and report.earliest <= report.checked_in_after <= done.started
    assert done.started <= report.recorded_before
    assert all(a.pinned for a in report.anchors)
    assert report.procedure_at == done.started and report.earliest == done.earliest
    assert [(a.review, a.reviewer, a.statement_verified) for a in report.approvals] == [
        ("clinical", "Dr Li Na", True),
        ("legal", "Wang Fang (legal)", True),
    ]
    assert [m.key for m in report.timeline][-3:] == ["cooling-off.ends", "checkin.pass", "procedure.started"]


def test_unpinned_anchors_are_named_with_their_fingerprints(done: Finished, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(["verify-evidence", str(done.bundle)], capsys)
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("YES:") and "not pinned" in first
    root = anchors(done.clinic.ws)[0].read_bytes()
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    assert x509.load_pem_x509_certificate(root).fingerprint(hashes.SHA256()).hex() in out
    assert "NOT pinned" in out


def test_a_procedure_started_too_early_is_reported_as_such(done: Finished, capsys: pytest.CaptureFixture[str]) -> None:
    root, key = anchors(done.clinic.ws)
    early = (done.earliest - dt.timedelta(days=2)).isoformat()
    code, out, _err = run(
        [
            "verify-evidence",
            str(done.bundle),
            "--procedure-at",
            early,
            "--trust-root",
            str(root),
            "--log-key",
            str(key),
        ],
        capsys,
    )
    assert code == 1
    assert out.splitlines()[0].startswith("NO: the procedure started at") and "13 days" in out.splitlines()[0]
    code, out, _err = run(["verify-evidence", str(done.bundle), "--json", "--procedure-at", early], capsys)
    data = json.loads(out)
    assert (
        code == 1 and data["verdict"] == "too-early" and data["cooling_off"]["procedure_time_from"] == "--procedure-at"
    )


def test_a_flipped_byte_in_the_packet_is_found(done: Finished, files: dict[str, bytes], tmp_path: Path) -> None:
    changed = dict(files, **{"packet/packet.pdf": flip_signed_byte(files["packet/packet.pdf"])})
    report = verify_evidence(write(changed, tmp_path / "b.zip"), **pinned(done))  # type: ignore[arg-type]
    assert not report.ok and report.sentence.startswith("NOT PROVEN")
    assert any("packet.pdf is not the file the log recorded after the last signature" in p for p in report.problems)
    assert any(p.startswith("packet.pdf:") and "changed" in p for p in report.problems)


def test_an_edited_event_is_found(done: Finished, files: dict[str, bytes], tmp_path: Path) -> None:
    name = event_file(files, "procedure.started")
    body = files[name].decode()
    earlier = body.replace(f'"at":"{done.started:%Y-%m-%d}', f'"at":"{done.started - dt.timedelta(days=9):%Y-%m-%d}')
    assert earlier != body
    report = verify_evidence(write(dict(files, **{name: earlier.encode()}), tmp_path / "b.zip"), **pinned(done))  # type: ignore[arg-type]
    assert not report.ok
    index = int(name.split("/")[-1][:8])
    assert any(
        p.startswith(f"event {index} (procedure.started): its bytes are not in the tree") for p in report.problems
    )


def test_a_swapped_head_is_found(done: Finished, files: dict[str, bytes], tmp_path: Path) -> None:
    with AuditLog.for_workspace(done.clinic.ws) as log:
        older = next(h for h in reversed(log.heads()) if h.size < json.loads(files["log/head.json"])["size"])
    paths = older.export(tmp_path / "old.json")
    swapped = dict(files, **{f"log/head{p.suffix}": p.read_bytes() for p in paths})
    report = verify_evidence(write(swapped, tmp_path / "b.zip"), **pinned(done))  # type: ignore[arg-type]
    assert not report.ok
    assert any("its proof is for event" in p and f"the head's {older.size}" in p for p in report.problems)
    # a head signed with another key is refused outright
    from cryptography.hazmat.primitives.asymmetric import ec

    from consentkit.audit.heads import HeadSigner, make_head
    from consentkit.tsa import embedded_tsa

    head = json.loads(files["log/head.json"])
    forged = make_head(
        head["size"],
        bytes.fromhex(head["root"]),
        HeadSigner(ec.generate_private_key(ec.SECP256R1())),
        embedded_tsa(done.clinic.ws, b"correct horse battery"),
    ).export(tmp_path / "forged.json")
    report = verify_evidence(
        write(dict(files, **{f"log/head{p.suffix}": p.read_bytes() for p in forged}), tmp_path / "c.zip"),
        **pinned(done),
    )  # type: ignore[arg-type]
    assert any("the tree head is signed for a different audit-log key" in p for p in report.problems)


def test_a_replaced_timestamp_file_and_another_clinics_root_are_found(
    done: Finished, files: dict[str, bytes], tmp_path: Path
) -> None:
    swapped = dict(files, **{"timestamps/patient.tsr": files["timestamps/physician.tsr"]})
    report = verify_evidence(write(swapped, tmp_path / "b.zip"), **pinned(done))  # type: ignore[arg-type]
    assert "timestamps/patient.tsr is not the token in the packet's patient signature" in report.problems
    other = tmp_path / "other-root.pem"
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Another clinic root")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    other.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    report = verify_evidence(done.bundle, trust_roots=[other], log_key=anchors(done.clinic.ws)[1])
    assert not report.ok and any("not one of the pinned roots" in n for n in report.notes)
    assert any("not trusted" in p or "trusted TSA" in p for p in report.problems)


def test_no_recorded_start_is_not_shown_unless_given(done: Finished, tmp_path: Path) -> None:
    clinic = done.clinic
    full_case(clinic, "C-EV-NOSTART")
    bundle = export_evidence(
        clinic.ws, "C-EV-NOSTART", tmp_path / "nostart.zip", who=Actor("auditor.wu", "auditor")
    ).path
    report = verify_evidence(bundle, **pinned(done))  # type: ignore[arg-type]
    assert report.verdict == "no-start" and not report.ok and not report.problems
    assert report.sentence.startswith("NOT SHOWN: no procedure start is recorded")
    assert report.earliest is not None
    later = verify_evidence(bundle, procedure_at=report.earliest + dt.timedelta(hours=1), **pinned(done))  # type: ignore[arg-type]
    assert later.ok and later.verdict == "kept"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil.txt", "would escape"),
        ("/etc/passwd", "absolute"),
        ("packet\\..\\x", "absolute or non-portable"),
        ("C:/x", "absolute"),
        ("log/./x", "would escape"),
    ],
)
def test_unsafe_member_names_are_refused(tmp_path: Path, name: str, message: str) -> None:
    bundle = tmp_path / "evil.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("bundle.json", "{}")
        zf.writestr(name, "x")
    with pytest.raises(InputError, match=message):
        zipread.read_bundle(bundle)


def test_links_duplicates_bombs_and_non_zips_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("packet/packet.pdf")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(InputError, match="symbolic link"):
        zipread.read_bundle(link)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("packet/packet.pdf", b"\0" * 4_000_000)
    monkeypatch.setattr(zipread, "MAX_MEMBER_BYTES", 1_000_000)
    with pytest.raises(InputError, match="1000000"):
        zipread.read_bundle(bomb)
    (tmp_path / "not.zip").write_bytes(b"%PDF-1.7 not a zip")
    code, _out, err = run(["verify-evidence", str(tmp_path / "not.zip")], capsys)
    assert code == 3 and "not a zip file" in err and "Traceback" not in err
    code, _out, err = run(["verify-evidence", str(link)], capsys)
    assert code == 3 and "symbolic link" in err
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("README.txt", "hello")
    code, _out, err = run(["verify-evidence", str(empty)], capsys)
    assert code == 3 and "not a consentkit evidence bundle" in err


def test_cli_evidence_writes_the_bundle_atomically(
    done: Finished, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out" / "case-evidence.zip"
    code, out, err = run(["-w", str(done.clinic.ws.root), "evidence", done.case_id, "-o", str(target)], capsys)
    assert code == 0, err
    assert f"wrote {target}" in out and "logged: evidence.exported" in out
    assert zipfile.ZipFile(target).testzip() is None
    assert [p.name for p in target.parent.iterdir()] == ["case-evidence.zip"]  # no temporary file left
    code, _out, err = run(["-w", str(done.clinic.ws.root), "evidence", "C-NOPE", "-o", str(tmp_path / "x.zip")], capsys)
    assert code == 3 and not (tmp_path / "x.zip").exists()


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def forged_case(done: Finished) -> tuple[str, dt.datetime]:
    """A fully signed case and the end of its cooling-off period (from a refused check-in)."""
    return "C-EV-FORGED", signed_and_too_early(done.clinic, "C-EV-FORGED")


def test_a_start_recorded_ahead_of_time_is_not_proven(
    done: Finished, forged_case: tuple[str, dt.datetime], tmp_path: Path
) -> None:
    case_id, earliest = forged_case
    now = dt.datetime.now(dt.UTC)
    bundle = forge_start(done.clinic, case_id, tmp_path / "a.zip", clock_reads=now, at=earliest + dt.timedelta(hours=1))
    report = verify_evidence(bundle, **pinned(done))  # type: ignore[arg-type]
    assert not report.ok and report.verdict == "not-proven" and not report.problems
    assert report.sentence.startswith("NOT PROVEN: the start was recorded for ")
    assert "it was recorded ahead of time" in report.sentence
    assert report.recorded_before is not None and report.recorded_before < earliest


def test_a_checkin_proven_only_before_the_period_ended_is_not_proven(
    done: Finished, forged_case: tuple[str, dt.datetime], tmp_path: Path
) -> None:
    case_id, earliest = forged_case
    bundle = forge_start(
        done.clinic,
        case_id,
        tmp_path / "b.zip",
        clock_reads=earliest - dt.timedelta(seconds=30),
        at=earliest + dt.timedelta(seconds=60),
    )
    report = verify_evidence(bundle, **pinned(done))  # type: ignore[arg-type]
    assert not report.ok and report.verdict == "not-proven" and not report.problems
    assert report.sentence.startswith("NOT PROVEN: the check-in that let the procedure start is proven only to have")
    assert report.checked_in_after is not None and report.checked_in_after < earliest


def test_a_start_recorded_before_the_checkins_lower_bound_is_not_proven(
    done: Finished, forged_case: tuple[str, dt.datetime], tmp_path: Path
) -> None:
    """A start recorded for a time before the RFC 3161 time the check-in provably followed (a back-dated --at, or a
    check-in recorded after the procedure) was YES: the procedure did not provably follow the gate."""
    case_id, earliest = forged_case
    bundle = forge_start(
        done.clinic,
        case_id,
        tmp_path / "d.zip",
        clock_reads=earliest + dt.timedelta(hours=2),
        at=earliest + dt.timedelta(minutes=10),
    )
    report = verify_evidence(bundle, **pinned(done))  # type: ignore[arg-type]
    assert not report.ok and report.verdict == "not-proven" and not report.problems
    assert report.sentence.startswith("NOT PROVEN: the start was recorded for ")
    assert "before the RFC 3161 time the check-in that let it start provably followed" in report.sentence
    assert report.checked_in_after is not None and report.procedure_at is not None
    assert report.procedure_at < report.checked_in_after
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=read(bundle)["disclosure-certificate.pdf"], capture_output=True, check=True
    ).stdout.decode()
    assert "无法证明：记录的手术开始时间早于术前核查的时间戳" in "".join(text.split())


def test_a_checkin_naming_no_timestamped_head_is_not_proven(
    done: Finished, forged_case: tuple[str, dt.datetime], tmp_path: Path
) -> None:
    case_id, earliest = forged_case
    later = earliest + dt.timedelta(minutes=10)
    bundle = forge_start(done.clinic, case_id, tmp_path / "c.zip", clock_reads=later, at=later, name_head=False)
    report = verify_evidence(bundle, **pinned(done))  # type: ignore[arg-type]
    assert not report.ok and report.verdict == "not-proven" and not report.problems
    assert report.sentence.startswith("NOT PROVEN: no RFC 3161 time shows when the check-in happened")
    # the operating record's time, given by the reader, can still be judged
    given = verify_evidence(bundle, procedure_at=later, **pinned(done))  # type: ignore[arg-type]
    assert given.ok and "(the time given with --procedure-at)" in given.sentence


def test_audit_verify_against_a_bundle_or_its_folder(
    done: Finished, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heads inside an evidence bundle (zip or unpacked) are heads kept outside the database: the clinic's log
    must extend them. It said 'cannot read the exported head' (exit 1) for a zip."""
    import shutil

    from _audit_fixtures import RawDb
    from _bundle_tools import unpack

    copy = Path(shutil.copytree(done.clinic.ws.root, tmp_path / "copy"))
    monkeypatch.setenv("CONSENTKIT_WORKSPACE", str(copy))
    folder = unpack(read(done.bundle), tmp_path / "unpacked")
    for given in (done.bundle, folder):
        code, out, err = run(["audit", "verify", "--against", str(given)], capsys)
        assert code == 0, err
        assert "exported heads" in out and "heads kept outside the database" in out
    # the copy's log rolled back to before the bundle's head, and its kept heads deleted too
    size = json.loads(read(done.bundle)["log/head.json"])["size"]
    db = RawDb(f"sqlite:///{copy / '.consentkit' / 'audit.sqlite3'}")
    try:
        db.run("DELETE FROM events WHERE idx >= ?", size - 3)
        db.rebuild_tree()
        db.run("DELETE FROM heads")
    finally:
        db.close()
    shutil.rmtree(copy / ".consentkit" / "heads")
    for given in (done.bundle, folder):
        code, _out, err = run(["audit", "verify", "--against", str(given)], capsys)
        assert code == 1 and f"covers {size} events but the log has only {size - 3}" in err


def test_a_start_a_fraction_of_a_second_early_never_reads_as_the_full_period(done: Finished) -> None:
    """0.16 s before the end printed '15 days 0 hours 0 minutes … ended at 04:11:52' (minutes rounded up)."""
    report = verify_evidence(done.bundle, procedure_at=done.earliest - dt.timedelta(seconds=0.16), **pinned(done))  # type: ignore[arg-type]
    assert report.verdict == "too-early" and not report.ok
    assert "only 14 days 23 hours 59 minutes 59 seconds after" in report.sentence
    started = (done.earliest - dt.timedelta(seconds=0.16)).astimezone(done.clinic.ws.zone)
    ended = done.earliest.astimezone(done.clinic.ws.zone)
    assert (
        f"{started:%H:%M:%S.%f}"[:12] in report.sentence
        and f"ended at {ended:%Y-%m-%d %H:%M:%S.%f}"[:-3] in report.sentence
    )


def restated(
    done: Finished, files: dict[str, bytes], signer: tuple[str, str], **named: str
) -> tuple[dict[str, bytes], Any, str]:
    """The bundle's first approval statement re-signed by ``signer`` (name, certificate role), naming that signer's
    certificate (and ``named`` over it) as the reviewer, with the spec.approved event naming the new files, as an
    insider with the workspace could log it: (files, the event, the statement's name)."""
    from _workflow_fixtures import SECRET
    from consentkit.audit.events import parse_event, sha256_id
    from consentkit.evidence.history import LoggedEvent
    from consentkit.pki import WorkspacePki
    from consentkit.review.signature import sign_detached
    from consentkit.review.statement import ApprovalStatement, ReviewerRef

    pki = WorkspacePki(done.clinic.ws).require()
    record = pki.find(signer[0], roles=(signer[1],))
    assert record.slug is not None
    key, cert, _ = pki.unlock_credential(record, passphrase=None, workspace_secret=SECRET)
    name = event_file(files, "spec.approved")
    real = parse_event(files[name])
    statement_name = next(d.name for d in real.documents if d.name.endswith(".statement.json"))
    signature_name = next(d.name for d in real.documents if d.name.endswith(".p7s"))
    approved = ApprovalStatement.from_bytes(files[f"approvals/{statement_name}"], Path(statement_name))
    own = {"name": record.name, "slug": record.slug, "certificate": "sha256:" + record.sha256, "serial": record.serial}
    data = approved.model_copy(update={"reviewer": ReviewerRef(**{**own, **named})}).to_bytes()
    signature = sign_detached(data, key, cert, pki.chain())
    docs = [
        d.model_copy(update={"sha256": sha256_id(data if d.name == statement_name else signature)})
        for d in real.documents
    ]
    event = LoggedEvent(int(name.split("/")[-1][:8]), b"\0" * 32, real.model_copy(update={"documents": tuple(docs)}))
    forged = dict(files, **{f"approvals/{statement_name}": data, f"approvals/{signature_name}": signature})
    return forged, event, statement_name


def check_statement(done: Finished, files: dict[str, bytes], event: Any) -> tuple[tuple[bool, str | None], list[str]]:
    from consentkit.evidence.report import EvidenceReport
    from consentkit.evidence.verify_bundle import _check_statement
    from consentkit.manifest import Manifest

    manifest = Manifest.model_validate_json(files["packet/manifest.json"], strict=False)
    root = x509.load_pem_x509_certificate(anchors(done.clinic.ws)[0].read_bytes())
    report = EvidenceReport("b.zip")
    return _check_statement(files, event, [root], report, manifest), report.problems


def test_an_approval_signed_with_a_certificate_that_is_not_a_reviewers_is_a_problem(
    done: Finished, files: dict[str, bytes]
) -> None:
    """verify-evidence takes an approval only from a reviewer certificate, as verify_approval does: a physician's key
    signing a statement that names the physician's own certificate (which names no review role) was counted as a
    verified approval, with only a note."""
    from _workflow_fixtures import PHYSICIAN
    from consentkit.audit.events import parse_event
    from consentkit.evidence.history import LoggedEvent

    forged, event, statement = restated(done, files, (PHYSICIAN, "physician"))
    verified, problems = check_statement(done, forged, event)
    assert verified == (False, None)
    assert problems == [f"approvals/{statement}: signed with a physician certificate, not a reviewer's"]
    # the real statement, signed by the reviewer, still verifies
    real = LoggedEvent(event.index, b"\0" * 32, parse_event(files[event_file(files, "spec.approved")]))
    verified, problems = check_statement(done, files, real)
    assert verified[0] and not problems


def test_an_approval_naming_another_reviewer_than_its_certificate_is_a_problem(
    done: Finished, files: dict[str, bytes]
) -> None:
    """The reviewer the report names is the one the statement names, so it must be the signing certificate's: a
    reviewer's key could sign a statement naming anyone, and verify-evidence showed that name as the approver."""
    from consentkit.audit.events import parse_event
    from consentkit.review.statement import ApprovalStatement

    docs = parse_event(files[event_file(files, "spec.approved")]).documents
    name = next(d.name for d in docs if d.name.endswith(".statement.json"))
    reviewer = ApprovalStatement.from_bytes(files[f"approvals/{name}"], Path(name)).reviewer.name
    forged, event, statement = restated(done, files, (reviewer, "reviewer"), name="Someone Else")
    verified, problems = check_statement(done, forged, event)
    assert verified == (False, None)
    assert problems == [
        f"approvals/{statement}: names Someone Else as the reviewer, but is signed with the certificate of {reviewer}"
    ]
    # signed by the reviewer under their own name, it verifies
    forged, event, _ = restated(done, files, (reviewer, "reviewer"))
    assert check_statement(done, forged, event) == ((True, reviewer), [])


def test_a_cited_approval_without_its_signed_statement_is_a_problem(
    done: Finished, files: dict[str, bytes], tmp_path: Path
) -> None:
    """Deleting the approval files left the verdict YES, with a note; an approval event naming no statement left
    nothing at all. The event alone is the clinic's say-so: only the reviewer's signed statement proves it."""
    from consentkit.audit.events import parse_event
    from consentkit.evidence.history import LoggedEvent

    stripped = {name: data for name, data in files.items() if not name.startswith("approvals/")}
    report = verify_evidence(write(stripped, tmp_path / "b.zip"), **pinned(done))  # type: ignore[arg-type]
    assert not report.ok and report.sentence.startswith("NOT PROVEN: the evidence does not verify")
    assert sum(".statement.json: missing from the bundle, so the" in p for p in report.problems) == 2
    real = parse_event(files[event_file(files, "spec.approved")])
    bare = LoggedEvent(7, b"\0" * 32, real.model_copy(update={"documents": ()}))
    assert check_statement(done, files, bare) == (
        (False, None),
        [f"event 7: the {real.data.review} approval names no signed statement, so nothing proves who approved"],
    )


def test_a_reviewer_certificate_naming_no_review_role_is_a_problem(
    done: Finished, files: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A certificate issued before certificates named their review was accepted offline with a note, while the
    workspace's verify_approval rejects it: both reject it now."""
    import consentkit.pki.certs
    from consentkit.audit.events import parse_event
    from consentkit.evidence.history import LoggedEvent

    real = parse_event(files[event_file(files, "spec.approved")])
    event = LoggedEvent(7, b"\0" * 32, real)
    statement = next(d.name for d in real.documents if d.name.endswith(".statement.json"))
    monkeypatch.setattr(consentkit.pki.certs, "review_role_of", lambda _cert: None)  # an older reviewer certificate
    review = real.data.review
    assert check_statement(done, files, event) == (
        (False, None),
        [
            f"approvals/{statement}: a {review} approval signed with a certificate that names no review role, so it "
            f"does not prove a {review} review"
        ],
    )


def test_a_removed_checkin_head_is_a_problem_not_a_fall_back(
    done: Finished, files: dict[str, bytes], tmp_path: Path
) -> None:
    """With the upper head's folder removed, the upper bound fell back silently to the bundle's own head (and the
    verdict stayed YES). The heads the verdict relies on are the ones bundle.json names, and must be there."""
    import re

    named = json.loads(files["bundle.json"])["checkin_heads"]
    for which in ("upper", "lower"):
        folder = named[which]
        assert re.fullmatch(r"log/heads/\d{8}-[0-9a-f]{12}", folder), folder
        kept = {name: data for name, data in files.items() if not name.startswith(f"{folder}/")}
        report = verify_evidence(write(kept, tmp_path / f"{which}.zip"), **pinned(done))  # type: ignore[arg-type]
        assert not report.ok and report.sentence.startswith("NOT PROVEN: the evidence does not verify"), which
        assert f"{folder}: the {which} check-in head bundle.json names is missing from the bundle" in report.problems


def test_heads_of_one_size_get_folders_of_their_own(done: Finished) -> None:
    """Head folders were named by tree size only: a second head of the same size (made with no event between, as
    the gate's head right after a signing's) overwrote the first in the bundle."""
    from consentkit.evidence.checkin_heads import head_dir

    with AuditLog.for_workspace(done.clinic.ws) as log:
        heads = log.heads()
    sizes = [h.size for h in heads]
    twins = [h for h in heads if sizes.count(h.size) > 1]
    assert twins
    assert len({head_dir(h) for h in twins}) == len(twins)


def test_a_renewed_archival_timestamp_is_the_packets_latest_file(
    done: Finished, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sign --renew-archive` changed the packet's bytes and logged nothing, so the gate called a renewed packet
    altered and the evidence rejected it. The renewal is logged now (document.timestamped: the file before and
    after, with a head), and the gate, verify-evidence and VERIFY.md take the renewed file as the latest; a renewal
    made outside the workflow is still a change the log never saw."""
    from _bundle_tools import blocks, run_block, unpack
    from _workflow_fixtures import NURSE, SECRET, clock_at, packet_dir
    from consentkit.errors import RefusedError
    from consentkit.sign.archive import renew_archive_timestamp
    from consentkit.workflow import checkin, renew_archive

    clinic, case_id = done.clinic, "C-EV-RENEW"
    earliest = signed_and_too_early(clinic, case_id)
    pdf = packet_dir(clinic, case_id) / "packet.pdf"
    before = "sha256:" + hashlib.sha256(pdf.read_bytes()).hexdigest()
    w = ["-w", str(clinic.ws.root)]
    code, out, err = run([*w, "sign", str(pdf), "--renew-archive", "--actor", "admin.zhou"], capsys)
    assert code == 0, err
    assert "archival timestamp sig-document-timestamp-2" in out and "logged: document.timestamped" in out
    with AuditLog.for_workspace(clinic.ws) as log:
        last = log.case_events(case_id)[-1]
        sizes = {h.size for h in log.heads()}
    event = last.event
    assert event.type == "document.timestamped" and event.data.field == "sig-document-timestamp-2"
    assert event.data.previous == before and event.actor.id == "admin.zhou" and last.index + 1 in sizes
    assert event.documents[0].sha256 == "sha256:" + hashlib.sha256(pdf.read_bytes()).hexdigest()
    with clock_at(clinic, earliest + dt.timedelta(minutes=5)) as log:
        passed = checkin(clinic.ws, case_id, who=NURSE, log=log)
        assert passed.passed, passed.decision.codes
        bundle = export_evidence(clinic.ws, case_id, tmp_path / "r.zip", who=Actor("auditor.wu", "auditor"), log=log)
    report = verify_evidence(bundle.path, **pinned(done))  # type: ignore[arg-type]
    assert report.ok and report.verdict == "kept", report.problems
    files = read(bundle.path)
    assert {"timestamps/document-timestamp.tsr", "timestamps/document-timestamp-2.tsr"} <= set(files)
    folder = unpack(files, tmp_path / "r")
    steps = blocks(files["VERIFY.md"].decode())
    results = {n: run_block(folder, n, steps[n]) for n in (5, 8)}
    assert all(r.returncode == 0 for r in results.values()), {n: r.stdout + r.stderr for n, r in results.items()}
    assert "sig-document-timestamp-2: renewed the file the log recorded before it" in results[5].stdout
    assert "signed packet: recorded after the last archival timestamp" in results[5].stdout
    assert "document-timestamp-2: Time stamp:" in results[8].stdout
    # renewed outside the workflow: a change the log never saw, which the gate refuses and no renewal launders
    renew_archive_timestamp(clinic.ws, pdf, secret=SECRET)
    with clock_at(clinic, earliest + dt.timedelta(minutes=9)) as log:
        assert "packet-altered" in checkin(clinic.ws, case_id, who=NURSE, log=log).decision.codes
    with pytest.raises(RefusedError, match="not the file the audit log recorded after its last signature or renewal"):
        renew_archive(clinic.ws, pdf, secret=SECRET)


def test_a_renewal_of_a_file_the_log_did_not_record_last_is_a_problem() -> None:
    """A document.timestamped whose file before it is not the file the log recorded last would let a changed file
    pass as the latest once renewed: the gate calls it altered and verify-evidence a problem."""
    from consentkit.audit import events as ev
    from consentkit.evidence.history import LoggedEvent, latest_file, renewal_problems

    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    common: dict[str, Any] = {"case": "C-1", "subject": "hmac-sha256:" + "1" * 64, "actor": "admin", "time": now}
    stamp = {"tsa_time": now, "file_name": "packet.pdf"}
    sealed = ev.document_signed(
        **common, actor_role="clinic", role="clinic", field="sig-document-timestamp", signer_cert="sha256:" + "2" * 64,
        file_sha256="sha256:" + "a" * 64, **stamp,
    )  # fmt: skip

    def renewed(previous: str) -> LoggedEvent:
        event = ev.document_timestamped(
            **common, actor_role="clinic", field="sig-document-timestamp-2", tsa_cert="sha256:" + "3" * 64,
            file_sha256="sha256:" + "b" * 64, previous="sha256:" + previous * 64, **stamp,
        )  # fmt: skip
        return LoggedEvent(1, b"", event)

    chain = [LoggedEvent(0, b"", sealed), renewed("a")]
    assert renewal_problems(chain, None) == [] and latest_file(chain, None) is chain[1]
    assert renewal_problems([chain[0], renewed("c")], None) == [
        "event 1 (document.timestamped) renewed a file the log had not recorded last (changed first?)"
    ]
