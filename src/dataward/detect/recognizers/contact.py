"""Coordinates: e-mail addresses, phone numbers and postal addresses (CH, FR, DE, IT, UK, US)."""

from __future__ import annotations

import functools
from typing import Final

from dataward.detect import context
from dataward.detect.spec import PatternRecognizer, PatternSpec
from dataward.detect.validators import phone_valid

__all__ = ["contact_recognizer"]

_ALL: Final = frozenset({"en", "fr", "de", "it"})


def _email_valid(data: bytes, start: int, end: int) -> float | None:
    local, _, domain = data[start:end].partition(b"@")
    if local.startswith(b".") or local.endswith(b".") or b".." in local or b".." in domain:
        return None
    if domain.startswith((b"-", b".")):
        return None
    return 0.95


_DE_STREET: Final = (
    r"(?:strasse|straße|str\.|gasse|weg|platz|allee|ring|damm|ufer|steig|halde|rain|graben"
    r"|matte|quai|markt)"
)
_CAP_WORD: Final = r"\p{Lu}[\p{L}'’\-]*"
_WORD: Final = r"[\p{L}'’\-]+"
_NUM: Final = r"\d{1,4}(?:\s?[a-zA-Z])?\b"
_POST_CITY: Final = (
    r"(?:,?\s+(?:(?:CH|D|DE|F|FR|I|IT|A|AT|FL)-)?\d{4,5}\s+"
    + _CAP_WORD
    + r"(?:[ \-]"
    + _CAP_WORD
    + r")?)?"
)
_FR_STREET: Final = (
    r"(?:rue|avenue|av\.|boulevard|bd|chemin|ch\.|place|route|rte|impasse|quai|allée|cours"
    r"|passage|sentier)"
)
_IT_STREET: Final = r"(?:via|viale|piazza|piazzale|corso|vicolo|largo|strada|contrada)"
_EN_STREET: Final = (
    r"(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Lane|Ln\.?|Drive|Dr\.?|Boulevard|Blvd\.?|Way"
    r"|Court|Ct\.?|Place|Pl\.?|Terrace|Square|Crescent|Close|Gardens|Parkway|Highway)"
)
_US_STATES: Final = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH"
    "|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)
_UK_POSTCODE: Final = r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b"


@functools.cache
def specs() -> tuple[PatternSpec, ...]:
    """The specs of this recognizer (compiled on first use, then shared)."""
    return (
        PatternSpec(
            id="email",
            category="contact.email",
            regex=r"(?i)\b[a-z0-9][a-z0-9._%+\-]{0,63}@[a-z0-9](?:[a-z0-9\-]{0,62}\.)+[a-z]{2,24}\b",
            prefilter=r"@[A-Za-z0-9]",
            score=0.95,
            validator=_email_valid,
            priority=70,
            explanation="pattern: e-mail address; validator: local part and domain syntax",
        ),
        PatternSpec(
            id="phone",
            confirm=True,
            category="contact.phone",
            regex=(
                r"(?:\+|\b00)[1-9][\d \-./()]{5,20}\d"
                r"|\b0[1-9][\d \-./]{6,16}\d"
                r"|\(?\b[2-9]\d{2}\)?[ .\-]\d{3}[ .\-]\d{4}\b"
            ),
            prefilter=r"\d[\d \-./()]{5}\d",
            score=0.7,
            validator=phone_valid,
            context=context.PHONE,
            context_score=0.9,
            priority=60,
            languages=_ALL,
            explanation="pattern: phone number; validator: phonenumbers (E.164 or national)",
        ),
        PatternSpec(
            id="address.de",
            confirm=True,
            category="contact.postal_address",
            regex=r"\b(?:"
            + _CAP_WORD
            + r"\s)?\p{Lu}[\p{L}\-]*"
            + _DE_STREET
            + r"\s"
            + _NUM
            + _POST_CITY,
            prefilter=r"(?i)" + _DE_STREET + r"\s\d",
            score=0.75,
            context=context.ADDRESS,
            priority=40,
            languages=frozenset({"de"}),
            explanation="pattern: German/Swiss street and number, optional postcode and city",
        ),
        PatternSpec(
            id="address.street_first",
            confirm=True,
            category="contact.postal_address",
            regex=r"\b(?i:"
            + _FR_STREET
            + "|"
            + _IT_STREET
            + r")\s(?:"
            + _WORD
            + r"\s){1,5}"
            + _NUM
            + _POST_CITY,
            prefilter=r"(?i)\b(?:" + _FR_STREET + "|" + _IT_STREET + r")\s.{0,80}\d",
            score=0.7,
            context=context.ADDRESS,
            priority=40,
            languages=frozenset({"fr", "it"}),
            explanation="pattern: street type, name, number (FR-CH, IT), optional postcode + city",
        ),
        PatternSpec(
            id="address.fr",
            confirm=True,
            category="contact.postal_address",
            regex=r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s(?i:"
            + _FR_STREET
            + r")\s(?:"
            + _WORD
            + r"\s?){1,5}"
            + r"(?:,?\s+\d{5}\s+"
            + _CAP_WORD
            + r"(?:[ \-]"
            + _CAP_WORD
            + r")?)?",
            prefilter=r"(?i)\d,?\s(?:" + _FR_STREET + r")\s",
            score=0.7,
            context=context.ADDRESS,
            priority=40,
            languages=frozenset({"fr"}),
            explanation="pattern: French number and street, optional postcode and city",
        ),
        PatternSpec(
            id="address.en",
            confirm=True,
            category="contact.postal_address",
            regex=r"\b\d{1,5}[A-Z]?\s(?:"
            + _CAP_WORD
            + r"\s){1,3}"
            + _EN_STREET
            + r"(?:,?\s+(?:"
            + _CAP_WORD
            + r"\s?){1,3},\s(?:"
            + _US_STATES
            + r")\s\d{5}(?:-\d{4})?\b|,?\s+(?:"
            + _CAP_WORD
            + r"\s)?"
            + _UK_POSTCODE
            + r")?",
            # The street word alone (case-sensitive, as in the regex): the bounded ".{0,60}" run
            # before it was a quarter of the prefilter's time on log text.
            prefilter=_EN_STREET,
            score=0.75,
            context=context.ADDRESS,
            priority=40,
            languages=frozenset({"en"}),
            explanation="pattern: UK/US number and street, optional city + state/ZIP or postcode",
        ),
        PatternSpec(
            id="address.us_city",
            confirm=True,
            category="contact.postal_address",
            regex=r"\b"
            + _CAP_WORD
            + r"(?:\s"
            + _CAP_WORD
            + r")?,\s(?:"
            + _US_STATES
            + r")\s\d{5}(?:-\d{4})?\b",
            prefilter=r",\s(?:" + _US_STATES + r")\s\d{5}",
            score=0.7,
            priority=35,
            languages=frozenset({"en"}),
            explanation="pattern: US city, state and ZIP code",
        ),
        PatternSpec(
            id="address.uk_postcode",
            confirm=True,
            category="contact.postal_address",
            regex=_UK_POSTCODE,
            score=0.5,
            context=(*context.ADDRESS, "postcode", "london", "uk"),
            context_required=True,
            context_score=0.8,
            priority=30,
            languages=frozenset({"en"}),
            explanation="pattern: UK postcode near address context",
        ),
        PatternSpec(
            id="address.postcode_city",
            confirm=True,
            category="contact.postal_address",
            regex=r"\b(?:(?:CH|D|DE|F|FR|I|IT|A|AT|FL)-)?\d{4,5}\s" + _CAP_WORD,
            prefilter=r"\d{4}\s[A-Z\x80-\xff]",
            score=0.5,
            context=context.ADDRESS,
            context_required=True,
            context_score=0.75,
            priority=30,
            languages=_ALL,
            explanation="pattern: postcode and city near address context",
        ),
    )


def contact_recognizer() -> PatternRecognizer:
    return PatternRecognizer("contact", specs())
