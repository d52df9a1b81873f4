"""Merkle tree hashing, proofs and their verification, as in RFC 6962 / RFC 9162.

Leaves are ``SHA-256(0x00 || data)``, interior nodes ``SHA-256(0x01 || left || right)``; the tree
over ``n`` leaves splits at the largest power of two below ``n``. Proof generation works on the
list of leaf hashes in O(n); verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2.
:class:`CompactRange` folds leaves one by one into O(log n) state and yields the root of every
prefix, which is how the log verifies a million entries in a single pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "EMPTY_ROOT",
    "CompactRange",
    "ConsistencyProof",
    "InclusionProof",
    "consistency_path",
    "inclusion_path",
    "leaf_hash",
    "node_hash",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def root_of(leaves: Sequence[bytes]) -> bytes:
    """Merkle tree hash of the given leaf hashes (bottom-up, lone right nodes promoted)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        nxt = [
            _sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


class CompactRange:
    """The perfect subtrees covering leaves ``[0, size)``: push leaves, read the root any time."""

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self.size = 0

    def push(self, leaf: bytes) -> None:
        stack = self._stack
        h = leaf
        n = self.size
        while n & 1:
            h = _sha256(b"\x01" + stack.pop() + h).digest()
            n >>= 1
        stack.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        r = self._stack[-1]
        for h in reversed(self._stack[:-1]):
            r = _sha256(b"\x01" + h + r).digest()
        return r


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """Audit path of leaf ``index`` in the tree over ``leaves`` (RFC 6962 PATH)."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError("leaf index outside the tree")
    path: list[bytes] = []
    lo, hi = 0, n
    # walk down, collecting sibling subtree roots, then reverse (leaf-to-root order)
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(root_of(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root_of(leaves[lo : lo + k]))
            lo = lo + k
    path.reverse()
    return path


def consistency_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """Consistency proof between the first ``m`` leaves and all ``leaves`` (RFC 6962 PROOF)."""
    n = len(leaves)
    if not 0 < m <= n:
        raise ValueError("the old tree size must be between 1 and the new size")
    if m == n:
        return []
    out: list[bytes] = []

    def sub(m: int, lo: int, hi: int, whole: bool) -> None:
        size = hi - lo
        if m == size:
            if not whole:
                out.append(root_of(leaves[lo:hi]))
            return
        k = _split(size)
        if m <= k:
            sub(m, lo, lo + k, whole)
            out.append(root_of(leaves[lo + k : hi]))
        else:
            sub(m - k, lo + k, hi, False)
            out.append(root_of(leaves[lo : lo + k]))

    sub(m, 0, n, True)
    return out


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does ``path`` prove ``leaf`` at ``index`` in the tree of ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
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
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: does ``path`` prove the tree ``first`` is a prefix of ``second``?"""
    if first < 1 or first > second:
        return False
    if first == second:
        return not path and first_root == second_root
    if not path:
        return False
    proof = list(path)
    if first & (first - 1) == 0:  # a power of two: the old root is the first node of the path
        proof.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
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
    return sn == 0 and fr == first_root and sr == second_root


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Entry ``seq`` (leaf ``seq - 1``) is in the tree of ``tree_size`` entries with ``root``."""

    seq: int
    tree_size: int
    leaf_hash: bytes
    path: tuple[bytes, ...]
    root: bytes

    def verify(self) -> bool:
        return verify_inclusion(self.seq - 1, self.tree_size, self.leaf_hash, self.path, self.root)


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """The tree of ``first`` entries is a prefix of the tree of ``second`` entries."""

    first: int
    second: int
    first_root: bytes
    second_root: bytes
    path: tuple[bytes, ...]

    def verify(self) -> bool:
        return verify_consistency(
            self.first, self.second, self.first_root, self.second_root, self.path
        )
