"""Signed, timestamped tree heads: the log's commitments that can be checked without consentkit.

A head is a canonical-JSON checkpoint (the bytes of ``head.json``)::

    {"format":"consentkit-tree-head/1","log":"sha256:<SHA-256 of the log key's SubjectPublicKeyInfo>",
     "root":"<hex RFC 9162 root>","size":1234,"time":"2025-03-01T02:00:01.250000Z"}

signed with the clinic's audit-log key (ECDSA P-256 over SHA-256, DER — ``head.sig``) and timestamped by an
RFC 3161 TSA over SHA-256 of the same bytes (``head.tsr``, a TimeStampResp). With plain OpenSSL::

    openssl dgst -sha256 -verify audit-log.pub.pem -signature head.sig head.json
    openssl ts -verify -data head.json -in head.tsr -CAfile tsa-root.pem
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from consentkit.audit import clock
from consentkit.audit.events import format_time
from consentkit.errors import SigningError, VerificationError
from consentkit.files import write_atomically
from consentkit.spec.canonical import canonical_json
from consentkit.tsa import Timestamper, TimestampToken

CHECKPOINT_FORMAT = "consentkit-tree-head/1"
KEY_FILE = "audit-log.key"
PUBLIC_KEY_FILE = "audit-log.pub.pem"
# A head is stamped right after it is made; a token much later than the head's own time means someone stamped an
# old head, and a token before it means the head's clock was ahead.
MAX_CLOCK_SKEW = dt.timedelta(minutes=2)
MAX_STAMP_DELAY = dt.timedelta(hours=1)

TokenVerifier = Callable[[bytes, bytes], TimestampToken]
"""``verify(token_der, sha256_digest)`` → the verified token; raises if the token is invalid or not over the
digest. Implemented by the TSA module (``consentkit.tsa``)."""


def log_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """``sha256:<hex>`` of the key's DER SubjectPublicKeyInfo (as Certificate Transparency names a log)."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes
    time: dt.datetime
    log: str

    def checkpoint(self) -> bytes:
        return canonical_json(
            {
                "format": CHECKPOINT_FORMAT,
                "log": self.log,
                "root": self.root.hex(),
                "size": self.size,
                "time": format_time(self.time),
            }
        )

    @classmethod
    def parse(cls, checkpoint: bytes) -> TreeHead:
        """Read a checkpoint back; anything but the exact bytes :meth:`checkpoint` writes is refused."""
        import json

        try:
            data = json.loads(checkpoint)
            if not isinstance(data, dict) or set(data) != {"format", "log", "root", "size", "time"}:
                raise ValueError("unexpected fields")
            if data["format"] != CHECKPOINT_FORMAT:
                raise ValueError(f"format {data['format']!r}")
            size, root, time, log = data["size"], data["root"], data["time"], data["log"]
            if not (isinstance(size, int) and not isinstance(size, bool) and 0 <= size < 2**53):
                raise ValueError("size")
            if not (isinstance(root, str) and re.fullmatch(r"[0-9a-f]{64}", root)):
                raise ValueError("root")
            if not (isinstance(log, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", log)):
                raise ValueError("log")
            if not (isinstance(time, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", time)):
                raise ValueError("time")
            head = cls(size, bytes.fromhex(root), dt.datetime.fromisoformat(time), log)
        except (ValueError, TypeError, KeyError) as exc:
            raise VerificationError(f"not a consentkit tree head ({exc})") from None
        if head.checkpoint() != checkpoint:
            raise VerificationError("tree head is not in canonical form")
        return head


@dataclass(frozen=True)
class SignedTreeHead:
    """A head with its signature (DER ECDSA) and RFC 3161 token (DER TimeStampToken)."""

    head: TreeHead
    checkpoint: bytes
    signature: bytes
    token: bytes
    id: int | None = None  # row id when read from the database

    @property
    def size(self) -> int:
        return self.head.size

    @property
    def root(self) -> bytes:
        return self.head.root

    def export(self, path: Path) -> list[Path]:
        """Write ``<stem>.json`` (the signed bytes), ``<stem>.sig`` and ``<stem>.tsr``; returns the three paths."""
        stem = path.with_suffix("") if path.suffix == ".json" else path
        files = [stem.with_name(stem.name + ext) for ext in (".json", ".sig", ".tsr")]
        for target, data in zip(files, (self.checkpoint, self.signature, token_to_response(self.token)), strict=True):
            write_atomically(target, data)
        return files

    @classmethod
    def load(cls, path: Path) -> SignedTreeHead:
        """Read a head written by :meth:`export` (give the ``.json`` file)."""
        stem = path.with_suffix("") if path.suffix == ".json" else path
        try:
            checkpoint = stem.with_name(stem.name + ".json").read_bytes()
            signature = stem.with_name(stem.name + ".sig").read_bytes()
            response = stem.with_name(stem.name + ".tsr").read_bytes()
        except OSError as exc:
            raise VerificationError(f"{exc.filename}: cannot read the exported head ({exc.strerror})") from None
        return cls(TreeHead.parse(checkpoint), checkpoint, signature, response_to_token(response))


def token_to_response(token: bytes) -> bytes:
    """Wrap a TimeStampToken in a 'granted' TimeStampResp, the form ``openssl ts -verify -in`` reads."""
    from asn1crypto import cms, tsp

    try:
        return bytes(
            tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": cms.ContentInfo.load(token)}).dump()
        )
    except (ValueError, TypeError) as exc:
        raise VerificationError(f"the stored timestamp token is not DER: {exc}") from None


def response_to_token(response: bytes) -> bytes:
    from asn1crypto import tsp

    try:
        resp = tsp.TimeStampResp.load(response)
        if resp["status"]["status"].native != "granted":
            raise ValueError(f"status {resp['status']['status'].native}")
        return bytes(resp["time_stamp_token"].dump())
    except (ValueError, TypeError, KeyError) as exc:
        raise VerificationError(f"not an RFC 3161 TimeStampResp ({exc})") from None


class HeadSigner:
    """The clinic's audit-log key (ECDSA P-256)."""

    def __init__(self, private_key: Any) -> None:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(private_key.curve, ec.SECP256R1):
            raise SigningError("the audit-log key must be an ECDSA P-256 key")
        self._key = private_key
        self.public_key = private_key.public_key()
        self.log = log_id(self.public_key)

    def sign(self, checkpoint: bytes) -> bytes:
        return self._key.sign(checkpoint, ec.ECDSA(hashes.SHA256()))


def make_head(size: int, root: bytes, signer: HeadSigner, timestamper: Timestamper) -> SignedTreeHead:
    """Sign and timestamp the head ``(size, root)`` now."""
    head = TreeHead(size, root, clock.now(), signer.log)
    checkpoint = head.checkpoint()
    signature = signer.sign(checkpoint)
    token = timestamper.timestamp(hashlib.sha256(checkpoint).digest(), algorithm="sha256")
    return SignedTreeHead(head, checkpoint, signature, token.der)


def check_head(
    sth: SignedTreeHead, public_key: ec.EllipticCurvePublicKey, verify_token: TokenVerifier | None
) -> list[str]:
    """What is wrong with a head on its own (signature, key, timestamp); empty when it is sound."""
    problems: list[str] = []
    if sth.head.log != log_id(public_key):
        problems.append("is signed for a different audit-log key")
    try:
        public_key.verify(sth.signature, sth.checkpoint, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        problems.append("signature does not verify with the audit-log public key")
    if verify_token is None:
        problems.append("timestamp not checked: no TSA verifier is configured")
        return problems
    digest = hashlib.sha256(sth.checkpoint).digest()
    try:
        token = verify_token(sth.token, digest)
    except Exception as exc:  # a malformed token is a finding, never a traceback
        problems.append(f"timestamp token does not verify: {exc}")
        return problems
    if token.message_imprint != digest:
        problems.append("timestamp token is over different bytes")
    elif token.time < sth.head.time - MAX_CLOCK_SKEW:
        problems.append(f"timestamp ({format_time(token.time)}) is before the head's own time")
    elif token.time > sth.head.time + MAX_STAMP_DELAY:
        problems.append(f"timestamp ({format_time(token.time)}) is long after the head's own time")
    return problems


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise VerificationError(f"{path}: the audit-log public key is missing") from None
    except ValueError as exc:
        raise VerificationError(f"{path}: not a PEM public key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise VerificationError(f"{path}: the audit-log key must be ECDSA P-256")
    return key
