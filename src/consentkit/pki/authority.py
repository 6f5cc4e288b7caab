"""The workspace PKI: a clinic root, an issuing CA and the certificates they issue, kept in ``.consentkit/pki/``
(layout in :mod:`consentkit.keystore`), with an index of every certificate and current CRLs."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
)

from consentkit import keystore
from consentkit.errors import InputError, SigningError, WorkspaceError
from consentkit.files import write_atomically
from consentkit.pki import certs
from consentkit.pki.records import (
    ONE_TIME_ROLES,
    REASONS,
    CertRecord,
    IssuedRole,
    OneTimeCredential,
    check_review_role,
    slugify,
)
from consentkit.workspace import Workspace, write_private

# Validity, in days. The TSA and CA certificates outlive the 10-year check of B-LTA packets; signer certificates
# may expire long before: the document timestamp proves the signature existed while they were valid.
ROOT_DAYS = 30 * 365
ISSUING_DAYS = 25 * 365
TSA_DAYS = 15 * 365
CLINIC_DAYS = 10 * 365
SIGNER_DAYS = 3 * 365
ONE_TIME_DAYS = 30  # the packet must be sealed while the patient's certificate is valid (see docs/signing.md)
CRL_DAYS = 7
CRL_REFRESH_AFTER = dt.timedelta(days=1)
INDEX_FORMAT = "consentkit/pki-index/v1"
CLINIC_FILES = ("root-ca", "issuing-ca", "clinic-certify", "clinic-seal", "tsa")


def _check_own_passphrase(name: str, passphrase: bytes, workspace_secret: bytes) -> None:
    """A person's own key passphrase: long enough, and not the workspace passphrase (or it protects nothing)."""
    if len(passphrase) < keystore.MIN_PASSPHRASE:
        raise InputError(f"{name}'s key passphrase must be at least {keystore.MIN_PASSPHRASE} characters")
    if passphrase == workspace_secret:
        raise InputError(f"{name}'s key passphrase must be their own, not the workspace passphrase")


def _utc(value: dt.datetime | None) -> dt.datetime:
    value = value or dt.datetime.now(dt.UTC)
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(dt.UTC)


def _whole_second(when: dt.datetime) -> dt.datetime:
    """CRLs state whole seconds: a revocation time rounded up, never claiming one before it happened."""
    return when.replace(microsecond=0) + dt.timedelta(seconds=1) if when.microsecond else when


def _certify(
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    issuer: x509.Certificate,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    now: dt.datetime,
    *,
    days: int,
    time_stamping: bool = False,
    binding: certs.EventBinding | None = None,
    role: str | None = None,
) -> x509.Certificate:
    """An end-entity certificate valid from a little before ``now`` (clock differences) for ``days``."""
    return certs.end_entity_certificate(
        subject,
        public_key,
        issuer=issuer,
        issuer_key=issuer_key,
        not_before=now - certs.BACKDATE,
        not_after=now + dt.timedelta(days=days),
        time_stamping=time_stamping,
        binding=binding,
        role=role,
    )


def _clinic_profile(stem: str) -> dict[str, Any]:
    """How a clinic key's certificate is made: the embedded TSA's (timeStamping, no role) or a clinic signing one."""
    if stem == "tsa":
        return {"days": TSA_DAYS, "time_stamping": True}
    return {"days": CLINIC_DAYS, "role": stem}


class WorkspacePki:
    """The clinic's certificates and CRLs. Private keys are loaded only with the passphrase, and only when needed."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.dir = keystore.pki_dir(ws)

    # -- files -------------------------------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.dir / "index.json").is_file()

    def require(self) -> WorkspacePki:
        if not self.exists():
            raise WorkspaceError(
                f"this workspace has no PKI ({self.dir} is missing); create a workspace with 'consentkit init DIR'"
            )
        return self

    def cert_path(self, stem: str) -> Path:
        return self.dir / f"{stem}.pem"

    def key_path(self, stem: str) -> Path:
        return self.dir / f"{stem}.key"

    def certificate(self, stem: str) -> x509.Certificate:
        if stem not in self._certs:
            self._certs[stem] = keystore.load_certificate(self.require().cert_path(stem))
        return self._certs[stem]

    @cached_property
    def _certs(self) -> dict[str, x509.Certificate]:
        return {}

    def private_key(self, stem: str, secret: bytes) -> CertificateIssuerPrivateKeyTypes:
        key = keystore.load_private_key(self.key_path(stem), secret)
        return key  # type: ignore[return-value]

    @property
    def root(self) -> x509.Certificate:
        return self.certificate("root-ca")

    @property
    def issuing(self) -> x509.Certificate:
        return self.certificate("issuing-ca")

    def chain(self) -> list[x509.Certificate]:
        """Issuing CA then root: what a signature embeds besides its own certificate."""
        return [self.issuing, self.root]

    def organisation(self) -> str:
        clinic = self.ws.config.clinic
        for locale in [*clinic.locales, "en", "zh-CN", "zh-TW"]:
            if locale in clinic.name:
                return clinic.name[locale]
        return next(iter(clinic.name.values()))

    def country(self) -> str | None:
        return certs.COUNTRY.get(self.ws.config.clinic.jurisdiction)

    # -- index -------------------------------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with (self.dir / ".lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _read_index(self) -> dict[str, object]:
        path = self.dir / "index.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"format": INDEX_FORMAT, "crl_number": 0, "certificates": []}
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: the certificate index is damaged ({exc})") from exc
        if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT:
            raise InputError(f"{path}: not a consentkit certificate index")
        return data

    def _write_index(self, data: dict[str, object]) -> None:
        text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        write_private(self.dir / "index.json", text.encode("utf-8"))

    def records(self) -> list[CertRecord]:
        raw = self._read_index().get("certificates", [])
        assert isinstance(raw, list)
        return [CertRecord.from_json(item) for item in raw]

    def _add_record(self, record: CertRecord) -> None:
        data = self._read_index()
        items = data.setdefault("certificates", [])
        assert isinstance(items, list)
        items.append(record.to_json())
        self._write_index(data)

    def _record_for(
        self,
        cert: x509.Certificate,
        role: IssuedRole,
        name: str,
        *,
        slug: str | None = None,
        key_storage: Literal["file", "pkcs12", "pkcs11", "discarded"] = "file",
        case_id: str | None = None,
        packet_sha256: str | None = None,
    ) -> CertRecord:
        return CertRecord(
            serial=format(cert.serial_number, "x"),
            role=role,
            name=name,
            subject=cert.subject.rfc4514_string(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            sha256=certs.sha256_fingerprint(cert),
            slug=slug,
            key_storage=key_storage,
            case_id=case_id,
            packet_sha256=packet_sha256,
        )

    def find(self, name_or_serial: str, *, roles: tuple[str, ...] | None = None) -> CertRecord:
        """A certificate by serial (hex, ``0x`` optional), slug or exact name; the newest usable one wins."""
        wanted = name_or_serial.strip()
        try:
            serial: int | None = int(wanted.lower().removeprefix("0x").replace(":", ""), 16)
        except ValueError:
            serial = None
        now = dt.datetime.now(dt.UTC)
        matches = [
            r
            for r in self.records()
            if (roles is None or r.role in roles)
            and (int(r.serial, 16) == serial or r.slug == wanted or r.name == wanted)
        ]
        if not matches:
            kinds = " or ".join(roles) if roles else "certificate"
            raise InputError(f"no {kinds} named or numbered '{wanted}' (see 'consentkit pki list')")
        if len({r.name for r in matches}) > 1:
            raise InputError(f"'{wanted}' matches several people; use the serial number (see 'consentkit pki list')")
        usable = [r for r in matches if r.status(now) == "valid"]
        return max(usable or matches, key=lambda r: r.not_before)

    # -- creation ----------------------------------------------------------------------------------------------
    def create(self, secret: bytes, *, now: dt.datetime | None = None) -> None:
        """Create the root and issuing CA, the clinic's certification and seal certificates, the embedded TSA,
        the audit-log key and the first CRLs. Refuses to overwrite an existing PKI."""
        now = _utc(now)
        if self.exists() or self.key_path("root-ca").exists():
            raise WorkspaceError(f"{self.dir} already holds a PKI; nothing changed")
        if len(secret) < keystore.MIN_PASSPHRASE:
            raise InputError(f"the workspace passphrase must be at least {keystore.MIN_PASSPHRASE} characters")
        org, country = self.organisation(), self.country()
        with self._locked():
            root_key = certs.new_rsa_key(3072)
            root = certs.ca_certificate(
                certs.subject_name(f"{org} Root CA", org, country),
                root_key,
                issuer=None,
                issuer_key=root_key,
                now=now,
                days=ROOT_DAYS,
                path_length=1,
            )
            issuing_key = certs.new_rsa_key(3072)
            issuing = certs.ca_certificate(
                certs.subject_name(f"{org} Issuing CA", org, country),
                issuing_key,
                issuer=root,
                issuer_key=root_key,
                now=now,
                days=ISSUING_DAYS,
                path_length=0,
            )
            self._store("root-ca", root_key, root, secret)
            self._store("issuing-ca", issuing_key, issuing, secret)
            self._add_record(self._record_for(root, "root-ca", f"{org} Root CA"))
            self._add_record(self._record_for(issuing, "issuing-ca", f"{org} Issuing CA"))
            for stem, label in (
                ("clinic-certify", "certification"),
                ("clinic-seal", "seal"),
                ("tsa", "Time-Stamping Authority"),
            ):
                tsa = stem == "tsa"
                key = certs.new_rsa_key(3072) if tsa else certs.new_ec_key()
                subject = certs.subject_name(f"{org} {label}", org, country, title=None if tsa else "clinic")
                cert = _certify(subject, key.public_key(), issuing, issuing_key, now, **_clinic_profile(stem))
                self._store(stem, key, cert, secret)
                self._add_record(self._record_for(cert, stem, f"{org} {label}"))  # type: ignore[arg-type]
            audit_key = certs.new_ec_key()
            keystore.write_private_key(self.key_path("audit-log"), audit_key, secret)
            pub = audit_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            (self.dir / "audit-log.pub.pem").write_bytes(pub)
            self._issue_crls(secret, now=now)
        trust = self.ws.signatures_dir / "trust"
        trust.mkdir(parents=True, exist_ok=True)
        keystore.write_certificate(trust / "clinic-root.pem", root)

    def _store(self, stem: str, key: CertificateIssuerPrivateKeyTypes, cert: x509.Certificate, secret: bytes) -> None:
        keystore.write_private_key(self.key_path(stem), key, secret)
        keystore.write_certificate(self.cert_path(stem), cert)
        self._certs[stem] = cert

    # -- issuing -----------------------------------------------------------------------------------------------
    def issue_signer(
        self,
        role: str,
        name: str,
        secret: bytes,
        *,
        slug: str | None = None,
        now: dt.datetime | None = None,
        review_role: str | None = None,
        passphrase: bytes | None = None,
    ) -> CertRecord:
        """A physician's, witness's or reviewer's key and certificate, stored as ``signers/<slug>.p12`` encrypted
        with ``passphrase``, the person's own (sole control of the key: the workspace passphrase, ``secret``, only
        lets the CA sign the certificate). Without ``passphrase`` the file is encrypted with the workspace
        passphrase until the person's first use (:meth:`unlock_credential`); ``consentkit pki issue`` always asks.
        Signing a packet looks up physicians and witnesses only, so a reviewer's key never signs one. A reviewer's
        certificate is for one review, ``review_role`` (clinical or legal), named in its subject."""
        check_review_role(role, review_role)
        if passphrase is not None:
            _check_own_passphrase(name, passphrase, secret)
        key = certs.new_ec_key()
        with self._locked():
            slug = self._free_slug(slug or slugify(name, role))
            cert = self._issue_end_entity(
                name, role, key.public_key(), secret, now=now, days=SIGNER_DAYS, review_role=review_role
            )
            p12 = self.dir / "signers" / f"{slug}.p12"
            keystore.write_pkcs12(p12, name, key, cert, self.chain(), passphrase or secret)
            keystore.write_certificate(self.dir / "signers" / f"{slug}.pem", cert)
            record = replace(
                self._record_for(cert, role, name, slug=slug, key_storage="pkcs12"),  # type: ignore[arg-type]
                review_role=review_role,
                key_protection="own" if passphrase is not None else "workspace",
            )
            self._add_record(record)
        return record

    def unlock_credential(
        self, record: CertRecord, *, passphrase: bytes | None, workspace_secret: bytes
    ) -> tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate, list[x509.Certificate]]:
        """Key, certificate and chain of a signer's ``signers/<slug>.p12``. A credential under its own passphrase
        opens only with ``passphrase``. One still under the workspace passphrase (issued before personal
        passphrases, or by a library call without one) opens with ``workspace_secret`` and, when ``passphrase``
        is given, is re-encrypted with it at once: from then on only that person can use it."""
        if record.slug is None or record.key_storage != "pkcs12":
            raise SigningError(f"{record.name}'s key is not kept in this workspace ({record.key_storage})")
        path = self.dir / "signers" / f"{record.slug}.p12"
        if record.key_protection == "own":
            if passphrase is None:
                raise SigningError(
                    f"{record.name}'s key has its own passphrase, which the workspace passphrase does not replace: "
                    f"set {keystore.SIGNER_PASSPHRASE_ENV} (or --passphrase-env VAR), or type it when asked"
                )
            key, cert, chain = keystore.load_pkcs12(path, passphrase)
            return key, cert, chain  # type: ignore[return-value]
        key, cert, chain = keystore.load_pkcs12(path, workspace_secret)
        if passphrase is not None:
            _check_own_passphrase(record.name, passphrase, workspace_secret)
        weak = (keystore.kdf_rounds(path) or 0) < keystore.KDF_ITERATIONS
        if passphrase is not None or weak:
            with self._locked():
                # as the index says now, not as ``record`` was read: another process may have handed the key over
                # meanwhile (rewriting it under the workspace passphrase would lock its owner out)
                current = next((r for r in self.records() if r.serial == record.serial), record)
                if current.key_protection != "own":
                    keystore.write_pkcs12(path, record.name, key, cert, chain, passphrase or workspace_secret)
                    if passphrase is not None:
                        self._update_record(record.serial, key_protection="own")
        return key, cert, chain  # type: ignore[return-value]

    def _update_record(self, serial: str, **changes: object) -> None:
        """Set ``changes`` in the index entry of ``serial`` as it is now (call with the lock held). Never write back a
        whole record read earlier: a revocation made since would be undone, and the next CRL would drop it."""
        data = self._read_index()
        items = data["certificates"]
        assert isinstance(items, list)
        for item in items:
            if item.get("serial") == serial:
                item.update(changes)
        self._write_index(data)

    def issue_for_public_key(
        self,
        role: str,
        name: str,
        public_key: CertificatePublicKeyTypes,
        secret: bytes,
        *,
        slug: str | None = None,
        pkcs11_uri: str | None = None,
        now: dt.datetime | None = None,
        review_role: str | None = None,
    ) -> tuple[x509.Certificate, CertRecord]:
        """A certificate for a key held elsewhere (a PKCS#11 token); the certificate is also kept in signers/."""
        check_review_role(role, review_role)
        with self._locked():
            slug = self._free_slug(slug or slugify(name, role))
            cert = self._issue_end_entity(
                name, role, public_key, secret, now=now, days=SIGNER_DAYS, review_role=review_role
            )
            keystore.write_certificate(self.dir / "signers" / f"{slug}.pem", cert)
            record = replace(
                self._record_for(cert, role, name, slug=slug, key_storage="pkcs11"),  # type: ignore[arg-type]
                pkcs11_uri=pkcs11_uri,
                review_role=review_role,
            )
            self._add_record(record)
        return cert, record

    def issue_clinic_key(
        self,
        stem: Literal["clinic-certify", "clinic-seal", "tsa"],
        public_key: CertificatePublicKeyTypes,
        secret: bytes,
        *,
        pkcs11_uri: str,
        now: dt.datetime | None = None,
    ) -> tuple[x509.Certificate, CertRecord]:
        """A new certificate for a clinic key that lives on a PKCS#11 token (the clinic certification or seal key,
        or the embedded TSA's), same subject and profile as ``init`` made. It replaces ``<stem>.pem``; the former
        certificate is kept as ``<stem>.<serial>.pem`` and revoked at once (reason superseded, in the CRL issued
        now, so signatures made before stay valid and any made after fail), and the former key file is deleted:
        the workspace passphrase no longer opens a key that signs as the clinic."""
        now = _utc(now)
        old = self.certificate(stem)
        with self._locked():
            issuer_key = self.private_key("issuing-ca", secret)
            cert = _certify(old.subject, public_key, self.issuing, issuer_key, now, **_clinic_profile(stem))
            former = format(old.serial_number, "x")
            keystore.write_certificate(self.dir / f"{stem}.{former}.pem", old)
            keystore.write_certificate(self.cert_path(stem), cert)
            self._certs[stem] = cert
            record = replace(
                self._record_for(cert, stem, certs.common_name(cert), key_storage="pkcs11"),
                pkcs11_uri=pkcs11_uri,
            )
            self._add_record(record)
            superseded = next((r for r in self.records() if r.serial == former), None)
            when = _whole_second(now)
            if superseded is not None and superseded.revoked_at is None:
                self._mark_revoked(superseded, "superseded", when)
            self._issue_crls(secret, now=when)
            keystore.delete_private_key(self.key_path(stem))
        return cert, record

    def issue_one_time(
        self,
        role: str,
        name: str,
        secret: bytes,
        *,
        case_id: str,
        identity_digest: str,
        packet_sha256: str,
        now: dt.datetime | None = None,
    ) -> OneTimeCredential:
        """A fresh key and a certificate bound to the person's name, identity-document hash and the packet hash,
        for one signature. The key lives only in memory."""
        if role not in ONE_TIME_ROLES:
            raise InputError(f"one-time certificates are for {' and '.join(ONE_TIME_ROLES)}, not '{role}'")
        key = certs.new_ec_key()
        binding = certs.EventBinding(role, case_id, identity_digest, packet_sha256)
        with self._locked():
            cert = self._issue_end_entity(
                name, role, key.public_key(), secret, now=now, days=ONE_TIME_DAYS, binding=binding
            )
            record = self._record_for(
                cert,
                role,  # type: ignore[arg-type]
                name,
                key_storage="discarded",
                case_id=case_id,
                packet_sha256=packet_sha256,
            )
            self._add_record(record)
        return OneTimeCredential(key, cert, record)

    def _issue_end_entity(
        self,
        name: str,
        role: str,
        public_key: CertificatePublicKeyTypes,
        secret: bytes,
        *,
        now: dt.datetime | None,
        days: int,
        binding: certs.EventBinding | None = None,
        review_role: str | None = None,
    ) -> x509.Certificate:
        if not name.strip():
            raise InputError("a signer needs a name")
        unit = certs.review_unit(review_role) if review_role else None
        subject = certs.subject_name(name.strip(), self.organisation(), self.country(), title=role, unit=unit)
        issuer_key = self.private_key("issuing-ca", secret)
        return _certify(subject, public_key, self.issuing, issuer_key, _utc(now), days=days, binding=binding, role=role)

    def _free_slug(self, slug: str) -> str:
        taken = {r.slug for r in self.records() if r.slug}
        candidate, n = slug, 2
        while candidate in taken:
            candidate, n = f"{slug}-{n}", n + 1
        return candidate

    # -- revocation --------------------------------------------------------------------------------------------
    def revoke(self, name_or_serial: str, reason: str, secret: bytes, *, now: dt.datetime | None = None) -> CertRecord:
        """Mark a certificate revoked and issue a new CRL at once (it goes into every later signature's DSS)."""
        if reason not in REASONS:
            raise InputError(f"unknown revocation reason '{reason}' (use one of: {', '.join(REASONS)})")
        when = _whole_second(_utc(now))
        with self._locked():
            target = self.find(name_or_serial)
            if target.role == "root-ca":
                raise InputError("the root CA cannot be revoked; make a new workspace PKI instead")
            if target.revoked_at is not None:
                raise InputError(f"{target.name} (serial {target.serial}) is already revoked")
            updated = self._mark_revoked(target, reason, when)
            self._issue_crls(secret, now=when)
        return updated

    def _mark_revoked(self, target: CertRecord, reason: str, when: dt.datetime) -> CertRecord:
        """Record ``target`` as revoked in the index (call with the lock held; the next CRL lists it)."""
        self._update_record(target.serial, revoked_at=when.isoformat(), reason=reason)
        return replace(target, revoked_at=when, reason=reason)

    def _issue_crls(self, secret: bytes, *, now: dt.datetime) -> None:
        """Issue both CRLs (call with the lock held)."""
        data = self._read_index()
        number = int(data.get("crl_number", 0)) + 1  # type: ignore[call-overload]
        data["crl_number"] = number
        self._write_index(data)
        records = self.records()
        for stem, crl_name, covers in (
            ("issuing-ca", "crl.pem", lambda r: r.role not in ("root-ca", "issuing-ca")),
            ("root-ca", "root-crl.pem", lambda r: r.role == "issuing-ca"),
        ):
            revoked = [
                certs.Revocation(int(r.serial, 16), r.revoked_at, REASONS.get(r.reason or "unspecified"))
                for r in records
                if covers(r) and r.revoked_at is not None
            ]
            crl = certs.certificate_revocation_list(
                self.certificate(stem),
                self.private_key(stem, secret),
                revoked,
                number=number,
                now=now,
                days=CRL_DAYS,
            )
            write_atomically(self.dir / crl_name, crl.public_bytes(serialization.Encoding.PEM))

    def crls(
        self, secret: bytes | None = None, *, now: dt.datetime | None = None
    ) -> list[x509.CertificateRevocationList]:
        """The current CRLs (issuing CA, root). Re-issued first when older than a day, if ``secret`` is given;
        without it, stale CRLs are an error because signing would embed revocation data that has expired."""
        now = _utc(now)
        self.require()
        loaded = [self._load_crl(name) for name in ("crl.pem", "root-crl.pem")]
        stale = any(
            crl is None
            or crl.next_update_utc is None
            or now - crl.last_update_utc > CRL_REFRESH_AFTER
            or crl.next_update_utc <= now
            for crl in loaded
        )
        if stale:
            if secret is None:
                raise SigningError("the workspace CRLs are out of date; set the key passphrase so they can be renewed")
            with self._locked():
                self._issue_crls(secret, now=now)
            loaded = [self._load_crl(name) for name in ("crl.pem", "root-crl.pem")]
        return [crl for crl in loaded if crl is not None]

    def _load_crl(self, name: str) -> x509.CertificateRevocationList | None:
        try:
            return x509.load_pem_x509_crl((self.dir / name).read_bytes())
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise InputError(f"{self.dir / name} is not a readable CRL") from exc
