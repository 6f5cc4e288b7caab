"""Who may sign where: each field of a packet must be signed with a certificate issued for its role, chaining to
the clinic's own roots, and a patient's or guardian's one-time certificate must be bound to this case and packet.
Used by :mod:`consentkit.sign.verify`; ``ONE_TIME`` also by signing."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509

from consentkit.manifest import Manifest
from consentkit.pki import certs
from consentkit.pki.certs import EventBinding
from consentkit.sign import byteranges
from consentkit.sign.profile import SigningProfile
from consentkit.sign.report import SignatureCheck

ONE_TIME = ("patient", "guardian")
UNTRUSTED_SIGNER = "not trusted for signing"
_ROLE_WORDS = {"clinic-certify": "clinic certification", "clinic-seal": "clinic seal", "clinic": "clinic"}


def bind_roles(
    checks: list[SignatureCheck],
    raw: list[byteranges.RawSignature],
    profile: SigningProfile,
    manifest: Manifest | None,
    clinic_roots: Sequence[x509.Certificate],
) -> None:
    """Each field must be signed by a certificate issued for its role: the clinic's certification and seal
    certificates for those fields, physician and witness certificates for theirs, and for the patient and guardian
    a one-time certificate bound to that role, this case and this packet. A mismatch is a problem named "wrong
    role". Every signer's certificate must chain to one of ``clinic_roots`` (not to a root trusted only for
    timestamps), and only then may a certificate without the role extension be judged by its subject's title."""
    by_range = {s.ranges: s for s in raw if s.signer_cert is not None}
    certify = profile.roles[0].role
    for check in checks:
        sig = by_range.get(check.byte_range)
        if check.kind != "signature" or check.role is None or sig is None or sig.signer_cert is None:
            continue
        cert = sig.signer_cert
        anchored = certs.chains_to(cert, clinic_roots, embedded_certificates(sig))
        if clinic_roots and not anchored and not any(UNTRUSTED_SIGNER in p for p in check.problems):
            check.problems.append(f"its certificate does not chain to the clinic's root ({UNTRUSTED_SIGNER})")
        expected = "clinic-certify" if check.role == certify else "clinic-seal" if check.role == "seal" else check.role
        stated, explicit = certs.certificate_role(cert)
        # issued before the extension existed: the subject's title names the role, if the clinic's CA wrote it
        legacy = anchored and not explicit and stated == "clinic" and expected.startswith("clinic-")
        if not explicit and not anchored:
            stated = None  # anyone can write a title into a certificate of their own
        if stated != expected and not legacy:
            held = f"a {_ROLE_WORDS.get(stated, stated)} certificate" if stated else "a certificate naming no role"
            check.problems.append(
                f"it is signed with {held}, not one issued for the {_ROLE_WORDS.get(expected, expected)} (wrong role)"
            )
        if check.role in ONE_TIME:
            check_binding(check, cert, manifest)


def embedded_certificates(sig: byteranges.RawSignature) -> list[x509.Certificate]:
    """The certificates a signature's CMS carries (its chain, as the signer put it there)."""
    from asn1crypto import cms

    found = []
    try:
        choices = cms.ContentInfo.load(sig.contents_der)["content"]["certificates"] or []
    except (ValueError, TypeError, KeyError):
        return []
    for choice in choices:
        try:
            found.append(x509.load_der_x509_certificate(choice.chosen.dump()))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
    return found


def check_binding(check: SignatureCheck, cert: x509.Certificate, manifest: Manifest | None) -> None:
    binding = EventBinding.from_certificate(cert)
    if binding is None:
        check.problems.append(f"its certificate is not a one-time certificate bound to this {check.role} (wrong role)")
        return
    check.binding = (
        f"one-time certificate for case {binding.case_id}, packet sha256 {binding.packet_sha256[:16]}…, "
        f"identity document as {binding.identity_kind}"
    )
    if binding.role != check.role:
        check.problems.append(
            f"its one-time certificate was issued for the {binding.role}, not the {check.role} (wrong role)"
        )
    if manifest is not None:
        if binding.case_id != manifest.case_id:
            check.problems.append(f"its one-time certificate is for case {binding.case_id}, not {manifest.case_id}")
        if manifest.packet is not None and binding.packet_sha256 != manifest.packet.sha256:
            check.problems.append("its one-time certificate was issued for a different packet")
