"""Audit events: what the log holds, one strict model per event type, and their canonical bytes.

An event is RFC 8785 canonical JSON, for example (``document.signed``)::

    {"actor":{"id":"dr-wang","role":"physician"},"case":"C-2025-0001",
     "data":{"field":"sig-physician","role":"physician","signer_cert":"sha256:…","tsa_time":"2025-03-01T02:00:01.000000Z"},
     "documents":[{"name":"packet.pdf","sha256":"sha256:…"}],"refs":[{"index":0,"leaf":"sha256:…"}],
     "subject":"hmac-sha256:…","time":"2025-03-01T02:00:01.250000Z","type":"document.signed","v":1}

The log never holds names, identity numbers or clinical free text: every text field is a code, an id or a hash
matched by a pattern, unknown keys are refused, and the patient appears only as ``subject`` — the keyed hash from
:func:`consentkit.case.subject_id`. Build events with the constructors at the end of this module (or the classes);
:func:`parse_event` reads stored bytes back and refuses anything that is not exactly what the constructors produce.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from consentkit.audit import clock
from consentkit.audit.fastform import compile_events
from consentkit.errors import InputError
from consentkit.spec.canonical import canonical_json

FORMAT_VERSION: Literal[1] = 1
MAX_EVENT_BYTES = 8192


class EventError(InputError):
    """An event that the log must not hold: an unknown type, a missing or free-text field, a malformed hash."""


def _pattern(regex: str) -> Any:
    return StringConstraints(pattern=regex)


Sha256 = Annotated[str, _pattern(r"^sha256:[0-9a-f]{64}$")]
SubjectId = Annotated[str, _pattern(r"^hmac-sha256:[0-9a-f]{64}$")]
CaseId = Annotated[str, _pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
# Staff are named by their login or signer slug; a patient or guardian acting is named by the subject pseudonym.
ActorId = Annotated[str, _pattern(r"^(?:[A-Za-z0-9][A-Za-z0-9._@-]{0,63}|hmac-sha256:[0-9a-f]{64})$")]
Code = Annotated[str, _pattern(r"^[a-z][a-z0-9-]{0,47}$")]
ProcedureId = Annotated[str, _pattern(r"^[a-z0-9][a-z0-9-]{0,62}$")]
SemVer = Annotated[str, _pattern(r"^[0-9]{1,6}\.[0-9]{1,6}\.[0-9]{1,6}$")]
LocaleCode = Annotated[str, _pattern(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2})?$")]
FileName = Annotated[str, _pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
FieldName = Annotated[str, _pattern(r"^sig-[a-z-]{1,40}$")]
RenewalFieldName = Annotated[str, _pattern(r"^sig-[a-z-]{1,40}[0-9]{1,4}$")]  # sig-document-timestamp-2
LeafIndex = Annotated[int, Field(ge=0, le=2**53 - 1)]
Count = Annotated[int, Field(ge=0, le=2**53 - 1)]

SignerRole = Literal["clinic", "physician", "patient", "guardian", "witness"]
ActorRole = Literal[
    "clinic", "physician", "patient", "guardian", "witness", "nurse", "staff", "reviewer", "auditor", "system"
]


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() != dt.timedelta(0):
        raise ValueError("must be a UTC time (ending in Z)")
    return value.astimezone(dt.UTC)


def format_time(value: dt.datetime) -> str:
    """The one way the log writes a time: ``2025-03-01T02:00:01.250000Z``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


UtcTime = Annotated[dt.datetime, AfterValidator(_utc), PlainSerializer(format_time, return_type=str)]


def utc_now() -> dt.datetime:
    return clock.now()


def sha256_id(data: bytes) -> str:
    """``sha256:<hex>`` of some bytes — how the log names a document, a certificate or a bundle."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Actor(_Model):
    id: ActorId
    role: ActorRole


class DocumentHash(_Model):
    name: FileName
    sha256: Sha256


class EventRef(_Model):
    """A pointer to an earlier event: its leaf index and leaf hash (``sha256:<hex>`` of SHA-256(0x00 ‖ event))."""

    index: LeafIndex
    leaf: Sha256


class _Event(_Model):
    v: Literal[1] = FORMAT_VERSION
    time: UtcTime
    actor: Actor
    documents: tuple[DocumentHash, ...] = Field(default=(), max_length=32)
    refs: tuple[EventRef, ...] = Field(default=(), max_length=32)


class _CaseEvent(_Event):
    case: CaseId
    subject: SubjectId


# --- per-type data and events ---------------------------------------------------------------------------------


class PacketData(_Model):
    procedure: ProcedureId
    version: SemVer
    spec: Sha256  # content hash of the spec version used
    locales: tuple[LocaleCode, ...] = Field(min_length=1, max_length=4)


class PacketGenerated(_CaseEvent):
    """A packet was rendered; ``documents`` holds the manifest and every file it lists."""

    type: Literal["packet.generated"] = "packet.generated"
    data: PacketData


class PresentedData(_Model):
    how: Literal["printed", "screen"]
    locales: tuple[LocaleCode, ...] = Field(min_length=1, max_length=4)


class DisclosurePresented(_CaseEvent):
    type: Literal["disclosure.presented"] = "disclosure.presented"
    data: PresentedData


class SignedData(_Model):
    role: SignerRole
    field: FieldName
    signer_cert: Sha256  # SHA-256 of the signer certificate (DER)
    tsa_time: UtcTime  # genTime of the signature's RFC 3161 timestamp


class _FileEvent(_CaseEvent):
    """An event about the packet file as it stood right after it: ``documents`` holds exactly that file."""

    documents: tuple[DocumentHash]  # exactly one

    @property
    def file(self) -> DocumentHash:
        return self.documents[0]


class DocumentSigned(_FileEvent):
    """One signature by one role; ``documents`` holds exactly the signed file as it stood after signing."""

    type: Literal["document.signed"] = "document.signed"
    data: SignedData


class TimestampedData(_Model):
    field: RenewalFieldName  # the new document timestamp's field, e.g. sig-document-timestamp-2
    tsa_cert: Sha256  # SHA-256 of the TSA's certificate (DER)
    tsa_time: UtcTime  # genTime of the new RFC 3161 token
    previous: Sha256  # the file before the renewal: the hash the previous document.signed / .timestamped recorded


class DocumentTimestamped(_FileEvent):
    """An archival (document) timestamp renewed a sealed packet (PAdES LTA); ``documents`` holds exactly the file
    after it, which replaces the file of the event before it as the packet's latest."""

    type: Literal["document.timestamped"] = "document.timestamped"
    data: TimestampedData


class CheckinPassed(_Model):
    outcome: Literal["pass"]
    reasons: tuple[()] = ()
    at: UtcTime  # the check-in time the gate judged


class CheckinRefused(_Model):
    outcome: Literal["refused"]
    reasons: tuple[Code, ...] = Field(min_length=1, max_length=32)  # codes, never sentences
    at: UtcTime


CheckinData = Annotated[CheckinPassed | CheckinRefused, Field(discriminator="outcome")]


class ProcedureCheckin(_CaseEvent):
    type: Literal["procedure.checkin"] = "procedure.checkin"
    data: CheckinData


class StartedData(_Model):
    at: UtcTime


class ProcedureStarted(_CaseEvent):
    """The procedure may begin; ``refs`` points at the passing check-in."""

    type: Literal["procedure.started"] = "procedure.started"
    data: StartedData


class ExportedData(_Model):
    tree_size: Count  # size of the signed tree head the bundle's proofs lead to


class EvidenceExported(_CaseEvent):
    type: Literal["evidence.exported"] = "evidence.exported"
    data: ExportedData


class ReadData(_Model):
    via: Code  # what read the case: audit-show, evidence, gate, web…


class CaseRead(_CaseEvent):
    """Someone looked at a case's record (Taiwan's e-record rules: log every view, with person and time)."""

    type: Literal["case.read"] = "case.read"
    data: ReadData


class ApprovalData(_Model):
    procedure: ProcedureId
    version: SemVer
    content: Sha256  # content hash of the approved spec version
    review: Literal["clinical", "legal"]


class SpecApproved(_Event):
    """A reviewer approved a procedure spec version (no case, no patient)."""

    type: Literal["spec.approved"] = "spec.approved"
    data: ApprovalData


AuditEvent = Annotated[
    PacketGenerated
    | DisclosurePresented
    | DocumentSigned
    | DocumentTimestamped
    | ProcedureCheckin
    | ProcedureStarted
    | EvidenceExported
    | CaseRead
    | SpecApproved,
    Field(discriminator="type"),
]
EVENT_TYPES: dict[str, type[_Event]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        PacketGenerated,
        DisclosurePresented,
        DocumentSigned,
        DocumentTimestamped,
        ProcedureCheckin,
        ProcedureStarted,
        EvidenceExported,
        CaseRead,
        SpecApproved,
    )
}
_CLASSES = frozenset(EVENT_TYPES.values())
_ADAPTER: TypeAdapter[AuditEvent] = TypeAdapter(AuditEvent)


def _describe(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    # the discriminated union puts the type name first in the location; it is already in the message
    loc = [str(p) for p in err["loc"] if str(p) not in EVENT_TYPES]
    return f"{'.'.join(loc) or 'event'}: {err['msg']}"


FAST = compile_events(EVENT_TYPES)  # type: ignore[arg-type]


def event_bytes(event: _Event) -> bytes:
    """The canonical bytes that are hashed into the log, of a valid event; anything else raises EventError.

    The common case costs a ``json.dumps`` and one regular expression (:mod:`consentkit.audit.fastform`), whose
    match proves the bytes are the RFC 8785 form of a valid event; otherwise RFC 8785 encoding and
    :func:`parse_event` decide."""
    if type(event) not in _CLASSES:
        raise EventError(f"not an audit event: {type(event).__name__}")
    try:
        fast = json.dumps(event.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        body = fast.encode("utf-8")
    except (TypeError, ValueError):
        body = b""
    if FAST.match(body) is None:
        try:
            body = canonical_json(event)
        except (TypeError, ValueError) as exc:
            raise EventError(f"{event_type(event)} event cannot be encoded: {exc}") from None
        parse_event(body)
    if len(body) > MAX_EVENT_BYTES:
        raise EventError(f"{event_type(event)} event is {len(body)} bytes; the limit is {MAX_EVENT_BYTES}")
    return body


def event_type(event: _Event) -> str:
    return str(getattr(event, "type", "?"))


def parse_event(body: bytes) -> AuditEvent:
    """Read stored bytes back; refuse anything that is not a valid event in canonical form."""
    if len(body) > MAX_EVENT_BYTES:
        raise EventError(f"event is {len(body)} bytes; the limit is {MAX_EVENT_BYTES}")
    try:
        event = _ADAPTER.validate_json(body)
    except ValidationError as exc:
        raise EventError(_describe(exc)) from None
    if canonical_json(event) != body:
        raise EventError("not in canonical form (RFC 8785)")
    return event


def validate_event(event: Any) -> AuditEvent:
    """Re-check an event built elsewhere (guards against ``model_construct`` and subclasses)."""
    return parse_event(event_bytes(event))


# --- constructors: flat keyword arguments, so other modules never build raw dicts ------------------------------


def _build(cls: type[_Event], fields: dict[str, Any]) -> Any:
    if fields.get("time") is None:
        fields["time"] = utc_now()
    try:
        return cls(**fields)
    except ValidationError as exc:
        raise EventError(f"{cls.model_fields['type'].default} event: {_describe(exc)}") from None


def _docs(files: dict[str, str]) -> tuple[dict[str, str], ...]:
    return tuple({"name": name, "sha256": value} for name, value in files.items())


def ref(index: int, leaf: bytes) -> EventRef:
    """A reference to the event stored at ``index`` whose leaf hash is ``leaf`` (32 bytes)."""
    return EventRef(index=index, leaf="sha256:" + leaf.hex())


_PERSONAL_NUMBER = re.compile(r"[0-9]{11,}")


def personal_number_in(case_id: str) -> str | None:
    """Why ``case_id`` must not enter the pseudonymous log, or None: a run of 11 or more digits looks like an
    identity, passport or phone number (Chinese resident ids have 18 characters, 17 of them digits)."""
    if _PERSONAL_NUMBER.search(case_id):
        return (
            f"case id {case_id!r} holds a run of 11 or more digits, like an identity or phone number; the audit log "
            "is pseudonymous and a case id goes into it in clear: use the clinic's own case number (e.g. C-2026-0042)"
        )
    return None


def _case_fields(
    case: str, subject: str, actor: str, actor_role: str, time: dt.datetime | None, refs: tuple[EventRef, ...]
) -> dict[str, Any]:
    if (why := personal_number_in(case)) is not None:
        raise EventError(why)
    return {
        "case": case,
        "subject": subject,
        "actor": {"id": actor, "role": actor_role},
        "time": time,
        "refs": tuple(refs),
    }


def packet_generated(
    *,
    case: str,
    subject: str,
    actor: str,
    actor_role: ActorRole,
    procedure: str,
    version: str,
    spec: str,
    locales: tuple[str, ...] | list[str],
    files: dict[str, str],
    time: dt.datetime | None = None,
    refs: tuple[EventRef, ...] = (),
) -> PacketGenerated:
    """``files``: name → ``sha256:<hex>`` of the manifest and every file of the packet."""
    fields = _case_fields(case, subject, actor, actor_role, time, refs)
    fields["documents"] = _docs(files)
    fields["data"] = {"procedure": procedure, "version": version, "spec": spec, "locales": tuple(locales)}
    return _build(PacketGenerated, fields)  # type: ignore[no-any-return]


def disclosure_presented(
    *,
    case: str,
    subject: str,
    actor: str,
    actor_role: ActorRole,
    how: Literal["printed", "screen"],
    locales: tuple[str, ...] | list[str],
    files: dict[str, str] | None = None,
    time: dt.datetime | None = None,
    refs: tuple[EventRef, ...] = (),
) -> DisclosurePresented:
    fields = _case_fields(case, subject, actor, actor_role, time, refs)
    fields["documents"] = _docs(files or {})
    fields["data"] = {"how": how, "locales": tuple(locales)}
    return _build(DisclosurePresented, fields)  # type: ignore[no-any-return]


def document_signed(
    *,
    case: str,
    subject: str,
    actor: str,
    actor_role: ActorRole,
    role: SignerRole,
    field: str,
    signer_cert: str,
    tsa_time: dt.datetime,
    file_name: str,
    file_sha256: str,
    time: dt.datetime | None = None,
    refs: tuple[EventRef, ...] = (),
) -> DocumentSigned:
    """``signer_cert``: ``sha256:<hex>`` of the signer certificate's DER; ``file_sha256``: the file after signing."""
    fields = _case_fields(case, subject, actor, actor_role, time, refs)
    fields["documents"] = _docs({file_name: file_sha256})
    fields["data"] = {"role": role, "field": field, "signer_cert": signer_cert, "tsa_time": tsa_time}
    return _build(DocumentSigned, fields)  # type: ignore[no-any-return]


def document_timestamped(
    *,
    case: str,
    subject: str,
    actor: str,
    actor_role: ActorRole,
    field: str,
    tsa_cert: str,
    tsa_time: dt.datetime,
    file_name: str,
    file_sha256: str,
    previous: str,
    time: dt.datetime | None = None,
    refs: tuple[EventRef, ...] = (),
) -> DocumentTimestamped:
    """An archival timestamp renewal: ``file_sha256`` the file after it, ``previous`` the file before it (both
    ``sha256:<hex>``), ``tsa_cert`` the TSA certificate's."""
    fields = _case_fields(case, subject, actor, actor_role, time, refs)
    fields["documents"] = _docs({file_name: file_sha256})
    fields["data"] = {"field": field, "tsa_cert": tsa_cert, "tsa_time": tsa_time, "previous": previous}
    return _build(DocumentTimestamped, fields)  # type: ignore[no-any-return]


def procedure_checkin(
    *,
    case: str,
    subject: str,
    actor: str,
    actor_role: ActorRole,
    outcome: Literal["pass", "refused"],
    at: dt.datetime,
    reasons: tuple[str, ...] | list[str] = (),
    files: dict[str, str] | None = None,
    time: dt.datetime | None = None,
    refs: tuple[EventRef, ...] = (),
) -> ProcedureCheckin:
    """``reasons``: codes such as ``cooling-off-not-elapsed``; the sentences a nurse reads stay out of the log."""
    fields = _case_fields(case, subject, actor, actor_role, time, refs)
    fields["documents"] = _docs(files or {})
    fields["data"] = {"outcome": outcome, "reasons": tuple(reasons), "at": at}
    return _build(ProcedureCheckin, fields)  # type: ignore[no-any-return]


def procedure_started(
    *,
    case: str,
    subject: str,
    actor: str,
    actor_role: ActorRole,
    at: dt.datetime,
    time: dt.datetime | None = None,
    refs: tuple[EventRef, ...] = (),
) -> ProcedureStarted:
    fields = _case_fields(case, subject, actor, actor_role, time, refs)
    fields["data"] = {"at": at}
    return _build(ProcedureStarted, fields)  # type: ignore[no-any-return]


def evidence_exported(
    *,
    case: str,
    subject: str,
    actor: str,
    actor_role: ActorRole,
    tree_size: int,
    files: dict[str, str],
    time: dt.datetime | None = None,
    refs: tuple[EventRef, ...] = (),
) -> EvidenceExported:
    fields = _case_fields(case, subject, actor, actor_role, time, refs)
    fields["documents"] = _docs(files)
    fields["data"] = {"tree_size": tree_size}
    return _build(EvidenceExported, fields)  # type: ignore[no-any-return]


def case_read(
    *,
    case: str,
    subject: str,
    actor: str,
    actor_role: ActorRole,
    via: str,
    time: dt.datetime | None = None,
    refs: tuple[EventRef, ...] = (),
) -> CaseRead:
    fields = _case_fields(case, subject, actor, actor_role, time, refs)
    fields["data"] = {"via": via}
    return _build(CaseRead, fields)  # type: ignore[no-any-return]


def spec_approved(
    *,
    actor: str,
    actor_role: ActorRole,
    procedure: str,
    version: str,
    content: str,
    review: Literal["clinical", "legal"],
    time: dt.datetime | None = None,
    refs: tuple[EventRef, ...] = (),
) -> SpecApproved:
    fields: dict[str, Any] = {"actor": {"id": actor, "role": actor_role}, "time": time, "refs": tuple(refs)}
    fields["data"] = {"procedure": procedure, "version": version, "content": content, "review": review}
    return _build(SpecApproved, fields)  # type: ignore[no-any-return]
