"""Envelope encryption: round trips, and every tampering or row swap is caught without values."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.errors import KeyStoreError
from dataward.vault.crypto import (
    CiphertextError,
    KeyWrapper,
    Sealed,
    new_data_key,
    open_value,
    seal_value,
    unwrap_data_key,
    wrap_data_key,
)

ids = st.text(min_size=1, max_size=20)
versions = st.integers(min_value=1, max_value=2**40)
fast = settings(max_examples=60, deadline=None)


@fast
@given(plain=st.binary(max_size=300), subject=ids, field=ids, version=versions)
def test_seal_open_round_trip(plain: bytes, subject: str, field: str, version: int) -> None:
    dek = new_data_key()
    sealed = seal_value(dek, plain, subject_id=subject, field=field, version=version)
    if len(plain) >= 4:
        assert plain not in sealed.ciphertext
    assert open_value(dek, sealed, subject_id=subject, field=field, version=version) == plain


@fast
@given(plain=st.binary(min_size=1, max_size=100), data=st.data())
def test_any_bit_flip_in_nonce_or_ciphertext_is_caught(plain: bytes, data: st.DataObject) -> None:
    dek = new_data_key()
    sealed = seal_value(dek, plain, subject_id="s1", field="email", version=1)
    blob = bytearray(sealed.nonce + sealed.ciphertext)
    pos = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    blob[pos] ^= 1 << bit
    bad = Sealed(nonce=bytes(blob[:12]), ciphertext=bytes(blob[12:]))
    with pytest.raises(CiphertextError):
        open_value(dek, bad, subject_id="s1", field="email", version=1)


@fast
@given(
    subject=ids,
    field=ids,
    version=versions,
    other=st.tuples(ids, ids, versions),
)
def test_associated_data_binds_subject_field_version(
    subject: str, field: str, version: int, other: tuple[str, str, int]
) -> None:
    if other == (subject, field, version):
        return
    dek = new_data_key()
    secret = b"alice@example.com"
    sealed = seal_value(dek, secret, subject_id=subject, field=field, version=version)
    o_subject, o_field, o_version = other
    with pytest.raises(CiphertextError) as info:
        open_value(dek, sealed, subject_id=o_subject, field=o_field, version=o_version)
    assert "alice" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_wrong_key_is_caught() -> None:
    sealed = seal_value(new_data_key(), b"x", subject_id="s", field="f", version=1)
    with pytest.raises(CiphertextError):
        open_value(new_data_key(), sealed, subject_id="s", field="f", version=1)


@fast
@given(subject=ids, kek_id=ids)
def test_wrap_round_trip_and_binding(subject: str, kek_id: str) -> None:
    kek, dek = os.urandom(32), new_data_key()
    wrapped = wrap_data_key(kek, dek, kek_id=kek_id, subject_id=subject)
    assert dek not in wrapped
    assert unwrap_data_key(kek, wrapped, kek_id=kek_id, subject_id=subject) == dek
    with pytest.raises(CiphertextError):
        unwrap_data_key(kek, wrapped, kek_id=kek_id, subject_id=subject + "x")
    with pytest.raises(CiphertextError):
        unwrap_data_key(kek, wrapped, kek_id=kek_id + "x", subject_id=subject)
    with pytest.raises(CiphertextError):
        unwrap_data_key(os.urandom(32), wrapped, kek_id=kek_id, subject_id=subject)


@fast
@given(subjects=st.lists(ids, min_size=2, max_size=5, unique=True), kek_id=ids)
def test_one_wrapper_wraps_many_keys_each_bound_to_its_subject(
    subjects: list[str], kek_id: str
) -> None:
    """A batch's KeyWrapper gives what wrap_data_key gives: keys that unwrap (with the
    associated data built from scratch) for their own subject and KEK id only."""
    kek = os.urandom(32)
    wrapper = KeyWrapper(kek, kek_id)
    deks = {s: new_data_key() for s in subjects}
    wrapped = {s: wrapper.wrap(d, subject_id=s) for s, d in deks.items()}
    for s, w in wrapped.items():
        assert unwrap_data_key(kek, w, kek_id=kek_id, subject_id=s) == deks[s]
        other = next(o for o in subjects if o != s)
        with pytest.raises(CiphertextError):
            unwrap_data_key(kek, w, kek_id=kek_id, subject_id=other)
    assert len({w[:12] for w in wrapped.values()}) == len(subjects)  # a nonce per key


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_wrong_key_sizes_are_refused(size: int) -> None:
    with pytest.raises(KeyStoreError, match="32 bytes"):
        seal_value(b"k" * size, b"x", subject_id="s", field="f", version=1)
