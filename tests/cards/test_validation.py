"""Card validation through the public API: brands, lengths, Luhn, expiry, CVV, holder, and no
leak of more than the last four digits in any message or traceback."""

from __future__ import annotations

import datetime as dt
import pickle
import random
import traceback

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.cards import (
    Brand,
    Expiry,
    luhn_valid,
    validate_card,
    validate_cvv,
    validate_expiry,
    validate_holder,
    validate_pan,
)
from dataward.errors import CardValidationError, DatawardError, InputError

from .support import BRAND_SAMPLES, leaked_windows, luhn_digit, make_pan

TODAY = dt.date(2026, 11, 29)

KNOWN = [
    ("4111111111111111", Brand.VISA),
    ("4111-1111-1111-1111", Brand.VISA),
    (" 4111 1111 1111 1111 ", Brand.VISA),
    ("5555555555554444", Brand.MASTERCARD),
    ("2223003122003222", Brand.MASTERCARD),
    ("378282246310005", Brand.AMEX),
    ("371449635398431", Brand.AMEX),
    ("6011111111111117", Brand.DISCOVER),
    ("30569309025904", Brand.DINERS),
    ("3566002020360505", Brand.JCB),
    ("6200000000000005", Brand.UNIONPAY),
    ("6759649826438453", Brand.MAESTRO),
]


@pytest.mark.parametrize(("pan", "brand"), KNOWN)
def test_known_test_numbers_validate_with_their_brand(pan: str, brand: Brand) -> None:
    number = validate_pan(pan)
    assert number.brand is brand
    digits = "".join(c for c in pan if c.isdigit())
    assert number.reveal() == digits
    assert number.last4 == digits[-4:]


@pytest.mark.parametrize(
    ("brand", "prefix", "length"),
    [(b, p, n) for b, samples in BRAND_SAMPLES.items() for p, n in samples],
)
def test_generated_numbers_in_each_range_get_the_brand(
    brand: str, prefix: str, length: int, rng: random.Random
) -> None:
    for _ in range(20):
        assert validate_pan(make_pan(prefix, length, rng)).brand.value == brand


@pytest.mark.parametrize(
    ("prefix", "length", "why"),
    [
        ("51", 15, "mastercard card number"),
        ("2221", 19, "mastercard card number"),
        ("34", 16, "amex card number"),
        ("4", 15, "visa card number"),
        ("2220", 16, "not from a supported brand"),
        ("2721", 16, "not from a supported brand"),
        ("1", 16, "not from a supported brand"),
        ("9", 16, "not from a supported brand"),
    ],
)
def test_ranges_and_lengths_per_brand(prefix: str, length: int, why: str) -> None:
    pan = make_pan(prefix, length, random.Random(prefix))
    with pytest.raises(CardValidationError, match=why) as info:
        validate_pan(pan)
    assert info.value.field == "pan"
    assert not leaked_windows(info.value, pan)


def _luhn_broken() -> str:
    pan = make_pan("4", 16, random.Random(7))
    return pan[:-1] + str((int(pan[-1]) + 1) % 10)


MB = "4" * (1024 * 1024)

# (name, pan, cvv, expiry, field, message fragment)
BAD_INPUTS: list[tuple[str, object, object, object, str, str]] = [
    ("luhn", _luhn_broken(), "123", "12/30", "pan", "Luhn"),
    ("expired", "4111111111111111", "123", "10/26", "expiry", "expired"),
    ("expired_yyyy", "4111111111111111", "123", "01/2020", "expiry", "expired"),
    ("cvv_short", "4111111111111111", "12", "12/30", "cvv", "exactly 3"),
    ("cvv_amex_3", "378282246310005", "123", "12/30", "cvv", "exactly 4"),
    ("cvv_visa_4", "4111111111111111", "1234", "12/30", "cvv", "exactly 3"),
    ("cvv_letters", "4111111111111111", "12a", "12/30", "cvv", "exactly 3"),
    ("letters", "4111 1111 abcd 1111", "123", "12/30", "pan", "only digits"),
    ("unicode_digits", "４１１１１１１１１１１１１１１１", "123", "12/30", "pan", "only digits"),
    ("one_mb", MB, "123", "12/30", "pan", "too long"),
    ("one_mb_cvv", "4111111111111111", MB, "12/30", "cvv", "too long"),
    ("none", None, "123", "12/30", "pan", "got NoneType"),
    ("bytes", b"4111111111111111", "123", "12/30", "pan", "binary"),
    ("bytearray", bytearray(b"4111111111111111"), "123", "12/30", "pan", "binary"),
    ("int", 4111111111111111, "123", "12/30", "pan", "got int"),
    ("cvv_int", "4111111111111111", 123, "12/30", "cvv", "got int"),
    ("too_short", "411111111", "123", "12/30", "pan", "12 to 19"),
    ("empty", " - ", "123", "12/30", "pan", "empty"),
    ("month_13", "4111111111111111", "123", "13/30", "expiry", "between 01 and 12"),
    ("expiry_shape", "4111111111111111", "123", "1230", "expiry", "MM/YY"),
    ("expiry_far", "4111111111111111", "123", "12/2099", "expiry", "years ahead"),
    ("expiry_none", "4111111111111111", "123", None, "expiry", "got NoneType"),
]


@pytest.mark.parametrize(
    ("pan", "cvv", "expiry", "field", "fragment"),
    [b[1:] for b in BAD_INPUTS],
    ids=[b[0] for b in BAD_INPUTS],
)
def test_bad_inputs_give_typed_errors_that_show_at_most_the_last_four(
    pan: object, cvv: object, expiry: object, field: str, fragment: str
) -> None:
    with pytest.raises(CardValidationError) as info:
        validate_card(pan, cvv, expiry, "Ada Lovelace", today=TODAY)
    exc = info.value
    assert isinstance(exc, InputError | DatawardError)
    assert exc.field == field
    assert fragment in exc.message
    assert exc.__cause__ is None
    assert exc.__context__ is None or exc.__suppress_context__
    for secret in (pan, cvv):
        text = secret.decode() if isinstance(secret, bytes | bytearray) else str(secret)
        digits = "".join(c for c in text if c in "0123456789")
        if len(digits) >= 5:
            assert not leaked_windows(exc, digits), "more than the last 4 digits leaked"
    formatted = "".join(traceback.format_exception(exc))
    if isinstance(cvv, str) and cvv.isdigit() and field == "cvv":
        assert f"'{cvv}'" not in formatted


def test_luhn_failure_names_only_the_last_four() -> None:
    pan = _luhn_broken()
    with pytest.raises(CardValidationError) as info:
        validate_pan(pan)
    assert pan[-4:] in info.value.message
    assert not leaked_windows(info.value, pan)


@pytest.mark.parametrize(
    ("text", "year", "month"),
    [("12/26", 2026, 12), ("11/26", 2026, 11), ("1/27", 2027, 1), ("03/2031", 2031, 3)],
)
def test_expiry_formats(text: str, year: int, month: int) -> None:
    assert validate_expiry(text, today=TODAY) == Expiry(year=year, month=month)


def test_expiry_is_valid_through_the_last_day_of_its_month() -> None:
    assert validate_expiry("02/28", today=dt.date(2028, 2, 29)) == Expiry(2028, 2)
    with pytest.raises(CardValidationError, match="expired"):
        validate_expiry("02/28", today=dt.date(2028, 3, 1))
    assert Expiry(2026, 12).last_day == dt.date(2026, 12, 31)


@pytest.mark.parametrize(("brand", "length"), [(b, b.cvv_length) for b in Brand])
def test_cvv_length_per_brand(brand: Brand, length: int) -> None:
    assert validate_cvv("7" * length, brand).reveal() == "7" * length
    for wrong in (length - 1, length + 1):
        with pytest.raises(CardValidationError, match=f"exactly {length} digits"):
            validate_cvv("7" * wrong, brand)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("Ada Lovelace", True),
        ("  Jean-Luc   Picard ", True),
        ("Zoë O'Brien", True),
        ("Müller Jr.", True),
        ("A", False),
        ("", False),
        ("Ada 4111111111111111", False),
        ("Ada\x00Lovelace", False),
        ("x" * 101, False),
    ],
)
def test_holder_name(name: str, ok: bool) -> None:
    if ok:
        assert validate_holder(name) == " ".join(name.split())
    else:
        with pytest.raises(CardValidationError) as info:
            validate_holder(name)
        assert info.value.field == "holder"
        assert "4111" not in info.value.message


def test_values_never_show_the_number_or_the_code() -> None:
    card = validate_card("4111 1111 1111 1111", "987", "12/30", "Ada Lovelace", today=TODAY)
    for shown in (repr(card), str(card), repr(card.number), str(card.cvv), f"{card.number}"):
        assert "411111" not in shown
        assert "987" not in shown
    assert "****1111" in repr(card)
    for value in (card, card.number, card.cvv):
        with pytest.raises(TypeError):
            pickle.dumps(value)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789 -abc\u0660/"), max_size=40))
def test_any_text_either_validates_or_fails_typed_without_leaking(text: str) -> None:
    digits = "".join(c for c in text if c in "0123456789")
    try:
        number = validate_pan(text)
    except CardValidationError as exc:
        assert exc.field == "pan"
        assert not leaked_windows(exc, digits)
    else:
        assert luhn_valid(number.reveal())
        assert number.reveal() == digits


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([(p, n) for s in BRAND_SAMPLES.values() for p, n in s]),
    st.randoms(use_true_random=False),
    st.integers(min_value=0, max_value=18),
)
def test_changing_one_digit_always_breaks_luhn(
    sample: tuple[str, int], r: random.Random, position: int
) -> None:
    prefix, length = sample
    pan = make_pan(prefix, length, r)
    assert luhn_valid(pan)
    i = position % length
    changed = pan[:i] + str((int(pan[i]) + 1 + r.randrange(9)) % 10) + pan[i + 1 :]
    assert not luhn_valid(changed)
    assert luhn_digit(pan[:-1]) == pan[-1]
