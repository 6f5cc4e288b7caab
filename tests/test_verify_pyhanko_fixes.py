"""sign/_pyhanko_fixes.py patches private pyHanko and pyhanko-certvalidator code (speed, and the anchor fix that
ten-years-ahead validation depends on). pyproject.toml pins both below their next minor version; this test fails
loudly when a patched function is missing or its signature changed, before any validation silently changes."""

from __future__ import annotations

import inspect
from importlib.metadata import version

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
