"""RFC 9162 Merkle tree: published test vectors, and every proof of every small tree against the RFC's own
recursive definitions (MTH, PATH, PROOF)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest

from consentkit.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    NodeId,
    ProofError,
    consistency_plan,
    evaluate,
    inclusion_plan,
    leaf_hash,
    node_hash,
    range_nodes,
    root_from_inclusion_proof,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

# --- the RFC's definitions, written recursively and used as the reference -------------------------------------


def mth(leaves: Sequence[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def reference_consistency(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    return [] if m in (0, len(leaves)) else subproof(m, leaves, True)


class MemoryTree:
    """Stores every complete subtree by (level, index), as the audit store does, and counts reads."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.nodes: dict[NodeId, bytes] = {}
        frontier = Frontier.empty()
        for data in leaves:
            for node, h in frontier.append(leaf_hash(data)):
                assert node not in self.nodes
                self.nodes[node] = h
        self.frontier = frontier
        self.reads = 0

    def read(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
        self.reads += len(ids)
        return {i: self.nodes[i] for i in ids}


def data(n: int) -> list[bytes]:
    return [f"event {i}".encode() for i in range(n)]


# --- published vectors -----------------------------------------------------------------------------------------
# Source: github.com/transparency-dev/merkle, rfc6962/rfc6962_test.go (TestRFC6962Hasher) and proof/verify_test.go
# (leaves, roots, inclusionProofs, consistencyProofs), Apache-2.0. These are the RFC 6962 test vectors that
# Certificate Transparency's C++ and Go implementations share.


def h(hex_: str) -> bytes:
    return bytes.fromhex(hex_)


def test_hasher_vectors() -> None:
    assert h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == EMPTY_ROOT
    assert leaf_hash(b"") == h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert leaf_hash(b"L123456") == h("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
    assert node_hash(b"N123", b"N456") == h("aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb")


LEAVES = [
    b"",
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]
ROOTS = [
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]
# (1-based leaf, tree size, proof) as in verify_test.go
INCLUSION = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (3, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        2,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]


def test_vector_roots() -> None:
    tree = MemoryTree(LEAVES)
    for size in range(1, 9):
        assert mth(LEAVES[:size]) == ROOTS[size - 1]
        assert tree_root(size, tree.read) == ROOTS[size - 1]


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION)
def test_vector_inclusion(leaf: int, size: int, proof: list[bytes]) -> None:
    tree = MemoryTree(LEAVES)
    assert evaluate(inclusion_plan(leaf - 1, size), tree.read) == proof
    verify_inclusion(leaf - 1, size, leaf_hash(LEAVES[leaf - 1]), proof, ROOTS[size - 1])


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY)
def test_vector_consistency(size1: int, size2: int, proof: list[bytes]) -> None:
    tree = MemoryTree(LEAVES)
    assert evaluate(consistency_plan(size1, size2), tree.read) == proof
    verify_consistency(size1, size2, proof, ROOTS[size1 - 1], ROOTS[size2 - 1])


SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def corrupt_inclusion(index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes) -> list[tuple]:
    """The probes of verify_test.go's corruptInclusionProof: each must fail."""
    probes = [
        (index - 1, size, root, leaf, proof),
        (index + 1, size, root, leaf, proof),
        (index ^ 2, size, root, leaf, proof),
        (index, size * 2, root, leaf, proof),
        (index, size // 2, root, leaf, proof),
        (index, size, root, b"WrongLeaf", proof),
        (index, size, EMPTY_ROOT, leaf, proof),
        (index, size, SOME_HASH, leaf, proof),
        (index, size, root, leaf, [*proof, b""]),
        (index, size, root, leaf, [*proof, root]),
        (index, size, root, leaf, [b"", *proof]),
        (index, size, root, leaf, [root, *proof]),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
        probes.append((index, size, root, leaf, wrong))
    if proof:
        probes.append((index, size, root, leaf, proof[:-1]))
    if len(proof) > 1:
        probes.append((index, size, root, leaf, [proof[0], SOME_HASH, *proof[1:]]))
    return probes


def corrupt_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]) -> list[tuple]:
    probes = [
        (size1 - 1, size2, root1, root2, proof),
        (size1 + 1, size2, root1, root2, proof),
        (size1 ^ 2, size2, root1, root2, proof),
        (size1, size2 * 2, root1, root2, proof),
        (size1, size2 // 2, root1, root2, proof),
        (size1, size2, b"WrongRoot", root2, proof),
        (size1, size2, root1, b"WrongRoot", proof),
        (size1, size2, root2, root1, proof),
        (size1, size2, root1, root2, []),
        (size1, size2, root1, root2, [*proof, b""]),
        (size1, size2, root1, root2, [*proof, root1]),
        (size1, size2, root1, root2, [*proof, root2]),
        (size1, size2, root1, root2, [b"", *proof]),
        (size1, size2, root1, root2, [root1, *proof]),
        (size1, size2, root1, root2, [root2, *proof]),
        (size1, size2, root1, root2, [proof[0], *proof]),
        (size1, size2, root1, root2, proof[:-1]),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 16]) + wrong[i][1:]
        probes.append((size1, size2, root1, root2, wrong))
    return probes


def inclusion_fails(index: int, size: int, root: bytes, leaf: bytes, proof: list[bytes]) -> bool:
    try:
        verify_inclusion(index, size, leaf, proof, root)
    except ProofError:
        return True
    return False


def consistency_fails(size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]) -> bool:
    try:
        verify_consistency(size1, size2, proof, root1, root2)
    except ProofError:
        return True
    return False


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION[1:])
def test_vector_inclusion_corruptions_fail(leaf: int, size: int, proof: list[bytes]) -> None:
    leaf_h = leaf_hash(LEAVES[leaf - 1])
    for probe in corrupt_inclusion(leaf - 1, size, proof, ROOTS[size - 1], leaf_h):
        assert inclusion_fails(*probe), probe


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY[1:])
def test_vector_consistency_corruptions_fail(size1: int, size2: int, proof: list[bytes]) -> None:
    for probe in corrupt_consistency(size1, size2, ROOTS[size1 - 1], ROOTS[size2 - 1], proof):
        assert consistency_fails(*probe), probe


def test_single_entry_and_edge_cases() -> None:
    leaf = leaf_hash(b"data")
    verify_inclusion(0, 1, leaf, [], leaf)
    for root, lf in ((leaf, b""), (b"", leaf), (b"", b"")):
        assert inclusion_fails(0, 1, root, lf, [])
    for index, size in ((0, 0), (0, 1), (1, 0), (2, 1)):
        assert inclusion_fails(index, size, b"", SOME_HASH, [])
        assert inclusion_fails(index, size, EMPTY_ROOT, b"", [])
        assert inclusion_fails(index, size, EMPTY_ROOT, SOME_HASH, [])
    r1, r2 = b"don't care 1", b"don't care 2"
    # from verify_test.go TestVerifyConsistency
    assert consistency_fails(0, 0, r1, r2, [])
    assert consistency_fails(1, 1, r1, r2, [])
    assert not consistency_fails(0, 0, r1, r1, [])
    assert not consistency_fails(0, 1, r1, r2, [])
    assert not consistency_fails(1, 1, r2, r2, [])
    assert consistency_fails(1, 0, r1, r2, [])
    assert consistency_fails(2, 1, r1, r2, [])
    assert consistency_fails(1, 2, r1, r2, [])
    assert consistency_fails(0, 0, EMPTY_ROOT, r2, [])
    assert consistency_fails(1, 1, EMPTY_ROOT, r2, [])
    assert consistency_fails(0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    assert consistency_fails(0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    assert consistency_fails(1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])


# --- exhaustive checks for small trees -------------------------------------------------------------------------

MAX = 64


@pytest.fixture(scope="module")
def big_tree() -> tuple[list[bytes], MemoryTree]:
    leaves = data(MAX)
    return leaves, MemoryTree(leaves)


def test_every_root_and_frontier(big_tree: tuple[list[bytes], MemoryTree]) -> None:
    leaves, tree = big_tree
    frontier = Frontier.empty()
    for n in range(1, MAX + 1):
        frontier.append(leaf_hash(leaves[n - 1]))
        expected = mth(leaves[:n])
        assert tree_root(n, tree.read) == expected
        assert frontier.root() == expected
        assert Frontier.load(n, tree.read).nodes == frontier.nodes
    # every complete subtree is stored exactly once: 2n - popcount(n) of them
    assert len(tree.nodes) == 2 * MAX - bin(MAX).count("1")


def test_every_inclusion_proof(big_tree: tuple[list[bytes], MemoryTree]) -> None:
    leaves, tree = big_tree
    for n in range(1, MAX + 1):
        root = mth(leaves[:n])
        for m in range(n):
            proof = evaluate(inclusion_plan(m, n), tree.read)
            assert proof == path(m, leaves[:n]), (m, n)
            lh = leaf_hash(leaves[m])
            assert root_from_inclusion_proof(m, n, lh, proof) == root
            if n <= 16 and proof:
                for probe in corrupt_inclusion(m, n, proof, root, lh):
                    assert inclusion_fails(*probe), (m, n, probe)


def test_every_consistency_proof(big_tree: tuple[list[bytes], MemoryTree]) -> None:
    leaves, tree = big_tree
    roots = [mth(leaves[:n]) for n in range(MAX + 1)]
    for n in range(1, MAX + 1):
        for m in range(n + 1):
            proof = evaluate(consistency_plan(m, n), tree.read)
            assert proof == reference_consistency(m, leaves[:n]), (m, n)
            verify_consistency(m, n, proof, roots[m], roots[n])
            if 0 < m < n:
                assert consistency_fails(m, n, roots[m - 1] if m > 1 else SOME_HASH, roots[n], proof)
                if n <= 16:
                    for probe in corrupt_consistency(m, n, roots[m], roots[n], proof):
                        assert consistency_fails(*probe), (m, n, probe)


def test_proofs_read_logarithmically_many_stored_hashes() -> None:
    n = 1_000_003
    # The plans alone (no hashing): reads grow with log2(n), not n.
    for index in (0, 1, n // 2, n - 2, n - 1):
        nodes = {node for start, end in inclusion_plan(index, n) for node in range_nodes(start, end)}
        assert len(nodes) <= 2 * n.bit_length()
    for old in (1, 7, n // 3, n - 1):
        nodes = {node for start, end in consistency_plan(old, n) for node in range_nodes(start, end)}
        assert len(nodes) <= 3 * n.bit_length()


def test_bad_ranges_and_sizes_are_refused() -> None:
    with pytest.raises(ProofError):
        range_nodes(1, 3)
    with pytest.raises(ProofError):
        inclusion_plan(5, 5)
    with pytest.raises(ProofError):
        consistency_plan(6, 5)
    with pytest.raises(ProofError):
        evaluate([(0, 4)], lambda ids: {})
