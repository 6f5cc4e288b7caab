"""Signing a packet: the profile's order, refusals, atomic replacement, appearances."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from _signing_fixtures import (
    CASE_ID,
    OWN_PASSPHRASES,
    PASSPHRASE,
    PATIENT,
    PHYSICIAN,
    WITNESS,
    case_file,
    make_workspace,
    signature_png,
    signer,
    small_packet,
)
from consentkit.case import load_case
from consentkit.cli import main
from consentkit.errors import InputError, RefusedError, TimestampError
from consentkit.pki import WorkspacePki
from consentkit.sign import byteranges
from consentkit.sign.signing import sign_packet
from consentkit.sign.state import read_state
from consentkit.workspace import Workspace

SECRET = PASSPHRASE.encode()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, WorkspacePki]:
    return make_workspace(tmp_path_factory.mktemp("sign") / "ws")


@pytest.fixture(scope="module")
def unsigned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_packet(tmp_path_factory.mktemp("unsigned"))


@pytest.fixture
def packet(unsigned: Path, tmp_path: Path) -> Path:
    (tmp_path / "packet.pdf").write_bytes(unsigned.read_bytes())
    (tmp_path / "manifest.json").write_bytes((unsigned.parent / "manifest.json").read_bytes())
    return tmp_path / "packet.pdf"


def sign(ws: Workspace, pdf: Path, role: str, who: str | None = None, **kw: object) -> object:
    ref = signer(who) if who in OWN_PASSPHRASES else who
    return sign_packet(ws, pdf, role, ref, secret=SECRET, **kw)  # type: ignore[arg-type]


def fields(pdf: Path) -> tuple[str, ...]:
    return read_state(pdf.read_bytes(), str(pdf)).signed_fields


def test_roles_sign_in_profile_order_and_the_seal_follows(
    workspace: tuple[Workspace, WorkspacePki], packet: Path
) -> None:
    ws, _ = workspace
    case = load_case(case_file(packet.parent))[0]
    with pytest.raises(RefusedError, match="the clinic signs before the physician"):
        sign(ws, packet, "physician", PHYSICIAN)
    clinic = sign(ws, packet, "clinic")
    assert clinic.revision == 1 and clinic.seal is None and clinic.pades_level == "B-T"  # type: ignore[attr-defined]
    with pytest.raises(RefusedError, match="already signed"):
        sign(ws, packet, "clinic")
    with pytest.raises(RefusedError, match="cannot be sealed yet: the physician has not signed"):
        sign(ws, packet, "seal")
    with pytest.raises(RefusedError, match="'guardian' does not sign this packet"):
        sign(ws, packet, "guardian", case=case)
    sign(ws, packet, "physician", PHYSICIAN)
    patient = sign(ws, packet, "patient", case=case, signature_image=signature_png())
    assert patient.signer_name == PATIENT  # type: ignore[attr-defined]
    last = sign(ws, packet, "witness", WITNESS)
    assert last.seal is not None and last.seal.role == "seal" and last.seal.pades_level == "B-LTA"  # type: ignore[attr-defined]
    assert last.sha256 == hashlib.sha256(packet.read_bytes()).hexdigest()  # type: ignore[attr-defined]
    assert fields(packet) == (
        "sig-clinic",
        "sig-physician",
        "sig-patient",
        "sig-witness",
        "sig-clinic-seal",
        "sig-document-timestamp",
    )
    with pytest.raises(RefusedError, match="already sealed"):
        sign(ws, packet, "witness", WITNESS)
    assert not list(packet.parent.glob(".*.tmp"))


def test_appearance_shows_name_meaning_and_tsa_time_in_chinese_and_english(
    workspace: tuple[Workspace, WorkspacePki], packet: Path
) -> None:
    ws, _ = workspace
    sign(ws, packet, "clinic")
    result = sign(ws, packet, "physician", PHYSICIAN)
    text = subprocess.run(["pdftotext", str(packet), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    assert f"医师Physician:{PHYSICIAN}" in flat
    assert "我已告知风险" in flat and "Iexplainedtherisks" in flat
    # the box shows the time of a token the TSA issued just before the signature's own: at most a moment earlier
    # (compared as times, not text: the two can fall on either side of a second)
    shown = re.search(r"签署时间Signed:(\d{4}-\d\d-\d\d)(\d\d:\d\d:\d\d)CST\(Asia/Shanghai\)", flat)
    assert shown is not None, flat
    box_time = dt.datetime.fromisoformat(f"{shown[1]}T{shown[2]}").replace(tzinfo=ws.zone)
    signed_at = result.tsa_time.astimezone(ws.zone).replace(microsecond=0)  # type: ignore[attr-defined]
    assert dt.timedelta(0) <= signed_at - box_time <= dt.timedelta(seconds=5), (box_time, signed_at)
    assert "时间戳服务TSAtime" in flat
    fonts = subprocess.run(["pdffonts", str(packet)], capture_output=True, text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "ConsentkitCJKSC" in line]
    assert cjk and all(" yes yes yes " in line for line in cjk)  # embedded, subset, ToUnicode


def test_refuses_drafts_and_foreign_files(workspace: tuple[Workspace, WorkspacePki], tmp_path: Path) -> None:
    ws, _ = workspace
    draft = small_packet(tmp_path / "draft", draft=True)
    with pytest.raises(RefusedError, match="draft"):
        sign(ws, draft, "clinic")
    other = small_packet(tmp_path / "other")
    data = bytearray(other.read_bytes())
    data[len(data) // 2] ^= 0x20
    other.write_bytes(bytes(data))
    with pytest.raises(RefusedError, match="does not start with the packet described by"):
        sign(ws, other, "clinic")
    assert other.read_bytes() == bytes(data)  # untouched


def test_signer_must_be_the_person_the_packet_names(workspace: tuple[Workspace, WorkspacePki], packet: Path) -> None:
    ws, pki = workspace
    pki.issue_signer("physician", "李医生", SECRET)
    sign(ws, packet, "clinic")
    before = packet.read_bytes()
    with pytest.raises(RefusedError, match=f"names {PHYSICIAN} as physician, but the certificate is for 李医生"):
        sign(ws, packet, "physician", "李医生")
    with pytest.raises(InputError, match="name the physician"):
        sign(ws, packet, "physician")
    assert packet.read_bytes() == before


def test_patient_needs_the_matching_case(workspace: tuple[Workspace, WorkspacePki], packet: Path) -> None:
    ws, _ = workspace
    sign(ws, packet, "clinic")
    sign(ws, packet, "physician", PHYSICIAN)
    with pytest.raises(InputError, match="--case"):
        sign(ws, packet, "patient")
    wrong = case_file(packet.parent)
    wrong.write_text(wrong.read_text().replace(CASE_ID, "C-OTHER-9"))
    with pytest.raises(RefusedError, match=f"this packet is for case {CASE_ID}"):
        sign(ws, packet, "patient", case=load_case(wrong)[0])
    with pytest.raises(InputError, match="not a readable PNG"):
        sign(ws, packet, "patient", case=load_case(case_file(packet.parent))[0], signature_image=b"GIF89a...")


def test_revoked_signer_cannot_sign(tmp_path: Path) -> None:
    ws, pki = make_workspace(tmp_path / "ws")
    pdf = small_packet(tmp_path / "p")
    sign(ws, pdf, "clinic")
    pki.revoke(PHYSICIAN, "key-compromise", SECRET)
    with pytest.raises(RefusedError, match="is revoked"):
        sign(ws, pdf, "physician", PHYSICIAN)


def test_output_elsewhere_and_deferred_seal(workspace: tuple[Workspace, WorkspacePki], packet: Path) -> None:
    ws, _ = workspace
    case = load_case(case_file(packet.parent))[0]
    original = packet.read_bytes()
    out = packet.with_name("signed.pdf")
    sign(ws, packet, "clinic", output=out)
    assert packet.read_bytes() == original and out.read_bytes().startswith(original)
    manifest = packet.with_name("manifest.json")
    sign(ws, out, "physician", PHYSICIAN, manifest_path=manifest)
    sign(ws, out, "patient", case=case, manifest_path=manifest)
    result = sign(ws, out, "witness", WITNESS, manifest_path=manifest, seal=False)
    assert result.seal is None and "sig-clinic-seal" not in fields(out)  # type: ignore[attr-defined]
    sealed = sign(ws, out, "seal", manifest_path=manifest)
    assert sealed.role == "seal" and sealed.pades_level == "B-LTA"  # type: ignore[attr-defined]
    assert fields(out)[-2:] == ("sig-clinic-seal", "sig-document-timestamp")


def test_no_tsa_means_no_signature(tmp_path: Path) -> None:
    ws, _ = make_workspace(tmp_path / "ws")
    config = ws.root / "consentkit.toml"
    config.write_text(
        config.read_text().replace("tsa_urls = []", 'tsa_urls = ["http://127.0.0.1:9/tsa"]\ntimeout_seconds = 1')
    )
    from consentkit.workspace import load_config

    ws = Workspace(ws.root, load_config(config))
    pdf = small_packet(tmp_path / "p")
    before = pdf.read_bytes()
    with pytest.raises(
        TimestampError, match=r"never falls back to the local clock\): http://127\.0\.0\.1:9/tsa: connection refused"
    ):
        sign(ws, pdf, "clinic")
    assert pdf.read_bytes() == before and not list(pdf.parent.glob(".*.tmp"))


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_sign(
    workspace: tuple[Workspace, WorkspacePki],
    packet: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws, _ = workspace
    monkeypatch.setenv("CONSENTKIT_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("CONSENTKIT_SIGNER_PASSPHRASE", raising=False)
    w = ["-w", str(ws.root)]
    code, out, err = run([*w, "sign", str(packet), "--role", "physician", "--signer", PHYSICIAN], capsys)
    assert code == 3 and f"{PHYSICIAN}'s own key passphrase is needed: set the environment variable " in err
    monkeypatch.setenv("DOCTOR_WANG", OWN_PASSPHRASES[PHYSICIAN])
    signer_args = ["--signer", PHYSICIAN, "--passphrase-env", "DOCTOR_WANG"]
    code, out, err = run([*w, "sign", str(packet), "--role", "physician", *signer_args], capsys)
    assert code == 1 and "the clinic signs before the physician" in err and "Traceback" not in err
    code, out, err = run([*w, "sign", str(packet), "--role", "clinic", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["role"] == "clinic" and data["revision"] == 1 and len(data["sha256"]) == 64
    assert PASSPHRASE not in out + err and "PRIVATE KEY" not in out + err
    code, _, err = run([*w, "sign", str(packet.with_name("missing.pdf")), "--role", "clinic"], capsys)
    assert code == 3 and "no such file" in err
    code, _, err = run([*w, "sign", str(packet), "--role", "patient"], capsys)
    assert code == 1 and "physician signs before the patient" in err
    monkeypatch.setenv("DOCTOR_WANG", PASSPHRASE)  # the workspace passphrase does not open the physician's key
    code, _, err = run([*w, "sign", str(packet), "--role", "physician", *signer_args], capsys)
    assert code == 1 and "cannot unlock" in err and "wrong passphrase" in err
    monkeypatch.setenv("DOCTOR_WANG", OWN_PASSPHRASES[PHYSICIAN])
    code, out, err = run([*w, "sign", str(packet), "--role", "physician", *signer_args], capsys)
    assert code == 0 and f"as physician ({PHYSICIAN})" in out, err
    assert OWN_PASSPHRASES[PHYSICIAN] not in out + err


def test_a_too_small_learnt_signature_size_falls_back_to_estimating(
    workspace: tuple[Workspace, WorkspacePki], packet: Path
) -> None:
    from consentkit.sign.signing import SigningSession

    ws, _ = workspace
    session = SigningSession(ws, SECRET)
    session.sign(packet, "clinic")
    cert = session.pki.find(PHYSICIAN)
    session._reserved[f"physician:{cert.sha256}"] = 2000  # hex digits: far too few for certificates and a token
    result = session.sign(packet, "physician", signer(PHYSICIAN))
    assert result.role == "physician" and fields(packet) == ("sig-clinic", "sig-physician")


def test_guardian_signs_with_a_one_time_certificate_bound_to_the_guardian(
    workspace: tuple[Workspace, WorkspacePki], tmp_path: Path
) -> None:
    import hashlib as _hashlib

    from _signing_fixtures import GUARDIAN
    from consentkit.pki import EventBinding
    from consentkit.pki.identity import workspace_identity_digest

    ws, pki = workspace
    pdf = small_packet(tmp_path / "p", roles=("clinic", "physician", "guardian"))
    case = load_case(case_file(tmp_path, guardian=True))[0]
    sign(ws, pdf, "clinic")
    sign(ws, pdf, "physician", PHYSICIAN)
    with pytest.raises(RefusedError, match="'patient' does not sign this packet"):
        sign(ws, pdf, "patient", case=case)
    result = sign(ws, pdf, "guardian", case=case)
    assert result.signer_name == GUARDIAN and result.seal is not None  # type: ignore[attr-defined]
    record = pki.find(result.certificate_serial)  # type: ignore[attr-defined]
    assert record.role == "guardian" and record.key_storage == "discarded"
    signed = [s.signer_cert for s in byteranges.scan(pdf.read_bytes()) if s.signer_cert is not None]
    cert = next(c for c in signed if c.serial_number == int(record.serial, 16))
    binding = EventBinding.from_certificate(cert)
    assert binding is not None and binding.role == "guardian" and binding.case_id == CASE_ID
    assert case.guardian is not None and binding.identity_keyed
    doc = case.guardian.identity
    assert binding.identity_digest == workspace_identity_digest(ws, doc.type, doc.number)  # the guardian's document
    assert binding.identity_digest != _hashlib.sha256(f"{doc.type}:{doc.number}".encode()).hexdigest()


def test_revocation_reaches_later_signatures_and_spares_earlier_ones(tmp_path: Path) -> None:
    from asn1crypto import crl as asn1_crl
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    from consentkit.sign.verify import verify_packet

    ws, pki = make_workspace(tmp_path / "ws")
    pdf = small_packet(tmp_path / "p")
    case = load_case(case_file(tmp_path))[0]
    sign(ws, pdf, "clinic")
    sign(ws, pdf, "physician", PHYSICIAN)
    revoked = pki.revoke(PHYSICIAN, "key-compromise", SECRET)  # after the physician signed
    sign(ws, pdf, "patient", case=case)
    sign(ws, pdf, "witness", WITNESS)
    with pdf.open("rb") as fh:
        dss = DocumentSecurityStore.read_dss(PdfFileReader(fh, strict=False))
        listed = {
            entry["user_certificate"].native
            for ref in dss.crls
            for entry in asn1_crl.CertificateList.load(ref.get_object().data)["tbs_cert_list"]["revoked_certificates"]
        }
    assert int(revoked.serial, 16) in listed
    report = verify_packet(pdf, trust_roots=[pki.root])
    assert report.ok, report.reasons  # signed before the revocation: still valid


def test_a_packet_changed_after_signing_is_not_signed_again(
    workspace: tuple[Workspace, WorkspacePki], packet: Path
) -> None:
    """The audit's case: a byte flipped in the clinic's revision, and every later role still signed."""
    ws, _ = workspace
    case = load_case(case_file(packet.parent))[0]
    sign(ws, packet, "clinic")
    sign(ws, packet, "physician", PHYSICIAN)
    signed = packet.read_bytes()
    clinic = byteranges.scan(signed)[0]
    flipped = bytearray(signed)
    flipped[clinic.end - 200] ^= 0x01  # in the clinic's revision, after its signature value
    packet.write_bytes(bytes(flipped))
    expected = (
        r"was changed after it was signed, so it is not signed again: sig-clinic \(the bytes it signed have "
        r"changed\); sig-physician \(the bytes it signed have changed\)"
    )
    with pytest.raises(RefusedError, match=expected):
        sign(ws, packet, "patient", case=case)
    assert packet.read_bytes() == bytes(flipped)
    packet.write_bytes(signed + b"\n% a note\n")
    with pytest.raises(RefusedError, match=r"10 byte\(s\) were added after sig-physician"):
        sign(ws, packet, "patient", case=case)
    packet.write_bytes(signed)
    assert sign(ws, packet, "patient", case=case).role == "patient"  # type: ignore[attr-defined]


def _physician_events(ws: Workspace) -> list[object]:
    from consentkit.audit.log import AuditLog

    log = AuditLog.for_workspace(ws)
    try:
        events = [e.event for e in log.case_events(CASE_ID)]
    finally:
        log.close()
    return [e for e in events if e.type == "document.signed" and e.data.role == "physician"]


def _cli_sign(ws: Workspace, pdf: Path, role: str, who: str) -> subprocess.Popen[str]:
    import os
    import sys

    env = {**os.environ, "CONSENTKIT_PASSPHRASE": PASSPHRASE, "CONSENTKIT_SIGNER_PASSPHRASE": OWN_PASSPHRASES[who]}
    args = ["-w", str(ws.root), "sign", str(pdf), "--role", role, "--signer", who]
    program = "import sys; from consentkit.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", program, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_two_processes_signing_one_packet_take_turns(tmp_path: Path) -> None:
    """Two `consentkit sign --role physician` at once: one signs and logs, the other waits for the lock, then sees
    the physician's signature and refuses. Before the lock both exited 0 and one signature was lost."""
    import time

    from consentkit.sign.lock import packet_lock
    from consentkit.workflow import sign_role

    ws, _ = make_workspace(tmp_path / "ws")
    pdf = small_packet(tmp_path / "p")
    sign_role(ws, pdf, "clinic", secret=SECRET)
    with packet_lock(pdf):  # this process holds the lock: the other one must wait, then re-check the order
        waiting = _cli_sign(ws, pdf, "physician", PHYSICIAN)
        time.sleep(1.5)
        assert waiting.poll() is None, waiting.communicate()
        sign_role(ws, pdf, "physician", signer(PHYSICIAN), secret=SECRET)  # re-entrant in the holding process
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 1 and "the physician has already signed this packet" in err, (out, err)
    assert fields(pdf) == ("sig-clinic", "sig-physician") and len(_physician_events(ws)) == 1

    other = small_packet(tmp_path / "q")
    sign_role(ws, other, "clinic", secret=SECRET)
    runs = [_cli_sign(ws, other, "physician", PHYSICIAN) for _ in range(2)]
    results = [(r.wait(timeout=120), r.communicate()) for r in runs]
    assert sorted(code for code, _ in results) == [0, 1], results
    assert fields(other) == ("sig-clinic", "sig-physician") and len(_physician_events(ws)) == 2
    assert (other.parent / ".packet.pdf.lock").exists() and not list(other.parent.glob(".*.tmp"))


def test_a_signer_certificate_that_only_names_the_clinic_ca_is_refused(
    workspace: tuple[Workspace, WorkspacePki], packet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sign compared the certificate's issuer *name* with the clinic CA's: a certificate made by anyone (a token's,
    a file's) naming the clinic's issuing CA as issuer, the physician as subject and the physician role was used to
    sign, and document.signed logged it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from consentkit.pki.certs import signer_role_extension
    from consentkit.sign.signing import SigningSession

    ws, pki = workspace
    session = SigningSession(ws, SECRET)
    session.sign(packet, "clinic")
    genuine = pki.certificate("clinic-certify")
    key = ec.generate_private_key(ec.SECP256R1())
    forged = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, PHYSICIAN)]))
        .issuer_name(pki.issuing.subject)
        .serial_number(x509.random_serial_number())
        .public_key(key.public_key())
        .not_valid_before(genuine.not_valid_before_utc)
        .not_valid_after(genuine.not_valid_after_utc)
        .add_extension(signer_role_extension("physician"), critical=False)
        .sign(key, hashes.SHA256())
    )
    monkeypatch.setattr(session.pki, "unlock_credential", lambda *a, **k: (key, forged, pki.chain()))
    before = packet.read_bytes()
    with pytest.raises(RefusedError, match="the physician's certificate was not issued by this workspace's CA"):
        session.sign(packet, "physician", signer(PHYSICIAN))
    assert packet.read_bytes() == before


def test_a_lock_that_cannot_be_taken_is_a_message_and_leaves_no_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """flock failing (a file system without locks) or interrupted while waiting left the lock file's descriptor
    open, and the OSError escaped as a traceback."""
    import errno
    import os

    from consentkit.sign import lock

    pdf = tmp_path / "packet.pdf"
    pdf.write_bytes(b"%PDF-1.7")
    before = len(os.listdir("/proc/self/fd"))
    for raised in (OSError(errno.ENOLCK, os.strerror(errno.ENOLCK)), KeyboardInterrupt()):

        def refuse(fd: int, op: int, exc: BaseException = raised) -> None:
            raise exc

        monkeypatch.setattr(lock.fcntl, "flock", refuse)
        expected = InputError if isinstance(raised, OSError) else KeyboardInterrupt
        with pytest.raises(expected), lock.packet_lock(pdf):
            pass
        monkeypatch.undo()
        assert len(os.listdir("/proc/self/fd")) == before, raised
    with lock.packet_lock(pdf), lock.packet_lock(pdf):  # nothing left half-held: it locks, re-entrantly, again
        pass
    assert len(os.listdir("/proc/self/fd")) == before


def test_the_identity_document_is_bound_by_a_keyed_hmac(
    workspace: tuple[Workspace, WorkspacePki], packet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The audit found an unsalted SHA-256 of `resident-id:NUMBER` in the patient's certificate: an 18-digit
    resident ID (birth date inside) is brute-forceable from the PDF alone."""
    from consentkit.case import subject_id

    ws, _ = workspace
    case = load_case(case_file(packet.parent))[0]
    sign(ws, packet, "clinic")
    sign(ws, packet, "physician", PHYSICIAN)
    sign(ws, packet, "patient", case=case)
    data = packet.read_bytes()
    plain = hashlib.sha256(f"resident-id:{case.patient.identity.number}".encode()).digest()
    assert plain not in data and plain.hex().upper().encode() not in data.upper()
    keyed = subject_id(case, ws.secret("subject-hmac")).removeprefix("hmac-sha256:")
    assert bytes.fromhex(keyed).hex().upper().encode() in data.upper()  # the patient's pseudonym, as in the log
    w = ["-w", str(ws.root), "pki", "identity", str(packet)]
    code, out, _ = run([*w, "--case", str(packet.parent / "case.yaml")], capsys)
    assert code == 0 and f"patient {PATIENT} (case {CASE_ID}, hmac-sha256): the identity document matches" in out
    code, out, _ = run([*w, "--document", "resident-id:110101199004180024"], capsys)
    assert code == 1 and "does NOT match" in out
    code, _, err = run([*w, "--document", "110101199004180023"], capsys)
    assert code == 3 and "is not TYPE:NUMBER" in err


def test_pki_identity_counts_only_intact_signatures_by_the_workspace_ca(
    workspace: tuple[Workspace, WorkspacePki], packet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pki identity` read the binding of any certificate in any signature value: one of the forger's own making
    (same key, issuer name and serial as the patient's, signed by nobody the clinic trusts) with a version-1
    binding — a plain SHA-256 anyone can compute — was confirmed as binding the document the forger chose."""
    from asn1crypto import cms
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding

    from consentkit.pki import EventBinding
    from consentkit.pki.certs import SIGNING_EVENT_OID

    ws, _ = workspace
    case = load_case(case_file(packet.parent))[0]
    sign(ws, packet, "clinic")
    sign(ws, packet, "physician", PHYSICIAN)
    sign(ws, packet, "patient", case=case)  # the witness has not signed: the patient's value is the last one
    data = packet.read_bytes()
    last = byteranges.scan(data)[-1]
    genuine = last.signer_cert
    assert genuine is not None
    chosen = "resident-id:999999999999999999"
    binding = EventBinding("patient", CASE_ID, hashlib.sha256(chosen.encode()).hexdigest(), "00" * 32, False)
    forged = (
        x509.CertificateBuilder()
        .subject_name(genuine.subject)
        .issuer_name(genuine.issuer)
        .serial_number(genuine.serial_number)
        .public_key(genuine.public_key())
        .not_valid_before(genuine.not_valid_before_utc)
        .not_valid_after(genuine.not_valid_after_utc)
        .add_extension(x509.UnrecognizedExtension(SIGNING_EVENT_OID, binding.to_der()), critical=False)
        .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    )
    info = cms.ContentInfo.load(last.contents_der)
    signed = info["content"]
    replacement = asn1_x509.Certificate.load(forged.public_bytes(Encoding.DER))
    signed["certificates"] = [
        cms.CertificateChoices({"certificate": replacement}) if c.chosen.serial_number == genuine.serial_number else c
        for c in signed["certificates"]
    ]
    value = bytes(info.dump()).hex().encode()
    _, b, c, _ = last.ranges
    assert len(value) <= c - b - 2
    forged_pdf = packet.with_name("forged.pdf")
    forged_pdf.write_bytes(data[: b + 1] + value + b"0" * (c - b - 2 - len(value)) + data[c - 1 :])
    assert byteranges.scan(forged_pdf.read_bytes())[-1].problem is None  # same key: the CMS signature still checks
    w = ["-w", str(ws.root), "pki", "identity"]
    code, out, _ = run([*w, str(forged_pdf), "--document", chosen], capsys)
    assert code == 1 and "cannot be confirmed: its certificate was not issued by this workspace's CA" in out, out

    changed = bytearray(data)
    changed[b // 2] ^= 0x01  # inside the bytes every signature covers
    broken_pdf = packet.with_name("broken.pdf")
    broken_pdf.write_bytes(bytes(changed))
    code, out, _ = run([*w, str(broken_pdf), "--case", str(packet.parent / "case.yaml")], capsys)
    assert code == 1 and "cannot be confirmed: the bytes it signed have changed" in out, out
    code, out, _ = run([*w, str(packet), "--case", str(packet.parent / "case.yaml")], capsys)
    assert code == 0 and "the identity document matches" in out, out


def test_the_seal_is_refused_once_a_one_time_certificate_has_expired(
    workspace: tuple[Workspace, WorkspacePki], tmp_path: Path
) -> None:
    """docs/signing.md: the packet must be sealed within the one-time certificate's 30 days; after that the seal is
    refused (long-term validation would fail) and the patient signs a new packet."""
    from consentkit.pki import ONE_TIME_DAYS

    ws, _ = workspace
    pdf = small_packet(tmp_path / "p", roles=("clinic", "physician", "patient"))
    case = load_case(case_file(tmp_path))[0]
    sign(ws, pdf, "clinic")
    sign(ws, pdf, "physician", PHYSICIAN)
    patient = sign(ws, pdf, "patient", case=case, seal=False)
    assert patient.seal is None  # type: ignore[attr-defined]
    before = pdf.read_bytes()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=ONE_TIME_DAYS + 1)
    with pytest.raises(RefusedError, match=f"the certificate of {PATIENT} expired on .*can no longer be sealed"):
        sign(ws, pdf, "seal", now=later)
    assert pdf.read_bytes() == before
    assert sign(ws, pdf, "seal").pades_level == "B-LTA"  # type: ignore[attr-defined]  # in time, it seals
