"""Seeded generator of the detection benchmark corpus (bench/detect_bench.py).

Documents in four languages (Faker en_US, fr_CH, de_CH, it_CH — person names for Italian come
from it_IT, Faker has no it_CH person list): support chats, e-mails, access and application log
lines and CRM notes with planted identifiers (e-mails, phones, IBANs, AHV/SSN numbers, cards with
CVV and expiry near card words, IPs, URLs, secrets and API keys, names and titles), sensitive
mentions and hard negatives. Every document carries its gold spans ``(start, end, category)``.

``generate(n, seed)`` is deterministic for a given Faker version.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass, field

from faker import Faker

from sensitive_phrases import NEGATIVE, SENSITIVE

LOCALES = {"en": "en_US", "fr": "fr_CH", "de": "de_CH", "it": "it_CH"}
NAME_LOCALES = {"en": "en_US", "fr": "fr_CH", "de": "de_CH", "it": "it_IT"}
TITLES = {
    "en": ["Mr", "Mrs", "Ms", "Dr"],
    "fr": ["M.", "Mme"],
    "de": ["Herr", "Frau"],
    "it": ["Sig.", "Sig.ra"],
}


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    category: str


@dataclass(frozen=True)
class Document:
    id: str
    kind: str
    language: str
    text: str
    spans: tuple[Span, ...]


@dataclass
class _Builder:
    parts: list[str] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    length: int = 0

    def add(self, text: str, category: str | None = None) -> None:
        if category:
            self.spans.append(Span(self.length, self.length + len(text), category))
        self.parts.append(text)
        self.length += len(text)

    def marked(self, sentence: str) -> None:
        """Add a sentence with ``[[mention|category]]`` marks."""
        rest = sentence
        while "[[" in rest:
            before, _, tail = rest.partition("[[")
            inner, _, rest = tail.partition("]]")
            mention, _, cat = inner.partition("|")
            self.add(before)
            self.add(mention, f"sensitive.{cat}")
        self.add(rest)

    def text(self) -> str:
        return "".join(self.parts)


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers = {lang: Faker(loc) for lang, loc in LOCALES.items()}
        self.namers = {lang: Faker(loc) for lang, loc in NAME_LOCALES.items()}
        self.ibans = {"en": Faker("de_DE"), "ch": Faker("de_CH")}
        every = [*self.fakers.values(), *self.namers.values(), *self.ibans.values()]
        for i, f in enumerate(every):
            f.seed_instance(seed + i)

    # -- values --------------------------------------------------------------------------------

    def name(self, lang: str) -> str:
        f = self.namers[lang]
        return f"{f.first_name()} {f.last_name()}"

    def email(self, lang: str) -> str:
        return str(self.fakers[lang].email())

    def phone(self, lang: str) -> str:
        if lang == "en":
            r = self.rng
            return f"+1 {r.randint(201, 989)}-{r.randint(200, 999)}-{r.randint(1000, 9999)}"
        return str(self.fakers[lang].phone_number())

    def iban(self, lang: str) -> str:
        raw = str(self.ibans["en" if lang == "en" else "ch"].iban())
        if self.rng.random() < 0.5:
            return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))
        return raw

    def national_id(self, lang: str) -> str:
        if lang == "en":
            return str(self.fakers["en"].ssn())
        return str(self.fakers["de"].ssn())  # de_CH: AHV/AVS 756.xxxx.xxxx.xx

    def card(self) -> tuple[str, str, str]:
        f = self.fakers["en"]
        kind = self.rng.choice(["visa16", "mastercard", "amex"])
        pan = str(f.credit_card_number(card_type=kind))
        if self.rng.random() < 0.5 and len(pan) == 16:
            pan = " ".join(pan[i : i + 4] for i in range(0, 16, 4))
        cvv = str(f.credit_card_security_code(card_type=kind))
        return pan, cvv, str(f.credit_card_expire())

    def ip(self) -> str:
        f = self.fakers["en"]
        return str(f.ipv4_public() if self.rng.random() < 0.8 else f.ipv6())

    def secret(self) -> tuple[str, str, str]:
        """(key label, value, category)."""
        r = self.rng
        alnum = string.ascii_letters + string.digits
        kind = r.choice(["aws", "github", "stripe", "slack", "jwt", "password"])
        if kind == "aws":
            v = "AKIA" + "".join(r.choices(string.ascii_uppercase + string.digits, k=16))
            return "aws_access_key_id", v, "secret.api_key"
        if kind == "github":
            return "token", "ghp_" + "".join(r.choices(alnum, k=36)), "secret.api_key"
        if kind == "stripe":
            return "stripe_key", "sk_live_" + "".join(r.choices(alnum, k=24)), "secret.api_key"
        if kind == "slack":
            v = f"xoxb-{r.randint(10**11, 10**12)}-{r.randint(10**11, 10**12)}-" + "".join(
                r.choices(alnum, k=24)
            )
            return "slack_token", v, "secret.api_key"
        if kind == "jwt":
            head = _b64({"alg": "HS256", "typ": "JWT"})
            body = _b64({"sub": str(r.randint(1000, 99999)), "iat": 1700000000})
            sig = base64.urlsafe_b64encode(r.randbytes(32)).decode().rstrip("=")
            return "Authorization: Bearer", f"{head}.{body}.{sig}", "secret.token"
        pw = "".join(r.choices(alnum + "!#%&*", k=r.randint(10, 16)))
        return "password", pw, "secret.password"

    def url(self, lang: str) -> str:
        f = self.fakers[lang]
        return f"https://{f.domain_name()}/account/{self.rng.randint(1000, 99999)}"

    # -- documents -----------------------------------------------------------------------------

    def chat(self, lang: str) -> _Builder:
        b = _Builder()
        r = self.rng
        greet = {
            "en": "Hello, my name is ",
            "fr": "Bonjour, je m'appelle ",
            "de": "Hallo, ich heisse ",
            "it": "Buongiorno, mi chiamo ",
        }[lang]
        b.add(f"[{r.randint(8, 20):02d}:{r.randint(0, 59):02d}] customer: {greet}")
        b.add(self.name(lang), "person.name")
        b.add(". ")
        self._contact_line(b, lang)
        if r.random() < 0.6:
            b.marked(r.choice(SENSITIVE[lang]) + " ")
        agent = {
            "en": "agent: Thanks, ",
            "fr": "agent : Merci, ",
            "de": "agent: Danke, ",
            "it": "agent: Grazie, ",
        }[lang]
        b.add(f"\n[{r.randint(8, 20):02d}:{r.randint(0, 59):02d}] {agent}")
        title = r.choice(TITLES[lang])
        b.add(title, "person.title")
        b.add(" ")
        b.add(self.namers[lang].last_name(), "person.name")
        b.add(". ")
        if r.random() < 0.5:
            b.add(r.choice(NEGATIVE[lang]))
        b.add("\n")
        return b

    def _contact_line(self, b: _Builder, lang: str) -> None:
        r = self.rng
        words = {
            "en": ("You can reach me at ", " or ", "My IBAN is ", "My SSN is "),
            "fr": ("Vous pouvez me joindre au ", " ou ", "Mon IBAN est ", "Mon numéro AVS est "),
            "de": (
                "Sie erreichen mich unter ",
                " oder ",
                "Meine IBAN ist ",
                "Meine AHV-Nummer ist ",
            ),
            "it": ("Potete contattarmi al ", " o ", "Il mio IBAN è ", "Il mio numero AVS è "),
        }[lang]
        b.add(words[0])
        b.add(self.phone(lang), "contact.phone")
        b.add(words[1])
        b.add(self.email(lang), "contact.email")
        b.add(". ")
        if r.random() < 0.5:
            b.add(words[2])
            b.add(self.iban(lang), "billing.iban")
            b.add(". ")
        if r.random() < 0.4:
            b.add(words[3])
            b.add(self.national_id(lang), "identity.national_id")
            b.add(". ")

    def email_doc(self, lang: str) -> _Builder:
        b = _Builder()
        r = self.rng
        sender = self.name(lang)
        b.add("From: ")
        b.add(sender, "person.name")
        b.add(" <")
        b.add(self.email(lang), "contact.email")
        b.add(">\nSubject: ")
        b.add({"en": "Payment", "fr": "Paiement", "de": "Zahlung", "it": "Pagamento"}[lang])
        b.add("\n\n")
        b.add({"en": "Dear ", "fr": "Cher ", "de": "Lieber ", "it": "Caro "}[lang])
        b.add(self.namers[lang].first_name(), "person.name")
        b.add(",\n")
        pan, cvv, exp = self.card()
        card_words = {
            "en": ("please charge my card ", " (CVV ", ", expires ", ")."),
            "fr": ("veuillez débiter ma carte ", " (CVV ", ", expiration ", ")."),
            "de": ("bitte belasten Sie meine Karte ", " (CVC ", ", gültig bis ", ")."),
            "it": ("addebitate la mia carta ", " (CVV ", ", scadenza ", ")."),
        }[lang]
        b.add(card_words[0])
        b.add(pan, "card.pan")
        b.add(card_words[1])
        b.add(cvv, "card.cvv")
        b.add(card_words[2])
        b.add(exp, "card.expiry")
        b.add(card_words[3] + " ")
        if r.random() < 0.5:
            b.marked(r.choice(SENSITIVE[lang]) + " ")
        else:
            b.add(r.choice(NEGATIVE[lang]) + " ")
        sign = {
            "en": "\n\nBest regards,\n",
            "fr": "\n\nCordialement,\n",
            "de": "\n\nMit freundlichen Grüssen\n",
            "it": "\n\nCordiali saluti\n",
        }[lang]
        b.add(sign)
        b.add(sender, "person.name")
        b.add("\n")
        return b

    def crm_note(self, lang: str) -> _Builder:
        b = _Builder()
        r = self.rng
        label = {"en": "Customer: ", "fr": "Client : ", "de": "Kunde: ", "it": "Cliente: "}[lang]
        b.add(f"CRM#{r.randint(10000, 99999)} {label}")
        b.add(self.name(lang), "person.name")
        b.add(" | ")
        b.add(self.email(lang), "contact.email")
        b.add(" | ")
        b.add(self.phone(lang), "contact.phone")
        b.add(" | ")
        b.add(self.url(lang), "traffic.url")
        b.add("\n")
        for _ in range(r.randint(1, 2)):
            b.marked(r.choice(SENSITIVE[lang]) + " ")
        b.add(r.choice(NEGATIVE[lang]) + "\n")
        return b

    def access_log(self, lang: str) -> _Builder:
        b = _Builder()
        r = self.rng
        b.add("")
        b.add(self.ip(), "traffic.ip_address")
        b.add(
            f" - - [29/Nov/2026:0{r.randint(0, 9)}:{r.randint(10, 59)}:{r.randint(10, 59)} "
            f'+0000] "GET /api/v1/orders/{r.randint(1, 99999)}?page={r.randint(1, 9)} '
            f'HTTP/1.1" {r.choice([200, 200, 304, 404, 500])} {r.randint(100, 99999)} "-" '
            '"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"\n'
        )
        return b

    def app_log(self, lang: str) -> _Builder:
        b = _Builder()
        r = self.rng
        ts = f"2026-11-29T0{r.randint(0, 9)}:{r.randint(10, 59)}:{r.randint(10, 59)}Z"
        choice = r.random()
        if choice < 0.4:
            b.add(f"{ts} INFO auth login ok user=")
            b.add(self.email(lang), "contact.email")
            b.add(" ip=")
            b.add(self.ip(), "traffic.ip_address")
            b.add(f" latency_ms={r.randint(1, 900)}\n")
        elif choice < 0.75:
            label, value, cat = self.secret()
            b.add(f"{ts} DEBUG config loaded {label}" + (" " if label.endswith("Bearer") else "="))
            b.add(value, cat)
            b.add(f" region=eu-central-{r.randint(1, 3)}\n")
        else:
            b.add(
                f"{ts} WARN order={r.randint(10**9, 10**10)} "
                f"build={r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 99)} "
                f"took {r.randint(1, 5000)}ms "
                f"trace={r.randbytes(8).hex()} GET /healthz 200\n"
            )
        return b


def _b64(obj: object) -> str:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


KINDS = ("chat", "email", "crm", "access_log", "app_log")


def generate(n: int, seed: int = 20261129) -> list[Document]:
    """``n`` documents, languages and kinds in rotation, deterministic for ``seed``."""
    gen = _Gen(seed)
    makers = {
        "chat": gen.chat,
        "email": gen.email_doc,
        "crm": gen.crm_note,
        "access_log": gen.access_log,
        "app_log": gen.app_log,
    }
    langs = list(LOCALES)
    docs: list[Document] = []
    for i in range(n):
        lang = langs[i % 4]
        kind = KINDS[(i // 4) % len(KINDS)]
        b = makers[kind](lang)
        docs.append(Document(f"{kind}-{i}", kind, lang, b.text(), tuple(b.spans)))
    return docs


def log_text(n_chars: int, seed: int = 7) -> str:
    """Access and application log lines (about ``n_chars`` characters) for the MB/s figure."""
    gen = _Gen(seed)
    lines: list[str] = []
    total = 0
    while total < n_chars:
        b = gen.access_log("en") if gen.rng.random() < 0.5 else gen.app_log("en")
        line = b.text()
        lines.append(line)
        total += len(line)
    return "".join(lines)


if __name__ == "__main__":  # pragma: no cover - manual inspection
    for d in generate(10):
        print(d.id, d.language, repr(d.text[:200]))
        for s in d.spans:
            print("   ", s.category, repr(d.text[s.start : s.end]))
