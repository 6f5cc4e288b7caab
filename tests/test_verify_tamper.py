"""Tampering with a signed packet is detected and named; bytes no signature covers are reported as such."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from _signing_fixtures import (
    PASSPHRASE,
    SignedPacket,
    extract_signatures,
    real_signed_packet,
    replace_signature_value,
    replace_timestamp_token,
    small_signed_packet,
    swap_signer_certificate,
)
from consentkit.cli import main
from consentkit.errors import InputError
from consentkit.sign import byteranges
from consentkit.sign.report import VerificationReport
from consentkit.sign.verify import verify_packet


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> SignedPacket:
    return small_signed_packet(tmp_path_factory.mktemp("small"))


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> SignedPacket:
    return real_signed_packet(tmp_path_factory.mktemp("real"))


def tampered(packet: SignedPacket, folder: Path, data: bytes) -> Path:
    pdf = packet.copy(folder)
    pdf.write_bytes(data)
    return pdf


def check(packet: SignedPacket, folder: Path, data: bytes) -> VerificationReport:
    return verify_packet(tampered(packet, folder, data), trust_roots=[packet.pki.root])


def revisions(data: bytes) -> list[tuple[int, int, int]]:
    """(start, end, signature index) of the bytes each signature added, its own /Contents excluded;
    revision 0 (the unsigned packet) is owned by the first signature."""
    sigs = sorted(byteranges.scan(data), key=lambda s: s.end)
    spans, start = [], 0
    for n, sig in enumerate(sigs):
        _, b, c, d = sig.ranges
        spans.append((start, b, n))  # up to its /Contents
        spans.append((c, c + d, n))  # after its /Contents, to its end
        start = c + d
    return [s for s in spans if s[1] > s[0]]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choice=st.data())
def test_any_flipped_byte_breaks_exactly_the_signatures_covering_it(real: SignedPacket, choice: st.DataObject) -> None:
    data = real.pdf.read_bytes()
    spans = revisions(data)
    start, end, owner = choice.draw(st.sampled_from(spans))
    position = choice.draw(st.integers(start, end - 1))
    mask = choice.draw(st.integers(1, 255))
    flipped = bytearray(data)
    flipped[position] ^= mask
    sigs = sorted(byteranges.scan(bytes(flipped)), key=lambda s: s.ranges[1])
    originals = sorted(byteranges.scan(data), key=lambda s: s.ranges[1])
    # a flip inside a /ByteRange itself can make that signature unreadable: it then disappears or breaks
    assert len(sigs) <= len(originals)
    broken = {s.ranges[1] for s in sigs if s.problem is not None}
    for n, sig in enumerate(originals):
        if n >= owner:
            assert sig.ranges[1] in broken or sig.ranges not in {s.ranges for s in sigs}, (position, n)
        else:
            assert sig.ranges[1] not in broken, (position, n)


def _field_name_around(data: bytes, position: int) -> bool:
    """Whether ``position`` is inside a field's ``/T (name)`` entry (a flip there renames the field)."""
    window = data[max(0, position - 64) : position + 1]
    return re.search(rb"/T\s*\([^)]*$|/T?$", window) is not None


@settings(
    max_examples=20,  # ~0.5-1 s a verification on 2 loaded cores: 10-20 s
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # each example verifies a packet: no slow shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(choice=st.data())
def test_any_flipped_byte_fails_verification_and_names_the_signature(
    small: SignedPacket, tmp_path_factory: pytest.TempPathFactory, choice: st.DataObject
) -> None:
    """Through verify_packet: a flip anywhere in any revision's signed bytes is never VALID, never raises, and the
    signature owning that revision is named by its field (or the structure is reported damaged and the field name
    itself was hit)."""
    data = small.pdf.read_bytes()
    fields = _FIELDS.setdefault(
        "small", [s.field for s in verify_packet(small.pdf, trust_roots=[small.pki.root]).signatures]
    )
    start, end, owner = choice.draw(st.sampled_from(revisions(data)))
    position = choice.draw(st.integers(start, end - 1))
    flipped = bytearray(data)
    flipped[position] ^= choice.draw(st.integers(1, 255))
    report = check(small, tmp_path_factory.mktemp("flip"), bytes(flipped))
    assert not report.ok
    named = [r for r in report.reasons if r.startswith(f"{fields[owner]}: ")]
    if not named:  # only a flip inside a field name may rename the field the report speaks of
        assert _field_name_around(data, position), (position, owner, report.reasons)
        assert any(": the bytes it signed have changed" in r for r in report.reasons), report.reasons
    for earlier in fields[:owner]:
        assert f"{earlier}: the bytes it signed have changed" not in report.reasons, (position, report.reasons)


_FIELDS: dict[str, list[str]] = {}


def test_a_damaged_certificate_in_the_validation_data_is_named_not_raised(
    small: SignedPacket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The audit's crash: one flipped tag byte in a certificate of the witness revision's DSS made asn1crypto raise
    from inside pyHanko's certificate registry (a traceback from `consentkit verify`)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    data = small.pdf.read_bytes()
    witness_pem = next((small.pki.dir / "signers").glob("witness-*.pem"))
    der = x509.load_pem_x509_certificate(witness_pem.read_bytes()).public_bytes(Encoding.DER)
    at = data.index(der) + der.index(bytes.fromhex("0603551d130101ff04")) + 8  # basicConstraints' OCTET STRING tag
    flipped = bytearray(data)
    flipped[at] = 0x98
    pdf = tampered(small, tmp_path, bytes(flipped))
    report = verify_packet(pdf, trust_roots=[small.pki.root])
    assert not report.ok and report.reasons[0] == "sig-witness: the bytes it signed have changed", report.reasons
    assert "sig-document-timestamp: the validation data (DSS) holds 1 damaged certificate(s) or CRL(s)" in (
        report.reasons
    )
    code, out, err = run(["verify", str(pdf), "--trust", str(small.root)], capsys)
    assert code == 1 and "Traceback" not in out + err
    assert out.splitlines()[1] == "  ✗ sig-witness: the bytes it signed have changed"


def test_a_damaged_byte_range_still_names_its_signature(small: SignedPacket, tmp_path: Path) -> None:
    data = small.pdf.read_bytes()
    for n, (old, new) in enumerate(((b"/ByteRange [0 ", b"/ByteRange [0J"), (b"/ByteRange", b"/ByteRangf"))):
        at = data.rindex(old)  # the document timestamp's
        report = check(small, tmp_path / str(n), data[:at] + new + data[at + len(old) :])
        assert not report.ok
        assert (
            "sig-document-timestamp: its /ByteRange is damaged or missing (altered): what it signed cannot be checked"
            in report.reasons
        ), report.reasons
    header = check(small, tmp_path / "header", b"%PDF+" + data[5:])  # signed bytes: tampering, not "not a PDF"
    assert not header.ok and "sig-clinic: the bytes it signed have changed" in header.reasons


def test_flips_in_every_revision_fail_verification_and_name_the_signature(real: SignedPacket, tmp_path: Path) -> None:
    data = real.pdf.read_bytes()
    fields = [s.field for s in verify_packet(real.pdf, trust_roots=[real.pki.root]).signatures]
    by_owner: dict[int, tuple[int, int]] = {}
    for start, end, owner in revisions(data):
        by_owner.setdefault(owner, (start, end))
    for owner, (start, end) in sorted(by_owner.items()):
        flipped = bytearray(data)
        flipped[(start + end) // 2] ^= 0x04
        report = check(real, tmp_path / f"rev{owner}", bytes(flipped))
        assert not report.ok
        named = f"{fields[owner]}: the bytes it signed have changed"
        assert named in report.reasons, (owner, report.reasons)
        earlier = list(fields[:owner])
        assert not any(r.startswith(tuple(f"{f}: the bytes" for f in earlier)) for r in report.reasons)


def test_revision_appended_after_the_lock(small: SignedPacket, tmp_path: Path) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(small.pdf.read_bytes()), strict=False)
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    note = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/Text"),
            generic.pdf_name("/Rect"): generic.ArrayObject([generic.FloatObject(20)] * 4),
            generic.pdf_name("/Contents"): generic.pdf_string("risk removed after signing"),
        }
    )
    page[generic.pdf_name("/Annots")] = generic.ArrayObject([writer.add_object(note)])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    report = check(small, tmp_path, out.getvalue())
    assert not report.ok
    assert report.reasons[0] == (
        "1 revision(s) were added after the last signature (revision 6) and no signature covers them"
    )
    assert (
        "sig-clinic-seal: the document was changed after it in a way it does not allow "
        "(other changes to the document)" in report.reasons
    )
    assert any(u.what == "an unsigned revision appended after the last signature" for u in report.uncovered)


def test_signature_added_after_the_seal(small: SignedPacket, tmp_path: Path) -> None:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from consentkit.sign.signers import KeySigner

    pki = small.pki
    signer = KeySigner(pki.private_key("clinic-seal", PASSPHRASE.encode()), pki.certificate("clinic-seal"), pki.chain())
    writer = IncrementalPdfFileWriter(io.BytesIO(small.pdf.read_bytes()), strict=False)
    out = io.BytesIO()
    meta = signers.PdfSignatureMetadata(field_name="sig-late", subfilter=fields.SigSeedSubFilter.PADES)
    signers.PdfSigner(meta, signer).sign_pdf(writer, output=out)
    report = check(small, tmp_path, out.getvalue())
    assert not report.ok
    assert "sig-late: signed after the clinic seal locked the packet" in report.reasons
    assert any(r.startswith("sig-clinic-seal: the document was changed after it") for r in report.reasons)


def test_swapped_signer_certificate(small: SignedPacket, tmp_path: Path) -> None:
    data = small.pdf.read_bytes()
    physician = extract_signatures(data)[1]
    witness_pem = next((small.pki.dir / "signers").glob("witness-*.pem"))
    other = x509.load_pem_x509_certificate(witness_pem.read_bytes())
    report = check(small, tmp_path, replace_signature_value(data, 1, swap_signer_certificate(physician.cms, other)))
    assert not report.ok
    assert report.reasons[0] == (
        "sig-physician: its signature does not verify with the embedded certificate "
        "(certificate swapped or value altered)"
    )


def _physician_certificate(packet: SignedPacket) -> x509.Certificate:
    pem = next((packet.pki.dir / "signers").glob("physician-*.pem"))
    return x509.load_pem_x509_certificate(pem.read_bytes())


def _impostor(genuine: x509.Certificate, name: str, *extensions: x509.ExtensionType) -> x509.Certificate:
    """A certificate with the issuer, serial and key of ``genuine``, another name, signed by nobody trusted."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, name)]))
        .issuer_name(genuine.issuer)
        .serial_number(genuine.serial_number)
        .public_key(genuine.public_key())
        .not_valid_before(genuine.not_valid_before_utc)
        .not_valid_after(genuine.not_valid_after_utc)
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())


def _put_in_front(signed: object, cert: x509.Certificate) -> None:
    """``cert`` first among the certificates of an asn1crypto SignedData."""
    from asn1crypto import cms
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding

    extra = cms.CertificateChoices({"certificate": asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))})
    signed["certificates"] = [extra, *signed["certificates"]]  # type: ignore[index]


def test_a_certificate_slipped_in_front_of_the_signers_does_not_decide_who_signed(
    small: SignedPacket, tmp_path: Path
) -> None:
    """pyHanko validates the last certificate matching the signer identifier; the byte-level check (whose
    certificate names the signer and decides the role binding) read the first. A certificate put in front — same
    issuer, serial and key as the real one, another name and role, signed by nobody the clinic trusts — was shown
    as the signer and bound to the field while pyHanko found the chain of the real one."""
    from asn1crypto import cms

    from consentkit.pki.certs import signer_role_extension

    data = small.pdf.read_bytes()
    forged = _impostor(_physician_certificate(small), "赵医生", signer_role_extension("witness"))
    info = cms.ContentInfo.load(extract_signatures(data)[1].cms)
    _put_in_front(info["content"], forged)
    report = check(small, tmp_path, replace_signature_value(data, 1, bytes(info.dump())))
    assert not report.ok
    assert (
        "sig-physician: 2 different certificates in it claim to be its signer's (one was added or replaced)"
        in report.reasons
    ), report.reasons
    physician = next(c for c in report.signatures if c.field == "sig-physician")
    assert physician.signer != "赵医生" and not any("wrong role" in r for r in report.reasons), report.reasons


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("06072a8648ce3d0201", "06072a8648ce3d0209"),  # id-ecPublicKey -> an unknown key algorithm
        ("0603551d0e", "0603551d23"),  # subjectKeyIdentifier -> a second authorityKeyIdentifier
    ],
    ids=["unknown-key-algorithm", "duplicate-extension"],
)
def test_a_damaged_signer_certificate_is_a_named_failure_not_a_traceback(
    small: SignedPacket, tmp_path: Path, old: str, new: str
) -> None:
    """cryptography reads a certificate's key and extensions only when asked, and raises UnsupportedAlgorithm or
    DuplicateExtension — neither a ValueError — which escaped `consentkit verify` as a traceback."""
    from cryptography.hazmat.primitives.serialization import Encoding

    data = small.pdf.read_bytes()
    der = _physician_certificate(small).public_bytes(Encoding.DER)
    damaged = der.replace(bytes.fromhex(old), bytes.fromhex(new), 1)
    assert damaged != der
    value = extract_signatures(data)[1].cms
    assert der in value
    report = check(small, tmp_path, replace_signature_value(data, 1, value.replace(der, damaged)))
    assert not report.ok
    assert any(r.startswith("sig-physician: ") for r in report.reasons), report.reasons


def test_replaced_timestamp_token(small: SignedPacket, tmp_path: Path) -> None:
    data = small.pdf.read_bytes()
    sigs = extract_signatures(data)
    seal, physician = sigs[4], sigs[1]
    assert physician.token is not None
    report = check(
        small, tmp_path / "seal", replace_signature_value(data, 4, replace_timestamp_token(seal.cms, physician.token))
    )
    assert not report.ok
    assert (
        "sig-clinic-seal: its timestamp token does not cover this signature (token replaced or altered)"
        in report.reasons
    )
    # the document timestamp replaced by a token over other data
    report = check(small, tmp_path / "doc", replace_signature_value(data, 5, physician.token))
    assert not report.ok and "sig-document-timestamp: the bytes it signed have changed" in report.reasons


def test_uncovered_bytes_are_reported_not_treated_as_tampering(small: SignedPacket, tmp_path: Path) -> None:
    data = small.pdf.read_bytes()
    report = check(small, tmp_path / "tail", data + b"\n% bytes after %%EOF\n")
    assert report.ok, report.reasons
    assert report.uncovered[-1].what == "bytes after the end of the last signed revision"
    assert report.uncovered[-1].end - report.uncovered[-1].start == len(b"\n% bytes after %%EOF\n")
    last = extract_signatures(data)[-1]
    _, b, _, _ = last.byte_range
    padded = bytearray(data)
    padded[b + 1 + 2 * len(last.cms) + 20] = ord("7")
    report = check(small, tmp_path / "padding", bytes(padded))
    assert report.ok, report.reasons
    assert any(u.what.startswith("padding of the last signature's /Contents (not zeros") for u in report.uncovered)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_damaged_input_is_a_clear_error(
    small: SignedPacket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = small.pdf.read_bytes()
    for name, content in (
        ("truncated.pdf", data[: len(data) // 2]),
        ("garbage.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40),
        ("text.pdf", b"hello, not a pdf\n"),
    ):
        (tmp_path / name).write_bytes(content)
        code, out, err = run(["verify", str(tmp_path / name), "--trust", str(small.root)], capsys)
        assert code == 3, (name, out, err)
        assert err.startswith(f"error: {tmp_path / name}: not a") and "Traceback" not in err
    with pytest.raises(InputError, match="cut short"):
        verify_packet(tmp_path / "truncated.pdf", trust_roots=[small.pki.root])


def test_cli_exit_codes(small: SignedPacket, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["verify", str(small.pdf), "--trust", str(small.root)], capsys)
    assert code == 0 and "VALID — PAdES B-LTA, sealed" in out
    flipped = bytearray(small.pdf.read_bytes())
    flipped[2000] ^= 0x10
    pdf = tampered(small, tmp_path, bytes(flipped))
    code, out, _ = run(["verify", str(pdf), "--trust", str(small.root)], capsys)
    assert code == 1 and "NOT VALID" in out
    shutil.rmtree(tmp_path)


def _with_tokens(cms_der: bytes, tokens: list[bytes]) -> bytes:
    """The same CMS whose signature-time-stamp attribute holds ``tokens`` (unsigned: the signature stays valid)."""
    from asn1crypto import cms

    info = cms.ContentInfo.load(cms_der)
    signer = info["content"]["signer_infos"][0]
    attrs = [a for a in signer["unsigned_attrs"] if a["type"].native != "signature_time_stamp_token"]
    values = [cms.ContentInfo.load(t) for t in tokens]
    attrs.append(cms.CMSAttribute({"type": "signature_time_stamp_token", "values": values}))
    signer["unsigned_attrs"] = cms.CMSAttributes(attrs)
    return bytes(info.dump())


def test_a_second_timestamp_token_beside_a_signature_is_named(small: SignedPacket, tmp_path: Path) -> None:
    """pyHanko checks a signature's tokens until one is trusted; verify showed the first and judged an expired TSA by
    the last. A second token (here the witness's, after the seal's own) changed nothing in the verdict while a
    reader could show the other one: now any count but one is a named failure."""
    data = small.pdf.read_bytes()
    sigs = extract_signatures(data)
    seal, witness = sigs[4], sigs[3]
    assert seal.token is not None and witness.token is not None
    doubled = _with_tokens(seal.cms, [seal.token, witness.token])
    report = check(small, tmp_path, replace_signature_value(data, 4, doubled))
    assert not report.ok
    named = "sig-clinic-seal: its signature holds 2 timestamp tokens (one was added or replaced)"
    assert named in report.reasons
    assert not any("sig-clinic-seal: its timestamp" in r for r in report.reasons), report.reasons  # said once


def test_a_certificate_slipped_in_front_of_the_tsas_does_not_name_the_tsa(small: SignedPacket, tmp_path: Path) -> None:
    """describe_token named the TSA from the first certificate matching the token's signer identifier; pyHanko
    validates the last. A certificate put in front (same issuer and serial, another name, signed by nobody) named
    another TSA than the one checked. Several such certificates are refused, in verify and in verify_token."""
    from asn1crypto import cms

    from consentkit.errors import VerificationError
    from consentkit.tsa import verify_token

    data = small.pdf.read_bytes()
    seal = extract_signatures(data)[4]
    assert seal.token is not None
    token = cms.ContentInfo.load(seal.token)
    _put_in_front(token["content"], _impostor(small.pki.certificate("tsa"), "Trusted Public TSA"))
    altered = bytes(token.dump())
    report = check(small, tmp_path, replace_signature_value(data, 4, _with_tokens(seal.cms, [altered])))
    assert not report.ok
    assert (
        "sig-clinic-seal: its timestamp token: the time-stamp token holds 2 different certificates that claim to be "
        "its TSA's (one was added or replaced)" in report.reasons
    ), report.reasons
    with pytest.raises(VerificationError, match="2 different certificates that claim to be its TSA's"):
        verify_token(altered, seal.signature_value, [small.pki.root], is_digest=False)
