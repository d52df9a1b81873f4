"""Values exchanged with a card processor: its token and the results of charges and refunds.

A :class:`ProcessorToken` is the processor's anonymized identifier for a card (category
``card.token``, class ``special``). It never shows in ``repr``/``str``; outside the processor
call it only travels sealed (:mod:`dataward.cards.token_crypto`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, NoReturn

from dataward.errors import InputError

__all__ = [
    "ChargeResult",
    "ChargeStatus",
    "ProcessorToken",
    "RefundResult",
    "check_amount",
    "check_currency",
]

_TOKEN_SHAPE: Final = re.compile(r"[A-Za-z0-9_\-]{8,128}")
_CURRENCY: Final = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True, repr=False)
class ProcessorToken:
    """The processor's token for one card. ``repr``/``str`` hide it."""

    value: str = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _TOKEN_SHAPE.fullmatch(self.value):
            raise InputError(
                "a processor token is 8 to 128 characters of [A-Za-z0-9_-]; "
                "the processor answered something else"
            ) from None

    def __repr__(self) -> str:
        return "ProcessorToken(***)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a processor token cannot be pickled: seal it with token_crypto")


def check_currency(currency: object) -> str:
    """An ISO 4217 alphabetic code in upper case (``CHF``, ``EUR``...)."""
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise InputError("currency must be a 3-letter ISO 4217 code in capitals, e.g. 'CHF'")
    return currency


def check_amount(amount_minor: object) -> int:
    """A positive whole amount in the currency's minor unit (cents, Rappen...)."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InputError("amount must be a positive integer in minor units (e.g. 1250 = 12.50)")
    return amount_minor


class ChargeStatus(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """What the processor said about one charge."""

    charge_id: str
    status: ChargeStatus
    amount_minor: int
    currency: str
    decline_reason: str | None = None

    @property
    def approved(self) -> bool:
        return self.status is ChargeStatus.APPROVED


@dataclass(frozen=True, slots=True)
class RefundResult:
    """What the processor said about one refund."""

    refund_id: str
    charge_id: str
    amount_minor: int
