"""A physician's key on a PKCS#11 token (SoftHSM2): the workspace CA certifies it, the certificate goes onto the
token, and a packet signed with the token-held key verifies the same way as one signed with a PKCS#12 key."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from _signing_fixtures import (
    PASSPHRASE,
    PHYSICIAN,
    WITNESS,
    case_file,
    nss_db,
    pdfsig,
    sign_all,
    small_packet,
)
from consentkit.cli import main
from consentkit.pki import init_pki
from consentkit.sign.verify import verify_packet
from consentkit.workspace import init_workspace

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN = "123456"
pytestmark = pytest.mark.skipif(not MODULE.exists(), reason="softhsm2 is not installed (see bootstrap.sh)")


@pytest.fixture
def token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SoftHSM2 token holding an EC P-256 key pair labelled 'physician'; returns its pkcs11: URI."""
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}/\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    monkeypatch.setenv("TOKEN_PIN", PIN)
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "consentkit", "--pin", PIN, "--so-pin", "12345678"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            "pkcs11-tool",
            "--module",
            str(MODULE),
            "--token-label",
            "consentkit",
            "--login",
            "--pin",
            PIN,
            "--keypairgen",
            "--key-type",
            "EC:prime256v1",
            "--id",
            "01",
            "--label",
            "physician",
        ],
        check=True,
        capture_output=True,
    )
    return f"pkcs11:token=consentkit;object=physician?module-path={MODULE}&pin-source=env:TOKEN_PIN"


def test_token_held_physician_key(
    token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = init_workspace(tmp_path / "ws")
    pki = init_pki(ws, PASSPHRASE.encode())
    pki.issue_signer("witness", WITNESS, PASSPHRASE.encode())
    monkeypatch.setenv("CONSENTKIT_PASSPHRASE", PASSPHRASE)
    try:
        main(["-w", str(ws.root), "pki", "issue", "physician", PHYSICIAN, "--pkcs11", token])
    except SystemExit as exc:
        assert exc.code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "key on token 'consentkit', certificate stored there" in out
    listed = subprocess.run(
        ["pkcs11-tool", "--module", str(MODULE), "--token-label", "consentkit", "--list-objects", "--type", "cert"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "label:      physician" in listed
    record = pki.find(PHYSICIAN)
    assert (
        record.key_storage == "pkcs11" and record.pkcs11_uri and "pin" not in record.pkcs11_uri.split("pin-source")[0]
    )
    assert not (pki.dir / "signers" / f"{record.slug}.p12").exists()

    pdf = small_packet(tmp_path / "packet")
    sign_all(ws, pdf, case_file(tmp_path), ("clinic", "physician", "patient", "witness"))
    report = verify_packet(pdf, trust_roots=[pki.root])
    assert report.ok, report.reasons
    physician = next(s for s in report.signatures if s.role == "physician")
    assert physician.signer == PHYSICIAN and physician.ltv
    assert physician.certificate_sha256 == record.sha256
    blocks = pdfsig(pdf, nss_db(tmp_path / "nss", pki.cert_path("root-ca")))
    assert blocks[1]["Signature Field Name"] == "sig-physician"
    assert blocks[1]["Signature Validation"] == "Signature is Valid."
    assert blocks[1]["Certificate Validation"] == "Certificate is Trusted."


def test_wrong_pin_is_a_clear_error(token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from consentkit.errors import SigningError
    from consentkit.sign.signers import Pkcs11Ref, token_public_key

    monkeypatch.setenv("TOKEN_PIN", "000000")
    with pytest.raises(SigningError, match="cannot open PKCS#11 token 'consentkit'"):
        token_public_key(Pkcs11Ref.parse(token))
    monkeypatch.delenv("TOKEN_PIN")
    with pytest.raises(SigningError, match="set the environment variable TOKEN_PIN"):
        token_public_key(Pkcs11Ref.parse(token))


def test_pkcs11_uri_parsing() -> None:
    from consentkit.errors import InputError
    from consentkit.sign.signers import Pkcs11Ref

    ref = Pkcs11Ref.parse("pkcs11:token=My%20Token;id=%01%02?module-path=/x.so")
    assert ref.token_label == "My Token" and ref.key_id == b"\x01\x02" and ref.pin_env == "CONSENTKIT_PKCS11_PIN"
    assert Pkcs11Ref.parse(ref.uri()) == ref
    with pytest.raises(InputError, match="do not put the PIN"):
        Pkcs11Ref.parse("pkcs11:token=t;object=k?pin-value=1234")
    with pytest.raises(InputError, match="name the token"):
        Pkcs11Ref.parse("pkcs11:object=k")
