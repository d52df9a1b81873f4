"""RFC 6962/9162 proofs checked against a brute-force tree for every size up to 64."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.audit.merkle import (
    EMPTY_ROOT,
    CompactRange,
    consistency_path,
    inclusion_path,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

SIZES = range(1, 65)


def _mth(leaves: list[bytes]) -> bytes:
    """The RFC 6962 definition, recursively (the brute force)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(f"entry-{i}".encode()) for i in range(n)]


ALL = _leaves(64)


def _bad(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


def test_hashes_have_distinct_prefixes() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert root_of([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("n", SIZES)
def test_roots_match_the_definition(n: int) -> None:
    leaves = ALL[:n]
    rng = CompactRange()
    for i, leaf in enumerate(leaves, start=1):
        rng.push(leaf)
        assert rng.root() == _mth(leaves[:i])
    assert root_of(leaves) == _mth(leaves)


@pytest.mark.parametrize("n", SIZES)
def test_every_inclusion_proof_verifies_and_tampering_fails(n: int) -> None:
    leaves = ALL[:n]
    root = _mth(leaves)
    for i in range(n):
        path = inclusion_path(i, leaves)
        assert verify_inclusion(i, n, leaves[i], path, root)
        assert not verify_inclusion(i, n, _bad(leaves[i]), path, root)
        assert not verify_inclusion(i, n, leaves[i], path, _bad(root))
        if path:
            assert not verify_inclusion(i, n, leaves[i], [_bad(path[0]), *path[1:]], root)
            assert not verify_inclusion(i, n, leaves[i], path[:-1], root)
        if n > 1:
            j = (i + 1) % n
            assert not verify_inclusion(j, n, leaves[i], path, root)


@pytest.mark.parametrize("n", SIZES)
def test_every_consistency_proof_verifies_and_tampering_fails(n: int) -> None:
    leaves = ALL[:n]
    new_root = _mth(leaves)
    for m in range(1, n + 1):
        old_root = _mth(leaves[:m])
        path = consistency_path(m, leaves)
        assert verify_consistency(m, n, old_root, new_root, path)
        assert not verify_consistency(m, n, _bad(old_root), new_root, path)
        assert not verify_consistency(m, n, old_root, _bad(new_root), path)
        if path:
            assert not verify_consistency(m, n, old_root, new_root, [_bad(path[0]), *path[1:]])
            assert not verify_consistency(m, n, old_root, new_root, path[:-1])


def test_a_rewritten_prefix_is_not_consistent() -> None:
    leaves = _leaves(40)
    forged = list(leaves)
    forged[3] = leaf_hash(b"forged")
    path = consistency_path(10, forged)
    assert not verify_consistency(10, 40, root_of(leaves[:10]), root_of(forged), path)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), data=st.data())
def test_proofs_hold_for_random_sizes(n: int, data: st.DataObject) -> None:
    leaves = _leaves(n)
    root = root_of(leaves)
    i = data.draw(st.integers(0, n - 1))
    m = data.draw(st.integers(1, n))
    assert verify_inclusion(i, n, leaves[i], inclusion_path(i, leaves), root)
    assert verify_consistency(m, n, root_of(leaves[:m]), root, consistency_path(m, leaves))


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="leaf index"):
        inclusion_path(3, ALL[:3])
    with pytest.raises(ValueError, match="old tree size"):
        consistency_path(0, ALL[:3])
    assert not verify_inclusion(5, 3, ALL[0], [], root_of(ALL[:3]))
    assert not verify_consistency(4, 3, ALL[0], ALL[0], [])
