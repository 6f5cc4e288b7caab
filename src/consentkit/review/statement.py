"""What a reviewer approves, and how an approval is kept on disk.

An approval statement is RFC 8785 canonical JSON pinning one procedure version exactly: the spec's content hash,
the SHA-256 of every template, stylesheet, catalogue and font declaration its documents render with, for the
spec's locales, and the wording they print from the signing profile and the policy (format v2; v1 statements,
made before, lack it and read as changed since approval). The reviewer signs those exact bytes (a detached CMS
signature with their own key), and the ``spec.approved`` audit event names the statement and the signature by hash.

A workspace keeps its approvals beside its specs, in git, so that CI can lint them (CK220)::

    approvals/<procedure>/<version>/<role>-<YYYYmmddTHHMMSSZ>-<reviewer>.statement.json   the signed bytes
                                                                   ….p7s                   DER CMS, detached
                                                                   ….log.json              where the event is

``….log.json`` holds the leaf index, the leaf hash and the event's canonical text as a JSON string (its UTF-8 bytes
are exactly what the log hashed). The log in the workspace database is the record; these files are the index that
lint, status and packets read, and every packet checks them against the log and the signature again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, Field, PlainSerializer, StringConstraints, ValidationError, model_validator

from consentkit.errors import InputError, SourceLocation
from consentkit.manifest import ApprovalRef
from consentkit.review.wording import PolicyWording, ProfileWording
from consentkit.spec.canonical import canonical_json
from consentkit.spec.models import Id, Locale, Model, ReviewerRole, SemVer

APPROVALS_DIR: Final = "approvals"
STATEMENT_FORMAT: Final = "consentkit/approval/v2"  # v1: without the signing-profile and policy wording
LOG_FORMAT: Final = "consentkit/approval-log/v1"
STATEMENT_SUFFIX: Final = ".statement.json"
SIGNATURE_SUFFIX: Final = ".p7s"
LOG_SUFFIX: Final = ".log.json"

ContentHash = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
HexSha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
TemplateName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$")]


def _utc_second(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() != dt.timedelta(0) or value.microsecond:
        raise ValueError("must be a whole-second UTC time (ending in Z)")
    return value.astimezone(dt.UTC)


UtcSecond = Annotated[
    dt.datetime,
    AfterValidator(_utc_second),
    PlainSerializer(lambda v: v.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), return_type=str),
]


class ReviewerRef(Model):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    slug: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    certificate: ContentHash  # SHA-256 of the reviewer certificate's DER
    serial: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{1,64}$")]


class ApprovalStatement(Model):
    """One reviewer's approval of one procedure version as it renders with one set of templates."""

    format: Literal["consentkit/approval/v1", "consentkit/approval/v2"] = STATEMENT_FORMAT
    procedure: Id
    version: SemVer
    spec: ContentHash  # consentkit.spec.canonical.content_hash of the parsed spec
    locales: list[Locale] = Field(min_length=1)
    templates: dict[TemplateName, HexSha256]  # consentkit.render.env.template_hashes(roots, locales)
    # v2: the wording the documents print from the signing profile and the policy (consentkit.review.wording)
    signing_profile: ProfileWording | None = None
    policy: PolicyWording | None = None
    role: ReviewerRole
    reviewer: ReviewerRef
    jurisdiction: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
    approved_at: UtcSecond

    @model_validator(mode="after")
    def _wording_by_format(self) -> ApprovalStatement:
        pinned = self.signing_profile is not None and self.policy is not None
        if self.format == STATEMENT_FORMAT and not pinned:
            raise ValueError(f"a {STATEMENT_FORMAT} statement pins signing_profile and policy")
        if self.format != STATEMENT_FORMAT and (self.signing_profile is not None or self.policy is not None):
            raise ValueError(f"a {self.format} statement has no signing_profile or policy")
        return self

    def to_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json", by_alias=True, exclude_none=True))

    @classmethod
    def from_bytes(cls, data: bytes, path: Path) -> ApprovalStatement:
        """Strictly parsed, and only when ``data`` is exactly its canonical form (the bytes that were signed)."""
        try:
            parsed = cls.model_validate_json(data, strict=False)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in first["loc"])
            raise InputError(
                f"not an approval statement: {first['msg']}", location=SourceLocation(path, None, field)
            ) from None
        if parsed.to_bytes() != data:
            raise InputError("the approval statement is not in canonical form (edited?)", location=SourceLocation(path))
        return parsed


@dataclass(frozen=True)
class Approval:
    """An approval as found on disk. ``index``/``leaf``/``event`` come from the ``.log.json`` beside it (None when
    that file is missing or unreadable: such an approval never verifies)."""

    statement: ApprovalStatement
    path: Path  # the .statement.json
    index: int | None
    leaf: str | None  # "sha256:<hex>" of SHA-256(0x00 ‖ event)
    event: bytes | None

    @property
    def stem(self) -> Path:
        return self.path.with_name(self.path.name.removesuffix(STATEMENT_SUFFIX))

    @property
    def signature_path(self) -> Path:
        return self.stem.with_name(self.stem.name + SIGNATURE_SUFFIX)

    @property
    def log_path(self) -> Path:
        return self.stem.with_name(self.stem.name + LOG_SUFFIX)

    @property
    def role(self) -> str:
        return self.statement.role

    @property
    def approved_at(self) -> dt.datetime:
        return self.statement.approved_at

    @property
    def reviewer(self) -> str:
        return self.statement.reviewer.name

    def ref(self) -> ApprovalRef:
        """What a packet manifest records: role, reviewer, time and the ``spec.approved`` leaf hash."""
        if self.leaf is None:
            raise InputError("this approval has no audit-log reference", location=SourceLocation(self.log_path))
        return ApprovalRef(role=self.role, reviewer=self.reviewer, approved_at=self.approved_at, event_hash=self.leaf)


def approval_stem(folder: Path, statement: ApprovalStatement) -> Path:
    """``approvals/<procedure>/<version>/<role>-<time>-<slug>`` (suffixes added per file)."""
    stamp = statement.approved_at.strftime("%Y%m%dT%H%M%SZ")
    return folder / statement.procedure / statement.version / f"{statement.role}-{stamp}-{statement.reviewer.slug}"


def log_record(index: int, leaf: bytes, event: bytes) -> bytes:
    data = {"format": LOG_FORMAT, "index": index, "leaf": "sha256:" + leaf.hex(), "event": event.decode("utf-8")}
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _read_log(path: Path) -> tuple[int | None, str | None, bytes | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        index, leaf, event = data["index"], data["leaf"], data["event"]
        if data.get("format") != LOG_FORMAT or not isinstance(index, int) or not isinstance(leaf, str):
            return None, None, None
        return index, leaf, str(event).encode("utf-8")
    except (OSError, ValueError, KeyError, TypeError):
        return None, None, None


def read_approval(path: Path) -> Approval:
    """One approval from its ``.statement.json`` (raises :class:`InputError` when the statement is damaged)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", location=SourceLocation(path)) from exc
    statement = ApprovalStatement.from_bytes(data, path)
    stem = path.with_name(path.name.removesuffix(STATEMENT_SUFFIX))
    index, leaf, event = _read_log(stem.with_name(stem.name + LOG_SUFFIX))
    return Approval(statement, path, index, leaf, event)


@dataclass(frozen=True)
class Found:
    approvals: list[Approval]
    problems: list[InputError]


def find_approvals(folder: Path, procedure: str | None = None) -> Found:
    """Every approval under ``folder`` (a workspace's ``approvals/``), oldest first; damaged files in ``problems``.
    A statement filed under the wrong procedure or version folder is a problem, not an approval."""
    pattern = f"{procedure or '*'}/*/*{STATEMENT_SUFFIX}"
    approvals: list[Approval] = []
    problems: list[InputError] = []
    if not folder.is_dir():
        return Found(approvals, problems)
    for path in sorted(folder.glob(pattern)):
        try:
            found = read_approval(path)
        except InputError as exc:
            problems.append(exc)
            continue
        st = found.statement
        if path.parent.name != st.version or path.parent.parent.name != st.procedure:
            problems.append(
                InputError(
                    f"approval of {st.procedure} {st.version} filed under {path.parent.parent.name}/{path.parent.name}",
                    location=SourceLocation(path),
                )
            )
            continue
        approvals.append(found)
    approvals.sort(key=lambda a: (a.approved_at, a.path.name))
    return Found(approvals, problems)


def listing_fingerprint(folder: Path) -> str:
    """Names, sizes and modification times of every approval file: a cheap key for lint's findings cache."""
    import hashlib

    digest = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(folder.glob("*/*/*")):
            try:
                st = path.stat()
            except OSError:
                continue
            digest.update(f"{path.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def write_new(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data``, atomically; never replace an existing file (approvals are never rewritten)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    try:
        os.link(tmp, path)  # fails if path exists
    finally:
        tmp.unlink(missing_ok=True)
