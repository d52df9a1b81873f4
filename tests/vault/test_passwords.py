"""Argon2id password hashing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.errors import InputError
from dataward.vault.passwords import PasswordHasher

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@settings(max_examples=15, deadline=None)
@given(pw=st.text(max_size=40), other=st.text(max_size=40))
def test_hash_verifies_only_the_same_password(pw: str, other: str) -> None:
    encoded = CHEAP.hash(pw)
    assert encoded.startswith("$argon2id$")
    assert PasswordHasher.is_hash(encoded)
    if len(pw) >= 4:
        assert pw not in encoded
    assert CHEAP.verify(encoded, pw)
    assert CHEAP.verify(encoded, other) == (other == pw)


def test_salted_hashes_differ() -> None:
    assert CHEAP.hash("hunter2") != CHEAP.hash("hunter2")


def test_needs_rehash_when_parameters_change() -> None:
    encoded = CHEAP.hash("pw")
    assert not CHEAP.needs_rehash(encoded)
    assert PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1).needs_rehash(encoded)
    assert CHEAP.needs_rehash("not a hash")


@pytest.mark.parametrize("stored", ["plain", "$argon2id$garbage"])
def test_invalid_stored_hash_is_an_input_error(stored: str) -> None:
    with pytest.raises(InputError) as info:
        CHEAP.verify(stored, "plain")
    assert "plain" not in str(info.value)
