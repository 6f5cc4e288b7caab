"""consentkit.workflow: each step does its work, then logs it — only when the work completed — with the hashes of
what it produced; the case index finds a case's packet; actors are logins or pseudonyms, never names."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from _workflow_fixtures import NURSE, SECRET, Clinic, make_clinic, make_packet, packet_dir, sign, write_case
from consentkit.audit.log import AuditLog
from consentkit.cli import main
from consentkit.errors import InputError, RefusedError
from consentkit.manifest import read_manifest
from consentkit.workflow import Actor, actor, find_packet, generate_packet, present_disclosure, sign_role

CASE = "C-WF-0001"


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Clinic:
    clinic = make_clinic(tmp_path_factory.mktemp("workflow"))
    make_packet(clinic, CASE)
    return clinic


def case_events(clinic: Clinic, case_id: str = CASE) -> list[object]:
    with AuditLog.for_workspace(clinic.ws) as log:
        return [s.event for s in log.case_events(case_id)]


def sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_packet_generated_records_every_file_and_the_case_index(clinic: Clinic) -> None:
    folder = packet_dir(clinic, CASE)
    generated = case_events(clinic)[0]
    assert generated.type == "packet.generated"  # type: ignore[attr-defined]
    docs = {d.name: d.sha256 for d in generated.documents}  # type: ignore[attr-defined]
    assert set(docs) == {p.name for p in folder.iterdir()}
    for name, digest in docs.items():
        assert sha(folder / name) == digest, name
    m = read_manifest(folder / "manifest.json")
    assert generated.data.spec == m.procedure.spec_hash and generated.actor.id == "reception"  # type: ignore[attr-defined]
    index = json.loads((clinic.ws.state_dir / "cases" / f"{CASE}.json").read_text(encoding="utf-8"))
    # paths relative to the workspace, so a copied or moved workspace finds its own files
    assert index["packet_dir"] == f"packets/{CASE}" and index["case_file"] == f"cases/{CASE}.yaml"
    assert index["packet_id"] == m.packet_id
    found = find_packet(clinic.ws, CASE)
    assert found.directory == folder.resolve() and found.manifest == m


def test_present_records_the_file_shown_and_refuses_a_draft(clinic: Clinic, tmp_path: Path) -> None:
    done = present_disclosure(clinic.ws, CASE, how="screen", who=NURSE)
    event = case_events(clinic)[-1]
    assert event.type == "disclosure.presented" and event.data.how == "screen"  # type: ignore[attr-defined]
    assert {d.name: d.sha256 for d in event.documents}["packet.pdf"] == sha(packet_dir(clinic, CASE) / "packet.pdf")  # type: ignore[attr-defined]
    assert event.refs[0].index == 0 or event.refs[0].index < done.index  # type: ignore[attr-defined]
    make_packet(clinic, "C-WF-DRAFT", draft=True)
    with pytest.raises(RefusedError, match="DRAFT"):
        present_disclosure(clinic.ws, "C-WF-DRAFT", how="printed", who=NURSE)
    assert [e.type for e in case_events(clinic, "C-WF-DRAFT")] == ["packet.generated"]  # type: ignore[attr-defined]


def test_each_signature_is_logged_with_the_file_after_it_and_a_head(clinic: Clinic) -> None:
    pdf = packet_dir(clinic, CASE) / "packet.pdf"
    sign(clinic, CASE, ("clinic", "physician", "patient"))
    from consentkit.case import load_case

    before_witness = pdf.read_bytes()
    step = sign_role(clinic.ws, pdf, "witness", "张护士", secret=SECRET, case=load_case(clinic.cases[CASE])[0])
    assert step.result.seal is not None and len(step.events) == 3  # the witness, the seal, the document timestamp
    signed = [e for e in case_events(clinic) if e.type == "document.signed"]  # type: ignore[attr-defined]
    assert [(e.data.role, e.data.field) for e in signed] == [  # type: ignore[attr-defined]
        ("clinic", "sig-clinic"),
        ("physician", "sig-physician"),
        ("patient", "sig-patient"),
        ("witness", "sig-witness"),
        ("clinic", "sig-clinic-seal"),
        ("clinic", "sig-document-timestamp"),
    ]
    # each event records exactly the file after its own signature, and its own signature's RFC 3161 time
    from consentkit.evidence.signatures import packet_signatures
    from consentkit.sign.profile import load_profile
    from consentkit.tsa.tokens import describe_token

    data = pdf.read_bytes()
    in_file = {
        s.field: s
        for s in packet_signatures(data, load_profile(clinic.ws.signature_roots(), "default").model)  # type: ignore[arg-type]
    }
    for event in signed:
        sig = in_file[event.data.field]  # type: ignore[attr-defined]
        _, _, start, length = sig.ranges
        assert event.documents[0].sha256 == "sha256:" + hashlib.sha256(data[: start + length]).hexdigest()  # type: ignore[attr-defined]
        assert event.data.tsa_time == describe_token(sig.token_der).time  # type: ignore[attr-defined,arg-type]
    hashes = [e.documents[0].sha256 for e in signed]  # type: ignore[attr-defined]
    assert len(set(hashes)) == len(hashes)  # every signature changed the file
    assert hashes[-1] == sha(pdf)  # the document timestamp completes it
    witness_end = in_file["sig-witness"].ranges[2] + in_file["sig-witness"].ranges[3]
    assert data[:witness_end].startswith(before_witness)
    manifest = read_manifest(pdf.with_name("manifest.json"))
    actors = {e.data.role: (e.actor.id, e.actor.role) for e in signed[:4]}  # type: ignore[attr-defined]
    assert actors["patient"] == (manifest.subject, "patient")  # the patient by pseudonym, never by name
    assert actors["physician"][0].startswith("physician-") and actors["witness"][0].startswith("witness-")
    # a signed, timestamped tree head after each signing: one for the witness, the seal and its timestamp together
    with AuditLog.for_workspace(clinic.ws) as log:
        sizes = {h.size for h in log.heads()}
        logged = [s.index for s in log.case_events(CASE) if s.event.type == "document.signed"]
    assert {i + 1 for i in logged[:3]} <= sizes and step.events[-1].index + 1 in sizes
    assert step.head.size == step.events[-1].index + 1
    assert [e.index for e in step.events] == list(range(step.events[0].index, step.events[0].index + 3))
    assert signed[2].data.tsa_time <= signed[3].data.tsa_time  # type: ignore[attr-defined]


class FlakyTsa:
    """The workspace's TSA, failing on the ``fail_on``-th call (1-based) — a TSA that goes down mid-way."""

    def __init__(self, clinic: Clinic, fail_on: int) -> None:
        from consentkit.tsa import workspace_timestamper

        self.real, self.fail_on, self.calls = workspace_timestamper(clinic.ws, SECRET), fail_on, 0

    def timestamp(self, digest: bytes, *, algorithm: str = "sha256") -> object:
        from consentkit.errors import TimestampError

        self.calls += 1
        if self.calls == self.fail_on:
            raise TimestampError("the time-stamping authority did not answer")
        return self.real.timestamp(digest, algorithm=algorithm)


def test_the_seal_and_its_document_timestamp_are_logged_together_even_if_the_tsa_fails(clinic: Clinic) -> None:
    """Each signature was its own append and head: a TSA failing on the second head (after the seal) left the seal
    logged and the document timestamp not, so the gate then called the finished packet altered."""
    from consentkit.case import load_case
    from consentkit.errors import SigningError

    case_id = "C-WF-FLAKY"
    make_packet(clinic, case_id)
    pdf = packet_dir(clinic, case_id) / "packet.pdf"
    case = load_case(clinic.cases[case_id])[0]
    failing = AuditLog.for_workspace(clinic.ws, timestamper=FlakyTsa(clinic, fail_on=1))
    with (
        failing,
        pytest.raises(SigningError, match=r"is made and logged \(audit event \d+\), but no tree head") as info,
    ):
        sign_role(clinic.ws, pdf, "clinic", secret=SECRET, log=failing)
    assert "consentkit audit head" in info.value.message
    assert [e.type for e in case_events(clinic, case_id)][-1] == "document.signed"  # type: ignore[attr-defined]
    sign(clinic, case_id, ("physician", "patient"))
    flaky = FlakyTsa(clinic, fail_on=2)
    with AuditLog.for_workspace(clinic.ws, timestamper=flaky) as log:
        step = sign_role(clinic.ws, pdf, "witness", "张护士", secret=SECRET, case=case, log=log)
    assert flaky.calls == 1  # one head after the witness, the seal and the document timestamp
    signed = [e for e in case_events(clinic, case_id) if e.type == "document.signed"]  # type: ignore[attr-defined]
    assert [e.data.field for e in signed[-3:]] == ["sig-witness", "sig-clinic-seal", "sig-document-timestamp"]  # type: ignore[attr-defined]
    assert signed[-1].documents[0].sha256 == sha(pdf) and step.head.size == step.events[-1].index + 1  # type: ignore[attr-defined]


def test_a_bad_actor_is_refused_before_any_work(clinic: Clinic) -> None:
    with pytest.raises(InputError, match="not a login name"):
        actor("王护士", "nurse")
    assert actor(None, "nurse").role == "nurse"
    path = write_case(clinic, "C-WF-ACTOR")
    with pytest.raises(InputError, match="not a login name"):
        generate_packet(clinic.ws, path, packet_dir(clinic, "C-WF-ACTOR"), who=Actor("has space", "staff"))
    assert not packet_dir(clinic, "C-WF-ACTOR").exists() and not case_events(clinic, "C-WF-ACTOR")


def test_packet_folder_of_another_case_is_refused(clinic: Clinic) -> None:
    with pytest.raises(InputError, match=f"this packet is for case {CASE}"):
        find_packet(clinic.ws, "C-WF-OTHER", packet_dir(clinic, CASE))


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_packet_present_and_sign_log_their_events(clinic: Clinic, capsys: pytest.CaptureFixture[str]) -> None:
    w = ["-w", str(clinic.ws.root)]
    case = write_case(clinic, "C-WF-CLI")
    out_dir = packet_dir(clinic, "C-WF-CLI")
    code, out, err = run([*w, "packet", str(case), "-o", str(out_dir), "--actor", "front.desk"], capsys)
    assert code == 0, err
    assert "logged: packet.generated, audit event" in out and "signatures needed:" in out
    code, out, err = run([*w, "present", "C-WF-CLI", "--how", "printed", "--actor", "li.na", "--as", "nurse"], capsys)
    assert code == 0 and "disclosure handed over (printed)" in out, err
    code, out, err = run([*w, "sign", str(out_dir / "packet.pdf"), "--role", "clinic", "--actor", "admin.zhou"], capsys)
    assert code == 0 and "logged: document.signed" in out and "tree head" in out, err
    code, _out, err = run([*w, "sign", str(out_dir / "packet.pdf"), "--role", "patient", "--case", str(case)], capsys)
    assert code == 1 and "the physician signs before the patient" in err
    kinds = [(e.type, e.actor.id) for e in case_events(clinic, "C-WF-CLI")]  # type: ignore[attr-defined]
    assert kinds == [
        ("packet.generated", "front.desk"),
        ("disclosure.presented", "li.na"),
        ("document.signed", "admin.zhou"),
    ]
    code, _out, err = run([*w, "present", "C-WF-CLI", "--how", "printed", "--actor", "李 护士"], capsys)
    assert code == 3 and "not a login name" in err


def test_the_case_index_is_relative_so_a_copied_workspace_uses_its_own_packet(clinic: Clinic, tmp_path: Path) -> None:
    """A workspace copied elsewhere: the copy's index leads to the copy's packet (it used the original's). An
    index pointing outside the workspace (an older, absolute one) is refused unless --packet is given."""
    import shutil

    from consentkit.workspace import require_workspace

    make_packet(clinic, "C-WF-INSIDE")
    inside = packet_dir(clinic, "C-WF-INSIDE")
    data = json.loads((clinic.ws.state_dir / "cases" / "C-WF-INSIDE.json").read_text(encoding="utf-8"))
    copy = require_workspace(explicit=Path(shutil.copytree(clinic.ws.root, tmp_path / "copy")))
    found = find_packet(copy, "C-WF-INSIDE")
    assert found.directory == (tmp_path / "copy" / "packets" / "C-WF-INSIDE").resolve()
    # an index that names the original workspace's folder (absolute, as older versions wrote it)
    copied_index = copy.state_dir / "cases" / "C-WF-INSIDE.json"
    data["packet_dir"] = str(inside.resolve())
    copied_index.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match="outside this workspace") as refused:
        find_packet(copy, "C-WF-INSIDE")
    assert "--packet DIR" in refused.value.message
    explicit = find_packet(copy, "C-WF-INSIDE", tmp_path / "copy" / "packets" / "C-WF-INSIDE")
    assert explicit.directory == found.directory


@pytest.mark.parametrize(
    ("case_id", "why"),
    [
        ("310101199605120028", "run of 11 or more digits"),  # the patient's resident id
        ("C-13800138000", "run of 11 or more digits"),  # a phone number
        ("MRN-DEMO-0001", "contains the patient's record number"),
        ("X-1101-0119-9605", "contains the patient's"),  # not when split differently: compared without punctuation
    ],
)
def test_a_case_id_carrying_personal_numbers_is_refused_before_anything_is_written(
    clinic: Clinic, case_id: str, why: str
) -> None:
    from consentkit.errors import CaseError

    path = write_case(clinic, "C-WF-PN")
    text = path.read_text(encoding="utf-8").replace("case_id: C-WF-PN", f"case_id: '{case_id}'")
    if case_id.startswith("X-"):
        text = text.replace("record_number: MRN-DEMO-0001", "record_number: '1101-0119-9605'")
    path.write_text(text, encoding="utf-8")
    target = packet_dir(clinic, "C-WF-PN-OUT")
    with pytest.raises(CaseError, match=why) as refused:
        generate_packet(clinic.ws, path, target, who=Actor("reception", "staff"))
    assert "pseudonymous" in refused.value.message
    assert refused.value.location is not None and refused.value.location.field == "case_id"
    assert refused.value.location.line is not None
    assert not target.exists() and not (clinic.ws.state_dir / "cases" / f"{case_id}.json").exists()
    with AuditLog.for_workspace(clinic.ws) as log:
        assert case_id.encode() not in b"".join(log.event(i).body for i in range(log.size()))
