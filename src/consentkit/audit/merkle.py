"""RFC 9162 §2.1 Merkle tree hashing, inclusion and consistency proofs, and their verifiers.

The tree over leaves ``d(0) … d(n-1)`` is the one of RFC 6962/9162: leaf hash ``SHA-256(0x00 ‖ d)``, node hash
``SHA-256(0x01 ‖ left ‖ right)``, and for ``n > 1`` the left subtree holds the largest power of two smaller than
``n`` leaves.

Storage follows Trillian and the Go checksum database (``golang.org/x/mod/sumdb/tlog``): the hash of every
*complete* subtree is stored once, when its last leaf is appended, under ``(level, index)`` — the subtree of level
``l`` and index ``i`` covers leaves ``[i·2^l, (i+1)·2^l)``. Any tree hash or proof for a tree of ``n`` leaves is a
fold of O(log n) such stored hashes: :func:`inclusion_plan` and :func:`consistency_plan` say which, and
:func:`prove` fetches them in one batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]  # (level, index) of a complete subtree
Term = tuple[int, int]  # a leaf range [start, end) whose tree hash is one element of a proof
NodeReader = Callable[[Sequence[NodeId]], dict[NodeId, bytes]]


class ProofError(ValueError):
    """A proof was asked for sizes or an index that do not exist, or did not verify."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly smaller than ``size`` (``size > 1``)."""
    return 1 << ((size - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[NodeId]:
    """The complete subtrees that make up leaves ``[start, end)``, left to right (largest first).

    Only ranges that occur in RFC 9162's recursion are accepted: ``start`` aligned to the power of two that covers
    ``end - start``. Their tree hash is the right fold of these subtrees' hashes (:func:`fold`).
    """
    size = end - start
    if size <= 0 or start % (1 << (size - 1).bit_length()):
        raise ProofError(f"[{start}, {end}) is not a subtree range of an RFC 9162 tree")
    nodes: list[NodeId] = []
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """Tree hash of consecutive complete subtrees given largest first: ``H(h0, H(h1, … H(h[-2], h[-1])))``."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = hashlib.sha256(b"\x01" + h + acc).digest()
    return acc


def root_plan(size: int) -> list[NodeId]:
    """The stored subtrees whose fold is the root of the tree of ``size`` leaves (``size > 0``)."""
    return range_nodes(0, size)


def inclusion_plan(index: int, size: int) -> list[Term]:
    """The leaf ranges whose tree hashes form the inclusion proof of leaf ``index`` in a tree of ``size`` leaves,
    in RFC 9162 order (PATH(m, D[n]), the sibling nearest the leaf first)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    terms: list[Term] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            terms.append((start + k, end))
            end = start + k
        else:
            terms.append((start, start + k))
            start += k
    terms.reverse()
    return terms


def consistency_plan(old_size: int, new_size: int) -> list[Term]:
    """The leaf ranges whose tree hashes form the consistency proof from ``old_size`` to ``new_size`` (RFC 9162
    PROOF(m, D[n]); empty when the sizes are equal or ``old_size`` is 0)."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    terms: list[Term] = []
    start, end, whole = 0, new_size, True
    while old_size != end:
        k = _split(end - start)
        if old_size <= start + k:
            terms.append((start + k, end))
            end = start + k
        else:
            terms.append((start, start + k))
            start += k
            whole = False
    if not whole:
        terms.append((start, end))
    terms.reverse()
    return terms


def plan_nodes(terms: Iterable[Term]) -> list[NodeId]:
    """Every stored subtree a list of terms needs, without repeats."""
    seen: dict[NodeId, None] = {}
    for start, end in terms:
        for node in range_nodes(start, end):
            seen[node] = None
    return list(seen)


def evaluate(terms: Sequence[Term], read: NodeReader) -> list[bytes]:
    """Tree hashes of ``terms``, reading every needed stored subtree in one call to ``read``."""
    stored = read(plan_nodes(terms))
    try:
        return [fold([stored[node] for node in range_nodes(start, end)]) for start, end in terms]
    except KeyError as exc:
        raise ProofError(f"stored subtree {exc.args[0]} is missing") from None


def tree_root(size: int, read: NodeReader) -> bytes:
    if size == 0:
        return EMPTY_ROOT
    return evaluate([(0, size)], read)[0]


@dataclass
class Frontier:
    """The right border of a tree (Trillian's compact range): the complete subtrees of :func:`root_plan`, with
    their hashes. Appending a leaf yields the stored subtrees it completes, leaf first (tlog's append order)."""

    size: int
    nodes: list[tuple[NodeId, bytes]]

    @classmethod
    def empty(cls) -> Frontier:
        return cls(0, [])

    @classmethod
    def load(cls, size: int, read: NodeReader) -> Frontier:
        if size == 0:
            return cls.empty()
        ids = root_plan(size)
        stored = read(ids)
        try:
            return cls(size, [(node, stored[node]) for node in ids])
        except KeyError as exc:
            raise ProofError(f"stored subtree {exc.args[0]} is missing") from None

    def append(self, leaf: bytes) -> list[tuple[NodeId, bytes]]:
        created: list[tuple[NodeId, bytes]] = [((0, self.size), leaf)]
        nodes = self.nodes
        nodes.append(created[0])
        while len(nodes) >= 2 and nodes[-1][0][0] == nodes[-2][0][0]:
            (level, index), right = nodes.pop()
            left = nodes.pop()[1]
            parent = ((level + 1, index >> 1), hashlib.sha256(b"\x01" + left + right).digest())
            nodes.append(parent)
            created.append(parent)
        self.size += 1
        return created

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        return fold([h for _, h in self.nodes])


# --- verifiers (RFC 9162 §2.1.3.2 and §2.1.4.2, step by step) ---


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` leads to from ``leaf`` at ``index``; raises :class:`ProofError` if it cannot be one."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    if len(leaf) != HASH_SIZE or any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("a hash in the proof is not 32 bytes")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is too short")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows ``leaf`` at ``index`` in the tree ``(size, root)``."""
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(f"the inclusion proof of leaf {index} does not lead to the root of tree size {size}")


def verify_consistency(old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows the tree ``(new_size, new_root)`` extends
    ``(old_size, old_root)``."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"a tree of size {new_size} cannot extend one of size {old_size}")
    if any(len(c) != HASH_SIZE for c in proof):
        raise ProofError("a hash in the proof is not 32 bytes")
    if old_size == new_size:
        if proof:
            raise ProofError("the consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError(f"two different roots for tree size {old_size}")
        return
    if old_size == 0:
        if proof:
            raise ProofError("the consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    if fr != old_root:
        raise ProofError(f"the consistency proof does not lead to the root of tree size {old_size}")
    if sr != new_root:
        raise ProofError(f"the consistency proof does not lead to the root of tree size {new_size}")
