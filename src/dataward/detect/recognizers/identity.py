"""Client identity and billing identifiers: IBAN, national IDs, passports, ID cards, company IDs."""

from __future__ import annotations

import functools
from typing import Final

from dataward.detect import context
from dataward.detect.spec import PatternRecognizer, PatternSpec
from dataward.detect.validators import (
    ahv_valid,
    che_uid_valid,
    codice_fiscale_valid,
    dni_valid,
    eu_vat_valid,
    gb_vat_valid,
    iban_valid,
    idnr_valid,
    nie_valid,
    nino_valid,
    nir_valid,
    us_ssn_valid,
)

__all__ = ["identity_recognizer"]

_OMO: Final = "[0-9LMNPQRSTUV]"  # codice fiscale digits, including omocodia letters
_EU_VAT_PREFIX: Final = (
    "AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI"
)


@functools.cache
def specs() -> tuple[PatternSpec, ...]:
    """The specs of this recognizer (compiled on first use, then shared)."""
    return (
        PatternSpec(
            id="iban",
            confirm=True,
            category="billing.iban",
            regex=r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b",
            prefilter=r"[A-Z]{2}\d{2} ?[A-Z0-9]{4} ?[A-Z0-9]{4}",
            score=0.95,
            validator=iban_valid,
            # above card.pan (85): the digits of a valid IBAN may pass Luhn by chance (1 in 10)
            priority=86,
            explanation="pattern: IBAN; validator: country length and mod-97 check digits",
        ),
        PatternSpec(
            id="national_id.ch_ahv",
            confirm=True,
            category="identity.national_id",
            regex=r"\b756[. ]?\d{4}[. ]?\d{4}[. ]?\d{2}\b",
            score=0.95,
            validator=ahv_valid,
            context=context.NATIONAL_ID,
            priority=80,
            explanation="pattern: Swiss AHV/AVS number 756; validator: EAN-13 check digit",
        ),
        PatternSpec(
            id="national_id.fr_nir",
            confirm=True,
            category="identity.national_id",
            regex=r"\b[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[ABab])"
            r" ?\d{3} ?\d{3} ?\d{2}\b",
            prefilter=r"[12] ?\d\d ?\d\d ?\d[\dAB] ?\d{3} ?\d{3}",
            score=0.9,
            validator=nir_valid,
            context=context.NATIONAL_ID,
            priority=80,
            languages=frozenset({"fr"}),
            explanation="pattern: French NIR (sécurité sociale); validator: mod-97 key",
        ),
        PatternSpec(
            id="national_id.de_idnr",
            confirm=True,
            category="identity.national_id",
            regex=r"\b\d{2} ?\d{3} ?\d{3} ?\d{3}\b",
            prefilter=r"\d\d ?\d{3} ?\d{3} ?\d{3}",
            score=0.6,
            validator=idnr_valid,
            context=context.TAX_ID,
            context_required=True,
            context_score=0.9,
            priority=75,
            languages=frozenset({"de"}),
            explanation="pattern: German Steuer-ID near tax words; validator: ISO 7064 check",
        ),
        PatternSpec(
            id="national_id.it_codice_fiscale",
            confirm=True,
            category="identity.national_id",
            regex=r"(?i)\b[A-Z]{6}"
            + _OMO
            + "{2}[A-EHLMPRST]"
            + _OMO
            + "{2}[A-Z]"
            + _OMO
            + r"{3}[A-Z]\b",
            score=0.95,
            validator=codice_fiscale_valid,
            priority=80,
            languages=frozenset({"it"}),
            explanation="pattern: Italian codice fiscale; validator: check character",
        ),
        PatternSpec(
            id="national_id.es_dni",
            confirm=True,
            category="identity.national_id",
            regex=r"\b\d{8}-?[A-Z]\b",
            prefilter=r"\d{8}-?[A-Z]",
            score=0.85,
            validator=dni_valid,
            context=context.NATIONAL_ID,
            priority=75,
            explanation="pattern: Spanish DNI; validator: check letter",
        ),
        PatternSpec(
            id="national_id.es_nie",
            confirm=True,
            category="identity.national_id",
            regex=r"\b[XYZ]-?\d{7}-?[A-Z]\b",
            score=0.9,
            validator=nie_valid,
            context=context.NATIONAL_ID,
            priority=75,
            explanation="pattern: Spanish NIE; validator: check letter",
        ),
        PatternSpec(
            id="national_id.uk_nino",
            confirm=True,
            category="identity.national_id",
            regex=r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
            score=0.85,
            validator=nino_valid,
            context=context.NATIONAL_ID,
            priority=75,
            languages=frozenset({"en"}),
            explanation="pattern: UK National Insurance number; validator: prefix rules",
        ),
        PatternSpec(
            id="national_id.us_ssn",
            confirm=True,
            category="identity.national_id",
            regex=r"\b\d{3}-\d{2}-\d{4}\b",
            score=0.8,
            validator=us_ssn_valid,
            context=context.NATIONAL_ID,
            priority=75,
            languages=frozenset({"en"}),
            explanation="pattern: US SSN; validator: area, group and serial ranges",
        ),
        PatternSpec(
            id="national_id.us_ssn_plain",
            confirm=True,
            category="identity.national_id",
            regex=r"\b\d{9}\b",
            prefilter=r"(?i)(?:ssn|social security)",
            score=0.8,
            validator=us_ssn_valid,
            context=("ssn", "social security"),
            context_required=True,
            priority=70,
            languages=frozenset({"en"}),
            explanation="pattern: unformatted US SSN near 'SSN'; validator: ranges",
        ),
        PatternSpec(
            id="passport",
            confirm=True,
            category="identity.passport",
            regex=r"\b[A-Z0-9]{0,2}\d[A-Z0-9]{5,8}\b",
            prefilter=r"(?i)(?:passport|passeport|reisepass|pass-nr|passnummer|passaporto|pass n)",
            score=0.5,
            context=context.PASSPORT,
            context_required=True,
            context_score=0.85,
            priority=55,
            languages=frozenset({"en", "fr", "de", "it"}),
            explanation="pattern: passport number (CH/DE/FR/IT/UK/US formats) near passport words",
        ),
        PatternSpec(
            id="id_card",
            confirm=True,
            category="identity.id_card",
            regex=r"\b[A-Z0-9]{0,2}\d[A-Z0-9]{5,10}\b",
            prefilter=r"(?i)(?:id card|identity card|carte d.identit|ausweis|identit\xc3\xa4tskarte"
            r"|carta d.identit|carta di identit|id-karte|cni)",
            score=0.5,
            context=context.ID_CARD,
            context_required=True,
            context_score=0.85,
            priority=54,
            languages=frozenset({"en", "fr", "de", "it"}),
            explanation="pattern: identity card number near ID-card words",
        ),
        PatternSpec(
            id="company_id.ch_uid",
            category="identity.company_id",
            regex=r"\bCHE[- ]?\d{3}\.?\d{3}\.?\d{3}\b",
            score=0.95,
            validator=che_uid_valid,
            priority=80,
            explanation="pattern: Swiss UID CHE-; validator: mod-11 check digit",
        ),
        PatternSpec(
            id="company_id.eu_vat",
            confirm=True,
            category="identity.company_id",
            regex=r"\b(?:" + _EU_VAT_PREFIX + r") ?[0-9A-Z][0-9A-Z .]{6,14}[0-9A-Z]\b",
            score=0.85,
            validator=eu_vat_valid,
            priority=78,
            explanation="pattern: EU VAT number; validator: python-stdnum per-country check",
        ),
        PatternSpec(
            id="company_id.gb_vat",
            category="identity.company_id",
            regex=r"\bGB ?\d{3} ?\d{4} ?\d{2}(?: ?\d{3})?\b",
            score=0.8,
            validator=gb_vat_valid,
            priority=78,
            explanation="pattern: UK VAT number; validator: mod-97 check",
        ),
    )


def identity_recognizer() -> PatternRecognizer:
    return PatternRecognizer("identity", specs())
