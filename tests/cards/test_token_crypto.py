"""Sealing the processor token: round trip, binding to its context, tampering, keys."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.cards import ProcessorToken, SealedToken, TokenKey, open_token, seal_token
from dataward.errors import ConfigurationError, InputError, KeyStoreError

TOKEN_TEXT = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    min_size=8,
    max_size=128,
)


@settings(max_examples=100, deadline=None)
@given(TOKEN_TEXT, st.text(max_size=50))
def test_round_trip_and_the_sealed_form_hides_the_token(value: str, context: str) -> None:
    key = TokenKey.generate()
    sealed = seal_token(ProcessorToken(value), key, context=context)
    assert value not in sealed.text
    assert sealed.key_id == key.key_id
    assert open_token(sealed, key, context=context).value == value
    assert open_token(sealed.text, [TokenKey.generate(), key], context=context).value == value


def test_each_seal_is_different() -> None:
    key, token = TokenKey.generate(), ProcessorToken("tok_abcdefgh")
    assert seal_token(token, key, context="c").text != seal_token(token, key, context="c").text


def test_a_sealed_token_moved_to_another_context_does_not_open() -> None:
    key = TokenKey.generate()
    sealed = seal_token(ProcessorToken("tok_abcdefgh"), key, context="subject-1/card-1")
    with pytest.raises(KeyStoreError, match="failed authentication") as info:
        open_token(sealed, key, context="subject-2/card-1")
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


@pytest.mark.parametrize("position", [10, 20, -1])
def test_tampering_is_detected(position: int) -> None:
    key = TokenKey.generate()
    text = seal_token(ProcessorToken("tok_abcdefgh"), key, context="c").text
    i = position % len(text)
    flipped = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]
    with pytest.raises(KeyStoreError):
        open_token(SealedToken(flipped), key, context="c")


def test_unknown_key_is_named_by_id_and_garbage_is_refused() -> None:
    sealed = seal_token(ProcessorToken("tok_abcdefgh"), TokenKey.generate(), context="c")
    with pytest.raises(KeyStoreError, match=sealed.key_id):
        open_token(sealed, TokenKey.generate(), context="c")
    with pytest.raises(InputError, match="not a sealed card token"):
        open_token("tok_abcdefgh", TokenKey.generate(), context="c")


def test_key_file_round_trip_is_private_and_never_overwritten(tmp_path: Path) -> None:
    key = TokenKey.generate()
    path = key.write(tmp_path / "token.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert TokenKey.from_file(path).key_id == key.key_id
    with pytest.raises(ConfigurationError):
        key.write(path)
    (tmp_path / "bad.key").write_text("not base64 at all!")
    with pytest.raises(ConfigurationError, match=r"bad\.key"):
        TokenKey.from_file(tmp_path / "bad.key")
    with pytest.raises(ConfigurationError):
        TokenKey(b"short")


def test_keys_and_tokens_never_show_their_material() -> None:
    key, token = TokenKey.generate(), ProcessorToken("tok_secretvalue")
    assert key.material.hex() not in repr(key)
    assert "secretvalue" not in repr(token) + str(token)
    with pytest.raises(InputError):
        ProcessorToken("short")
