"""verify-evidence keeps the clinic's root apart from external TSAs' roots, as verify does (docs/signing.md,
Verifying): a bundle's trust-roots.pem holds both, and only its clinic-root.pem vouches for signers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from consentkit.evidence import bundle as b
from consentkit.evidence.report import EvidenceReport
from consentkit.evidence.verify_bundle import _anchors
from consentkit.pki import certs


def _root(name: str) -> x509.Certificate:
    key = certs.new_ec_key()
    subject = certs.subject_name(name, name, None)
    return certs.ca_certificate(
        subject, key, issuer=None, issuer_key=key, now=dt.datetime.now(dt.UTC), days=30, path_length=1
    )


def test_only_the_bundles_clinic_root_vouches_for_signers(tmp_path: Path) -> None:
    """The bundle's roots went to verify_packet as one list, so a signer certificate under an external TSA's root
    (a public CA) counted as the clinic's. Pinned roots (--trust-root) are the clinic's, as the option says."""
    clinic, tsa = _root("Clinic Root CA"), _root("Public TSA Root CA")
    log_key = certs.new_ec_key().public_key()
    files = {
        b.CLINIC_ROOT: b.pem([clinic]),
        b.TRUST_ROOTS: b.pem([clinic, tsa]),
        b.LOG_KEY: log_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    }
    anchors, _key = _anchors(files, (), None, EvidenceReport("bundle.zip"))
    assert anchors.clinic == (clinic,) and anchors.tsa_only == (tsa,)
    pinned = tmp_path / "pinned.pem"
    pinned.write_bytes(b.pem([clinic]))
    anchors, _key = _anchors(files, (pinned,), None, EvidenceReport("bundle.zip"))
    assert anchors.clinic == (clinic,) and anchors.tsa_only == ()
    damaged = {**files, b.CLINIC_ROOT: b"not a certificate"}
    report = EvidenceReport("bundle.zip")
    anchors, _key = _anchors(damaged, (), None, report)
    assert anchors.clinic == () and f"{b.CLINIC_ROOT} is not a PEM certificate, so no signer can be trusted" in (
        report.problems
    )
