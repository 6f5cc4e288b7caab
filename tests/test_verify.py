"""A packet built from the example case, signed by every role, checked three ways: `consentkit verify`,
`pdfsig` (NSS), and `openssl cms -verify` / `openssl ts -verify` on the extracted signatures and tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _signing_fixtures import (
    PATIENT,
    PHYSICIAN,
    SignedPacket,
    extract_signatures,
    nss_db,
    openssl_cms_verify,
    openssl_ts_verify,
    pdfsig,
    real_signed_packet,
)
from consentkit.cli import main
from consentkit.sign.verify import verify_packet


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> SignedPacket:
    return real_signed_packet(tmp_path_factory.mktemp("real"))


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_consentkit_verify_reports_every_signature(signed: SignedPacket, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["verify", str(signed.pdf), "--json", "--trust", str(signed.root)], capsys)
    assert code == 0, out + err
    report = json.loads(out)
    assert report["ok"] and report["sealed"] and report["pades_level"] == "B-LTA" and report["reasons"] == []
    assert report["required_roles"] == ["clinic", "physician", "patient"] == report["signed_roles"]
    assert report["packet_matches"] is True
    sigs = {s["field"]: s for s in report["signatures"]}
    assert list(sigs) == ["sig-clinic", "sig-physician", "sig-patient", "sig-clinic-seal", "sig-document-timestamp"]
    for s in report["signatures"]:
        assert s["intact"] and s["valid"] and s["trusted"], s
        assert s["timestamp"]["time"] and "Time-Stamping Authority" in s["timestamp"]["tsa"]
        assert s["covers_revision"]
    for field in ("sig-clinic", "sig-physician", "sig-patient", "sig-clinic-seal"):
        assert sigs[field]["ltv"] and sigs[field]["pades_level"] == "B-LTA"
        assert len(sigs[field]["chain"]) == 3
    assert sigs["sig-physician"]["signer"] == PHYSICIAN and sigs["sig-patient"]["signer"] == PATIENT
    assert sigs["sig-clinic"]["docmdp"] == "form filling and signing"
    assert sigs["sig-clinic-seal"]["docmdp"] == "no changes" and sigs["sig-clinic-seal"]["locks_fields"]
    assert sigs["sig-clinic-seal"]["modification"] == "validation data and timestamps only"
    assert sigs["sig-patient"]["binding"].startswith("one-time certificate for case C-2026-0042")
    assert sigs["sig-document-timestamp"]["covers_whole_file"]
    # only the document timestamp's own value is outside every signature
    assert [u["what"] for u in report["uncovered"]] == [
        "the last signature's own value (/Contents), checked by itself",
        "zero padding of the last signature's /Contents",
    ]


def test_pdfsig_agrees(signed: SignedPacket, tmp_path: Path) -> None:
    blocks = pdfsig(signed.pdf, nss_db(tmp_path / "nss", signed.root))
    assert [b["Signature Field Name"] for b in blocks] == [
        "sig-clinic",
        "sig-physician",
        "sig-patient",
        "sig-clinic-seal",
        "sig-document-timestamp",
    ]
    for block in blocks[:-1]:
        assert block["Signature Validation"] == "Signature is Valid.", block
        assert block["Certificate Validation"] == "Certificate is Trusted.", block
    assert blocks[-1]["Coverage"] == "Total document signed"  # pdfsig cannot check document timestamps


def test_openssl_agrees(signed: SignedPacket, tmp_path: Path) -> None:
    issuing = signed.pki.cert_path("issuing-ca")
    signatures = extract_signatures(signed.pdf.read_bytes())
    assert len(signatures) == 5
    for sig in signatures:
        if sig.is_document_timestamp:
            result = openssl_ts_verify(sig.cms, sig.signed_bytes, signed.root, issuing, tmp_path)
            assert result.returncode == 0 and "Verification: OK" in result.stdout, result.stderr
            continue
        result = openssl_cms_verify(sig, signed.root, tmp_path)
        assert result.returncode == 0 and "Verification successful" in result.stderr, result.stderr
        assert sig.token is not None
        result = openssl_ts_verify(sig.token, sig.signature_value, signed.root, issuing, tmp_path)
        assert result.returncode == 0 and "Verification: OK" in result.stdout, result.stderr


def test_without_the_clinic_root_nothing_is_trusted(signed: SignedPacket) -> None:
    report = verify_packet(signed.pdf, trust_roots=[])
    assert (
        not report.ok
        and report.reasons[0].startswith("no trust anchor was given")
        and "sig-clinic: its certificate is not trusted (no certificate chain found)" in report.reasons
    )
    assert all(s.intact and s.valid for s in report.signatures)


def test_manifest_attached_to_the_pdf_is_used_when_none_is_beside_it(signed: SignedPacket, tmp_path: Path) -> None:
    lone = tmp_path / "packet.pdf"
    lone.write_bytes(signed.pdf.read_bytes())
    report = verify_packet(lone, trust_roots=[signed.pki.root])
    assert report.ok, report.reasons
    assert report.manifest == "attached to the PDF" and report.packet_matches is None
    assert report.required_roles == ["clinic", "physician", "patient"]
