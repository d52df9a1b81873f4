"""Blind indexes: keyed HMAC-SHA256 over a normalised value, to find subjects without decrypting.

The index key is separate from every encryption key (it comes from the key store's
``index_key()``). Each index kind has its own normalisation, so ``" Alice@Example.COM "`` and
``"alice@example.com"`` index to the same token, and ``+41 44 668 18 00`` and ``044 668 18 00``
(region CH) both index as E.164. The kind is part of the MAC input, so an e-mail token never
matches a customer-id token.

Kind ``owner`` is fed by no category: it links a subject to the subject it belongs to (a card
subject ``card:<hex>`` to its customer), see :meth:`dataward.vault.Vault.link_owner`. Its
"normalisation" is the subject id itself, exactly.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import unicodedata
from collections.abc import Callable
from enum import StrEnum

import phonenumbers

from dataward.errors import InputError

__all__ = ["BlindIndexer", "IndexKind", "index_kind_of", "normalise"]


class IndexKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CUSTOMER_ID = "customer_id"
    OWNER = "owner"


# Which categories feed which blind index (registered here, once).
_KIND_OF_CATEGORY: dict[str, IndexKind] = {
    "contact.email": IndexKind.EMAIL,
    "contact.phone": IndexKind.PHONE,
    "identity.customer_id": IndexKind.CUSTOMER_ID,
}


def index_kind_of(category: str) -> IndexKind | None:
    """The blind index a category feeds, or ``None``."""
    return _KIND_OF_CATEGORY.get(category)


def _email(value: str, _region: str) -> str:
    v = unicodedata.normalize("NFC", value).strip().lower()
    local, sep, domain = v.rpartition("@")
    if not sep or not local or not domain:
        raise InputError("an e-mail address needs a local part, '@' and a domain")
    # An undecodable IDN keeps its lower-cased Unicode form: still deterministic. The IDNA
    # codec returns an ASCII domain unchanged (or fails, which also keeps it): skip it there.
    if not domain.isascii():
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def _phone(value: str, region: str) -> str:
    try:
        num = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        raise InputError(
            "a phone number could not be parsed; give it in international form (+41...)"
        ) from None
    if not phonenumbers.is_possible_number(num):
        raise InputError("a phone number has an impossible length for its country")
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def _customer_id(value: str, _region: str) -> str:
    v = unicodedata.normalize("NFKC", value).strip().upper()
    v = "".join(ch for ch in v if not ch.isspace())
    if not v:
        raise InputError("a customer id may not be empty")
    return v


def _owner(value: str, _region: str) -> str:
    # subject ids are exact (checked by the vault): no case or space folding
    if not value:
        raise InputError("an owner subject id may not be empty")
    return value


_NORMALISERS: dict[IndexKind, Callable[[str, str], str]] = {
    IndexKind.EMAIL: _email,
    IndexKind.PHONE: _phone,
    IndexKind.CUSTOMER_ID: _customer_id,
    IndexKind.OWNER: _owner,
}


def normalise(kind: IndexKind | str, value: str, *, region: str = "CH") -> str:
    """The canonical form of ``value`` for index ``kind`` (``InputError`` if malformed)."""
    return _NORMALISERS[IndexKind(kind)](value, region)


class BlindIndexer:
    """Computes blind-index tokens with a dedicated secret key (at least 32 bytes)."""

    __slots__ = ("_key", "_mac", "_plans", "_region")

    def __init__(self, key: bytes, *, region: str = "CH") -> None:
        if len(key) < 32:
            raise InputError("a blind-index key needs at least 32 bytes")
        self._key = bytes(key)
        self._mac = hmac.new(self._key, digestmod=hashlib.sha256)  # keyed once, copied per token
        self._region = region
        # per kind: its normaliser and the MAC input's prefix ``kind || 0x00``
        self._plans = {k: (_NORMALISERS[k], k.value.encode("ascii") + b"\x00") for k in IndexKind}

    def token(self, kind: IndexKind | str, value: str) -> bytes:
        """HMAC-SHA256(key, kind || 0x00 || normalise(value)): 32 bytes."""
        plan = self._plans.get(kind) if type(kind) is IndexKind else None
        if plan is None:
            plan = self._plans[IndexKind(kind)]
        normaliser, prefix = plan
        mac = self._mac.copy()
        mac.update(prefix + normaliser(value, self._region).encode("utf-8"))
        return mac.digest()
