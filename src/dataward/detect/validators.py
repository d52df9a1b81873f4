"""Validators for pattern candidates: check digits, checksums, ranges, entropy, boundaries.

Each returns a score (accept) or ``None`` (reject) and never raises on odd input. They work on a
candidate that RE2 already bounded in length, so their cost does not grow with the input.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import os
import string
from collections import Counter
from collections.abc import Callable
from typing import Final

import phonenumbers
from stdnum import iban as _iban
from stdnum import luhn as _luhn
from stdnum.ch import ssn as _ch_ssn
from stdnum.ch import uid as _ch_uid
from stdnum.de import idnr as _de_idnr
from stdnum.es import dni as _es_dni
from stdnum.es import nie as _es_nie
from stdnum.eu import vat as _eu_vat
from stdnum.fr import nir as _fr_nir
from stdnum.gb import vat as _gb_vat
from stdnum.it import codicefiscale as _it_cf
from stdnum.us import ssn as _us_ssn

from dataward.detect.spec import Validator, compile_re2

__all__ = [
    "PHONE_REGIONS",
    "base58check_valid",
    "bech32_valid",
    "entropy",
    "stdnum_validator",
]

_DIGITS: Final = frozenset(b"0123456789")
_ALNUM: Final = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")


_MEMO_KEY: Final = os.urandom(16)
_MEMO_SIZE: Final = 4096


def memoized(check: Callable[[str], float | None]) -> Callable[[str], float | None]:
    """``check`` with its results remembered per distinct value (logs and vault writes repeat
    values). The cache is keyed by a keyed BLAKE2b digest of the value, with a key drawn per
    process, so it never holds a value in clear; it is cleared when it reaches its size."""
    cache: dict[bytes, float | None] = {}
    key = _MEMO_KEY

    def memo(value: str) -> float | None:
        digest = hashlib.blake2b(
            value.encode("utf-8", "surrogatepass"), digest_size=16, key=key
        ).digest()
        try:
            return cache[digest]
        except KeyError:
            pass
        result = check(value)
        if len(cache) >= _MEMO_SIZE:
            cache.clear()
        cache[digest] = result
        return result

    return memo


def _value(data: bytes, start: int, end: int) -> str:
    return data[start:end].decode("utf-8", "replace")


def _compact(value: str) -> str:
    return value.replace(" ", "").replace("-", "").replace(".", "").replace("/", "").upper()


def stdnum_validator(
    module_is_valid: Callable[[str], bool], score: float, *, compact: bool = True
) -> Validator:
    """A validator from a python-stdnum ``is_valid`` function (memoized per value)."""

    def valid(value: str) -> float | None:
        try:
            ok = module_is_valid(_compact(value) if compact else value)
        except Exception:
            ok = False
        return score if ok else None

    memo = memoized(valid)

    def check(data: bytes, start: int, end: int) -> float | None:
        return memo(_value(data, start, end))

    return check


# --- identifiers ------------------------------------------------------------------------------

iban_valid = stdnum_validator(_iban.is_valid, 0.95)
ahv_valid = stdnum_validator(_ch_ssn.is_valid, 0.95)
che_uid_valid = stdnum_validator(_ch_uid.is_valid, 0.95)
nir_valid = stdnum_validator(_fr_nir.is_valid, 0.9)
idnr_valid = stdnum_validator(_de_idnr.is_valid, 0.6)
codice_fiscale_valid = stdnum_validator(_it_cf.is_valid, 0.95)
dni_valid = stdnum_validator(_es_dni.is_valid, 0.85)
nie_valid = stdnum_validator(_es_nie.is_valid, 0.9)
eu_vat_valid = stdnum_validator(_eu_vat.is_valid, 0.85)
gb_vat_valid = stdnum_validator(_gb_vat.is_valid, 0.8)
us_ssn_valid = stdnum_validator(_us_ssn.is_valid, 0.8)

_NINO_BAD_PREFIXES: Final = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})


def nino_valid(data: bytes, start: int, end: int) -> float | None:
    value = _compact(_value(data, start, end))
    if len(value) != 9 or value[:2] in _NINO_BAD_PREFIXES:
        return None
    return 0.85


# --- cards ------------------------------------------------------------------------------------


def _brand_ok(digits: str) -> bool:
    n = len(digits)
    p2 = int(digits[:2])
    p4 = int(digits[:4])
    p6 = int(digits[:6])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16  # Mastercard
    if p2 in (34, 37):
        return n == 15  # American Express
    if p4 == 6011 or p2 == 65 or 644 <= int(digits[:3]) <= 649 or 622126 <= p6 <= 622925:
        return 16 <= n <= 19  # Discover
    if 3528 <= p4 <= 3589:
        return 16 <= n <= 19  # JCB
    if p2 in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 19  # Diners
    if p2 == 62:
        return 16 <= n <= 19  # UnionPay
    if p2 in (50, 56, 57, 58, 63, 67) or p2 == 60:
        return 12 <= n <= 19  # Maestro and others
    return False


_PAN_BEFORE: Final = _DIGITS | frozenset(b".-/")
_PAN_AFTER: Final = _DIGITS | frozenset(b"-")


def pan_valid(data: bytes, start: int, end: int) -> float | None:
    if start > 0 and data[start - 1] in _PAN_BEFORE:
        return None
    if end < len(data) and data[end] in _PAN_AFTER:
        return None
    raw = data[start:end].decode("ascii", "replace")
    seps = {ch for ch in raw if not ch.isdigit()}
    if len(seps) > 1:
        return None
    digits = "".join(ch for ch in raw if ch.isdigit())
    if not 13 <= len(digits) <= 19 or len(set(digits)) < 2:
        return None
    if not _brand_ok(digits) or not _luhn.is_valid(digits):
        return None
    return 0.85 if seps else 0.7


# --- phones -----------------------------------------------------------------------------------

#: Regions tried, in order, for a national number written without the international prefix.
PHONE_REGIONS: Final = ("CH", "FR", "DE", "IT", "GB", "AT", "LI", "US")
_DATE_LIKE: Final = compile_re2(r"^\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}")
_PHONE_BEFORE: Final = frozenset(b"0123456789./-_:+=#") | _ALNUM
_PHONE_AFTER: Final = frozenset(b"0123456789_") | _ALNUM


def phone_valid(data: bytes, start: int, end: int) -> float | None:
    if start > 0 and data[start - 1] in _PHONE_BEFORE:
        return None
    if (
        data[start] in _DIGITS
        and start > 1
        and data[start - 1] in b" -"
        and data[start - 2] in _DIGITS
    ):
        return None  # the middle of a longer digit group (an insurance or account number)
    if end < len(data):
        nxt = data[end]
        if nxt in _PHONE_AFTER or (
            nxt in b".-/:" and end + 1 < len(data) and data[end + 1] in _DIGITS
        ):
            return None
    return _phone_score(_value(data, start, end))


def _phone_score_uncached(raw: str) -> float | None:
    digits = sum(ch.isdigit() for ch in raw)
    if not 7 <= digits <= 15 or ":" in raw or _DATE_LIKE.search(raw.encode()) is not None:
        return None
    regions: tuple[str | None, ...]
    if raw.startswith("+"):
        regions = (None,)
    elif raw.startswith("00"):
        raw = "+" + raw[2:]
        regions = (None,)
    else:
        regions = PHONE_REGIONS
    for region in regions:
        try:
            num = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return 0.85 if region is None else 0.7
        if region is None and phonenumbers.is_possible_number(num):
            return 0.6  # international format, right length, range not (yet) assigned
    return None


#: The value-only part of :func:`phone_valid` (phonenumbers costs tens of microseconds).
_phone_score: Final = memoized(_phone_score_uncached)


# --- network ----------------------------------------------------------------------------------

_DOT_DIGIT_BEFORE: Final = frozenset(b"0123456789.")


def ipv4_valid(data: bytes, start: int, end: int) -> float | None:
    if start > 0 and data[start - 1] in _DOT_DIGIT_BEFORE:
        return None
    if end + 1 < len(data) and data[end] == ord(".") and data[end + 1] in _DIGITS:
        return None
    return 0.9


_ASCII_DIGIT_CHARS: Final = frozenset("0123456789")


def ipv6_valid(data: bytes, start: int, end: int) -> float | None:
    if start > 0 and (data[start - 1] in _ALNUM or data[start - 1] == ord(":")):
        return None
    value = _value(data, start, end)
    if value.count(":") < 2:
        return None
    if (  # no digit at all ("dead:beef::cafe" is a word game, not an address)
        _ASCII_DIGIT_CHARS.isdisjoint(value)
        if value.isascii()
        else not any(ch.isdigit() for ch in value)
    ):
        return None
    return 0.9 if _ipv6_ok(value) else None


_HEX_COLON: Final = frozenset("0123456789abcdefABCDEF:")


def _ipv6_ok(value: str) -> bool:
    """``ipaddress.IPv6Address(value)`` succeeds, without its cost on the hex-and-colon forms
    the pattern yields (anything else goes to ``ipaddress``)."""
    if not _HEX_COLON.issuperset(value):
        try:
            ipaddress.IPv6Address(value.split("%", 1)[0])
        except ValueError:
            return False
        return True
    if ":::" in value:
        return False
    head, sep, tail = value.partition("::")
    if sep:
        if "::" in tail:
            return False
        groups = (head.split(":") if head else []) + (tail.split(":") if tail else [])
        if len(groups) > 7:
            return False
    else:
        groups = value.split(":")
        if len(groups) != 8:
            return False
    return all(1 <= len(g) <= 4 for g in groups)


# --- crypto wallets ---------------------------------------------------------------------------

_B58: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX: Final = {c: i for i, c in enumerate(_B58)}


def base58check_valid(data: bytes, start: int, end: int) -> float | None:
    value = _value(data, start, end)
    n = 0
    for ch in value:
        idx = _B58_INDEX.get(ch)
        if idx is None:
            return None
        n = n * 58 + idx
    raw = n.to_bytes(25, "big") if n.bit_length() <= 200 else b""
    if len(raw) != 25:
        return None
    payload, checksum = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != checksum:
        return None
    return 0.95


_BECH32: Final = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN: Final = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def bech32_valid(data: bytes, start: int, end: int) -> float | None:
    value = _value(data, start, end).lower()
    hrp, _, rest = value.rpartition("1")
    if hrp not in ("bc", "tb") or len(rest) < 6:
        return None
    try:
        values = [_BECH32.index(ch) for ch in rest]
    except ValueError:
        return None
    chk = 1
    for v in [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp] + values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= _BECH32_GEN[i] if (top >> i) & 1 else 0
    return 0.95 if chk in (1, 0x2BC830A3) else None  # bech32 / bech32m


def eth_valid(data: bytes, start: int, end: int) -> float | None:
    if end < len(data) and data[end] in _ALNUM:
        return None
    return 0.85


# --- secrets ----------------------------------------------------------------------------------

_PLACEHOLDERS: Final = frozenset(
    {
        "null", "none", "true", "false", "undefined", "redacted", "changeme", "password",
        "secret", "xxx", "xxxx", "****", "hidden", "example", "your_password", "yourpassword",
        "<redacted>", "[redacted]", "required", "optional", "string", "empty", "nil", "n/a",
    }
)  # fmt: skip


def _placeholder(value: str) -> bool:
    v = value.strip().lower()
    if v in _PLACEHOLDERS or len(set(v)) <= 2:
        return True
    return v.startswith(("${", "{{", "%(", "<", "$(", "process.env", "os.environ", "env("))


def password_valid(data: bytes, start: int, end: int) -> float | None:
    value = _value(data, start, end)
    return None if _placeholder(value) else 0.9


def entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


_ASCII_LOWER: Final = frozenset(string.ascii_lowercase)
_ASCII_UPPER: Final = frozenset(string.ascii_uppercase)
_ASCII_DIGITS: Final = frozenset(string.digits)


def high_entropy_valid(data: bytes, start: int, end: int) -> float | None:
    value = _value(data, start, end)
    if _placeholder(value) or len(value) < 16:
        return None
    if value.isascii():  # the pattern's values: set operations instead of three scans
        chars = set(value)
        classes = (
            bool(chars & _ASCII_LOWER) + bool(chars & _ASCII_UPPER) + bool(chars & _ASCII_DIGITS)
        )
    else:
        classes = (
            any(c.islower() for c in value)
            + any(c.isupper() for c in value)
            + any(c.isdigit() for c in value)
        )
    if classes < 2 or entropy(value) < 3.0:
        return None
    return 0.85


def token_valid(data: bytes, start: int, end: int) -> float | None:
    """Provider keys: only reject when glued to more identifier characters."""
    if start > 0 and data[start - 1] in _ALNUM:
        return None
    return 0.95
