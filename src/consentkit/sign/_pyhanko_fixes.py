"""A fix for pyHanko-certvalidator 0.33 that long-term validation of our packets needs.

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

from typing import Any

from pyhanko_certvalidator.authority import AuthorityWithCert
from pyhanko_certvalidator.path import ValidationPath

_original = ValidationPath.truncate_to_issuer_and_append
_APPLIED = "_consentkit_anchor_fix"


def _truncate_to_issuer_and_append(self: ValidationPath, cert: Any) -> ValidationPath:
    authority = self.trust_anchor.authority
    if isinstance(authority, AuthorityWithCert) and authority.certificate.sha256 == cert.sha256:
        return ValidationPath(self.trust_anchor, interm=[], leaf=None)
    result: ValidationPath = _original(self, cert)
    return result


def apply() -> None:
    if not getattr(ValidationPath, _APPLIED, False):
        ValidationPath.truncate_to_issuer_and_append = _truncate_to_issuer_and_append  # type: ignore[method-assign]
        setattr(ValidationPath, _APPLIED, True)


def revert() -> None:
    """For the test that shows why the fix exists."""
    ValidationPath.truncate_to_issuer_and_append = _original  # type: ignore[method-assign]
    setattr(ValidationPath, _APPLIED, False)
