"""Card validation: PAN (Luhn, brand ranges, lengths), expiry, CVV length, holder name.

Every error is a :class:`~dataward.errors.CardValidationError` naming the field and the fix. No
message, exception argument or chained exception ever carries more of the card number than its
last four digits, nor any digit of the CVV: errors are raised outside ``except`` blocks or with
``from None``, and the raw input is never interpolated.

What Python can and cannot guarantee about card data in memory
----------------------------------------------------------------
*Cannot.* A ``str`` is immutable: the caller's PAN and CVV strings, every copy made while
stripping spaces, the JSON body ``httpx`` encodes (``bytes``) and the buffers inside the TLS
library stay in the process's heap until the garbage collector frees them, and freed memory is
not zeroed; the interpreter may intern or cache small strings. There is no supported way to
securely wipe a ``str`` or ``bytes``. A ``bytearray`` can be overwritten in place, but only the
copies we make ourselves would be wiped, never the caller's ``str`` nor the encoder's copies, so
it would give a false sense of safety. Pages of the heap can be swapped to disk or end up in a
core dump unless the host disables swap / core dumps (``ulimit -c 0``, encrypted swap).

*What we do.* Keep the lifetime short: the PAN and CVV exist only as locals of the intake call
and inside :class:`CardNumber` / :class:`SecurityCode`, whose ``repr``/``str`` show only the brand
and last four (the CVV shows nothing) and which refuse pickling; they are passed straight to the
processor over TLS and dropped when the call returns. They are never logged, never put into an
exception, an audit entry, the vault, a temporary file or any other byte dataward writes; the
end-to-end test scans everything dataward wrote to prove it.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, NoReturn

from dataward.errors import CardValidationError

__all__ = [
    "MAX_INPUT_CHARS",
    "Brand",
    "CardNumber",
    "Expiry",
    "SecurityCode",
    "ValidatedCard",
    "brand_of",
    "luhn_valid",
    "validate_card",
    "validate_cvv",
    "validate_expiry",
    "validate_holder",
    "validate_pan",
]

#: Inputs longer than this are refused before any other processing (a card field is short).
MAX_INPUT_CHARS: Final = 64
_MAX_HOLDER_CHARS: Final = 100
_MAX_YEARS_AHEAD: Final = 20
_DIGITS: Final = frozenset("0123456789")
_SEPARATORS: Final = str.maketrans("", "", " -")


class Brand(StrEnum):
    """Card brands we recognise by their issuer identification number (IIN) ranges."""

    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    DINERS = "diners"
    JCB = "jcb"
    UNIONPAY = "unionpay"
    MAESTRO = "maestro"

    @property
    def cvv_length(self) -> int:
        """American Express prints a 4-digit CID; every other brand a 3-digit CVV2/CVC2."""
        return 4 if self is Brand.AMEX else 3

    @property
    def lengths(self) -> frozenset[int]:
        return _LENGTHS[self]


_LENGTHS: Final[dict[Brand, frozenset[int]]] = {
    Brand.VISA: frozenset({13, 16, 19}),
    Brand.MASTERCARD: frozenset({16}),
    Brand.AMEX: frozenset({15}),
    Brand.DISCOVER: frozenset(range(16, 20)),
    Brand.DINERS: frozenset(range(14, 20)),
    Brand.JCB: frozenset(range(16, 20)),
    Brand.UNIONPAY: frozenset(range(16, 20)),
    Brand.MAESTRO: frozenset(range(12, 20)),
}

# (brand, first prefix, last prefix): prefixes of equal digit count, inclusive. The longest
# matching prefix wins, so e.g. 6011 is Discover although 60.. is not a range of its own.
_RANGES: Final[tuple[tuple[Brand, str, str], ...]] = (
    (Brand.VISA, "4", "4"),
    (Brand.MASTERCARD, "51", "55"),
    (Brand.MASTERCARD, "2221", "2720"),
    (Brand.AMEX, "34", "34"),
    (Brand.AMEX, "37", "37"),
    (Brand.DISCOVER, "6011", "6011"),
    (Brand.DISCOVER, "644", "649"),
    (Brand.DISCOVER, "65", "65"),
    (Brand.DINERS, "300", "305"),
    (Brand.DINERS, "3095", "3095"),
    (Brand.DINERS, "36", "36"),
    (Brand.DINERS, "38", "39"),
    (Brand.JCB, "3528", "3589"),
    (Brand.UNIONPAY, "62", "62"),
    (Brand.UNIONPAY, "81", "81"),
    (Brand.MAESTRO, "50", "50"),
    (Brand.MAESTRO, "56", "58"),
    (Brand.MAESTRO, "6304", "6304"),
    (Brand.MAESTRO, "6390", "6390"),
    (Brand.MAESTRO, "67", "67"),
)


def _fail(message: str, field_name: str) -> NoReturn:
    raise CardValidationError(message, field=field_name) from None


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check over a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def brand_of(digits: str) -> Brand | None:
    """The brand whose IIN range has the longest prefix matching ``digits``, if any."""
    best: tuple[int, Brand] | None = None
    for brand, low, high in _RANGES:
        n = len(low)
        if len(digits) >= n and low <= digits[:n] <= high and (best is None or n > best[0]):
            best = (n, brand)
    return None if best is None else best[1]


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class CardNumber:
    """A validated PAN. Shows only brand and last four; :meth:`reveal` is for the processor call."""

    _digits: str = field(repr=False)
    brand: Brand

    @property
    def last4(self) -> str:
        return self._digits[-4:]

    @property
    def length(self) -> int:
        return len(self._digits)

    def reveal(self) -> str:
        """The full PAN, to be sent to the card processor and nowhere else."""
        return self._digits

    def masked(self) -> str:
        return f"{self.brand.value} ****{self.last4}"

    def __repr__(self) -> str:
        return f"CardNumber({self.masked()})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a card number cannot be pickled: it may only travel to the processor")


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class SecurityCode:
    """A validated CVV2/CVC2/CID. Never shows any digit."""

    _digits: str = field(repr=False)

    def reveal(self) -> str:
        """The code, to be sent to the card processor and nowhere else."""
        return self._digits

    def __repr__(self) -> str:
        return "SecurityCode(***)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a security code cannot be pickled: it may only travel to the processor")


@dataclass(frozen=True, slots=True, order=True)
class Expiry:
    """A card's expiry month; the card is valid through the last day of that month."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            _fail("expiry month must be between 01 and 12", "expiry")
        if not 2000 <= self.year <= 2099:
            _fail("expiry year must be between 2000 and 2099", "expiry")

    @property
    def last_day(self) -> dt.date:
        nxt = dt.date(self.year + (self.month == 12), self.month % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)

    def is_expired(self, today: dt.date | None = None) -> bool:
        return (today or dt.date.today()) > self.last_day

    def __str__(self) -> str:
        return f"{self.month:02d}/{self.year % 100:02d}"


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class ValidatedCard:
    """Everything the processor needs, validated. ``repr`` shows brand, last four and expiry."""

    number: CardNumber
    cvv: SecurityCode
    expiry: Expiry
    holder: str

    def __repr__(self) -> str:
        return f"ValidatedCard({self.number.masked()}, expires {self.expiry})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("card data cannot be pickled: it may only travel to the processor")


def _text(value: object, field_name: str, label: str, limit: int = MAX_INPUT_CHARS) -> str:
    """``value`` as a bounded ``str``, or a typed error naming only its type or length."""
    if isinstance(value, bytes | bytearray | memoryview):
        _fail(f"{label} must be text (str), not binary data; decode it first", field_name)
    if not isinstance(value, str):
        _fail(f"{label} must be text (str), got {type(value).__name__}", field_name)
    if len(value) > limit:
        _fail(f"{label} is too long ({len(value)} characters, at most {limit})", field_name)
    return value


def validate_pan(value: object) -> CardNumber:
    """Strip spaces and dashes, then check digits, brand range, length for the brand and Luhn."""
    raw = _text(value, "pan", "card number")
    digits = raw.translate(_SEPARATORS)
    if not digits:
        _fail("card number is empty", "pan")
    if not _DIGITS.issuperset(digits):
        _fail("card number may contain only digits, spaces and dashes", "pan")
    if not 12 <= len(digits) <= 19:
        _fail(f"card number has {len(digits)} digits; a card number has 12 to 19", "pan")
    tail = digits[-4:]
    brand = brand_of(digits)
    if brand is None:
        _fail(f"card number ending in {tail} is not from a supported brand", "pan")
    if len(digits) not in brand.lengths:
        allowed = ", ".join(str(n) for n in sorted(brand.lengths))
        _fail(
            f"{brand.value} card number ending in {tail} has {len(digits)} digits; "
            f"{brand.value} numbers have {allowed}",
            "pan",
        )
    if not luhn_valid(digits):
        _fail(f"card number ending in {tail} fails the Luhn check; re-enter the number", "pan")
    return CardNumber(digits, brand)


def validate_expiry(value: object, *, today: dt.date | None = None) -> Expiry:
    """``MM/YY`` or ``MM/YYYY`` (or an :class:`Expiry`), not past its month's last day."""
    if isinstance(value, Expiry):
        exp = value
    else:
        raw = _text(value, "expiry", "expiry date").strip()
        month_s, sep, year_s = raw.partition("/")
        month_s, year_s = month_s.strip(), year_s.strip()
        if (
            not sep
            or len(month_s) not in (1, 2)
            or len(year_s) not in (2, 4)
            or not _DIGITS.issuperset(month_s + year_s)
        ):
            _fail("expiry date must look like MM/YY or MM/YYYY", "expiry")
        year = int(year_s) + (2000 if len(year_s) == 2 else 0)
        exp = Expiry(year=year, month=int(month_s))
    now = today or dt.date.today()
    if exp.is_expired(now):
        _fail(f"card expired at the end of {exp}; use a card that is still valid", "expiry")
    if exp.year > now.year + _MAX_YEARS_AHEAD:
        _fail(f"expiry date {exp} is more than {_MAX_YEARS_AHEAD} years ahead", "expiry")
    return exp


def validate_cvv(value: object, brand: Brand) -> SecurityCode:
    """Exactly ``brand.cvv_length`` ASCII digits (4 for American Express, 3 for the others)."""
    raw = _text(value, "cvv", "security code").strip()
    want = brand.cvv_length
    if len(raw) != want or not _DIGITS.issuperset(raw):
        _fail(f"security code for {brand.value} must be exactly {want} digits", "cvv")
    return SecurityCode(raw)


def validate_holder(value: object) -> str:
    """A cardholder name: letters, spaces, apostrophes, dots and hyphens; no digits."""
    raw = _text(value, "holder", "cardholder name", _MAX_HOLDER_CHARS)
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if len(name) < 2:
        _fail("cardholder name is missing or shorter than 2 characters", "holder")
    for ch in name:
        if ch.isdigit():
            _fail("cardholder name may not contain digits (was the card number typed?)", "holder")
        if not (ch.isalpha() or ch in " '.-’" or unicodedata.category(ch) == "Mn"):
            _fail("cardholder name may contain only letters, spaces, ' . and -", "holder")
    return name


def validate_card(
    pan: object,
    cvv: object,
    expiry: object,
    holder: object,
    *,
    today: dt.date | None = None,
) -> ValidatedCard:
    """Validate all four fields; the first failure raises, naming its field."""
    number = validate_pan(pan)
    exp = validate_expiry(expiry, today=today)
    code = validate_cvv(cvv, number.brand)
    name = validate_holder(holder)
    return ValidatedCard(number=number, cvv=code, expiry=exp, holder=name)
