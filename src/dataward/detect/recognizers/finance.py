"""Card data (PAN with Luhn and brand ranges; CVV and expiry only near card words) and wallets."""

from __future__ import annotations

import functools
from typing import Final

from dataward.detect import context
from dataward.detect.spec import PatternRecognizer, PatternSpec
from dataward.detect.validators import base58check_valid, bech32_valid, eth_valid, pan_valid

__all__ = ["finance_recognizer"]

_CVV_WORDS: Final = (
    r"(?:cvv2?|cvc2?|ccv2?|cid|csc|security code|card code|code de sécurité|code de securite"
    r"|cryptogramme(?: visuel)?|kartenprüfnummer|prüfnummer|prüfziffer|sicherheitscode"
    r"|codice di sicurezza|codice cvv)"
)
_EXP_WORDS: Final = (
    r"(?:exp(?:\.|iry|iration|ires)?(?: date)?|valid (?:thru|through|until)|good thru"
    r"|date d'expiration|date d’expiration|expire(?: le| fin)?|valable jusqu'(?:au|à)"
    r"|gültig bis|ablaufdatum|ablauf|verfall(?:sdatum)?|scadenza|valida fino a|data di scadenza)"
)
_LINK: Final = r"[\s:=\-]{0,4}(?:(?:is|est|ist|è|:)\s{0,3})?"


@functools.cache
def specs() -> tuple[PatternSpec, ...]:
    """The specs of this recognizer (compiled on first use, then shared)."""
    return (
        PatternSpec(
            id="card.pan",
            confirm=True,
            category="card.pan",
            regex=r"\b(?:\d[ \-]?){12,18}\d\b",
            prefilter=r"\d{4}[ \-]?\d{4}[ \-]?\d{4}",
            score=0.7,
            validator=pan_valid,
            context=context.CARD,
            context_score=0.95,
            priority=85,
            explanation="pattern: card number; validator: Luhn, brand range and length",
        ),
        PatternSpec(
            id="card.cvv",
            confirm=True,
            category="card.cvv",
            regex=r"(?i)\b" + _CVV_WORDS + _LINK + r"(\d{3,4})\b",
            prefilter=r"(?i)(?:cv|cc|cid|csc|code|codice|crypto|pr\xc3\xbcf|sicherheit)",
            group=1,
            score=0.9,
            priority=85,
            languages=frozenset({"en", "fr", "de", "it"}),
            explanation="pattern: 3-4 digits right after a card security-code word",
        ),
        PatternSpec(
            id="card.expiry",
            confirm=True,
            category="card.expiry",
            prefilter=r"(?i)(?:exp|valid|good thru|valable|g\xc3\xbcltig|ablauf|verfall|scadenza)",
            regex=r"(?i)\b" + _EXP_WORDS + _LINK + r"((?:0?[1-9]|1[0-2]) ?[/\-.] ?(?:20)?\d{2})\b",
            group=1,
            score=0.7,
            context=context.CARD,
            context_score=0.9,
            priority=84,
            languages=frozenset({"en", "fr", "de", "it"}),
            explanation="pattern: MM/YY after an expiry word",
        ),
        PatternSpec(
            id="wallet.btc_base58",
            confirm=True,
            category="billing.crypto_wallet",
            regex=r"\b[13][1-9A-HJ-NP-Za-km-z]{25,34}\b",
            # cheaper for Hyperscan than the bounded run (it was a quarter of the prefilter's time)
            prefilter=r"(?:^|[^1-9A-HJ-NP-Za-km-z])[13][1-9A-HJ-NP-Za-km-z]{25}",
            score=0.95,
            validator=base58check_valid,
            priority=70,
            explanation="pattern: Bitcoin base58 address; validator: base58check checksum",
        ),
        PatternSpec(
            id="wallet.btc_bech32",
            category="billing.crypto_wallet",
            regex=r"(?i)\b(?:bc|tb)1[ac-hj-np-z02-9]{11,71}\b",
            score=0.95,
            validator=bech32_valid,
            priority=70,
            explanation="pattern: Bitcoin bech32 address; validator: bech32/bech32m checksum",
        ),
        PatternSpec(
            id="wallet.eth",
            category="billing.crypto_wallet",
            regex=r"\b0x[0-9a-fA-F]{40}\b",
            score=0.8,
            validator=eth_valid,
            context=context.WALLET,
            priority=70,
            explanation="pattern: Ethereum address (0x + 40 hex)",
        ),
    )


def finance_recognizer() -> PatternRecognizer:
    return PatternRecognizer("finance", specs())
