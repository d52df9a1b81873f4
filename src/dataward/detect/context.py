"""Context words in English, French, German and Italian (lower case, matched as substrings).

A context word seen within a few dozen characters of a candidate raises its score, or is required
for formats too generic to stand alone (CVV, passport numbers, Steuer-ID).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ADDRESS",
    "CARD",
    "ID_CARD",
    "NATIONAL_ID",
    "PASSPORT",
    "PHONE",
    "TAX_ID",
    "WALLET",
]

PHONE: Final = (
    "phone", "tel", "mobile", "cell", "call", "fax",  # en
    "téléphone", "portable", "natel", "appel",  # fr
    "telefon", "handy", "anruf", "rufnummer",  # de
    "telefono", "cellulare", "chiamare",  # it
)  # fmt: skip

CARD: Final = (
    "card", "credit", "visa", "mastercard", "amex", "maestro", "pan", "cc ",  # en
    "carte", "crédit", "bancaire",  # fr
    "karte", "kredit",  # de
    "carta", "credito",  # it
)  # fmt: skip

NATIONAL_ID: Final = (
    "ahv", "avs", "ssn", "social security", "sécurité sociale", "securite sociale", "nir",
    "sozialversicherung", "insee", "codice fiscale", "dni", "nie", "nino", "national insurance",
    "national id", "numéro national", "identifikationsnummer", "previdenza",
)  # fmt: skip

TAX_ID: Final = (
    "steuer", "tax", "idnr", "identifikationsnummer", "tin", "fiscal", "impôt", "fiscale",
)  # fmt: skip

PASSPORT: Final = (
    "passport", "passeport", "reisepass", "pass-nr", "passnummer", "passaporto",
    "pass nr", "pass no",
)  # fmt: skip

ID_CARD: Final = (
    "id card", "identity card", "carte d'identité", "carte d’identité", "carte d'identite",
    "personalausweis", "identitätskarte", "identitätsausweis", "ausweis", "carta d'identità",
    "carta d’identità", "carta di identità", "id-karte", "cni",
)  # fmt: skip

ADDRESS: Final = (
    "address", "lives at", "adresse", "domicile", "habite", "anschrift", "wohnhaft", "wohnt",
    "indirizzo", "abita", "residente", "domicilio",
)  # fmt: skip

WALLET: Final = (
    "wallet", "bitcoin", "btc", "ethereum", "eth", "crypto", "portefeuille", "adresse",
    "portafoglio", "krypto",
)  # fmt: skip
