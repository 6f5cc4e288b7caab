"""Keys on a PKCS#11 token (SoftHSM2): a physician's, and the clinic's seal and embedded-TSA keys. The workspace CA
certifies each, the certificate goes onto the token, and a packet signed with token-held keys verifies the same way
as one signed with key files — by consentkit verify, pdfsig and openssl."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from _signing_fixtures import (
    PASSPHRASE,
    PHYSICIAN,
    WITNESS,
    case_file,
    extract_signatures,
    make_workspace,
    nss_db,
    openssl_cms_verify,
    openssl_ts_verify,
    own,
    pdfsig,
    sign_all,
    small_packet,
)
from _softhsm import MODULE, PIN, softhsm_conf
from consentkit.cli import main
from consentkit.pki import init_pki
from consentkit.sign.verify import verify_packet
from consentkit.workspace import init_workspace

pytestmark = pytest.mark.skipif(not MODULE.exists(), reason="softhsm2 is not installed (see bootstrap.sh)")


@pytest.fixture(scope="module")
def softhsm() -> Path:
    """The token "consentkit" holding the physician's (EC), the clinic seal's (EC) and the TSA's (RSA) key pairs, in
    the process's one SoftHSM2 folder (``_softhsm``: SoftHSM reads its configuration once per process)."""
    return softhsm_conf()


@pytest.fixture
def token(softhsm: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The physician's key on the token; its pkcs11: URI (the PIN from $TOKEN_PIN)."""
    monkeypatch.setenv("SOFTHSM2_CONF", str(softhsm))
    monkeypatch.setenv("TOKEN_PIN", PIN)
    return f"pkcs11:token=consentkit;object=physician?module-path={MODULE}&pin-source=env:TOKEN_PIN"


def test_token_held_physician_key(
    token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = init_workspace(tmp_path / "ws")
    pki = init_pki(ws, PASSPHRASE.encode())
    pki.issue_signer("witness", WITNESS, PASSPHRASE.encode(), passphrase=own(WITNESS))
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


def test_clinic_seal_and_tsa_keys_on_a_token(
    token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The seal key named in consentkit.toml's own form (module, token label, key label, PIN variable), the embedded
    TSA's key by a pkcs11: URI; the sealed packet verifies, and openssl checks the seal and the TSA's tokens."""
    from consentkit.sign.tokens import clinic_key_ref
    from consentkit.workspace import Workspace, load_config

    ws, pki = make_workspace(tmp_path / "ws")
    config = ws.root / "consentkit.toml"
    config.write_text(
        config.read_text()
        + f'\n[signing.keys.clinic-seal]\nmodule = "{MODULE}"\ntoken_label = "consentkit"\n'
        + 'key_label = "clinic-seal"\npin_env = "TOKEN_PIN"\n'
    )
    ws = Workspace(ws.root, load_config(config))
    monkeypatch.setenv("CONSENTKIT_PASSPHRASE", PASSPHRASE)
    tsa_uri = token.replace("object=physician", "object=tsa")
    for args in (["clinic-seal"], ["tsa", "--pkcs11", tsa_uri]):
        try:
            main(["-w", str(ws.root), "pki", "issue", *args])
        except SystemExit as exc:
            assert exc.code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "issued clinic-seal certificate for the key on token 'consentkit'" in out
    assert "issued tsa certificate for the key on token 'consentkit'" in out
    pki = type(pki)(ws)  # re-read the replaced certificates
    assert not pki.key_path("clinic-seal").exists() and not pki.key_path("tsa").exists()  # set aside, not used
    assert clinic_key_ref(ws, pki, "clinic-seal") is not None and clinic_key_ref(ws, pki, "tsa") is not None

    pdf = small_packet(tmp_path / "packet")
    sign_all(ws, pdf, case_file(tmp_path), ("clinic", "physician", "patient", "witness"))
    report = verify_packet(pdf, trust_roots=[pki.root])
    assert report.ok and report.sealed, "\n".join(report.reasons)
    seal = next(s for s in report.signatures if s.role == "seal")
    assert seal.certificate_sha256 == pki.find(format(pki.certificate("clinic-seal").serial_number, "x")).sha256
    assert all("Time-Stamping Authority" in (s.timestamp.tsa if s.timestamp else "") for s in report.signatures)

    root, issuing = pki.cert_path("root-ca"), pki.cert_path("issuing-ca")
    signatures = extract_signatures(pdf.read_bytes())
    sealed = signatures[4]
    result = openssl_cms_verify(sealed, root, tmp_path)
    assert result.returncode == 0 and "Verification successful" in result.stderr, result.stderr
    assert sealed.token is not None
    result = openssl_ts_verify(sealed.token, sealed.signature_value, root, issuing, tmp_path)
    assert result.returncode == 0 and "Verification: OK" in result.stdout, result.stderr
    result = openssl_ts_verify(signatures[5].cms, signatures[5].signed_bytes, root, issuing, tmp_path)
    assert result.returncode == 0 and "Verification: OK" in result.stdout, result.stderr
    blocks = pdfsig(pdf, nss_db(tmp_path / "nss", root))
    assert blocks[4]["Signature Field Name"] == "sig-clinic-seal"
    assert blocks[4]["Signature Validation"] == "Signature is Valid."
    assert blocks[4]["Certificate Validation"] == "Certificate is Trusted."


def test_token_key_config_errors(tmp_path: Path) -> None:
    from consentkit.errors import ConfigError
    from consentkit.sign.tokens import Pkcs11Ref
    from consentkit.workspace import TokenKeyConfig

    where = "consentkit.toml [signing.keys.clinic-seal]"
    ref = Pkcs11Ref.from_config(TokenKeyConfig(token_label="t", key_id="0a", pin_env="P"), where)
    assert ref.key_id == b"\x0a" and ref.pin_env == "P" and ref.module == str(MODULE)
    with pytest.raises(ConfigError, match=r"give pkcs11 = \"pkcs11:…\", or token_label and key_label"):
        Pkcs11Ref.from_config(TokenKeyConfig(module="/x.so"), where)
    with pytest.raises(ConfigError, match="do not put the PIN"):
        Pkcs11Ref.from_config(TokenKeyConfig(pkcs11="pkcs11:token=t;object=k?pin-value=1"), where)


def test_a_token_key_its_certificate_was_not_issued_for_is_refused_on_loading(token: str, tmp_path: Path) -> None:
    """consentkit.toml [signing.keys.<stem>] wins over the key the certificate was issued for. Naming another key
    made every embedded-TSA token silently invalid (and a clinic signature fail only after it was made); now the
    token's public key is compared with the certificate's when the key is loaded, and refused by name."""
    from consentkit.errors import SigningError
    from consentkit.sign.signing import sign_packet
    from consentkit.tsa import embedded_tsa
    from consentkit.workspace import Workspace, load_config

    ws, _ = make_workspace(tmp_path / "ws")  # file keys; the token's keys were never certified in this workspace
    config = ws.root / "consentkit.toml"
    config.write_text(
        config.read_text()
        + f'\n[signing.keys.tsa]\npkcs11 = "{token.replace("object=physician", "object=tsa")}"\n'
        + f'\n[signing.keys.clinic-certify]\npkcs11 = "{token.replace("object=physician", "object=clinic-seal")}"\n'
    )
    ws = Workspace(ws.root, load_config(config))
    with pytest.raises(SigningError, match=r"the key 'tsa' on token 'consentkit' is not the one the tsa certificate"):
        embedded_tsa(ws, PASSPHRASE.encode())
    pdf = small_packet(tmp_path / "packet")
    before = pdf.read_bytes()
    with pytest.raises(
        SigningError,
        match=r"the key 'clinic-seal' on token 'consentkit' is not the one the clinic-certify certificate \(serial "
        r"[0-9a-f]+\) was issued for, so every signature made with it would be invalid: .*pki issue clinic-certify",
    ):
        sign_packet(ws, pdf, "clinic", secret=PASSPHRASE.encode())
    assert pdf.read_bytes() == before


def test_a_certificate_is_stored_on_the_token_before_the_old_one_is_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    """store_token_certificate destroyed the old certificate first: a failed write left the key with none."""
    import datetime as dt

    from consentkit.errors import SigningError
    from consentkit.pki import certs
    from consentkit.sign import tokens
    from consentkit.sign.tokens import Pkcs11Ref, store_token_certificate

    done: list[str] = []

    class Old:
        def destroy(self) -> None:
            done.append("destroy old")

    class Session:
        fail = False

        def get_objects(self, _attrs: object) -> list[Old]:
            return [Old()]

        def create_object(self, _attrs: object) -> None:
            if self.fail:
                raise RuntimeError("token full")
            done.append("create new")

        def close(self) -> None:
            done.append("close")

    session = Session()
    monkeypatch.setattr(tokens, "_open_token", lambda _ref: session)
    ref = Pkcs11Ref.parse("pkcs11:token=t;object=k")
    key = certs.new_ec_key()
    cert = certs.ca_certificate(
        certs.subject_name("k", "clinic", None), key, issuer=None, issuer_key=key, now=dt.datetime.now(dt.UTC), days=1,
        path_length=0,
    )  # fmt: skip
    store_token_certificate(ref, cert)
    assert done == ["create new", "destroy old", "close"]
    done.clear()
    session.fail = True
    with pytest.raises(SigningError, match=r"cannot store the certificate .*token full"):
        store_token_certificate(ref, cert)
    assert done == ["close"]  # the old certificate is still there
