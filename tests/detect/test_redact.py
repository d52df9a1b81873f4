"""Redaction operators."""

from __future__ import annotations

import pytest

from dataward.detect import Detector, redact
from dataward.detect.redact import redact_stream
from dataward.errors import InputError

TEXT = "Mail a.b@example.com, card 4111 1111 1111 1111, IBAN CH93 0076 2011 6238 5295 7."


def test_replace_with_category_tags(patterns: Detector) -> None:
    assert redact(TEXT, detector=patterns) == (
        "Mail <contact.email>, card <card.pan>, IBAN <billing.iban>."
    )


def test_mask_keeps_last_four_of_pan(patterns: Detector) -> None:
    out = redact(TEXT, operator="mask", detector=patterns)
    assert "**** **** **** 1111" in out
    assert "example" not in out and "0076" not in out


def test_hash_is_keyed_and_stable(patterns: Detector) -> None:
    a = redact(TEXT, operator="hash", key=b"k1", detector=patterns)
    b = redact(TEXT, operator="hash", key=b"k1", detector=patterns)
    c = redact(TEXT, operator="hash", key=b"k2", detector=patterns)
    assert a == b and a != c
    assert "<contact.email:" in a and "4111" not in a


def test_hash_needs_key(patterns: Detector) -> None:
    with pytest.raises(InputError, match="key"):
        redact(TEXT, operator="hash", detector=patterns)


def test_drop(patterns: Detector) -> None:
    assert redact("x a.b@example.com y", operator="drop", detector=patterns) == "x  y"


def test_unknown_operator(patterns: Detector) -> None:
    with pytest.raises(InputError, match="operator"):
        redact(TEXT, operator="shred", detector=patterns)


def test_category_filter(patterns: Detector) -> None:
    out = redact(TEXT, detector=patterns, categories={"card.pan"})
    assert "a.b@example.com" in out and "<card.pan>" in out


def test_stream_equals_whole(patterns: Detector) -> None:
    text = (TEXT + " filler text " * 20000) * 3
    pieces = [text[i : i + 5000] for i in range(0, len(text), 5000)]
    assert "".join(redact_stream(pieces, detector=patterns)) == redact(text, detector=patterns)
