"""The identity document inside a one-time certificate, kept out of reach of guessing.

A patient's (or guardian's) one-time certificate binds the identity document as HMAC-SHA256 of ``TYPE:NUMBER``
(number trimmed, upper case) keyed with the workspace secret ``.consentkit/secrets/subject-hmac`` — the key and
construction of the audit log's pseudonymous subject, so the patient's value equals the packet's ``subject``
(``hmac-sha256:…`` in ``manifest.json`` and in every audit event of the case). An 18-digit resident-id number holds
the birth date and a check digit: an unkeyed SHA-256 of it (what certificates of version 1 held) can be found by
trying the few million numbers of a year. Whoever holds the PDF learns nothing without the clinic's key; the clinic
can confirm that a given document is the one bound (:func:`check_identities`, ``consentkit pki identity``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from consentkit.errors import InputError
from consentkit.pki.certs import EventBinding, common_name, issued_by
from consentkit.workspace import Workspace

IDENTITY_KEY = "subject-hmac"  # the workspace secret; never leaves the clinic


def normalised(doc_type: str, number: str) -> str:
    return f"{doc_type.strip()}:{number.strip().upper()}"


def identity_digest(key: bytes, doc_type: str, number: str) -> str:
    """Hex HMAC-SHA256 of ``TYPE:NUMBER`` keyed with ``key`` (the workspace's ``subject-hmac`` secret)."""
    return hmac.new(key, normalised(doc_type, number).encode("utf-8"), hashlib.sha256).hexdigest()


def workspace_identity_digest(ws: Workspace, doc_type: str, number: str) -> str:
    return identity_digest(ws.secret(IDENTITY_KEY), doc_type, number)


def matches(binding: EventBinding, key: bytes, doc_type: str, number: str) -> bool:
    """Whether ``binding`` was made for this document (either kind: keyed, or the plain SHA-256 of version 1)."""
    if binding.identity_keyed:
        expected = identity_digest(key, doc_type, number)
    else:
        expected = hashlib.sha256(normalised(doc_type, number).encode("utf-8")).hexdigest()
    return hmac.compare_digest(expected, binding.identity_digest)


@dataclass(frozen=True)
class IdentityCheck:
    role: str
    name: str
    case_id: str
    kind: str  # hmac-sha256 | sha256
    matches: bool
    # why the certificate is not counted (then ``matches`` is False): its signature is not intact, or this
    # workspace's CA did not issue it — anyone can write a version-1 binding (a plain SHA-256) into a certificate
    problem: str | None = None


def parse_document(text: str) -> tuple[str, str]:
    """``TYPE:NUMBER`` as given on the command line."""
    doc_type, sep, number = text.partition(":")
    if not sep or not doc_type.strip() or not number.strip():
        raise InputError(f"'{text}' is not TYPE:NUMBER (e.g. resident-id:110101199004180023)")
    return doc_type.strip(), number.strip()


def check_identities(ws: Workspace, pdf: bytes, documents: dict[str, tuple[str, str]]) -> list[IdentityCheck]:
    """For every one-time certificate that signed ``pdf`` whose role is in ``documents`` (role → (type, number)),
    whether it binds that document. Only an intact signature (its bytes and CMS signature check) by a certificate
    this workspace's issuing CA signed counts; any other is returned with its ``problem``."""
    from consentkit.pki.authority import WorkspacePki
    from consentkit.sign import byteranges

    key = ws.secret(IDENTITY_KEY)
    issuing = WorkspacePki(ws).require().issuing
    found = []
    for sig in byteranges.scan(pdf):
        cert = sig.signer_cert
        binding = EventBinding.from_certificate(cert) if cert is not None else None
        if cert is None or binding is None or binding.role not in documents:
            continue
        problem = sig.problem
        if problem is None and not issued_by(cert, issuing):
            problem = "its certificate was not issued by this workspace's CA"
        doc_type, number = documents[binding.role]
        found.append(
            IdentityCheck(
                role=binding.role,
                name=common_name(cert),
                case_id=binding.case_id,
                kind=binding.identity_kind,
                matches=problem is None and matches(binding, key, doc_type, number),
                problem=problem,
            )
        )
    return found
