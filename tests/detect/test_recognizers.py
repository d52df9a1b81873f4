"""Every pattern recognizer: positive and negative cases, in each language it claims."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.detect import Detector
from dataward.detect.validators import ipv6_valid

# (text, category, the exact value that must be found)
POSITIVE = [
    # e-mail
    ("Write to jean.dupont@example.ch today", "contact.email", "jean.dupont@example.ch"),
    ("Écrivez à marie-claire+crm@exemple.fr svp", "contact.email", "marie-claire+crm@exemple.fr"),
    ("Bitte an h.mueller@firma.de senden", "contact.email", "h.mueller@firma.de"),
    ("Scrivere a giulia.rossi@esempio.it grazie", "contact.email", "giulia.rossi@esempio.it"),
    # phones
    ("call +41 44 668 18 00 now", "contact.phone", "+41 44 668 18 00"),
    ("Tél. 022 345 67 89", "contact.phone", "022 345 67 89"),
    ("Liechtenstein +423 235 12 34", "contact.phone", "+423 235 12 34"),
    ("Appelez le 01 42 68 53 00", "contact.phone", "01 42 68 53 00"),
    ("Rufen Sie 030 1234567 an", "contact.phone", "030 1234567"),
    ("Wien +43 1 53115 0", "contact.phone", "+43 1 53115 0"),
    ("Chiamare 06 6982 0000", "contact.phone", "06 6982 0000"),
    ("UK office 020 7946 0958", "contact.phone", "020 7946 0958"),
    ("US desk (212) 555-0199", "contact.phone", "(212) 555-0199"),
    ("E.164 +33142685300.", "contact.phone", "+33142685300"),
    ("intl 0041 44 668 18 00", "contact.phone", "0041 44 668 18 00"),
    ("Potete contattarmi al +41 53 625 51 51 o", "contact.phone", "+41 53 625 51 51"),
    ("Vous pouvez me joindre au +41 (0)67 053 22 32", "contact.phone", "+41 (0)67 053 22 32"),
    # postal addresses
    ("wohnt an der Bahnhofstrasse 12, 8001 Zürich", "contact.postal_address",
     "Bahnhofstrasse 12, 8001 Zürich"),
    ("Adresse: Rue du Rhône 42, 1204 Genève", "contact.postal_address",
     "Rue du Rhône 42, 1204 Genève"),
    ("habite au 12 rue de la Paix, 75002 Paris", "contact.postal_address",
     "12 rue de la Paix, 75002 Paris"),
    ("Lieferung an Friedrichstraße 43, 10117 Berlin", "contact.postal_address",
     "Friedrichstraße 43, 10117 Berlin"),
    ("indirizzo Via dei Mille 5, 00184 Roma", "contact.postal_address",
     "Via dei Mille 5, 00184 Roma"),
    ("lives at 221B Baker Street, London NW1 6XE", "contact.postal_address",
     "221B Baker Street, London NW1 6XE"),
    ("ship to 1600 Pennsylvania Avenue, Washington, DC 20500", "contact.postal_address",
     "1600 Pennsylvania Avenue, Washington, DC 20500"),
    # IBAN and national / company ids
    ("IBAN CH93 0076 2011 6238 5295 7.", "billing.iban", "CH93 0076 2011 6238 5295 7"),
    ("IBAN DE89370400440532013000", "billing.iban", "DE89370400440532013000"),
    ("IBAN FR1420041010050500013M02606", "billing.iban", "FR1420041010050500013M02606"),
    ("AHV-Nr. 756.9217.0769.85", "identity.national_id", "756.9217.0769.85"),
    ("n° AVS 7569217076985", "identity.national_id", "7569217076985"),
    ("NIR 2 95 10 99 126 111 93", "identity.national_id", "2 95 10 99 126 111 93"),
    ("Steuer-ID 36 574 261 809", "identity.national_id", "36 574 261 809"),
    ("codice fiscale RCCMNL83S18D969H", "identity.national_id", "RCCMNL83S18D969H"),
    ("DNI 54362315K", "identity.national_id", "54362315K"),
    ("NIE X2482300W", "identity.national_id", "X2482300W"),
    ("NINO AB 12 34 56 C", "identity.national_id", "AB 12 34 56 C"),
    ("SSN 536-22-1234", "identity.national_id", "536-22-1234"),
    ("passport number X1234567", "identity.passport", "X1234567"),
    ("numéro de passeport 12AB34567", "identity.passport", "12AB34567"),
    ("Reisepass C01X00T47", "identity.passport", "C01X00T47"),
    ("passaporto YA1234567", "identity.passport", "YA1234567"),
    ("Personalausweis L01X00T47", "identity.id_card", "L01X00T47"),
    ("UID CHE-100.155.212", "identity.company_id", "CHE-100.155.212"),
    ("VAT DE136695976", "identity.company_id", "DE136695976"),
    # cards
    ("card 4111 1111 1111 1111 please", "card.pan", "4111 1111 1111 1111"),
    ("carte 5555-5555-5555-4444", "card.pan", "5555-5555-5555-4444"),
    ("Kreditkarte 378282246310005", "card.pan", "378282246310005"),
    ("CVV: 123", "card.cvv", "123"),
    ("cryptogramme visuel 456", "card.cvv", "456"),
    ("Kartenprüfnummer 789", "card.cvv", "789"),
    ("codice di sicurezza 321", "card.cvv", "321"),
    ("card exp 12/27", "card.expiry", "12/27"),
    ("carte date d'expiration 03/2029", "card.expiry", "03/2029"),
    ("Karte gültig bis 11/28", "card.expiry", "11/28"),
    ("carta scadenza 01/30", "card.expiry", "01/30"),
    # traffic
    ("client 203.0.113.7 connected", "traffic.ip_address", "203.0.113.7"),
    ("from 2001:db8::1 port", "traffic.ip_address", "2001:db8::1"),
    ("fe80:0000:0000:0000:0202:b3ff:fe1e:8329 up", "traffic.ip_address",
     "fe80:0000:0000:0000:0202:b3ff:fe1e:8329"),
    ("mac 00:1A:2B:3C:4D:5E", "traffic.mac_address", "00:1A:2B:3C:4D:5E"),
    ("see https://portal.example.com/x?a=1.", "traffic.url", "https://portal.example.com/x?a=1"),
    ('"curl/8.4.0"', "traffic.user_agent", "curl/8.4.0"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
     "traffic.user_agent",
     "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"),
    # wallets
    ("btc 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "billing.crypto_wallet",
     "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
    ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "billing.crypto_wallet",
     "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    ("eth wallet 0x52908400098527886E0F7030069857D2E4169EE7", "billing.crypto_wallet",
     "0x52908400098527886E0F7030069857D2E4169EE7"),
    # secrets
    ("password=hunter2!", "secret.password", "hunter2!"),
    ("config password=fTF0iR&qQbaESgE7 region=eu", "secret.password", "fTF0iR&qQbaESgE7"),
    ('{"password": "S3cr3t!x"}', "secret.password", "S3cr3t!x"),
    ("Mot de passe : Tr0ub4dor", "secret.password", "Tr0ub4dor"),
    ("Passwort ist geheim123", "secret.password", "geheim123"),
    ("parola d'ordine: Segreto99", "secret.password", "Segreto99"),
    ("postgres://app:Pa55w0rd@db:5432/x", "secret.password", "Pa55w0rd"),
    ("Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l", "secret.password",
     "YWxhZGRpbjpvcGVuc2VzYW1l"),
    ("Authorization: Bearer abcdefghijklmnop1234", "secret.token", "abcdefghijklmnop1234"),
    ("key AKIAIOSFODNN7EXAMPLE", "secret.api_key", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "secret.api_key",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("token ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "secret.api_key",
     "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
    ("glpat-" + "AbCdEfGhIjKlMnOpQrSt", "secret.api_key", "glpat-" + "AbCdEfGhIjKlMnOpQrSt"),
    ("xoxb-" + "123456789012-abcdefghijkl", "secret.token", "xoxb-" + "123456789012-abcdefghijkl"),
    ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "secret.api_key",
     "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
    ("AIza" + "SyD-1234567890abcdefghijklmnopqrstu", "secret.api_key",
     "AIza" + "SyD-1234567890abcdefghijklmnopqrstu"),
    ("exo key EXO" + "0123456789abcdef01234567", "secret.api_key",
     "EXO" + "0123456789abcdef01234567"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "secret.token",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("otpauth://totp/Exo:jd?secret=JBSWY3DPEHPK3PXP&issuer=Exo", "secret.otp_seed",
     "otpauth://totp/Exo:jd?secret=JBSWY3DPEHPK3PXP&issuer=Exo"),
    ('api_key = "9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"', "secret.api_key",
     "9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"),
    ("hash $2b$12$" + "KIXQJ7yZ1Yb0m9fZP3yX7uX9u8o7i6u5y4t3r2e1w0q9p8o7i6u5y",
     "secret.password_hash",
     "$2b$12$" + "KIXQJ7yZ1Yb0m9fZP3yX7uX9u8o7i6u5y4t3r2e1w0q9p8o7i6u5y"),
]  # fmt: skip

PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBpZ2Zha2VrZXlmYWtla2V5ZmFrZWtleWZha2VrZXlmYWtlAAAAAA==\n"
    "-----END OPENSSH PRIVATE KEY-----"
)

NEGATIVE = [
    # (text, category that must NOT be found)
    ("the user@ sign alone", "contact.email"),
    ("version 1.2.3.4.5 released", "traffic.ip_address"),
    ("timestamp 2024-01-15 10:22:33 port 8080", "contact.phone"),
    ("le 01.02.2025 à 10 heures", "contact.phone"),
    ("carte vitale 1 85 05 78 006 084 36 transmis", "contact.phone"),
    ("Versichertennummer: 80756 01234 56789 012", "contact.phone"),
    ("order 12345678901 shipped", "identity.national_id"),
    ("IBAN CH93 0076 2011 6238 5295 8", "billing.iban"),  # bad check digits
    ("AHV 756.9217.0769.86", "identity.national_id"),  # bad check digit
    ("card 4111 1111 1111 1112", "card.pan"),  # Luhn fails
    ("ref 1234 5678 9012 3456", "card.pan"),
    ("the code 123 was accepted", "card.cvv"),
    ("meeting 12/27 at noon", "card.expiry"),
    ("password=${DB_PASSWORD}", "secret.password"),
    ('"password": "********"', "secret.password"),
    ("pass the salt", "secret.password"),
    ("std::vector<int> a::b", "traffic.ip_address"),
    ("room 10:22:33", "traffic.ip_address"),
    ("api_key = aaaaaaaaaaaaaaaaaaaa", "secret.api_key"),
    ("number X1234567 in stock", "identity.passport"),
    ("the year 2024 Summary", "contact.postal_address"),
    ("btc 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "billing.crypto_wallet"),  # bad checksum
    ("codice RCCMNL83S18D969X", "identity.national_id"),  # bad check char
    ("SSN 666-12-3456", "identity.national_id"),  # invalid area
]


@pytest.mark.parametrize(("text", "category", "value"), POSITIVE, ids=lambda v: str(v)[:40])
def test_positive(patterns: Detector, text: str, category: str, value: str) -> None:
    found = [(text[f.start : f.end], f.category) for f in patterns.detect(text)]
    assert (value, category) in found


def test_private_key_block(patterns: Detector) -> None:
    text = f"key:\n{PEM}\nend of mail"
    (f,) = [f for f in patterns.detect(text) if f.category == "secret.private_key"]
    assert text[f.start : f.end] == PEM


@pytest.mark.parametrize(("text", "category"), NEGATIVE, ids=lambda v: str(v)[:40])
def test_negative(patterns: Detector, text: str, category: str) -> None:
    assert category not in {f.category for f in patterns.detect(text)}


def test_findings_carry_explanation_without_value(patterns: Detector) -> None:
    text = "Telefon: 044 668 18 00"
    (f,) = patterns.detect(text)
    assert f.category == "contact.phone"
    assert "phonenumbers" in f.explanation
    assert "telefon" in f.context
    assert "668" not in f.explanation


def _ipaddress_accepts(value: str) -> bool:
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEF:", min_size=2, max_size=45))
def test_ipv6_validator_agrees_with_ipaddress(value: str) -> None:
    data = value.encode()
    expected = (
        value.count(":") >= 2 and any(c.isdigit() for c in value) and _ipaddress_accepts(value)
    )
    assert (ipv6_valid(data, 0, len(data)) is not None) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Authorization: Bearer " + "x1Y2" * 300, "x1Y2" * 300),  # longer than the old cap
        ('"client_secret": "' + "aB3dE5gH7jK9mN1pQ" * 40 + '"', "aB3dE5gH7jK9mN1pQ" * 40),
        ("see https://example.com/" + "p" * 1500 + ".", "https://example.com/" + "p" * 1500),
    ],
    ids=["bearer", "keyed", "url"],
)
def test_long_values_are_found_whole(patterns: Detector, text: str, value: str) -> None:
    assert value in {text[f.start : f.end] for f in patterns.detect(text)}
