"""Long-term validation: a sealed B-LTA packet still verifies ten years later, offline, from the data it carries;
packets time-stamped by an external, independent TSA (openssl ts -reply) verify too."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from freezegun import freeze_time

from _signing_fixtures import (
    PASSPHRASE,
    OpensslTsa,
    SignedPacket,
    case_file,
    extract_signatures,
    make_workspace,
    openssl_ts_verify,
    real_signed_packet,
    sign_all,
    small_packet,
)
from consentkit.sign import _pyhanko_fixes
from consentkit.sign.trust import load_certificates
from consentkit.sign.verify import verify_packet
from consentkit.workspace import Workspace, load_config

TEN_YEARS = dt.timedelta(days=3653)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> SignedPacket:
    return real_signed_packet(tmp_path_factory.mktemp("real"))


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the network fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access during offline validation: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_valid_ten_years_ahead_with_a_frozen_clock(real: SignedPacket, offline: None) -> None:
    later = dt.datetime.now(dt.UTC) + TEN_YEARS
    with freeze_time(later, real_asyncio=True):
        report = verify_packet(real.pdf, trust_roots=[real.pki.root])
    assert report.ok, report.reasons
    assert report.checked_at.year == later.year
    for sig in report.signatures[:-1]:
        assert sig.ltv and sig.pades_level == "B-LTA", sig
    # the patient's one-time certificate and the physician's have long expired; the proof of existence holds
    patient = next(s for s in report.signatures if s.role == "patient")
    assert patient.timestamp is not None and patient.timestamp.time is not None
    assert patient.timestamp.time < later - dt.timedelta(days=3000)


def test_without_the_certvalidator_fix_expired_signers_fail(real: SignedPacket) -> None:
    with _pyhanko_fixes.without_anchor_fix():
        report = verify_packet(real.pdf, trust_roots=[real.pki.root], at=dt.datetime.now(dt.UTC) + TEN_YEARS)
    assert not report.ok
    assert any("REVOCATION_OUT_OF_BOUNDS_NO_POE" in r for r in report.reasons), report.reasons


def test_after_the_tsa_certificate_expires_a_new_archival_timestamp_is_needed(real: SignedPacket) -> None:
    report = verify_packet(
        real.pdf, trust_roots=[real.pki.root], at=dt.datetime.now(dt.UTC) + dt.timedelta(days=16 * 366)
    )
    assert (
        not report.ok and "sig-document-timestamp: the document timestamp is not from a trusted TSA" in report.reasons
    )


@pytest.fixture(scope="module")
def openssl_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpensslTsa]:
    tsa = OpensslTsa(tmp_path_factory.mktemp("openssl-tsa")).start()
    yield tsa
    tsa.stop()


def test_signing_through_an_independent_tsa_with_failover(openssl_tsa: OpensslTsa, tmp_path: Path) -> None:
    ws, pki = make_workspace(tmp_path / "ws")
    shutil.copy(openssl_tsa.root_pem, ws.signatures_dir / "trust" / "independent-tsa.pem")
    config = ws.root / "consentkit.toml"
    dead = "http://127.0.0.1:9/tsa"
    config.write_text(config.read_text().replace("tsa_urls = []", f'tsa_urls = ["{dead}", "{openssl_tsa.url}"]'))
    ws = Workspace(ws.root, load_config(config))
    pdf = small_packet(tmp_path / "packet")
    sign_all(ws, pdf, case_file(tmp_path), ("clinic", "physician", "patient", "witness"))
    roots = [pki.root, *load_certificates(openssl_tsa.root_pem)]
    report = verify_packet(pdf, trust_roots=roots)
    assert report.ok, report.reasons
    assert all(s.timestamp and "OpenSSL Test TSA" in s.timestamp.tsa for s in report.signatures)
    later = verify_packet(pdf, trust_roots=roots, at=dt.datetime.now(dt.UTC) + TEN_YEARS)
    assert later.ok, later.reasons
    for sig in extract_signatures(pdf.read_bytes()):
        token, data = (sig.cms, sig.signed_bytes) if sig.is_document_timestamp else (sig.token, sig.signature_value)
        assert token is not None
        result = openssl_ts_verify(token, data, openssl_tsa.root_pem, openssl_tsa.dir / "tsa.pem", tmp_path)
        assert result.returncode == 0, result.stderr


def test_renewing_the_archival_timestamp_keeps_a_packet_valid_past_its_tsa(
    openssl_tsa: OpensslTsa, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sealed packet's newest timestamp (the embedded TSA's, whose certificate is valid 15 years) is renewed in
    year 14 — frozen clock — by a TSA valid longer (an independent openssl TSA here); in year 16 the packet still
    verifies offline, while a copy that was not renewed does not. Renewing in year 16 is too late."""
    from consentkit.cli import main
    from consentkit.errors import SigningError
    from consentkit.sign.archive import renew_archive_timestamp

    ws, pki = make_workspace(tmp_path / "ws")
    pdf = small_packet(tmp_path / "packet")
    sign_all(ws, pdf, case_file(tmp_path), ("clinic", "physician", "patient", "witness"))
    kept = tmp_path / "not-renewed.pdf"
    kept.write_bytes(pdf.read_bytes())
    shutil.copy(openssl_tsa.root_pem, ws.signatures_dir / "trust" / "independent-tsa.pem")
    config = ws.root / "consentkit.toml"
    config.write_text(config.read_text().replace("tsa_urls = []", f'tsa_urls = ["{openssl_tsa.url}"]'))
    ws = Workspace(ws.root, load_config(config))
    roots = [pki.root, *load_certificates(openssl_tsa.root_pem)]
    now = dt.datetime.now(dt.UTC)

    cli_copy = tmp_path / "cli" / "packet.pdf"
    cli_copy.parent.mkdir()
    cli_copy.write_bytes(pdf.read_bytes())
    shutil.copy(pdf.with_name("manifest.json"), cli_copy.with_name("manifest.json"))  # the renewal is logged: case id
    with freeze_time(now + dt.timedelta(days=14 * 365), real_asyncio=True):
        renewed = renew_archive_timestamp(ws, pdf, secret=PASSPHRASE.encode())
    assert renewed.field == "sig-document-timestamp-2" and renewed.timestamps == 2
    assert "OpenSSL Test TSA" in renewed.tsa_name
    monkeypatch.setenv("CONSENTKIT_PASSPHRASE", PASSPHRASE)
    try:
        main(["-w", str(ws.root), "sign", str(cli_copy), "--renew-archive"])
    except SystemExit as exc:
        assert exc.code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "archival timestamp sig-document-timestamp-2" in out and "(2 document timestamps)" in out

    year16 = now + dt.timedelta(days=16 * 365)
    report = verify_packet(pdf, trust_roots=roots, at=year16)
    assert report.ok, report.reasons
    assert [c.field for c in report.signatures][-2:] == ["sig-document-timestamp", "sig-document-timestamp-2"]
    assert all(c.ltv for c in report.signatures if c.kind == "signature")
    stale = verify_packet(kept, trust_roots=roots, at=year16)
    assert "sig-document-timestamp: the document timestamp is not from a trusted TSA" in stale.reasons
    with freeze_time(year16, real_asyncio=True), pytest.raises(SigningError, match="no longer validates"):
        renew_archive_timestamp(ws, kept, secret=PASSPHRASE.encode())
