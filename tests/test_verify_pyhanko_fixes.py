"""sign/_pyhanko_fixes.py patches private pyHanko and pyhanko-certvalidator code (speed, and the anchor fix that
ten-years-ahead validation depends on). pyproject.toml pins both below their next minor version; this test fails
loudly when a patched function is missing or its signature changed, before any validation silently changes."""

from __future__ import annotations

import inspect
from importlib.metadata import version
from pathlib import Path

import pytest

from consentkit.sign import _pyhanko_fixes


def test_the_patched_private_functions_are_still_what_the_patches_expect() -> None:
    assert _pyhanko_fixes.check_targets() == []
    # and the versions are the ones the pins allow (a forced install of another one fails here first)
    assert version("pyhanko").startswith("0.38."), version("pyhanko")
    assert version("pyhanko-certvalidator").startswith("0.33."), version("pyhanko-certvalidator")


def test_the_patches_are_applied_and_each_replacement_takes_the_same_parameters() -> None:
    from pyhanko.pdf_utils import generic, xref
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko_certvalidator.path import ValidationPath

    _pyhanko_fixes.apply()
    replaced = {
        "pyhanko_certvalidator.path.ValidationPath.truncate_to_issuer_and_append": (
            ValidationPath.truncate_to_issuer_and_append
        ),
        "pyhanko.pdf_utils.generic.read_hex_string_from_stream": generic.read_hex_string_from_stream,
        "pyhanko.pdf_utils.reader.PdfFileReader._get_object_from_stream": PdfFileReader._get_object_from_stream,
        "pyhanko.pdf_utils.xref.parse_xref_stream": xref.parse_xref_stream,
    }
    assert set(replaced) == set(_pyhanko_fixes.TARGETS)
    for name, current in replaced.items():
        original, expected = _pyhanko_fixes.TARGETS[name]
        assert current is not original, f"{name} is not patched"
        assert tuple(inspect.signature(current).parameters) == expected, name


def test_a_changed_signature_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def renamed(self: object, certificate: object) -> None: ...

    name = "pyhanko_certvalidator.path.ValidationPath.truncate_to_issuer_and_append"
    monkeypatch.setitem(_pyhanko_fixes.TARGETS, name, (renamed, ("self", "cert")))
    assert _pyhanko_fixes.check_targets() == [
        f"{name} takes ('self', 'certificate'), the patch was written for ('self', 'cert')"
    ]
    monkeypatch.setitem(_pyhanko_fixes.TARGETS, name, (None, ("self", "cert")))
    assert _pyhanko_fixes.check_targets() == [f"{name} is missing"]


def _pdf_with_object_stream(header: bytes, body: bytes) -> bytes:
    """A classic-xref PDF whose object 4 is an object stream with ``header`` (object numbers and offsets)."""
    stream = header + body
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [] /Count 0 >>",
        4: b"<< /Type /ObjStm /N 2 /First %d /Length %d >>\nstream\n" % (len(header), len(stream))
        + stream
        + b"\nendstream",
    }
    out = bytearray(b"%PDF-1.7\n")
    offsets = {}
    for number, obj in objects.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 5\n0000000000 65535 f \n"
    for number in range(1, 5):
        out += b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def test_the_object_stream_index_reads_the_objects_pyhanko_reads() -> None:
    """The speed patch indexed an object stream by object number, the last entry winning, and ignored the index the
    cross-reference gives: a header naming object 5 twice made it read another object than pyHanko (which takes
    the first entry), and an index out of range returned an object where pyHanko returns null."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(_pdf_with_object_stream(b"5 0 5 4 ", b"(a) (b)")), strict=False)
    for idx in (0, 1, 7):
        expected = _pyhanko_fixes._original_objstm(reader, 5, 4, idx)
        patched = _pyhanko_fixes._object_from_stream(reader, 5, 4, idx)
        assert type(patched) is type(expected) and patched == expected, idx
    ordinary = PdfFileReader(io.BytesIO(_pdf_with_object_stream(b"5 0 6 4 ", b"(a) (b)")), strict=False)
    assert _pyhanko_fixes._object_from_stream(ordinary, 6, 4, 1) == "b"


def test_an_install_without_source_files_still_checks_and_applies_the_patches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """check_targets read certvalidator's source with inspect.getsource, which raises OSError in an install without
    .py files (a zipapp, a stripped image): every sign and verify crashed. It reads the bytecode now."""

    def no_source(_obj: object) -> str:
        raise OSError("could not get source code")

    monkeypatch.setattr(inspect, "getsource", no_source)
    monkeypatch.setattr(_pyhanko_fixes, "_outcome", {})  # as in a fresh process
    assert _pyhanko_fixes.check_targets() == []
    _pyhanko_fixes.apply()
    assert _pyhanko_fixes.missing_fixes() == []


def test_a_fix_that_cannot_be_applied_is_logged_and_named_by_verify(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """When a patched function changed, apply() patched nothing and said nothing, so long-term validation ran
    without the anchor fix and failed (or passed) for a reason no one could see. Now the other patches still apply,
    a warning names the one that does not, and verify's report names it first."""
    import logging

    from pyhanko.pdf_utils import generic

    from consentkit.sign.verify import verify_packet

    def renamed(self: object, certificate: object) -> None: ...

    name = _pyhanko_fixes.ANCHOR_FIX
    monkeypatch.setitem(_pyhanko_fixes.TARGETS, name, (renamed, ("self", "cert")))
    monkeypatch.setattr(_pyhanko_fixes, "_outcome", {})
    with caplog.at_level(logging.WARNING, logger="consentkit.sign._pyhanko_fixes"):
        _pyhanko_fixes.apply()
    assert any("long-term-validation fix" in r.getMessage() and "certificate" in r.getMessage() for r in caplog.records)
    assert generic.read_hex_string_from_stream is _pyhanko_fixes._read_hex_string  # the speed fixes still apply
    missing = _pyhanko_fixes.missing_fixes()
    assert missing == [
        "the long-term-validation fix for pyhanko-certvalidator (CRLs of an issuing CA) is not applied: "
        f"{name} takes ('self', 'certificate'), the patch was written for ('self', 'cert')"
    ]
    pdf = tmp_path / "unsigned.pdf"
    pdf.write_bytes(_pdf_with_object_stream(b"5 0 6 4 ", b"(a) (b)"))
    report = verify_packet(pdf, trust_roots=[])
    assert report.notes == missing
    assert report.reasons[0] == f"{missing[0]}, so a failure below may be due to that alone"
