"""Two patches to pyHanko 0.38 / pyhanko-certvalidator 0.33, applied when signing or verifying.

1. Speed: pyHanko parses hex strings one character at a time through its tokenizer (~20 µs a character); every
   signature's ``/Contents`` is 20-30 kB of hex, so listing a packet's signatures took 0.15 s per signature and
   most of a signing step. :func:`_read_hex_string` does the same with ``bytes.fromhex`` and the same errors.

2. Speed: ``PdfFileReader._get_object_from_stream`` re-reads an object stream's header with the same tokenizer
   for every object it looks up (quadratic); pyHanko's difference analysis walks the structure tree of a tagged
   PDF/A packet object by object, which made verifying our packets take ~7 s. :func:`_object_from_stream` indexes
   each object stream once and falls back to pyHanko's own code for anything unusual.

3. Speed: cross-reference streams are decoded entry by entry through ``ArrayObject`` lookups of ``/W``
   (~25 µs an entry; a reader over a signed packet decodes thousands): :func:`_parse_xref_stream` hands pyHanko's
   parser a view whose ``/W`` and ``/Index`` are plain integer lists. Same parser, same results.

4. Correctness, long-term validation:

In past (AdES "time-sliding") validation, pyHanko looks for the CRL covering a signer certificate along a path
truncated to the signer's issuer (``ades._find_revinfo_data_for_leaf_in_past`` builds
``ValidationPath(CertTrustAnchor(issuer), [], leaf)``). When that issuer is an intermediate CA that signs its own
CRL — the usual setup, and ours — ``truncate_to_issuer_and_append(issuer)`` looks for the issuer's *own* issuer in
the truncated path, finds none, and the CRL is dropped: every signature whose certificate has expired then fails
with REVOCATION_OUT_OF_BOUNDS_NO_POE although its CRL is embedded and time-stamped. A two-level PKI would hide the
problem; we keep the issuing CA and teach the path that a certificate equal to its trust anchor *is* the anchor,
as pyHanko already does for self-signed anchors. ``tests/test_verify_ltv.py`` shows the 10-years-ahead validation
failing without it.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils import generic, misc, xref
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.misc import PdfStreamError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko_certvalidator.authority import AuthorityWithCert
from pyhanko_certvalidator.path import ValidationPath

_original: Any = getattr(ValidationPath, "truncate_to_issuer_and_append", None)
_original_hex: Any = getattr(generic, "read_hex_string_from_stream", None)
_original_objstm: Any = getattr(PdfFileReader, "_get_object_from_stream", None)
_original_xref: Any = getattr(xref, "parse_xref_stream", None)
_APPLIED = "_consentkit_anchor_fix"
_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
_HEX = b"0123456789abcdefABCDEF"


def _read_hex_string(stream: Any) -> Any:
    """``generic.read_hex_string_from_stream`` without the per-character tokenizer."""
    stream.read(1)  # the '<'
    start = stream.tell()
    chunks: list[bytes] = []
    while True:
        block = stream.read(1 << 16)
        if not block:
            raise PdfStreamError("Stream has ended unexpectedly")
        end = block.find(b">")
        if end >= 0:
            chunks.append(block[:end])
            break
        chunks.append(block)
    raw = b"".join(chunks)
    stream.seek(start + len(raw) + 1)
    digits = raw.translate(None, _PDF_WHITESPACE)
    stray = digits.translate(None, _HEX)
    if stray:
        raise PdfStreamError("Unexpected token in hex string: " + repr(stray[:1]))
    if len(digits) % 2:
        digits += b"0"
    return generic.pdf_string(binascii.unhexlify(digits))


def _object_from_stream(self: PdfFileReader, idnum: int, stmnum: int, idx: int) -> Any:
    """``PdfFileReader._get_object_from_stream`` with the object stream's offsets parsed once."""
    stream = generic.Reference(stmnum, 0, self).get_object()
    if not isinstance(stream, generic.StreamObject) or stream.get("/Type") != "/ObjStm":
        return _original_objstm(self, idnum, stmnum, idx)
    table = getattr(stream, "_consentkit_objstm", None)
    if table is None:
        try:
            data = stream.read_data(DecodePurpose.OBJECT_STREAM)
            first, count = int(stream["/First"]), int(stream["/N"])
            numbers = [int(n) for n in data[:first].split()]
        except (ValueError, TypeError, KeyError, misc.PdfError):
            return _original_objstm(self, idnum, stmnum, idx)
        if len(numbers) < 2 * count:
            return _original_objstm(self, idnum, stmnum, idx)
        # pyHanko takes an object's first entry in the header; an index other than that entry's (or out of range)
        # is its to handle (null, or an error in strict mode): same objects as pyHanko reads, never another one
        entries: dict[int, tuple[int, int]] = {}
        for i in range(count):
            entries.setdefault(numbers[2 * i], (i, first + numbers[2 * i + 1]))
        table = (data, entries)
        stream._consentkit_objstm = table  # type: ignore[attr-defined]
    data, entries = table
    index, offset = entries.get(idnum, (-1, -1))
    if index != idx:
        return _original_objstm(self, idnum, stmnum, idx)
    buffer = BytesIO(data)
    buffer.seek(offset)
    try:
        obj = generic.read_object(buffer, generic.Reference(idnum, 0, self))
    except (misc.PdfStreamError, misc.PdfReadError):
        return _original_objstm(self, idnum, stmnum, idx)  # its error handling and logging
    if isinstance(obj, generic.StreamObject | generic.IndirectObject):
        return _original_objstm(self, idnum, stmnum, idx)
    return obj


_anchor_fix = {"enabled": True}


class _XrefStreamView:
    """What ``parse_xref_stream`` reads from a cross-reference stream, with its integer arrays as lists."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def get(self, key: str, default: Any = None) -> Any:
        value = self._stream.get(key, default)
        if key in ("/W", "/Index") and isinstance(value, generic.ArrayObject):
            try:
                return [int(v) for v in value]
            except (TypeError, ValueError):
                return value
        return value

    def read_data(self, *args: Any, **kwargs: Any) -> Any:
        return self._stream.read_data(*args, **kwargs)


def _parse_xref_stream(xref_stream: Any, strict: bool = True) -> Any:
    return _original_xref(_XrefStreamView(xref_stream), strict=strict)


def _truncate_to_issuer_and_append(self: ValidationPath, cert: Any) -> ValidationPath:
    authority = self.trust_anchor.authority
    if (
        _anchor_fix["enabled"]
        and isinstance(authority, AuthorityWithCert)
        and authority.certificate.sha256 == cert.sha256
    ):
        return ValidationPath(self.trust_anchor, interm=[], leaf=None)
    result: ValidationPath = _original(self, cert)
    return result


# What each patch replaces, with the parameters it was written against (pyHanko 0.38, certvalidator 0.33; pinned
# below 0.39 / 0.34 in pyproject.toml). A changed signature means the private code changed: the patch is then not
# applied, and tests/test_verify_pyhanko_fixes.py fails loudly.
TARGETS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "pyhanko_certvalidator.path.ValidationPath.truncate_to_issuer_and_append": (_original, ("self", "cert")),
    "pyhanko.pdf_utils.generic.read_hex_string_from_stream": (_original_hex, ("stream",)),
    "pyhanko.pdf_utils.reader.PdfFileReader._get_object_from_stream": (
        _original_objstm,
        ("self", "idnum", "stmnum", "idx"),
    ),
    "pyhanko.pdf_utils.xref.parse_xref_stream": (_original_xref, ("xref_stream", "strict")),
}
# where the anchor fix takes effect: certvalidator's CRL issuer path search must still call the patched method
CALLERS = {"pyhanko_certvalidator.revinfo.validate_crl": "truncate_to_issuer_and_append"}


def check_targets() -> list[str]:
    """What no longer matches the code the patches were written for (empty when all is as expected)."""
    import importlib
    import inspect

    problems = []
    for name, (original, expected) in TARGETS.items():
        if not callable(original):
            problems.append(f"{name} is missing")
            continue
        params = tuple(inspect.signature(original).parameters)
        if params != expected:
            problems.append(f"{name} takes {params}, the patch was written for {expected}")
    for module_name, method in CALLERS.items():
        source = inspect.getsource(importlib.import_module(module_name))
        if method not in source:
            problems.append(f"{module_name} no longer calls {method}: the anchor fix would do nothing")
    return problems


_checked: list[bool] = []  # once per process: whether the targets match


def apply() -> None:
    if not _checked:
        _checked.append(not check_targets())
    if not _checked[0]:  # private code changed under us: patch nothing rather than something different
        return
    if not getattr(ValidationPath, _APPLIED, False):
        ValidationPath.truncate_to_issuer_and_append = _truncate_to_issuer_and_append  # type: ignore[method-assign]
        setattr(ValidationPath, _APPLIED, True)
        generic.read_hex_string_from_stream = _read_hex_string
        PdfFileReader._get_object_from_stream = _object_from_stream  # type: ignore[method-assign]
        xref.parse_xref_stream = _parse_xref_stream


@contextmanager
def without_anchor_fix() -> Iterator[None]:
    """For the test that shows why the certvalidator fix exists."""
    _anchor_fix["enabled"] = False
    try:
        yield
    finally:
        _anchor_fix["enabled"] = True
