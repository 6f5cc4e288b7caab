"""The audit log: append events, make signed tree heads, prove inclusion and consistency, verify everything.

    log = AuditLog.for_workspace(ws)
    done = log.append(events.case_read(case="C-1", subject=sid, actor="li.na", actor_role="nurse", via="audit-show"))
    sth = log.head()                                   # signed + timestamped, stored
    proof = log.prove_inclusion(done.index, sth.size)  # O(log n) stored hashes
    proof.verify(sth.root)
    report = log.verify()                              # recompute everything from the stored rows

Each append is one exclusive transaction: it validates the events, checks their references against the stored
leaves, stores the events, their leaf hashes and every subtree they complete, and commits — or leaves nothing. On
PostgreSQL, concurrent single appends share such transactions: one writer integrates every event queued meanwhile
(see ``store/postgres.py``).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from consentkit.audit import merkle
from consentkit.audit.events import (
    EventError,
    _Event,
    event_bytes,
    event_type,
    format_time,
    parse_event,
)
from consentkit.audit.heads import (
    KEY_FILE,
    PUBLIC_KEY_FILE,
    HeadSigner,
    SignedTreeHead,
    TokenVerifier,
    TreeHead,
    load_public_key,
    make_head,
)
from consentkit.audit.kept_heads import KEPT_DIR, KEPT_FILE, KeptHead, KeptHeads
from consentkit.audit.store import AuditStore, EventRow, HeadRow, Snapshot, StoreError, open_store
from consentkit.errors import IntegrityError, SigningError, VerificationError
from consentkit.tsa import Timestamper, TimestampToken

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

    from consentkit.audit.verify import VerifyReport
    from consentkit.workspace import Workspace


@dataclass(frozen=True)
class Appended:
    """Where an event landed: its leaf index and leaf hash, and the log size after the append."""

    index: int
    leaf: bytes
    size: int


@dataclass(frozen=True)
class StoredEvent:
    index: int
    leaf: bytes
    body: bytes

    @property
    def event(self) -> Any:
        return parse_event(self.body)


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf: bytes
    hashes: tuple[bytes, ...]

    def verify(self, root: bytes) -> None:
        """Raise :class:`VerificationError` unless this proof leads to ``root``."""
        try:
            merkle.verify_inclusion(self.index, self.size, self.leaf, self.hashes, root)
        except merkle.ProofError as exc:
            raise VerificationError(str(exc)) from None


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    hashes: tuple[bytes, ...]

    def verify(self, old_root: bytes, new_root: bytes) -> None:
        try:
            merkle.verify_consistency(self.old_size, self.new_size, self.hashes, old_root, new_root)
        except merkle.ProofError as exc:
            raise VerificationError(str(exc)) from None


def os_user() -> str:
    """The operating-system user, as an actor id."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid-{os.getuid()}"


class AuditLog:
    """One audit log in one database. Not thread-safe: give each thread or process its own."""

    def __init__(
        self,
        store: AuditStore,
        *,
        signer: HeadSigner | Callable[[], HeadSigner] | None = None,
        timestamper: Timestamper | Callable[[], Timestamper] | None = None,
        public_key: ec.EllipticCurvePublicKey | None = None,
        verify_token: TokenVerifier | None = None,
        kept: KeptHeads | None = None,
    ) -> None:
        self.store = store
        self.kept = kept  # where every head made is also kept, outside the database
        self._signer = signer
        self._timestamper = timestamper
        self.public_key = public_key
        self.verify_token = verify_token
        self._before_commit: Callable[[], None] | None = None  # tests: simulate a crash inside the transaction
        # the tree's right border after this log's last append: reused when the log has not grown since (no other
        # writer), which saves the read of the border's hashes on every append
        self._border: merkle.Frontier | None = None

    # --- opening ---

    @classmethod
    def open(cls, url: str, **options: Any) -> AuditLog:
        """Open (and migrate) the log at ``url``; ``options`` as for the constructor."""
        return cls(open_store(url), **options)

    @classmethod
    def for_workspace(
        cls,
        ws: Workspace,
        *,
        timestamper: Timestamper | Callable[[], Timestamper] | None = None,
        verify_token: TokenVerifier | None = None,
        secret: bytes | None = None,
    ) -> AuditLog:
        """The workspace's log: its ``database_url``, its audit-log key and TSA (unlocked with the workspace
        passphrase — ``secret``, or asked for only when a head is made), its trust anchors for checking heads'
        timestamps, and its kept heads (``.consentkit/heads/``)."""
        from consentkit import keystore

        pki = keystore.pki_dir(ws)
        unlocked: list[bytes] = [secret] if secret is not None else []

        def unlock() -> bytes:
            if not unlocked:
                unlocked.append(keystore.passphrase(ws))
            return unlocked[0]

        def signer() -> HeadSigner:
            return HeadSigner(keystore.load_private_key(pki / KEY_FILE, unlock()))

        def workspace_tsa() -> Timestamper:
            from consentkit.tsa import external_tsa, workspace_timestamper

            return external_tsa(ws) or workspace_timestamper(ws, unlock())

        public = pki / PUBLIC_KEY_FILE
        return cls.open(
            ws.database_url(),
            signer=signer,
            timestamper=timestamper or workspace_tsa,
            public_key=load_public_key(public) if public.exists() else None,
            verify_token=verify_token or workspace_token_verifier(ws),
            kept=KeptHeads(ws.state_dir / KEPT_DIR),
        )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- appending ---

    def append(self, event: _Event, *, head: bool = False) -> Appended:
        """Append one event in its own transaction; with ``head=True`` also make a signed tree head after it."""
        done = self._append_queued(event) if self.store.queues_appends else self.append_many([event])[0]
        if head:
            self.head()
        return done

    def append_many(self, events: Sequence[_Event]) -> list[Appended]:
        """Append several events in one transaction (all or none), in order."""
        if not events:
            return []
        checked = list(events)
        bodies = [event_bytes(e) for e in checked]  # refuses anything that is not a valid event
        leaves = [merkle.leaf_hash(b) for b in bodies]
        border, self._border = self._border, None  # kept again only once this append has committed
        with self.store.appending() as tx:
            start = tx.size()
            self._check_refs(tx, start, checked, leaves)
            if border is not None and border.size == start:
                frontier = merkle.Frontier(start, list(border.nodes))
            else:
                frontier = merkle.Frontier.load(start, tx.read_nodes)
            nodes: list[tuple[merkle.NodeId, bytes]] = []
            for leaf in leaves:
                nodes.extend(frontier.append(leaf))
            tx.insert_events([_row(start + i, e, b) for i, (e, b) in enumerate(zip(checked, bodies, strict=True))])
            tx.insert_nodes(nodes)
            if self._before_commit is not None:
                self.store.flush()  # the rows are in the database, uncommitted, when the crash comes
                self._before_commit()
        self._border = frontier
        size = start + len(events)
        return [Appended(start + i, leaf, size) for i, leaf in enumerate(leaves)]

    def _append_queued(self, event: _Event) -> Appended:
        """PostgreSQL: one call in which the server hashes the event into the tree and commits it; while events wait
        in the append queue (or the store's ``single_call`` is off), queue the ready event without the append lock,
        and whoever gets the lock next integrates every queued event in one batch (see ``store/postgres.py``). An
        event with references takes the direct path, so that a bad reference fails its own writer's append and not
        another writer's batch."""
        body = event_bytes(event)
        if event.refs:
            return self.append_many([event])[0]
        leaf = merkle.leaf_hash(body)
        border, self._border = self._border, None  # kept again only once a batch of this log's has committed
        if self._before_commit is None:  # one call, the server hashing (store/postgres.py, append_one)
            index = self.store.append_one(_row(0, event, body))
            if index is not None:
                return Appended(index, leaf, index + 1)
        with self.store.queued(_row(0, event, body), leaf, -1 if border is None else border.size) as turn:
            if turn.index is not None:  # in another writer's batch, durably
                return Appended(turn.index, leaf, turn.size())
            start = turn.size()
            if border is not None and border.size == start:
                frontier = merkle.Frontier(start, list(border.nodes))
            elif turn.border is not None:
                frontier = merkle.Frontier.load(start, lambda ids: turn.border or {})
            else:
                frontier = merkle.Frontier.load(start, turn.read_nodes)
            rows: list[EventRow] = []
            nodes: list[tuple[merkle.NodeId, bytes]] = []
            mine = None
            for offset, waiting in enumerate(turn.waiting):
                rows.append(EventRow(start + offset, waiting.type, waiting.case_id, waiting.time, waiting.body))
                nodes.extend(frontier.append(waiting.leaf))
                if waiting.id == turn.queued:
                    mine = start + offset
            if mine is None:
                raise StoreError("the append queue lost this writer's event")  # cannot happen: it holds the lock
            turn.insert_events(rows)
            turn.insert_nodes(nodes)
            turn.dequeue([(w.id, start + i) for i, w in enumerate(turn.waiting) if w.id != turn.queued])
            if self._before_commit is not None:
                self.store.flush()  # the rows are in the database, uncommitted, when the crash comes
                self._before_commit()
        self._border = frontier
        return Appended(mine, leaf, start + len(rows))

    @staticmethod
    def _check_refs(tx: Snapshot, start: int, events: Sequence[Any], leaves: Sequence[bytes]) -> None:
        wanted = {(0, r.index) for e in events for r in e.refs if r.index < start}
        stored = tx.read_nodes(sorted(wanted))
        for offset, e in enumerate(events):
            for r in e.refs:
                if r.index >= start + offset:
                    raise EventError(f"{event_type(e)} event refers to event {r.index}, which is not earlier")
                leaf = stored.get((0, r.index)) if r.index < start else leaves[r.index - start]
                if leaf is None or "sha256:" + leaf.hex() != r.leaf:
                    raise EventError(f"{event_type(e)} event refers to event {r.index} with the wrong leaf hash")

    # --- tree heads ---

    def size(self) -> int:
        with self.store.snapshot() as snap:
            return snap.size()

    def root(self, size: int | None = None) -> bytes:
        with self.store.snapshot() as snap:
            n = snap.size() if size is None else size
            return merkle.tree_root(n, snap.read_nodes)

    def head(self) -> SignedTreeHead:
        """Sign and timestamp the current tree, store the head and return it. Signing and time-stamping happen
        outside the append lock, so a slow TSA never blocks writers."""
        signer = self._resolve_signer()
        timestamper = self._resolve_timestamper()
        with self.store.snapshot() as snap:
            size = snap.size()
            root = merkle.tree_root(size, snap.read_nodes)
        sth = make_head(size, root, signer, timestamper)
        with self.store.appending() as tx:
            head_id = tx.insert_head(
                sth.size, sth.root, format_time(sth.head.time), sth.checkpoint, sth.signature, sth.token
            )
        if self.kept is not None:
            self.kept.keep(sth)
        return SignedTreeHead(sth.head, sth.checkpoint, sth.signature, sth.token, head_id)

    def heads(self) -> list[SignedTreeHead]:
        with self.store.snapshot() as snap:
            rows = snap.heads()
        return [head_from_row(r) for r in rows]

    def latest_head(self) -> SignedTreeHead | None:
        heads = self.heads()
        return max(heads, key=lambda h: (h.size, h.id or 0)) if heads else None

    def _resolve_signer(self) -> HeadSigner:
        signer = self._signer
        if signer is None:
            raise SigningError("no audit-log key: tree heads cannot be signed")
        if not isinstance(signer, HeadSigner):
            signer = self._signer = signer()
        return signer

    def _resolve_timestamper(self) -> Timestamper:
        ts = self._timestamper
        if ts is None:
            raise SigningError("no time-stamping authority configured: tree heads cannot be timestamped")
        if callable(ts) and not hasattr(ts, "timestamp"):
            ts = self._timestamper = ts()
        return ts  # type: ignore[return-value]

    # --- proofs ---

    def prove_inclusion(self, index: int, size: int | None = None) -> InclusionProof:
        """Inclusion of event ``index`` in the tree of ``size`` events (default: the current size)."""
        with self.store.snapshot() as snap:
            n = snap.size() if size is None else size
            if n > snap.size():
                raise VerificationError(f"the log has only {snap.size()} events, not {n}")
            try:
                terms = [(index, index + 1), *merkle.inclusion_plan(index, n)]
                leaf, *hashes = merkle.evaluate(terms, snap.read_nodes)
            except merkle.ProofError as exc:
                raise VerificationError(str(exc)) from None
        return InclusionProof(index, n, leaf, tuple(hashes))

    def prove_consistency(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        with self.store.snapshot() as snap:
            n = snap.size() if new_size is None else new_size
            if n > snap.size():
                raise VerificationError(f"the log has only {snap.size()} events, not {n}")
            try:
                hashes = merkle.evaluate(merkle.consistency_plan(old_size, n), snap.read_nodes)
            except merkle.ProofError as exc:
                raise VerificationError(str(exc)) from None
        return ConsistencyProof(old_size, n, tuple(hashes))

    # --- reading ---

    def event(self, index: int) -> StoredEvent:
        with self.store.snapshot() as snap:
            row = snap.event(index)
            leaf = snap.read_nodes([(0, index)]).get((0, index))
        if row is None or leaf is None:
            raise VerificationError(f"there is no event {index} in the log")
        return StoredEvent(row.index, leaf, row.body)

    def case_events(self, case_id: str) -> list[StoredEvent]:
        """Every event of one case, in log order, with its leaf hash."""
        with self.store.snapshot() as snap:
            rows = snap.case_events(case_id)
            leaves = snap.read_nodes([(0, r.index) for r in rows])
        return [StoredEvent(r.index, leaves.get((0, r.index), b""), r.body) for r in rows]

    # --- verification ---

    def verify(
        self, against: Iterable[SignedTreeHead] = (), *, workers: int | None = None, kept: bool = True
    ) -> VerifyReport:
        """Recompute everything from the stored rows; see :func:`consentkit.audit.verify.verify_snapshot`. The log
        must extend every head in ``against`` and, with ``kept``, every head kept outside the database.
        ``workers``: processes for the event checks of a big log (default: up to 2, one per core)."""
        from consentkit.audit.tokencache import ChainCache

        verify_token = ChainCache(self.verify_token) if self.verify_token is not None else None
        try:
            copies = self.kept.read() if kept and self.kept is not None else []
            # no kept head at all (file deleted or emptied) is worth a warning when the database holds heads
            report = self._verify(verify_token, against, copies, workers)
            if kept and self.kept is not None and not copies and report.heads_checked:
                report.warnings.append(
                    f"no head is kept outside the database ({KEPT_DIR}/{KEPT_FILE} is missing or empty) although "
                    f"the database holds {report.heads_checked} signed heads: deleted? The log was checked only "
                    "against itself; check it against heads kept elsewhere (--against)"
                )
            return report
        except StoreError as exc:  # a damaged database is a finding too
            raise IntegrityError(f"the audit database cannot be read: {exc.message}") from exc

    def _verify(
        self,
        verify_token: TokenVerifier | None,
        against: Iterable[SignedTreeHead],
        kept: list[KeptHead],
        workers: int | None,
    ) -> VerifyReport:
        from consentkit.audit.verify import verify_snapshot

        with self.store.snapshot() as snap:
            return verify_snapshot(
                snap,
                public_key=self.public_key,
                verify_token=verify_token,
                against=against,
                kept=kept,
                url=self.store.url,
                workers=workers if workers is not None else min(2, os.cpu_count() or 1),
            )


def _row(index: int, event: Any, body: bytes) -> EventRow:
    return EventRow(index, event_type(event), getattr(event, "case", None), format_time(event.time), body)


def head_from_row(row: HeadRow) -> SignedTreeHead:
    """A stored head as it claims to be (its checkpoint parsed; verification is separate)."""
    return SignedTreeHead(TreeHead.parse(row.checkpoint), row.checkpoint, row.signature, row.timestamp, row.id)


def workspace_token_verifier(ws: Workspace) -> TokenVerifier:
    """Checks a head's token against the workspace's trust anchors (``signatures/trust/``: the clinic root that
    issued the embedded TSA, and the roots of any external TSA)."""
    from consentkit.sign.trust import workspace_trust_roots
    from consentkit.tsa import verify_token

    roots = workspace_trust_roots(ws)

    def verify(der: bytes, digest: bytes) -> TimestampToken:
        return verify_token(der, digest, roots, is_digest=True)

    return verify
