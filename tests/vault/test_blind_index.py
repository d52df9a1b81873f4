"""Blind indexes: normalisation, key separation, kind separation."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.errors import InputError
from dataward.vault.blind_index import BlindIndexer, IndexKind, index_kind_of, normalise

KEY = os.urandom(32)


@pytest.mark.parametrize(
    ("kind", "a", "b"),
    [
        ("email", " Alice@Example.COM ", "alice@example.com"),
        ("email", "bob@BÜCHER.ch", "bob@xn--bcher-kva.ch"),
        ("phone", "+41 44 668 18 00", "044 668 18 00"),
        ("phone", "+41446681800", "+41 (0)44 668 18 00"),
        ("customer_id", " cu-0042 ", "CU-0042"),
    ],
)
def test_equivalent_forms_share_a_token(kind: str, a: str, b: str) -> None:
    ix = BlindIndexer(KEY)
    assert ix.token(kind, a) == ix.token(kind, b)


def test_phone_is_e164() -> None:
    assert normalise("phone", "044 668 18 00") == "+41446681800"
    assert normalise("phone", "(202) 555-0143", region="US") == "+12025550143"


@pytest.mark.parametrize(
    ("kind", "value"), [("email", "no-at-sign"), ("phone", "abc"), ("customer_id", "  ")]
)
def test_malformed_values_are_refused_without_echo(kind: str, value: str) -> None:
    with pytest.raises(InputError) as info:
        BlindIndexer(KEY).token(kind, value)
    if value.strip():
        assert value not in str(info.value)


@settings(max_examples=50, deadline=None)
@given(local=st.from_regex(r"[a-z0-9._]{1,12}", fullmatch=True))
def test_tokens_depend_on_key_and_kind(local: str) -> None:
    value = f"{local}@example.org"
    a, b = BlindIndexer(KEY), BlindIndexer(os.urandom(32))
    tok = a.token(IndexKind.EMAIL, value)
    assert len(tok) == 32
    assert value.encode() not in tok
    assert tok != b.token(IndexKind.EMAIL, value)
    assert tok != a.token(IndexKind.CUSTOMER_ID, value)


def test_short_keys_are_refused() -> None:
    with pytest.raises(InputError):
        BlindIndexer(b"short")


def test_categories_map_to_kinds() -> None:
    assert index_kind_of("contact.email") is IndexKind.EMAIL
    assert index_kind_of("contact.phone") is IndexKind.PHONE
    assert index_kind_of("identity.customer_id") is IndexKind.CUSTOMER_ID
    assert index_kind_of("person.name") is None
