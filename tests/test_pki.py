"""The workspace PKI: what `consentkit init` creates, certificate profiles, issuing, listing, revoking."""

from __future__ import annotations

import datetime as dt
import json
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, Encoding, PrivateFormat
from cryptography.x509.oid import ExtendedKeyUsageOID

from _signing_fixtures import PASSPHRASE, PHYSICIAN, make_workspace
from consentkit.cli import main
from consentkit.errors import InputError, SigningError
from consentkit.pki import EventBinding, WorkspacePki
from consentkit.workspace import Workspace

SECRET = PASSPHRASE.encode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> WorkspacePki:
    return make_workspace(tmp_path_factory.mktemp("pki") / "ws")[1]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_keys_are_encrypted_and_private(pki: WorkspacePki) -> None:
    keys = sorted(pki.dir.glob("*.key")) + sorted((pki.dir / "signers").glob("*.p12"))
    assert {k.stem for k in pki.dir.glob("*.key")} == {
        "root-ca",
        "issuing-ca",
        "clinic-certify",
        "clinic-seal",
        "tsa",
        "audit-log",
    }
    for path in keys:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        if path.suffix == ".key":
            assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert stat.S_IMODE((pki.dir / "index.json").stat().st_mode) == 0o600
    with pytest.raises(SigningError, match="wrong passphrase"):
        pki.private_key("root-ca", b"not the passphrase")


def test_certificate_profiles(pki: WorkspacePki) -> None:
    root, issuing = pki.root, pki.issuing
    assert root.issuer == root.subject
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert issuing.issuer == root.subject
    assert issuing.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    tsa = pki.certificate("tsa")
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert isinstance(tsa.public_key(), rsa.RSAPublicKey)
    # the clinic signs twice (certification, seal) with two certificates; both usable by NSS (emailProtection)
    certify, seal = pki.certificate("clinic-certify"), pki.certificate("clinic-seal")
    assert certify.serial_number != seal.serial_number
    for cert in (certify, seal):
        assert (
            ExtendedKeyUsageOID.EMAIL_PROTECTION in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        )
        assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment
    audit = (pki.dir / "audit-log.pub.pem").read_bytes()
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(audit)
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    # openssl agrees with the chain
    tsa_pem = pki.cert_path("tsa")
    subprocess.run(
        [
            "openssl",
            "verify",
            "-CAfile",
            str(pki.cert_path("root-ca")),
            "-untrusted",
            str(pki.cert_path("issuing-ca")),
            "-purpose",
            "timestampsign",
            str(tsa_pem),
        ],
        check=True,
        capture_output=True,
    )


def test_clinic_root_is_copied_to_trust(pki: WorkspacePki) -> None:
    copied = pki.ws.signatures_dir / "trust" / "clinic-root.pem"
    assert x509.load_pem_x509_certificate(copied.read_bytes()) == pki.root


def test_one_time_certificate_binds_name_identity_and_packet(pki: WorkspacePki) -> None:
    now = dt.datetime.now(dt.UTC)
    cred = pki.issue_one_time(
        "patient", "李小梅", SECRET, case_id="C-1", identity_digest="ab" * 32, packet_sha256="cd" * 32
    )
    cert = cred.certificate
    assert cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value == "李小梅"
    assert EventBinding.from_certificate(cert) == EventBinding("patient", "C-1", "ab" * 32, "cd" * 32)
    # valid long enough for the packet to be sealed later, not for years
    assert dt.timedelta(days=7) < cert.not_valid_after_utc - now <= dt.timedelta(days=31)
    record = pki.find(cred.record.serial)
    assert record.key_storage == "discarded" and record.packet_sha256 == "cd" * 32
    assert not list(pki.dir.rglob(f"*{record.serial}*"))  # the key was never written


def test_find_and_slugs(pki: WorkspacePki) -> None:
    record = pki.find(PHYSICIAN, roles=("physician",))
    assert record.slug and record.slug.isascii()
    assert pki.find(record.slug) == record
    assert pki.find("0x" + record.serial.upper()) == record
    with pytest.raises(InputError, match="no physician named"):
        pki.find("Dr Nobody", roles=("physician",))


def test_cli_issue_list_revoke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSENTKIT_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CONSENTKIT_SIGNER_PASSPHRASE", "Dr Chen's own passphrase")
    ws_dir = tmp_path / "clinic"
    code, out, err = run(["init", str(ws_dir)], capsys)
    assert code == 0, err
    assert PASSPHRASE not in out + err and "PRIVATE KEY" not in out + err
    code, out, err = run(["-w", str(ws_dir), "pki", "issue", "physician", "Dr Alice Chen"], capsys)
    assert code == 0, err
    assert "signers/dr-alice-chen.p12" in out
    code, out, _ = run(["-w", str(ws_dir), "pki", "list", "--json"], capsys)
    listed = json.loads(out)
    alice = next(r for r in listed if r["name"] == "Dr Alice Chen")
    assert alice["role"] == "physician" and alice["status"] == "valid" and alice["revoked_at"] is None
    assert {r["role"] for r in listed} >= {"root-ca", "issuing-ca", "tsa", "clinic-seal", "clinic-certify"}
    code, out, err = run(["-w", str(ws_dir), "pki", "revoke", alice["serial"], "--reason", "key-compromise"], capsys)
    assert code == 0, err
    crl = x509.load_pem_x509_crl((ws_dir / ".consentkit" / "pki" / "crl.pem").read_bytes())
    entry = crl.get_revoked_certificate_by_serial_number(int(alice["serial"], 16))
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    code, out, _ = run(["-w", str(ws_dir), "pki", "list"], capsys)
    assert "revoked (key-compromise)" in out
    code, _, err = run(["-w", str(ws_dir), "pki", "revoke", "Dr Alice Chen", "--reason", "superseded"], capsys)
    assert code == 3 and "already revoked" in err


def test_init_without_passphrase_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONSENTKIT_PASSPHRASE", raising=False)
    code, _, err = run(["init", str(tmp_path / "clinic")], capsys)
    assert code == 3 and "CONSENTKIT_PASSPHRASE" in err
    assert not (tmp_path / "clinic").exists()


def test_stale_crls_are_renewed_when_the_passphrase_is_known(pki: WorkspacePki) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    with pytest.raises(SigningError, match="out of date"):
        pki.crls(None, now=later)
    crls = pki.crls(SECRET, now=later)
    assert all(c.last_update_utc > later - dt.timedelta(minutes=1) for c in crls)


def test_pki_is_required(tmp_path: Path) -> None:
    from consentkit.errors import WorkspaceError
    from consentkit.workspace import init_workspace

    ws: Workspace = init_workspace(tmp_path / "bare")
    with pytest.raises(WorkspaceError, match="no PKI"):
        WorkspacePki(ws).require()


def test_every_certificate_names_the_role_it_signs_in(pki: WorkspacePki) -> None:
    from consentkit.pki.certs import SIGNER_ROLE_OID, certificate_role

    for stem, role in (("clinic-certify", "clinic-certify"), ("clinic-seal", "clinic-seal")):
        assert certificate_role(pki.certificate(stem)) == (role, True)
    physician = pki.find(PHYSICIAN)
    cert = x509.load_pem_x509_certificate((pki.dir / "signers" / f"{physician.slug}.pem").read_bytes())
    assert certificate_role(cert) == ("physician", True)
    assert not cert.extensions.get_extension_for_oid(SIGNER_ROLE_OID).critical
    with pytest.raises(x509.ExtensionNotFound):  # the TSA certificate has its EKU instead
        pki.certificate("tsa").extensions.get_extension_for_oid(SIGNER_ROLE_OID)
    pem = cert.public_bytes(Encoding.PEM)
    text = subprocess.run(["openssl", "x509", "-noout", "-text"], input=pem, capture_output=True, check=True).stdout
    assert b"2.25.72714327939406800100730745649690288017.3" in text and b"physician" in text


def test_identity_binding_is_keyed_and_older_plain_hashes_are_still_read() -> None:
    import hashlib

    from consentkit.pki.identity import identity_digest, matches

    key = b"k" * 32
    keyed = EventBinding("patient", "C-1", identity_digest(key, "resident-id", " 310101199605120028 "), "cd" * 32)
    assert keyed.identity_digest != hashlib.sha256(b"resident-id:310101199605120028").hexdigest()
    assert matches(keyed, key, "resident-id", "310101199605120028")
    assert not matches(keyed, b"another clinic's key" * 2, "resident-id", "310101199605120028")
    assert not matches(keyed, key, "resident-id", "310101199605120029")
    old = EventBinding("patient", "C-1", hashlib.sha256(b"resident-id:X1").hexdigest(), "cd" * 32, identity_keyed=False)
    assert old.identity_kind == "sha256" and matches(old, key, "resident-id", "x1")

    class Cert:  # what EventBinding.from_certificate reads
        def __init__(self, binding: EventBinding) -> None:
            from consentkit.pki.certs import SIGNING_EVENT_OID

            ext = x509.UnrecognizedExtension(SIGNING_EVENT_OID, binding.to_der())
            self.extensions = x509.Extensions([x509.Extension(SIGNING_EVENT_OID, False, ext)])

    for binding in (keyed, old):
        assert EventBinding.from_certificate(Cert(binding)) == binding  # type: ignore[arg-type]


def test_every_key_uses_a_strong_key_derivation_openssl_can_read(pki: WorkspacePki, tmp_path: Path) -> None:
    """The audit: PKCS#8 and PKCS#12 files used PBKDF2 with 2048 rounds (`openssl asn1parse`: INTEGER :0800)."""
    from consentkit import keystore

    assert keystore.KDF_ITERATIONS >= 600_000
    for path in [*pki.dir.glob("*.key"), *(pki.dir / "signers").glob("*.p12")]:
        assert keystore.kdf_rounds(path) == keystore.KDF_ITERATIONS, path
    parsed = subprocess.run(
        ["openssl", "asn1parse", "-in", str(pki.key_path("root-ca"))], capture_output=True, text=True, check=True
    ).stdout
    assert "PBES2" in parsed and "hmacWithSHA256" in parsed and "aes-256-cbc" in parsed
    assert f"INTEGER           :{keystore.KDF_ITERATIONS:06X}" in parsed  # 600000 = :0927C0 (was :0800)
    env = {"PW": PASSPHRASE}
    opened = subprocess.run(
        ["openssl", "pkey", "-in", str(pki.key_path("clinic-seal")), "-passin", "env:PW", "-noout"], env=env
    )
    assert opened.returncode == 0
    # a key written the old way (2048 rounds) still opens, and is rewritten with the strong derivation on use
    old = tmp_path / "old.key"
    weak = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"an older passphrase")
    )
    old.write_bytes(weak)
    assert keystore.kdf_rounds(old) == 2048
    keystore.load_private_key(old, b"an older passphrase")
    assert keystore.kdf_rounds(old) == keystore.KDF_ITERATIONS


def test_each_signer_key_opens_only_with_that_persons_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sole control (21 CFR 11.300 style): the workspace passphrase no longer opens a physician's key."""
    from _signing_fixtures import OWN_PASSPHRASES
    from consentkit import keystore

    ws, pki = make_workspace(tmp_path / "ws")
    record = pki.find(PHYSICIAN)
    own = OWN_PASSPHRASES[PHYSICIAN].encode()
    p12 = pki.dir / "signers" / f"{record.slug}.p12"
    assert record.key_protection == "own"
    with pytest.raises(SigningError, match="wrong passphrase"):
        keystore.load_pkcs12(p12, SECRET)
    with pytest.raises(SigningError, match="has its own passphrase, which the workspace passphrase does not replace"):
        pki.unlock_credential(record, passphrase=None, workspace_secret=SECRET)
    assert pki.unlock_credential(record, passphrase=own, workspace_secret=SECRET)[1].serial_number == int(
        record.serial, 16
    )
    info = subprocess.run(
        ["openssl", "pkcs12", "-in", str(p12), "-info", "-noout", "-passin", "env:PW"],
        env={"PW": OWN_PASSPHRASES[PHYSICIAN]},
        capture_output=True,
        text=True,
    )
    assert info.returncode == 0 and f"MAC: sha256, Iteration {keystore.KDF_ITERATIONS}" in info.stderr, info.stderr
    assert f"AES-256-CBC, Iteration {keystore.KDF_ITERATIONS}, PRF hmacWithSHA256" in info.stderr

    monkeypatch.setenv("CONSENTKIT_PASSPHRASE", PASSPHRASE)
    w = ["-w", str(ws.root), "pki", "issue", "witness", "李护士", "--passphrase-env", "NURSE_LI"]
    for value, message in (("too short", "at least 12 characters"), (PASSPHRASE, "not the workspace passphrase")):
        monkeypatch.setenv("NURSE_LI", value)
        code, _, err = run(w, capsys)
        assert code == 3 and message in err, err
    monkeypatch.setenv("NURSE_LI", "李护士自己的口令 2026")
    code, out, err = run(w, capsys)
    assert code == 0 and "issued witness certificate for 李护士" in out, err
    assert pki.find("李护士").key_protection == "own"


def test_a_key_under_the_workspace_passphrase_becomes_its_owners_on_first_use(tmp_path: Path) -> None:
    """Older credentials (and library calls without a personal passphrase) are under the workspace passphrase and
    2048 rounds: the first unlock rewrites them strongly, and the first unlock with the person's own passphrase
    hands the key over to it."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    from consentkit import keystore

    _, pki = make_workspace(tmp_path / "ws")
    record = pki.issue_signer("physician", "李医生", SECRET)
    assert record.key_protection == "workspace"
    p12 = pki.dir / "signers" / f"{record.slug}.p12"
    key, cert, chain = keystore.load_pkcs12(p12, SECRET)
    p12.write_bytes(pkcs12.serialize_key_and_certificates(b"x", key, cert, chain, BestAvailableEncryption(SECRET)))
    assert keystore.kdf_rounds(p12) == 2048
    pki.unlock_credential(record, passphrase=None, workspace_secret=SECRET)
    assert keystore.kdf_rounds(p12) == keystore.KDF_ITERATIONS
    mine = "李医生自己的口令 2026".encode()
    pki.unlock_credential(record, passphrase=mine, workspace_secret=SECRET)
    assert pki.find("李医生").key_protection == "own"
    with pytest.raises(SigningError, match="wrong passphrase"):
        keystore.load_pkcs12(p12, SECRET)
    keystore.load_pkcs12(p12, mine)


def test_new_workspaces_need_a_passphrase_of_twelve_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from consentkit import keystore
    from consentkit.errors import ConfigError
    from consentkit.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws")
    with pytest.raises(InputError, match="at least 12 characters"):
        WorkspacePki(ws).create(b"eleven char")
    monkeypatch.setenv("CONSENTKIT_PASSPHRASE", "nine char")
    with pytest.raises(ConfigError, match="at least 12 characters"):
        keystore.passphrase(ws, confirm=True)
    assert keystore.passphrase(ws) == b"nine char"  # an existing workspace's (8 was the minimum) still opens


def test_trust_folders_hold_the_public_roots_and_no_private_key(pki: WorkspacePki) -> None:
    """Signing profiles have "public trust anchors beside them": the workspace's signatures/trust/ holds the clinic
    root, the built-in folder explains itself, and no file beside the profiles holds a private key."""
    from consentkit.resources import builtin_dir
    from consentkit.sign.trust import workspace_trust_roots

    builtin, own = builtin_dir("signatures"), pki.ws.signatures_dir
    assert (builtin / "trust" / "README.md").is_file()
    root = x509.load_pem_x509_certificate((own / "trust" / "clinic-root.pem").read_bytes())
    assert root == pki.root and root.issuer == root.subject
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert pki.root in workspace_trust_roots(pki.ws)
    for folder in (builtin, own):
        for path in folder.rglob("*"):
            assert not path.is_file() or b"PRIVATE KEY" not in path.read_bytes(), path


def test_handing_a_key_over_keeps_a_revocation_made_meanwhile(tmp_path: Path) -> None:
    """unlock_credential wrote back the whole record it had been given: a revocation made after the signer was looked
    up was erased from index.json by the handover to the person's own passphrase, and the next CRL dropped it."""
    _, pki = make_workspace(tmp_path / "ws")
    record = pki.issue_signer("physician", "李医生", SECRET)  # under the workspace passphrase until first use
    pki.revoke(record.serial, "key-compromise", SECRET)
    pki.unlock_credential(record, passphrase="李医生自己的口令 2026".encode(), workspace_secret=SECRET)
    now = next(r for r in pki.records() if r.serial == record.serial)
    assert now.key_protection == "own" and now.revoked_at is not None and now.reason == "key-compromise"
    with pki._locked():  # the next CRL, built from the index
        pki._issue_crls(SECRET, now=dt.datetime.now(dt.UTC))
    crl = x509.load_pem_x509_crl((pki.dir / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(int(record.serial, 16)) is not None


def test_moving_a_clinic_key_to_a_token_revokes_the_old_certificate_and_deletes_its_key(tmp_path: Path) -> None:
    """issue_clinic_key set the old key file aside and left its certificate valid for years: anyone with the workspace
    passphrase could still seal with it. Now the old certificate is revoked (superseded) in the CRL issued at once,
    and the old key file is gone; the old certificate itself is kept, public, for the record."""
    from consentkit.pki import certs

    _, pki = make_workspace(tmp_path / "ws")
    for stem, token_key in (("clinic-seal", ec.generate_private_key(ec.SECP256R1())), ("tsa", certs.new_rsa_key(2048))):
        old = pki.certificate(stem)
        serial = format(old.serial_number, "x")
        cert, record = pki.issue_clinic_key(stem, token_key.public_key(), SECRET, pkcs11_uri="pkcs11:token=t;object=k")
        now = dt.datetime.now(dt.UTC)  # once the move is done (taken before it, a slow machine saw 'valid')
        assert record.key_storage == "pkcs11" and pki.certificate(stem) == cert and cert.subject == old.subject
        crl = x509.load_pem_x509_crl((pki.dir / "crl.pem").read_bytes())
        entry = crl.get_revoked_certificate_by_serial_number(old.serial_number)
        assert entry is not None
        assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.superseded
        assert next(r for r in pki.records() if r.serial == serial).status(now) == "revoked (superseded)"
        assert not list(pki.dir.glob(f"{stem}*.key")), "the old key file must not survive"
        assert x509.load_pem_x509_certificate((pki.dir / f"{stem}.{serial}.pem").read_bytes()) == old
    # the same profiles as init made: the seal certificate names its role, the TSA's is for time-stamping only
    assert certs.certificate_role(pki.certificate("clinic-seal")) == ("clinic-seal", True)
    usage = pki.certificate("tsa").extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert usage.critical and list(usage.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_certificates_are_flushed_to_disk_with_their_folder(
    pki: WorkspacePki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keystore.write_certificate renamed a file it never flushed: a crash could leave the PKI naming a certificate
    that is not on disk. Like the keys, the file and then its folder are flushed."""
    import os

    from consentkit import keystore

    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    keystore.write_certificate(tmp_path / "seal.pem", pki.certificate("clinic-seal"))
    assert synced == ["file", "folder"]
    assert x509.load_pem_x509_certificate((tmp_path / "seal.pem").read_bytes()) == pki.certificate("clinic-seal")
    synced.clear()
    keystore.delete_private_key(tmp_path / "seal.pem")
    assert synced == ["folder"] and not (tmp_path / "seal.pem").exists()
