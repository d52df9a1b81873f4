"""Field and column names in English, French, German and Italian, mapped to categories.

Names are normalised (accents stripped, lower case, only letters and digits) before lookup;
``customer_email`` or ``Adresse E-Mail`` also match through their last meaningful token.
"""

from __future__ import annotations

import unicodedata
from typing import Final

__all__ = ["FIELD_NAMES", "category_for_field", "normalise"]

_NAMES: Final[dict[str, str]] = {
    "person.name": (
        "name fullname firstname lastname surname givenname familyname forename middlename "
        "vorname nachname familienname rufname prenom nom nomdefamille nomcomplet cognome nome "
        "nomecompleto contactname customername holdername cardholder"
    ),
    "person.title": "title salutation anrede civilite titre titolo appellativo",
    "person.gender": "gender sex geschlecht sexe genre genere sesso",
    "person.birth_date": (
        "birthdate dob dateofbirth birthday geburtsdatum geburtstag datedenaissance naissance "
        "datanascita datadinascita nascita"
    ),
    "person.language": "language lang locale sprache langue lingua",
    "contact.email": (
        "email mail emailaddress courriel adressemail adresseemail mel emailadresse posta "
        "postaelettronica indirizzoemail"
    ),
    "contact.phone": (
        "phone telephone tel mobile cell cellphone phonenumber fax telefon telefonnummer handy "
        "mobiltelefon natel portable numerodetelephone telefono cellulare numeroditelefono"
    ),
    "contact.postal_address": (
        "address street streetaddress addressline addressline1 addressline2 postcode postalcode "
        "zip zipcode city town adresse strasse hausnummer plz postleitzahl ort wohnort rue "
        "codepostal npa ville localite indirizzo via cap citta comune domicilio"
    ),
    "identity.username": "username login user userid benutzername benutzer utilisateur utente",
    "identity.customer_id": (
        "customerid clientid accountid customernumber kundennummer kundenid numeroclient "
        "idclient codicecliente"
    ),
    "identity.national_id": (
        "ssn ahv avs ahvnr avsnr ahvnummer nir insee socialsecuritynumber "
        "sozialversicherungsnummer "
        "steuerid steueridentifikationsnummer idnr codicefiscale cf dni nie nino nationalid "
        "nationalinsurancenumber numerosecu"
    ),
    "identity.passport": "passport passportnumber passeport reisepass passnummer passaporto",
    "identity.id_card": (
        "idcard identitycard personalausweis ausweis identitatskarte cartedidentite cni "
        "cartaidentita cartadidentita"
    ),
    "identity.driver_license": (
        "driverlicense driverslicense drivinglicence fuhrerschein permisdeconduire patente"
    ),
    "identity.company_id": "vat vatnumber vatid uid mwst mwstnr tva iva partitaiva ustid ustidnr",
    "billing.iban": "iban bankaccount accountnumber konto kontonummer compte rib contocorrente",
    "billing.crypto_wallet": "wallet walletaddress btcaddress ethaddress",
    "traffic.ip_address": "ip ipaddress ipaddr clientip remoteaddr remoteip sourceip srcip",
    "traffic.mac_address": "mac macaddress",
    "traffic.url": "url uri link referer referrer website homepage",
    "traffic.user_agent": "useragent ua browser",
    "secret.password": (
        "password passwd pwd pass passphrase passwort kennwort motdepasse mdp parola paroladordine"
    ),
    "secret.password_hash": "passwordhash pwhash hashedpassword passworddigest",
    "secret.api_key": "apikey accesskey secretkey clientsecret secret apisecret",
    "secret.token": "token accesstoken refreshtoken authtoken sessionid sessiontoken bearer",
    "secret.private_key": "privatekey sshkey",
    "secret.otp_seed": "otpsecret totpsecret mfasecret otpseed totpseed",
    "secret.recovery_code": "recoverycode recoverycodes backupcodes",
    "card.pan": (
        "cardnumber creditcard creditcardnumber ccnumber pan kartennummer kreditkartennummer "
        "numerocarte numerodecarte numerocarta"
    ),
    "card.cvv": "cvv cvc cvv2 cvc2 ccv securitycode cryptogramme kartenprufnummer",
    "card.expiry": (
        "expiry expirydate expiration expirationdate exp cardexpiry validthru ablaufdatum "
        "gultigbis dateexpiration scadenza"
    ),
    "card.token": "cardtoken processortoken paymenttoken",
    "communication.support_message": (
        "message comment comments note notes body description text commentaire remarque "
        "nachricht bemerkung kommentar notiz messaggio commento nota"
    ),
}

FIELD_NAMES: Final[dict[str, str]] = {
    name: cat for cat, names in _NAMES.items() for name in names.split()
}


def normalise(name: str) -> str:
    """``'Adresse E-Mail'`` -> ``'adresseemail'``: accents stripped, lower case, alphanumerics."""
    folded = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in folded.lower() if ch.isascii() and ch.isalnum())


def _tokens(name: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", name)
    out: list[str] = []
    cur: list[str] = []
    prev_lower = False
    for ch in folded:
        if not (ch.isascii() and ch.isalnum()):
            if not unicodedata.combining(ch) and cur:
                out.append("".join(cur))
                cur = []
            prev_lower = False
            continue
        if ch.isupper() and prev_lower and cur:  # camelCase boundary
            out.append("".join(cur))
            cur = []
        cur.append(ch.lower())
        prev_lower = ch.islower()
    if cur:
        out.append("".join(cur))
    return out


def category_for_field(name: str) -> str | None:
    """The category a field name suggests, or ``None``."""
    whole = normalise(name)
    if whole in FIELD_NAMES:
        return FIELD_NAMES[whole]
    tokens = _tokens(name)
    for size in (3, 2):  # "date_of_birth", "e_mail", "mot_de_passe"
        for i in range(len(tokens) - size, -1, -1):
            joined = "".join(tokens[i : i + size])
            if joined in FIELD_NAMES:
                return FIELD_NAMES[joined]
    for tok in reversed(tokens):
        if tok in FIELD_NAMES:
            return FIELD_NAMES[tok]
    return None
