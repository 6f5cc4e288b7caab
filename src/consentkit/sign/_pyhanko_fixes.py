"""Four patches to pyHanko 0.38 / pyhanko-certvalidator 0.33, applied when signing or verifying, each only if the
function it replaces is still the one it was written for (:func:`apply`; :func:`missing_fixes` names a fix that
changes verdicts and could not be applied, which ``consentkit verify`` reports).

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
import importlib
import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import BytesIO
from types import CodeType, ModuleType
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
_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
_log = logging.getLogger(__name__)
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
# below 0.39 / 0.34 in pyproject.toml). A changed signature means the private code changed: that patch is then not
# applied, a warning is logged, and tests/test_verify_pyhanko_fixes.py fails loudly.
ANCHOR_FIX = "pyhanko_certvalidator.path.ValidationPath.truncate_to_issuer_and_append"
TARGETS: dict[str, tuple[Any, tuple[str, ...]]] = {
    ANCHOR_FIX: (_original, ("self", "cert")),
    "pyhanko.pdf_utils.generic.read_hex_string_from_stream": (_original_hex, ("stream",)),
    "pyhanko.pdf_utils.reader.PdfFileReader._get_object_from_stream": (
        _original_objstm,
        ("self", "idnum", "stmnum", "idx"),
    ),
    "pyhanko.pdf_utils.xref.parse_xref_stream": (_original_xref, ("xref_stream", "strict")),
}
# where the anchor fix takes effect: certvalidator's CRL issuer path search must still call the patched method
CALLERS = {"pyhanko_certvalidator.revinfo.validate_crl": "truncate_to_issuer_and_append"}
# the fixes whose absence changes a verdict (the others only cost time)
VERDICT_FIXES = {ANCHOR_FIX: "the long-term-validation fix for pyhanko-certvalidator (CRLs of an issuing CA)"}


def _install_anchor_fix() -> None:
    ValidationPath.truncate_to_issuer_and_append = _truncate_to_issuer_and_append  # type: ignore[method-assign]


def _install_hex() -> None:
    generic.read_hex_string_from_stream = _read_hex_string


def _install_objstm() -> None:
    PdfFileReader._get_object_from_stream = _object_from_stream  # type: ignore[method-assign]


def _install_xref() -> None:
    xref.parse_xref_stream = _parse_xref_stream


_INSTALL: dict[str, Callable[[], None]] = dict(
    zip(TARGETS, (_install_anchor_fix, _install_hex, _install_objstm, _install_xref), strict=True)
)


def _calls(module: ModuleType, name: str) -> bool:
    """Whether code defined in ``module`` (functions, methods, nested code) names ``name`` — read from the
    bytecode, so it works in an install without source files."""

    def codes(value: Any) -> Iterator[CodeType]:
        if isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if inspect.isfunction(value) and value.__module__ == module.__name__:
            yield value.__code__
        elif inspect.isclass(value) and value.__module__ == module.__name__:
            for member in vars(value).values():
                yield from codes(member)

    def names(code: CodeType) -> Iterator[str]:
        yield from code.co_names
        for const in code.co_consts:
            if isinstance(const, CodeType):
                yield from names(const)

    return any(name in names(code) for value in list(vars(module).values()) for code in codes(value))


def target_problems() -> dict[str, str]:
    """Each target that no longer matches the code its patch was written for, and how (empty when all is as
    expected). Never raises: a check that cannot be made is a problem too."""
    problems: dict[str, str] = {}
    for name, (original, expected) in TARGETS.items():
        if not callable(original):
            problems[name] = f"{name} is missing"
            continue
        try:
            params = tuple(inspect.signature(original).parameters)
        except (TypeError, ValueError) as exc:
            problems[name] = f"{name}: its parameters cannot be read ({exc})"
            continue
        if params != expected:
            problems[name] = f"{name} takes {params}, the patch was written for {expected}"
    for module_name, method in CALLERS.items():
        try:
            calls = _calls(importlib.import_module(module_name), method)
        except Exception as exc:  # an import or introspection failure must not stop signing or verifying
            problems.setdefault(ANCHOR_FIX, f"{module_name} cannot be inspected ({type(exc).__name__}: {exc})")
            continue
        if not calls:
            problems.setdefault(ANCHOR_FIX, f"{module_name} no longer calls {method}: the anchor fix would do nothing")
    return problems


def check_targets() -> list[str]:
    """What no longer matches the code the patches were written for (empty when all is as expected)."""
    return list(target_problems().values())


_outcome: dict[str, dict[str, str]] = {}  # "missing": target → why its patch is not applied; set once per process


def apply() -> None:
    """Apply every patch whose target is still what it was written for, once per process. A patch that cannot be
    applied is skipped with a warning, never replaced by something different; the others still apply. Those that
    change a verdict are reported by :func:`missing_fixes` (``consentkit verify`` names them)."""
    if _outcome:
        return
    missing = target_problems()
    for name, install in _INSTALL.items():
        if name not in missing:
            try:
                install()
            except Exception as exc:  # pragma: no cover - an attribute that cannot be set
                missing[name] = f"{name} could not be patched ({type(exc).__name__}: {exc})"
    for name, why in missing.items():
        purpose = VERDICT_FIXES.get(name, "a speed fix")
        _log.warning("consentkit: %s is not applied: %s", purpose, why)
    _outcome["missing"] = missing


def missing_fixes() -> list[str]:
    """The fixes that change a verdict and are not applied in this process, each with why (after :func:`apply`)."""
    missing = _outcome.get("missing", {})
    return [f"{VERDICT_FIXES[name]} is not applied: {why}" for name, why in missing.items() if name in VERDICT_FIXES]


@contextmanager
def without_anchor_fix() -> Iterator[None]:
    """For the test that shows why the certvalidator fix exists."""
    _anchor_fix["enabled"] = False
    try:
        yield
    finally:
        _anchor_fix["enabled"] = True
