"""Card intake: card numbers and CVV only ever travel to the card processor.

dataward validates a card, sends it over TLS to the processor (:class:`CardProcessor`,
:class:`HttpCardProcessor`), and keeps only the processor's token, sealed with a dedicated key
(:func:`seal_token`) and stored in the vault as ``card.token``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataward.cards.model import ChargeResult, ChargeStatus, ProcessorToken, RefundResult
from dataward.cards.processor import CardProcessor, HttpCardProcessor, new_idempotency_key
from dataward.cards.registry import processor_from_env, processor_from_url
from dataward.cards.tls import build_ssl_context, spki_pin
from dataward.cards.token_crypto import SealedToken, TokenKey, open_token, seal_token
from dataward.cards.validation import (
    Brand,
    CardNumber,
    Expiry,
    SecurityCode,
    ValidatedCard,
    luhn_valid,
    validate_card,
    validate_cvv,
    validate_expiry,
    validate_holder,
    validate_pan,
)

if TYPE_CHECKING:
    from dataward.cards.expiry import CARD_RETENTION_HOLD, CardExpiryReport, expire_cards
    from dataward.cards.intake import CARD_PREFIX, CardIntake, CardRef

__all__ = [
    "CARD_PREFIX",
    "CARD_RETENTION_HOLD",
    "Brand",
    "CardExpiryReport",
    "CardIntake",
    "CardNumber",
    "CardProcessor",
    "CardRef",
    "ChargeResult",
    "ChargeStatus",
    "Expiry",
    "HttpCardProcessor",
    "ProcessorToken",
    "RefundResult",
    "SealedToken",
    "SecurityCode",
    "TokenKey",
    "ValidatedCard",
    "build_ssl_context",
    "expire_cards",
    "luhn_valid",
    "new_idempotency_key",
    "open_token",
    "processor_from_env",
    "processor_from_url",
    "seal_token",
    "spki_pin",
    "validate_card",
    "validate_cvv",
    "validate_expiry",
    "validate_holder",
    "validate_pan",
]


def __getattr__(name: str) -> Any:
    # The intake pulls in the vault (SQLAlchemy, policy, audit); load it only when asked for,
    # so the reference processor, which shares validation only, stays small.
    if name in ("CARD_PREFIX", "CardIntake", "CardRef"):
        from dataward.cards import intake

        return getattr(intake, name)
    if name in ("CARD_RETENTION_HOLD", "CardExpiryReport", "expire_cards"):
        from dataward.cards import expiry

        return getattr(expiry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
