"""The tree heads an evidence bundle's verdict rests on, checked offline: an event's inclusion proof to a head,
and the two heads around the check-in that let the procedure start (:mod:`consentkit.evidence.checkin_heads`) —
the one the check-in names (its RFC 3161 time: the lower bound) and the first one whose tree holds the start (the
upper bound), in the folders ``bundle.json`` names."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from cryptography import x509

from consentkit.audit import merkle
from consentkit.audit.heads import SignedTreeHead, TreeHead, check_head, response_to_token
from consentkit.errors import VerificationError
from consentkit.evidence import bundle as b
from consentkit.evidence.checkin_heads import HEADS_DIR, named_head, sha256_hex, start_and_checkin
from consentkit.evidence.history import LoggedEvent
from consentkit.evidence.report import EvidenceReport


def check_proof(
    files: dict[str, bytes], index: int, leaf: bytes, sth: SignedTreeHead | None, name: str | None = None
) -> str | None:
    """What is wrong with event ``index``'s inclusion proof (``name``, default its proof to the bundle's head) in
    ``sth``'s tree; None when it leads to the head's root."""
    if sth is None:
        return "the tree head its proof leads to is not readable"
    raw = files.get(name or b.proof_name(index))
    if raw is None:
        return "no inclusion proof in the bundle"
    try:
        proof = json.loads(raw)
        hashes_ = [bytes.fromhex(h) for h in proof["hashes"]]
        size, claimed = int(proof["size"]), int(proof["index"])
    except (ValueError, KeyError, TypeError) as exc:
        return f"its inclusion proof is not readable ({type(exc).__name__})"
    if claimed != index or size != sth.size:
        return f"its proof is for event {claimed} in a tree of {size}, not event {index} in the head's {sth.size}"
    try:
        merkle.verify_inclusion(index, size, leaf, hashes_, sth.root)
    except merkle.ProofError:
        return "its bytes are not in the tree the head signs (the event or its proof was changed)"
    return None


def checkin_bounds(
    files: dict[str, bytes],
    folders: object,
    events: list[LoggedEvent],
    roots: list[x509.Certificate],
    key: Any,
    report: EvidenceReport,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The RFC 3161 times around the check-in that let the procedure start (:mod:`consentkit.evidence.
    checkin_heads`): after the token of the head the check-in names; the start recorded before the token of the
    first head whose tree holds it. ``folders`` is ``checkin_heads`` from bundle.json: the two head folders the
    verdict relies on must be there — a removed one is a problem, never a silent fall back to another head."""
    start, checkin = start_and_checkin(events)
    if start is None:
        return None, None
    named = folders if isinstance(folders, dict) else {}
    lower = _lower_bound(files, named, checkin, roots, key, report) if checkin is not None else None
    upper = None
    folder = _head_folder(files, named, "upper", report)
    if folder is not None:
        name = f"{folder}/proofs/{start.index:08d}.json"
        problem = check_proof(files, start.index, start.leaf, _load_head(files, folder), name)
        if problem:
            report.problems.append(f"event {start.index} ({start.type}) in {folder}: {problem}")
        else:
            upper = _bound_head(files, folder, roots, key, report)
    return lower, upper


def _lower_bound(
    files: dict[str, bytes],
    named: dict[str, Any],
    checkin: LoggedEvent,
    roots: list[x509.Certificate],
    key: Any,
    report: EvidenceReport,
) -> dt.datetime | None:
    """The RFC 3161 time of the head the check-in names (None when it names none: an older check-in)."""
    hashes = named_head(checkin)
    if hashes is None:
        return None
    folder = _head_folder(files, named, "lower", report)
    if folder is None:
        return None
    if sha256_hex(files[f"{folder}/head.json"]) != hashes[0]:
        report.problems.append(f"{folder}/head.json: not the tree head the check-in (event {checkin.index}) names")
        return None
    if sha256_hex(files.get(f"{folder}/head.tsr", b"")) != hashes[1]:
        report.problems.append(f"{folder}/head.tsr: not the token the check-in (event {checkin.index}) names")
        return None
    return _bound_head(files, folder, roots, key, report)


def _head_folder(files: dict[str, bytes], named: dict[str, Any], which: str, report: EvidenceReport) -> str | None:
    """The ``lower`` or ``upper`` check-in head's folder that bundle.json names, when it is in the bundle."""
    folder = named.get(which)
    if not isinstance(folder, str) or not folder.startswith(f"{HEADS_DIR}/"):
        report.problems.append(
            f"{b.INDEX} names no {which} check-in head under {HEADS_DIR}/ (checkin_heads.{which}), which the "
            "cooling-off verdict needs"
        )
        return None
    if f"{folder}/head.json" not in files:
        report.problems.append(f"{folder}: the {which} check-in head {b.INDEX} names is missing from the bundle")
        return None
    return folder


def _load_head(files: dict[str, bytes], folder: str) -> SignedTreeHead | None:
    try:
        checkpoint = files[f"{folder}/head.json"]
        return SignedTreeHead(
            TreeHead.parse(checkpoint),
            checkpoint,
            files[f"{folder}/head.sig"],
            response_to_token(files[f"{folder}/head.tsr"]),
        )
    except (KeyError, VerificationError):
        return None


def _bound_head(
    files: dict[str, bytes], folder: str, roots: list[x509.Certificate], key: Any, report: EvidenceReport
) -> dt.datetime | None:
    """The verified RFC 3161 time of the head in ``folder``; None (and a problem) when it does not verify."""
    from consentkit.tsa import verify_token

    sth = _load_head(files, folder)
    if sth is None:
        report.problems.append(f"{folder}: not a complete, readable tree head")
        return None
    stamped: list[dt.datetime] = []

    def verifier(der: bytes, digest: bytes) -> Any:
        token = verify_token(der, digest, roots, is_digest=True)
        stamped.append(token.time)
        return token

    problems = check_head(sth, key, verifier)
    report.problems += [f"the tree head in {folder} {p}" for p in problems]
    return stamped[0] if stamped and not problems else None
