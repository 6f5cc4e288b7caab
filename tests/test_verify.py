"""A packet built from the example case, signed by every role, checked three ways: `consentkit verify`,
`pdfsig` (NSS), and `openssl cms -verify` / `openssl ts -verify` on the extracted signatures and tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509

from _signing_fixtures import (
    GUARDIAN,
    PASSPHRASE,
    PATIENT,
    PHYSICIAN,
    WITNESS,
    SignedPacket,
    case_file,
    extract_signatures,
    guardian_signed_packet,
    make_workspace,
    nss_db,
    openssl_cms_verify,
    openssl_ts_verify,
    own,
    pdfsig,
    real_signed_packet,
    sign_all,
    signer,
    small_packet,
)
from consentkit.case import load_case
from consentkit.cli import main
from consentkit.sign.trust import TrustAnchors
from consentkit.sign.verify import verify_packet

SECRET = PASSPHRASE.encode()


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> SignedPacket:
    """The example case with a witness, built by the packet renderer."""
    return real_signed_packet(tmp_path_factory.mktemp("real"))


@pytest.fixture(scope="module")
def guardian(tmp_path_factory: pytest.TempPathFactory) -> SignedPacket:
    """A minor's packet: the guardian signs with a one-time certificate, a witness too."""
    return guardian_signed_packet(tmp_path_factory.mktemp("guardian"))


@pytest.fixture(params=["witness", "guardian"])
def packet(request: pytest.FixtureRequest) -> SignedPacket:
    """Each packet checked three ways."""
    fixture = "signed" if request.param == "witness" else "guardian"
    result: SignedPacket = request.getfixturevalue(fixture)
    return result


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _fields(packet: SignedPacket) -> list[str]:
    return [f"sig-{role}" for role in packet.roles] + ["sig-clinic-seal", "sig-document-timestamp"]


def test_consentkit_verify_reports_every_signature(packet: SignedPacket, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["verify", str(packet.pdf), "--json", "--trust", str(packet.root)], capsys)
    assert code == 0, out + err
    report = json.loads(out)
    assert report["ok"] and report["sealed"] and report["pades_level"] == "B-LTA" and report["reasons"] == []
    assert report["required_roles"] == list(packet.roles) == report["signed_roles"]
    assert "witness" in packet.roles
    assert report["packet_matches"] is True
    sigs = {s["field"]: s for s in report["signatures"]}
    assert list(sigs) == _fields(packet)
    for s in report["signatures"]:
        assert s["intact"] and s["valid"] and s["trusted"], s
        assert s["timestamp"]["time"] and "Time-Stamping Authority" in s["timestamp"]["tsa"]
        assert s["covers_revision"]
    for field in _fields(packet)[:-1]:
        assert sigs[field]["ltv"] and sigs[field]["pades_level"] == "B-LTA"
        assert len(sigs[field]["chain"]) == 3
    assert sigs["sig-physician"]["signer"] == PHYSICIAN and sigs["sig-witness"]["signer"] == WITNESS
    one_time = "sig-guardian" if "guardian" in packet.roles else "sig-patient"
    assert sigs[one_time]["signer"] == (GUARDIAN if "guardian" in packet.roles else PATIENT)
    assert sigs[one_time]["binding"].startswith(f"one-time certificate for case {_case_id(packet)}")
    assert sigs["sig-clinic"]["docmdp"] == "form filling and signing"
    assert sigs["sig-clinic-seal"]["docmdp"] == "no changes" and sigs["sig-clinic-seal"]["locks_fields"]
    assert sigs["sig-clinic-seal"]["modification"] == "validation data and timestamps only"
    assert sigs["sig-document-timestamp"]["covers_whole_file"]
    # only the document timestamp's own value is outside every signature: all of it, '<' to '>'
    assert [u["what"] for u in report["uncovered"]] == [
        "the last signature's own value (/Contents), checked by itself",
        "zero padding of the last signature's /Contents",
    ]
    _, b, c, _ = sigs["sig-document-timestamp"]["byte_range"]
    assert (report["uncovered"][0]["start"], report["uncovered"][-1]["end"]) == (b, c)
    assert report["uncovered"][0]["end"] == report["uncovered"][1]["start"]


def _case_id(packet: SignedPacket) -> str:
    from consentkit.case import load_case

    return load_case(packet.case)[0].case_id


def test_pdfsig_agrees(packet: SignedPacket, tmp_path: Path) -> None:
    blocks = pdfsig(packet.pdf, nss_db(tmp_path / "nss", packet.root))
    assert [b["Signature Field Name"] for b in blocks] == _fields(packet)
    for block in blocks[:-1]:
        assert block["Signature Validation"] == "Signature is Valid.", block
        assert block["Certificate Validation"] == "Certificate is Trusted.", block
    assert blocks[-1]["Coverage"] == "Total document signed"  # pdfsig cannot check document timestamps


def test_openssl_agrees(packet: SignedPacket, tmp_path: Path) -> None:
    issuing = packet.pki.cert_path("issuing-ca")
    signatures = extract_signatures(packet.pdf.read_bytes())
    assert len(signatures) == len(_fields(packet))
    for sig in signatures:
        if sig.is_document_timestamp:
            result = openssl_ts_verify(sig.cms, sig.signed_bytes, packet.root, issuing, tmp_path)
            assert result.returncode == 0 and "Verification: OK" in result.stdout, result.stderr
            continue
        result = openssl_cms_verify(sig, packet.root, tmp_path)
        assert result.returncode == 0 and "Verification successful" in result.stderr, result.stderr
        assert sig.token is not None
        result = openssl_ts_verify(sig.token, sig.signature_value, packet.root, issuing, tmp_path)
        assert result.returncode == 0 and "Verification: OK" in result.stdout, result.stderr


def test_without_the_clinic_root_nothing_is_trusted(signed: SignedPacket) -> None:
    report = verify_packet(signed.pdf, trust_roots=[])
    assert (
        not report.ok
        and report.reasons[0].startswith("no trust anchor was given")
        and "sig-clinic: its certificate is not trusted for signing (no certificate chain found)" in report.reasons
    )
    assert all(s.intact and s.valid for s in report.signatures)


def test_manifest_attached_to_the_pdf_is_used_when_none_is_beside_it(signed: SignedPacket, tmp_path: Path) -> None:
    lone = tmp_path / "packet.pdf"
    lone.write_bytes(signed.pdf.read_bytes())
    report = verify_packet(lone, trust_roots=[signed.pki.root])
    assert report.ok, report.reasons
    assert report.manifest == "attached to the PDF" and report.packet_matches is None
    assert report.required_roles == ["clinic", "physician", "patient", "witness"]


def test_each_field_is_bound_to_a_certificate_of_its_role(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit's forgery: the witness's own certificate signed into sig-patient (and here into sig-physician too)
    verified VALID B-LTA. Each field now needs a certificate issued for its role."""
    from consentkit import keystore
    from consentkit.errors import RefusedError
    from consentkit.sign.signers import KeySigner
    from consentkit.sign.signing import SignerRef, SigningSession, _Credential

    ws, pki = make_workspace(tmp_path / "ws")
    pdf = small_packet(tmp_path / "p")
    case = load_case(case_file(tmp_path))[0]
    session = SigningSession(ws, SECRET)
    witness = pki.find(WITNESS, roles=("witness",))
    key, cert, _ = keystore.load_pkcs12(pki.dir / "signers" / f"{witness.slug}.p12", own(WITNESS))

    def witness_as(name: str) -> _Credential:
        return _Credential(KeySigner(key, cert, pki.chain()), cert, name)

    with monkeypatch.context() as m:  # consentkit itself refuses a certificate of another role
        m.setattr(session.pki, "find", lambda *a, **k: witness)
        session.sign(pdf, "clinic")
        with pytest.raises(
            RefusedError, match=f"the certificate of {WITNESS} was issued for the witness, not the phys"
        ):
            session.sign(pdf, "physician", SignerRef(name=PHYSICIAN, passphrase=own(WITNESS)))
    with monkeypatch.context() as m:  # forged the way the audit did, below the checks
        m.setattr(session, "_credential", lambda *a, **k: witness_as(PHYSICIAN))
        session.sign(pdf, "physician", SignerRef(name=PHYSICIAN))
    with monkeypatch.context() as m:
        m.setattr(session, "_one_time", lambda *a, **k: witness_as(PATIENT))
        session.sign(pdf, "patient", case=case)
    session.sign(pdf, "witness", signer(WITNESS))
    report = verify_packet(pdf, trust_roots=[pki.root])
    assert not report.ok and report.sealed
    assert report.reasons[:3] == [
        "sig-physician: it is signed with a witness certificate, not one issued for the physician (wrong role)",
        "sig-patient: it is signed with a witness certificate, not one issued for the patient (wrong role)",
        "sig-patient: its certificate is not a one-time certificate bound to this patient (wrong role)",
    ], report.reasons
    assert not any(r.startswith(("sig-clinic", "sig-witness")) for r in report.reasons), report.reasons


def test_certificates_issued_before_roles_were_written_still_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Older workspaces' certificates carry the role only as the subject's title (clinic for both clinic ones)."""
    from consentkit.pki import certs
    from consentkit.pki.certs import certificate_role

    plain = certs.end_entity_certificate
    monkeypatch.setattr(certs, "end_entity_certificate", lambda *a, **k: plain(*a, **{**k, "role": None}))
    ws, pki = make_workspace(tmp_path / "ws")
    monkeypatch.undo()
    assert certificate_role(pki.certificate("clinic-seal")) == ("clinic", False)
    pdf = small_packet(tmp_path / "p")
    sign_all(ws, pdf, case_file(tmp_path), ("clinic", "physician", "patient", "witness"))
    report = verify_packet(pdf, trust_roots=[pki.root])
    assert report.ok, report.reasons
    # a title counts only in a certificate that chains to the clinic's root: anyone can write one
    other = verify_packet(pdf, trust_roots=TrustAnchors((_public_ca_root(),), (pki.root,)))
    assert (
        "sig-physician: it is signed with a certificate naming no role, not one issued for the physician (wrong role)"
        in other.reasons
    ), other.reasons


def _public_ca_root() -> x509.Certificate:
    """A root the clinic trusts for its external TSA only (a public CA issues certificates to anyone)."""
    import datetime as dt

    from consentkit.pki import certs

    key = certs.new_ec_key()
    name = certs.subject_name("Public Trust Root CA", "Public Trust", None)
    return certs.ca_certificate(
        name, key, issuer=None, issuer_key=key, now=dt.datetime.now(dt.UTC), days=365, path_length=1
    )


def test_a_signer_under_a_root_trusted_only_for_timestamps_is_not_trusted_for_signing(
    signed: SignedPacket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The review's forged packet: every certificate in it (clinic, seal, physician, patient, witness) issued under
    a root the verifier trusts for its external TSA only. One set of roots judged signers and timestamps alike, so
    it verified; only the clinic's own roots vouch for signers now, while the same root still vouches for the
    timestamps."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from consentkit.sign.signing import SigningSession
    from consentkit.sign.trust import workspace_trust_roots
    from consentkit.workspace import init_workspace

    clinic = _public_ca_root()  # the verifier's clinic root; the packet's root is only a TSA's to it
    tsa_only = TrustAnchors((clinic,), (signed.pki.root,))
    report = verify_packet(signed.pdf, trust_roots=tsa_only)
    assert not report.ok
    for field in _fields(signed)[:-1]:
        assert f"{field}: its certificate is not trusted for signing (no certificate chain found)" in report.reasons
    assert not any(r.startswith("sig-document-timestamp") for r in report.reasons), report.reasons  # a TSA's root
    assert verify_packet(signed.pdf, trust_roots=[clinic, signed.pki.root]).ok  # a plain list: the clinic's roots
    session = SigningSession(signed.ws, SECRET)  # signing (and --renew-archive) read the same split, publicly
    assert session.trust.clinic == (signed.pki.root,) and session.trust.tsa_only == ()

    # a workspace's signatures/trust/: clinic-root*.pem is the clinic's, any other root a TSA's
    ws = init_workspace(tmp_path / "ws")
    trust = ws.signatures_dir / "trust"
    trust.mkdir(parents=True, exist_ok=True)
    (trust / "clinic-root.pem").write_bytes(clinic.public_bytes(Encoding.PEM))
    (trust / "public-tsa.pem").write_bytes(signed.root.read_bytes())
    anchors = workspace_trust_roots(ws)
    assert anchors.clinic == (clinic,) and anchors.tsa_only == (signed.pki.root,)
    for args in (
        ["-w", str(ws.root), "verify", str(signed.pdf)],
        ["verify", str(signed.pdf), "--trust", str(trust / "clinic-root.pem"), "--tsa-trust", str(signed.root)],
    ):
        code, out, _ = run(args, capsys)
        assert code == 1 and "sig-physician: its certificate is not trusted for signing" in out, out
