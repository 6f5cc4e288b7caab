"""The RFC 3161 times on either side of the check-in that let a procedure start.

The gate (:mod:`consentkit.workflow.checkin`) makes a signed, timestamped tree head just before it appends
``procedure.checkin`` and names that head and its token by SHA-256 in the event (``tree-head.json``,
``tree-head.tsr``). A token's bytes cannot be known before the TSA signs them, so the check-in happened after the
token's time: the **lower bound**. The first head whose tree holds ``procedure.started`` was timestamped after the
start was recorded: the **upper bound**. The evidence bundle carries both heads under ``log/heads/<size>-<hash>/``
(``head.json``, ``.sig``, ``.tsr``, and ``proofs/<index>.json`` / ``.path`` of the start and the check-in in the
upper head's tree; ``bundle.json`` names both folders), and ``verify-evidence`` and VERIFY.md prove the
cooling-off period from them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from consentkit.evidence.history import LoggedEvent, latest

if TYPE_CHECKING:
    from consentkit.audit.heads import SignedTreeHead

HEAD_JSON = "tree-head.json"  # the names procedure.checkin gives the head it follows, in its documents
HEAD_TSR = "tree-head.tsr"
HEADS_DIR = "log/heads"


def head_dir(sth: SignedTreeHead) -> str:
    """``log/heads/<size>-<first 12 hex of the head's SHA-256>``: two heads of one size (made with no event between
    them) get folders of their own."""
    return f"{HEADS_DIR}/{sth.size:08d}-{sha256_hex(sth.checkpoint)[:12]}"


def head_proof(sth: SignedTreeHead, index: int, ext: str = "json") -> str:
    return f"{head_dir(sth)}/proofs/{index:08d}.{ext}"


def start_and_checkin(events: Sequence[LoggedEvent]) -> tuple[LoggedEvent | None, LoggedEvent | None]:
    """The latest ``procedure.started`` and the passing check-in it refers to (None where absent)."""
    start = latest(events, "procedure.started")
    if start is None:
        return None, None
    passed = {e.index: e for e in events if e.type == "procedure.checkin" and e.event.data.outcome == "pass"}
    checkin = next((passed[r.index] for r in start.event.refs if r.index in passed), None)
    return start, checkin


def named_head(checkin: LoggedEvent) -> tuple[str, str] | None:
    """The hex SHA-256 of the head (checkpoint bytes) and of its token (``.tsr``) a check-in names, if it does."""
    checkpoint, token = checkin.document(HEAD_JSON), checkin.document(HEAD_TSR)
    return (checkpoint, token) if checkpoint and token else None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
