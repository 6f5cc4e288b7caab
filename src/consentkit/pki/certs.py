"""X.509 building blocks for the workspace PKI: certificate profiles and CRLs (``cryptography`` builders).

Profiles (RFC 5280): CAs carry basicConstraints and keyCertSign/cRLSign; signer certificates carry
digitalSignature + nonRepudiation and extended key usage emailProtection, because NSS (``pdfsig``) calls a signer
"trusted" only with that usage; the TSA certificate carries timeStamping as its only extended key usage, critical
(RFC 3161 §2.3). No certificate names a CRL distribution point: the CRLs travel inside the signed PDF (DSS), and
consentkit's verifier requires revocation information for every certificate whether or not it is declared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

# consentkit's private OID arc: a UUID OID (ITU-T X.667, 2.25.<uuid>), needs no registration.
CONSENTKIT_ARC = "2.25.72714327939406800100730745649690288017"
SIGNING_EVENT_OID = ObjectIdentifier(CONSENTKIT_ARC + ".1")  # binds a one-time certificate to a packet
TSA_POLICY_OID = CONSENTKIT_ARC + ".2"  # policy of the embedded TSA's tokens
SIGNER_ROLE_OID = ObjectIdentifier(CONSENTKIT_ARC + ".3")  # the one role a certificate signs in
# the roles a certificate can be issued for (SignerRole.role); verify binds each signature field to one of them
CERTIFICATE_ROLES = ("clinic-certify", "clinic-seal", "physician", "witness", "patient", "guardian", "reviewer")
BACKDATE = dt.timedelta(minutes=5)  # tolerate small clock differences between machines of the clinic

COUNTRY = {"cn": "CN", "tw": "TW", "uk": "GB", "us": "US", "fr": "FR", "hk": "HK", "mo": "MO"}


class SigningEvent(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """What a one-time certificate is bound to (extension ``SIGNING_EVENT_OID``)::

    SigningEvent ::= SEQUENCE { version INTEGER, role UTF8String, caseId UTF8String,
                                identityHash OCTET STRING, packetHash OCTET STRING }

    ``identityHash`` is, from version 2, HMAC-SHA256 of ``TYPE:NUMBER`` of the identity document keyed with the
    workspace secret ``subject-hmac`` (:mod:`consentkit.pki.identity`); version 1 held a plain SHA-256, which a
    resident-id number (birth date inside) makes easy to brute-force.
    """

    _fields = [  # noqa: RUF012 - asn1crypto's declaration style
        ("version", core.Integer),
        ("role", core.UTF8String),
        ("case_id", core.UTF8String),
        ("identity_hash", core.OctetString),
        ("packet_hash", core.OctetString),
    ]


class SignerRole(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """The role a certificate was issued for (extension ``SIGNER_ROLE_OID``, not critical)::

    SignerRole ::= SEQUENCE { version INTEGER, role UTF8String }

    ``openssl x509 -text`` shows it as an unknown extension whose bytes spell the role."""

    _fields = [  # noqa: RUF012 - asn1crypto's declaration style
        ("version", core.Integer),
        ("role", core.UTF8String),
    ]


# what reading a damaged certificate's extensions raises (cryptography parses them on first use): not only ValueError
UNREADABLE_EXTENSIONS: tuple[type[Exception], ...] = (
    ValueError,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


def signer_role_extension(role: str) -> x509.UnrecognizedExtension:
    if role not in CERTIFICATE_ROLES:
        raise ValueError(f"unknown certificate role {role!r}")
    return x509.UnrecognizedExtension(SIGNER_ROLE_OID, bytes(SignerRole({"version": 1, "role": role}).dump()))


def certificate_role(cert: x509.Certificate) -> tuple[str | None, bool]:
    """The role ``cert`` was issued for and whether that is stated explicitly (the SignerRole extension) rather
    than read from the subject's title, as certificates issued before the extension existed carry it (``clinic``
    there stands for both clinic certificates). (None, False) when neither names a role. Anyone can write a title:
    believe one (``explicit`` False) only for a certificate found to chain to the clinic's root (:func:`chains_to`)."""
    try:
        ext = cert.extensions.get_extension_for_oid(SIGNER_ROLE_OID).value
        if isinstance(ext, x509.UnrecognizedExtension):
            role = SignerRole.load(ext.value)["role"].native
            if role in CERTIFICATE_ROLES:
                return str(role), True
        return None, True  # an extension we cannot read names no role
    except x509.ExtensionNotFound:
        pass
    except (TypeError, KeyError):
        return None, True
    except UNREADABLE_EXTENSIONS:
        return None, True
    titles = cert.subject.get_attributes_for_oid(NameOID.TITLE)
    title = titles[0].value if titles else None
    return (str(title), False) if isinstance(title, str) and title else (None, False)


@dataclass(frozen=True)
class EventBinding:
    role: str
    case_id: str
    identity_digest: str  # hex: HMAC-SHA256 keyed with the workspace's subject-hmac secret (plain SHA-256 before)
    packet_sha256: str  # hex
    identity_keyed: bool = True  # False for certificates of version 1 (an unsalted SHA-256)

    @property
    def identity_kind(self) -> str:
        return "hmac-sha256" if self.identity_keyed else "sha256"

    def to_der(self) -> bytes:
        return bytes(
            SigningEvent(
                {
                    "version": 2 if self.identity_keyed else 1,
                    "role": self.role,
                    "case_id": self.case_id,
                    "identity_hash": bytes.fromhex(self.identity_digest),
                    "packet_hash": bytes.fromhex(self.packet_sha256),
                }
            ).dump()
        )

    @classmethod
    def from_certificate(cls, cert: x509.Certificate) -> EventBinding | None:
        try:
            ext = cert.extensions.get_extension_for_oid(SIGNING_EVENT_OID)
        except x509.ExtensionNotFound:
            return None
        except UNREADABLE_EXTENSIONS:  # damaged extensions: no binding can be read
            return None
        value = ext.value
        if not isinstance(value, x509.UnrecognizedExtension):
            return None
        try:
            parsed = SigningEvent.load(value.value)
            return cls(
                role=parsed["role"].native,
                case_id=parsed["case_id"].native,
                identity_digest=parsed["identity_hash"].native.hex(),
                packet_sha256=parsed["packet_hash"].native.hex(),
                identity_keyed=parsed["version"].native >= 2,
            )
        except (ValueError, TypeError, KeyError):
            return None


def new_rsa_key(bits: int = 3072) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def new_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


REVIEW_ROLES = ("clinical", "legal")  # a reviewer certificate is issued for one review: OU "<role> review"


def review_unit(review_role: str) -> str:
    """The organizational unit naming a reviewer certificate's review: ``legal`` → ``legal review``."""
    return f"{review_role} review"


def review_role_of(cert: x509.Certificate) -> str | None:
    """The review (``clinical``, ``legal``) a reviewer certificate was issued for, from its subject's
    ``OU=<role> review``; None for a certificate issued without one."""
    for attr in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME):
        for role in REVIEW_ROLES:
            if attr.value == review_unit(role):
                return role
    return None


def subject_name(
    common_name: str, organisation: str, country: str | None, *, title: str | None = None, unit: str | None = None
) -> x509.Name:
    attrs = []
    if country:
        attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64]))
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]))
    return x509.Name(attrs)


def _base(
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    issuer: x509.Name,
    issuer_public_key: CertificatePublicKeyTypes,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key), critical=False)  # type: ignore[arg-type]
    )


def ca_certificate(
    subject: x509.Name,
    key: CertificateIssuerPrivateKeyTypes,
    *,
    issuer: x509.Certificate | None,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    now: dt.datetime,
    days: int,
    path_length: int,
) -> x509.Certificate:
    """A root (``issuer`` None: self-signed) or an intermediate CA."""
    public = key.public_key()
    issuer_name = issuer.subject if issuer else subject
    issuer_public = issuer.public_key() if issuer else public
    builder = (
        _base(subject, public, issuer_name, issuer_public, now - BACKDATE, now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


def end_entity_certificate(
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    *,
    issuer: x509.Certificate,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    not_before: dt.datetime,
    not_after: dt.datetime,
    time_stamping: bool = False,
    binding: EventBinding | None = None,
    role: str | None = None,
) -> x509.Certificate:
    """A signer certificate (EKU emailProtection) issued for ``role`` (the SignerRole extension) or, with
    ``time_stamping``, a TSA certificate."""
    builder = (
        _base(subject, public_key, issuer.subject, issuer.public_key(), not_before, not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if time_stamping:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    if binding is not None:
        builder = builder.add_extension(x509.UnrecognizedExtension(SIGNING_EVENT_OID, binding.to_der()), critical=False)
    if role is not None:
        builder = builder.add_extension(signer_role_extension(role), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class Revocation:
    serial: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags | None


def certificate_revocation_list(
    issuer: x509.Certificate,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    revoked: Iterable[Revocation],
    *,
    number: int,
    now: dt.datetime,
    days: int,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now - dt.timedelta(seconds=1))
        .next_update(now + dt.timedelta(days=days))
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()), critical=False)  # type: ignore[arg-type]
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for item in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(item.serial).revocation_date(item.revoked_at)
        if item.reason is not None and item.reason != x509.ReasonFlags.unspecified:
            entry = entry.add_extension(x509.CRLReason(item.reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer_key, hashes.SHA256())


def sha256_fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key signed ``cert`` (not merely whether the names match)."""
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def chains_to(
    cert: x509.Certificate, roots: Sequence[x509.Certificate], intermediates: Sequence[x509.Certificate] = ()
) -> bool:
    """Whether ``cert`` is one of ``roots`` or was issued, through ``intermediates``, by one of them — each step
    checked by its signature, not by names (a certificate can name any issuer)."""
    anchors = {sha256_fingerprint(r) for r in roots}
    pool = [*roots, *intermediates]
    seen: set[str] = set()
    current = cert
    for _ in range(8):  # our chains are three long; a loop or an absurd chain ends here
        fingerprint = sha256_fingerprint(current)
        if fingerprint in anchors:
            return True
        seen.add(fingerprint)
        issuer = next(
            (
                c
                for c in pool
                if sha256_fingerprint(c) not in seen and c.subject == current.issuer and issued_by(current, c)
            ),
            None,
        )
        if issuer is None:
            return False
        current = issuer
    return False


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else cert.subject.rfc4514_string()
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def chain_pem(certs: Sequence[x509.Certificate]) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return b"".join(c.public_bytes(Encoding.PEM) for c in certs)
