"""Signing a packet, one role at a time, in the profile's order: clinic certification (DocMDP: later signatures
and form filling allowed) → physician → patient / guardian → witness → the clinic seal that locks every field
(FieldMDP all, DocMDP no changes) and the document timestamp that makes the packet PAdES B-LTA.

The seal follows the last required role automatically (``seal=False`` defers it; ``role="seal"`` applies it).
Every signature carries an RFC 3161 signature timestamp and the validation data of its chain (certificates and the
workspace CRLs) in the same revision, so each signature covers its whole revision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography import x509

from consentkit.case import CaseFile
from consentkit.errors import InputError, RefusedError, SigningError
from consentkit.files import write_atomically
from consentkit.manifest import MANIFEST_NAME, Manifest, read_manifest
from consentkit.pki import WorkspacePki, common_name, sha256_fingerprint
from consentkit.pki.certs import certificate_role, issued_by
from consentkit.pki.identity import workspace_identity_digest
from consentkit.sign import _pyhanko_fixes, appearance, byteranges
from consentkit.sign.lock import packet_lock
from consentkit.sign.preflight import (
    MAKE_NEW,
    check_existing_signatures,
    check_manifest,
    check_order,
    check_signers_still_valid,
    read_pdf,
)
from consentkit.sign.profile import SigningProfile, load_profile
from consentkit.sign.role_binding import ONE_TIME
from consentkit.sign.signers import KeySigner, Pkcs11Ref, Pkcs11Session, asn1_cert
from consentkit.sign.state import PacketState, next_role, open_state, required_order
from consentkit.sign.tokens import clinic_key_ref, require_certified_key
from consentkit.sign.trust import TrustAnchors, workspace_trust_roots
from consentkit.workspace import Workspace

for _name in ("pyhanko", "pyhanko_certvalidator", "fontTools"):  # their warnings are ours to report, not print
    logging.getLogger(_name).addHandler(logging.NullHandler())
_pyhanko_fixes.apply()

VISIBLE_ROLES = ("clinic", "physician", "patient", "guardian", "witness")


@dataclass(frozen=True)
class SignatureResult:
    """What one signing step did; the audit log records ``document.signed`` from it."""

    role: str  # a profile role, or "seal"
    field: str
    signer_name: str
    signer_subject: str  # RFC 4514
    certificate_sha256: str
    certificate_serial: str  # hex
    tsa_time: dt.datetime  # of the signature's RFC 3161 token (for the seal: of the document timestamp)
    tsa_name: str
    revision: int  # 0 is the unsigned packet; each signature adds one (the seal's timestamp one more)
    sha256: str  # of the file as written by this call
    size: int
    path: Path
    pades_level: str  # "B-T" for roles, "B-LTA" once sealed
    seal: SignatureResult | None = None  # the seal applied right after this role, if any


@dataclass(frozen=True)
class SignerRef:
    """Names the signer of a physician or witness role: a workspace signer (PKCS#12 or token-held key recorded by
    ``consentkit pki``) by name, slug or serial, and/or a ``pkcs11:`` URI; ``passphrase`` is that person's own key
    passphrase (needed for a PKCS#12 issued with one)."""

    name: str | None = None
    pkcs11: str | None = None
    # the signer's own key passphrase (PKCS#12 in the workspace); never shown in a repr or log
    passphrase: bytes | None = field(default=None, repr=False)


@dataclass
class _Credential:
    signer: Any  # a pyHanko Signer
    certificate: x509.Certificate
    name: str
    close: Any = None


@dataclass
class SigningSession:
    """Everything reusable between signatures in one process: unlocked keys, one timestamper, one validation
    context per CRL generation (the speed fixes in signing-notes.md). Not thread-safe; one per worker."""

    ws: Workspace
    secret: bytes
    profile: SigningProfile = field(init=False)
    pki: WorkspacePki = field(init=False)
    _timestamper: Any = None
    _responder: Any = None
    _context: Any = None
    _context_key: tuple[bytes, ...] = ()
    # the clinic's roots (with this workspace's own) and external TSAs' roots; see consentkit.sign.trust
    trust: TrustAnchors = field(init=False)
    # hex digits to reserve for each kind of signature, learnt from the first one: pyHanko otherwise signs twice
    # (a dry run to size the signature), which was a third of the time of a signature
    _reserved: dict[str, int] = field(default_factory=dict)
    _certified_keys: set[tuple[str, str, Pkcs11Ref]] = field(default_factory=set)  # token keys found certified

    def __post_init__(self) -> None:
        self.profile = load_profile(self.ws.signature_roots(), self.ws.config.signing.profile).model
        self.pki = WorkspacePki(self.ws).require()
        self.trust = workspace_trust_roots(self.ws).with_clinic_root(self.pki.root)

    # -- shared parts ------------------------------------------------------------------------------------------
    def responder(self) -> Any:
        """The TSA in use: the external ones when configured, else the embedded one."""
        if self._responder is None:
            from consentkit.tsa import embedded_tsa, external_tsa

            self._responder = external_tsa(self.ws) or embedded_tsa(self.ws, self.secret)
        return self._responder

    def timestamper(self) -> Any:
        if self._timestamper is None:
            from consentkit.tsa.pyhanko_adapter import ResponderTimeStamper

            self._timestamper = ResponderTimeStamper(self.responder())
        return self._timestamper

    def validation_context(self, now: dt.datetime) -> Any:
        from asn1crypto import crl as asn1_crl
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.serialization import Encoding
        from pyhanko_certvalidator import ValidationContext

        crls = self.pki.crls(self.secret, now=now)
        key = tuple(c.fingerprint(hashes.SHA256()) for c in crls)
        if self._context is None or key != self._context_key:
            # pyHanko checks the signer's and the TSA's chains with one context, so it holds every root; signers
            # are held to the clinic's roots by _credential (issued by this workspace's CA) and by verify
            self._context = ValidationContext(
                trust_roots=[asn1_cert(c) for c in self.trust.tsa],
                other_certs=[asn1_cert(c) for c in self.pki.chain()],
                crls=[asn1_crl.CertificateList.load(c.public_bytes(Encoding.DER)) for c in crls],
                # External TSAs name their CRL/OCSP locations: fetch them so they go into the DSS. Our own
                # certificates name none; their CRLs are given here, embedded, and checked by consentkit itself.
                allow_fetching=bool(self.ws.config.timestamping.tsa_urls),
                revocation_mode="hard-fail",
            )
            self._context_key = key
        return self._context

    # -- signing -----------------------------------------------------------------------------------------------
    def sign(
        self,
        pdf_path: Path,
        role: str,
        signer: SignerRef | None = None,
        *,
        case: CaseFile | None = None,
        manifest_path: Path | None = None,
        output: Path | None = None,
        signature_image: bytes | None = None,
        seal: bool = True,
        now: dt.datetime | None = None,
    ) -> SignatureResult:
        """Sign under the packet's lock (see :mod:`consentkit.sign.lock`): the file is read, checked, signed and
        replaced while no other process signs it, so the order is checked against what is really there."""
        with packet_lock(pdf_path, *([output] if output is not None else [])):
            return self._sign_locked(pdf_path, role, signer, case, manifest_path, output, signature_image, seal, now)

    def _sign_locked(
        self,
        pdf_path: Path,
        role: str,
        signer: SignerRef | None,
        case: CaseFile | None,
        manifest_path: Path | None,
        output: Path | None,
        signature_image: bytes | None,
        seal: bool,
        now: dt.datetime | None,
    ) -> SignatureResult:
        now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        data = read_pdf(pdf_path)
        manifest_file = manifest_path or pdf_path.with_name(MANIFEST_NAME)
        manifest = read_manifest(manifest_file)
        check_manifest(manifest, data, pdf_path, manifest_file)
        raw = check_existing_signatures(data, pdf_path)
        reader, state = open_state(data, str(pdf_path))
        if len(raw) != len(state.signed_fields):
            raise RefusedError(
                f"{pdf_path} was changed after it was signed, so it is not signed again: it holds {len(raw)} "
                f"signature value(s) for {len(state.signed_fields)} signed field(s). {MAKE_NEW}"
            )
        expected = next_role(self.profile, manifest, state)
        check_order(self.profile, manifest, state, role, expected)
        target = output or pdf_path
        if role == "seal":
            data, result = self._seal(data, state, target, now, reader=reader)
            write_atomically(target, data)
            return result
        credential = self._credential(role, signer, case, manifest, now)
        try:
            data, result = self._sign_role(
                reader, data, state, manifest, role, credential, signature_image, target, now
            )
        finally:
            if credential.close is not None:
                credential.close()
        if seal and self.profile.seal is not None and required_order(self.profile, manifest)[-1] == role:
            data, sealed = self._seal(data, state, target, now, revision=result.revision + 1)
            result = replace(result, sha256=hashlib.sha256(data).hexdigest(), size=len(data), path=target, seal=sealed)
        write_atomically(target, data)
        return result

    def _credential(
        self, role: str, ref: SignerRef | None, case: CaseFile | None, manifest: Manifest, now: dt.datetime
    ) -> _Credential:
        own_box = manifest.box(role)
        box_name = own_box.signer_name if own_box is not None else ""
        if role == "clinic":
            self._require_unrevoked("clinic-certify", now)
            credential = self._clinic_credential("clinic-certify")
            credential.name = box_name or credential.name
            return credential
        if role in ONE_TIME:
            return self._one_time(role, case, manifest, box_name, now)
        if ref is None or (ref.name is None and ref.pkcs11 is None):
            raise InputError(f"name the {role}: --signer NAME (a workspace signer) or --pkcs11 URI")
        record = self.pki.find(ref.name, roles=(role,)) if ref.name else None
        if record is not None and record.status(now) != "valid":
            raise RefusedError(f"the certificate of {record.name} (serial {record.serial}) is {record.status(now)}")
        uri = ref.pkcs11 or (record.pkcs11_uri if record is not None and record.key_storage == "pkcs11" else None)
        if uri is not None:
            cert_file = self.pki.dir / "signers" / f"{record.slug}.pem" if record is not None and record.slug else None
            token_cert = x509.load_pem_x509_certificate(cert_file.read_bytes()) if cert_file else None
            session = Pkcs11Session(Pkcs11Ref.parse(uri), token_cert, self.pki.chain())
            credential = _Credential(session.signer, session.certificate, "", close=session.close)
        else:
            assert record is not None
            key, cert, _chain = self.pki.unlock_credential(
                record, passphrase=ref.passphrase, workspace_secret=self.secret
            )
            credential = _Credential(KeySigner(key, cert, self.pki.chain()), cert, "")
        credential.name = common_name(credential.certificate)
        refusal = None
        stated, _explicit = certificate_role(credential.certificate)
        if not issued_by(credential.certificate, self.pki.issuing):  # its key signed it, not just a name
            refusal = f"the {role}'s certificate was not issued by this workspace's CA"
        elif stated != role:
            refusal = f"the certificate of {credential.name} was issued for the {stated or 'no role'}, not the {role}"
        if refusal is not None:
            if credential.close:
                credential.close()
            raise RefusedError(refusal)
        if box_name and credential.name != box_name:
            if credential.close:
                credential.close()
            raise RefusedError(f"the packet names {box_name} as {role}, but the certificate is for {credential.name}")
        return credential

    def _clinic_credential(self, stem: str) -> _Credential:
        """The clinic's certification or seal key: the encrypted file, or a PKCS#11 token when consentkit.toml
        ``[signing.keys.<stem>]`` names one or the certificate was issued for a token key (``pki issue <stem>
        --pkcs11``)."""
        cert = self.pki.certificate(stem)
        ref = clinic_key_ref(self.ws, self.pki, stem)
        if ref is None:
            key = self.pki.private_key(stem, self.secret)
            return _Credential(KeySigner(key, cert, self.pki.chain()), cert, common_name(cert))
        checked = (stem, sha256_fingerprint(cert), ref)
        if checked not in self._certified_keys:  # once per session: the check opens the token
            require_certified_key(ref, cert, stem)
            self._certified_keys.add(checked)
        session = Pkcs11Session(ref, cert, self.pki.chain())
        return _Credential(session.signer, cert, common_name(cert), close=session.close)

    def _require_unrevoked(self, stem: str, now: dt.datetime) -> None:
        cert = self.pki.certificate(stem)
        serial = format(cert.serial_number, "x")
        for record in self.pki.records():
            if record.serial == serial and record.status(now) != "valid":
                raise RefusedError(f"the {record.name} certificate is {record.status(now)}; issue a new workspace PKI")

    def _one_time(
        self, role: str, case: CaseFile | None, manifest: Manifest, box_name: str, now: dt.datetime
    ) -> _Credential:
        if case is None:
            raise InputError(f"the {role} signs with a one-time certificate: give the case file (--case CASE.yaml)")
        if case.case_id != manifest.case_id:
            raise RefusedError(f"the case file is {case.case_id}, but this packet is for case {manifest.case_id}")
        person = case.patient if role == "patient" else case.guardian
        if person is None:
            raise InputError("the case file names no guardian")
        name = person.name
        # keyed, never a bare hash of the document number (see consentkit.pki.identity)
        ident = workspace_identity_digest(self.ws, person.identity.type, person.identity.number)
        if box_name and name != box_name:
            raise RefusedError(f"the packet names {box_name} as {role}, but the case file names {name}")
        assert manifest.packet is not None
        credential = self.pki.issue_one_time(
            role,
            name,
            self.secret,
            case_id=case.case_id,
            identity_digest=ident,
            packet_sha256=manifest.packet.sha256,
            now=now,
        )
        return _Credential(
            KeySigner(credential.key, credential.certificate, self.pki.chain()), credential.certificate, name
        )

    def _sign_role(
        self,
        reader: Any,
        data: bytes,
        state: PacketState,
        manifest: Manifest,
        role: str,
        credential: _Credential,
        image: bytes | None,
        target: Path,
        now: dt.datetime,
    ) -> tuple[bytes, SignatureResult]:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers

        spec = self.profile.role(role)
        writer = IncrementalPdfFileWriter(reader.stream, prev=reader, strict=False)
        if spec.certify:
            self._add_fields(writer, manifest, state)
        box = manifest.box(role)
        style = None
        if box is not None:
            # The TSA's time is printed in the box; the box is part of what the signature covers, so ask the TSA
            # first (over the current file and the role), then sign and time-stamp the signature itself.
            shown = self.responder().timestamp(hashlib.sha256(data + role.encode()).digest())
            # the meaning printed beside the box when the packet was made (the profile's, at that time)
            meaning = box.meaning or spec.meaning
            text = appearance.appearance_text(
                role, credential.name, meaning, manifest.locales, shown.time, self.ws.zone
            )
            picture = appearance.load_signature_image(image, "signature image") if image else None
            style = appearance.stamp_style(text, box.rect, picture)
        elif image is not None:
            raise InputError(f"the packet has no visible box for the {role}; a signature image cannot be shown")
        meta = signers.PdfSignatureMetadata(
            field_name=spec.field,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=True,
            validation_context=self.validation_context(now),
            certify=spec.certify,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS,
            dss_settings=_dss_settings(),
            name=credential.name,
            reason=spec.meaning.get(manifest.locales[0]) or next(iter(spec.meaning.values())),
        )
        pdf_signer = signers.PdfSigner(meta, credential.signer, timestamper=self.timestamper(), stamp_style=style)
        size_key = f"{role}:{sha256_fingerprint(credential.certificate) if role not in ONE_TIME else 'one-time'}"
        out = io.BytesIO()
        try:
            pdf_signer.sign_pdf(
                writer, output=out, existing_fields_only=True, bytes_reserved=self._reserved.get(size_key)
            )
        except Exception as exc:
            if size_key in self._reserved and "larger than expected" in str(exc):
                del self._reserved[size_key]  # learnt size too small this time: sign again, sized by pyHanko
                fresh_reader, fresh_state = open_state(data, str(target))
                return self._sign_role(fresh_reader, data, fresh_state, manifest, role, credential, image, target, now)
            raise _signing_error(role, exc) from exc
        signed = out.getvalue()
        self._learn_size(size_key, signed)
        return signed, self._result(signed, role, spec.field, credential, target, "B-T", state.revisions)

    def _learn_size(self, key: str, signed: bytes) -> None:
        der = byteranges.last_signatures(signed, 1)[0].contents_der
        self._reserved[key] = 2 * (len(der) + 768)

    def _add_fields(self, writer: Any, manifest: Manifest, state: PacketState) -> None:
        """At certification, reserve a field for every role of this packet where its box was drawn."""
        from pyhanko.sign.fields import SigFieldSpec, append_signature_field

        existing = set(state.empty_fields) | set(state.signed_fields)
        for role in required_order(self.profile, manifest):
            spec = self.profile.role(role)
            if spec.field in existing:
                continue
            box = manifest.box(role)
            if box is None:
                append_signature_field(writer, SigFieldSpec(sig_field_name=spec.field))
            else:
                append_signature_field(
                    writer,
                    SigFieldSpec(sig_field_name=spec.field, on_page=box.page - 1, box=box.rect),  # type: ignore[arg-type]
                )

    def _seal(
        self,
        data: bytes,
        state: PacketState,
        target: Path,
        now: dt.datetime,
        *,
        reader: Any = None,
        revision: int | None = None,
    ) -> tuple[bytes, SignatureResult]:
        """The invisible clinic seal that locks every field, then the document timestamp (B-LTA)."""
        assert self.profile.seal is not None
        check_signers_still_valid(data, now)
        self._require_unrevoked("clinic-seal", now)
        credential = self._clinic_credential("clinic-seal")
        try:
            return self._seal_with(credential, data, reader, target, now, state, revision)
        finally:
            if credential.close is not None:
                credential.close()

    def _seal_with(
        self,
        credential: _Credential,
        data: bytes,
        reader: Any,
        target: Path,
        now: dt.datetime,
        state: PacketState,
        revision: int | None,
    ) -> tuple[bytes, SignatureResult]:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers

        assert self.profile.seal is not None
        lta = self.profile.pades_level == "B-LTA" and self.profile.timestamping.document_timestamp
        meta = signers.PdfSignatureMetadata(
            field_name=self.profile.seal.field,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=True,
            validation_context=self.validation_context(now),
            use_pades_lta=lta,
            timestamp_field_name=self.profile.timestamping.document_timestamp_field if lta else None,
            docmdp_permissions=fields.MDPPerm.NO_CHANGES,
            dss_settings=_dss_settings(),
            name=credential.name,
        )
        field_spec = fields.SigFieldSpec(
            sig_field_name=self.profile.seal.field,
            field_mdp_spec=fields.FieldMDPSpec(fields.FieldMDPAction.ALL) if self.profile.seal.lock else None,
            doc_mdp_update_value=fields.MDPPerm.NO_CHANGES if self.profile.seal.lock else None,
        )
        if reader is None:
            writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        else:
            writer = IncrementalPdfFileWriter(reader.stream, prev=reader, strict=False)
        pdf_signer = signers.PdfSigner(
            meta, credential.signer, timestamper=self.timestamper(), new_field_spec=field_spec
        )
        out = io.BytesIO()
        try:
            pdf_signer.sign_pdf(writer, output=out)
        except Exception as exc:
            raise _signing_error("seal", exc) from exc
        sealed = out.getvalue()
        seal_revision = state.revisions if revision is None else revision
        level = "B-LTA" if lta else "B-LT"
        result = self._result(sealed, "seal", self.profile.seal.field, credential, target, level, seal_revision)
        if lta:
            from consentkit.tsa.tokens import describe_token

            doc_ts = byteranges.last_signatures(sealed, 1)[0]
            token = describe_token(doc_ts.contents_der)
            result = replace(result, tsa_time=token.time, tsa_name=token.tsa_name)
        return sealed, result

    def _result(
        self,
        data: bytes,
        role: str,
        field_name: str,
        credential: _Credential,
        target: Path,
        level: str,
        revision: int,
    ) -> SignatureResult:
        """What was just signed, read back from the bytes (a second PDF parse costs more than the signature)."""
        from consentkit.tsa.tokens import describe_token, the_signature_token

        sig = next(s for s in reversed(byteranges.last_signatures(data, 2)) if not s.is_timestamp)
        if sig.problem is not None:  # e.g. a token key that is not the one its certificate was issued for
            raise SigningError(
                f"the {role} signature just made does not check out ({sig.problem}); nothing was written. Is the "
                "key the one its certificate was issued for?"
            )
        token_der = the_signature_token(sig.contents_der)
        token = describe_token(token_der) if token_der else None
        cert = credential.certificate
        return SignatureResult(
            role=role,
            field=field_name,
            signer_name=credential.name,
            signer_subject=cert.subject.rfc4514_string(),
            certificate_sha256=sha256_fingerprint(cert),
            certificate_serial=format(cert.serial_number, "x"),
            tsa_time=token.time if token else dt.datetime.now(dt.UTC),
            tsa_name=token.tsa_name if token else "",
            revision=revision,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            path=target,
            pades_level=level,
        )


# -- helpers -------------------------------------------------------------------------------------------------------
def _dss_settings() -> Any:
    from pyhanko.sign.signers.pdf_signer import (
        DSSContentSettings,
        SigDSSPlacementPreference,
        TimestampDSSContentSettings,
    )

    # validation data in the signature's own revision, and before the document timestamp: nothing left uncovered
    return DSSContentSettings(
        include_vri=False,
        placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE,
        next_ts_settings=TimestampDSSContentSettings(include_vri=False, update_before_ts=True),
    )


def _signing_error(role: str, exc: BaseException) -> SigningError:
    from consentkit.errors import ConsentkitError

    if isinstance(exc, ConsentkitError):
        return exc if isinstance(exc, SigningError) else SigningError(exc.message)
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause):
        text += f": {str(cause).splitlines()[0]}"
    return SigningError(f"the {role} signature could not be made: {text}")


_SESSIONS: dict[tuple[str, bytes], SigningSession] = {}


def sign_packet(
    ws: Workspace,
    pdf_path: Path,
    role: str,
    signer: SignerRef | str | None = None,
    *,
    secret: bytes | None = None,
    case: CaseFile | None = None,
    manifest_path: Path | None = None,
    output: Path | None = None,
    signature_image: bytes | None = None,
    seal: bool = True,
    now: dt.datetime | None = None,
) -> SignatureResult:
    """Sign ``pdf_path`` as ``role`` (see :class:`SigningSession`); the file is replaced atomically (or written to
    ``output``). ``signer`` names a physician or witness; ``case`` is needed for the patient and guardian."""
    from consentkit import keystore

    secret = secret if secret is not None else keystore.passphrase(ws)
    key = (str(ws.root), hashlib.sha256(secret).digest())
    session = _SESSIONS.get(key)
    if session is None:
        session = _SESSIONS[key] = SigningSession(ws, secret)
    ref = SignerRef(name=signer) if isinstance(signer, str) else signer
    return session.sign(
        pdf_path,
        role,
        ref,
        case=case,
        manifest_path=manifest_path,
        output=output,
        signature_image=signature_image,
        seal=seal,
        now=now,
    )
