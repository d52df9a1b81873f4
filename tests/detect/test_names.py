"""NameRecognizer: names and titles from cues and gazetteers, EN/FR/DE/IT."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.detect.model import Recognizer
from dataward.detect.recognizers.names import NameRecognizer, SpacyNameRecognizer
from dataward.taxonomy import DataClass


@pytest.fixture(scope="module")
def recognizer() -> NameRecognizer:
    return NameRecognizer()


def _found(rec: NameRecognizer, text: str, category: str = "person.name") -> list[str]:
    return [text[f.start : f.end] for f in rec.find(text) if f.category == category]


NAMES = [
    # (language, text, expected names)
    ("en", "Hello, my name is Kevin Davis and I need help.", ["Kevin Davis"]),
    ("en", "Dear Mr. Smith, thanks for your patience.", ["Smith"]),
    ("en", "Please call Anna Keller back tomorrow.", ["Anna Keller"]),
    ("en", "Best regards,\nPeter Miller", ["Peter Miller"]),
    ("en", "From: John F. Kennedy <jfk@example.org>", ["John F. Kennedy"]),
    ("en", "My name is Will Turner.", ["Will Turner"]),
    ("en", "Rose Johnson called about the invoice.", ["Rose Johnson"]),
    ("fr", "Bonjour, je m'appelle Jean-Marc Dubois.", ["Jean-Marc Dubois"]),
    ("fr", "Merci, M. Dupont, à bientôt.", ["Dupont"]),
    ("fr", "Cordialement,\nSophie Martin", ["Sophie Martin"]),
    ("fr", "Mme Chevalley a rappelé ce matin.", ["Chevalley"]),
    ("de", "Hallo, ich heisse Marcela Kuhn.", ["Marcela Kuhn"]),
    ("de", "Sehr geehrte Frau Dr. Müller", ["Müller"]),
    ("de", "Mit freundlichen Grüßen\nHans Meier", ["Hans Meier"]),
    ("de", "Ich heiße Lukas von Arx.", ["Lukas von Arx"]),
    ("it", "Buongiorno, mi chiamo Giulia Rossi.", ["Giulia Rossi"]),
    ("it", "Grazie, Sig.ra Bianchi.", ["Bianchi"]),
    ("it", "Cordiali saluti\nGiulia De Luca", ["Giulia De Luca"]),
    ("it", "Gentile Dott. Ferrari, le scrivo per la fattura.", ["Ferrari"]),
]

NOT_NAMES = [
    ("en", "Will you come in May?"),
    ("en", "Best Practices for the API"),
    ("en", "Hello World, the GET /healthz returned 200"),
    ("en", "Dear Customer, your order has shipped."),
    ("en", "The Rose garden in Paris is open."),
    ("fr", "Bonjour Madame, votre commande est prête."),
    ("fr", "Merci pour votre message."),
    ("de", "Sehr geehrte Damen und Herren, vielen Dank."),
    ("de", "Die Frau hat angerufen."),
    ("it", "Mia moglie ha chiamato ieri."),
    ("it", "Buongiorno a tutti, la riunione è alle 9."),
    ("en", "2026-11-29T04:00:00Z INFO user=anna.keller@example.ch login ok"),
]

TITLES = [
    ("en", "Dear Mrs Brown, hello.", ["Mrs"]),
    ("en", "Dr. Watson will see you.", ["Dr."]),
    ("fr", "Bonjour Mme Favre.", ["Mme"]),
    ("fr", "M. Dupont a appelé.", ["M."]),
    ("de", "Guten Tag Herr Keller.", ["Herr"]),
    ("de", "Sehr geehrte Frau Dr. Müller", ["Frau", "Dr."]),
    ("it", "Buongiorno Sig. Rossi.", ["Sig."]),
    ("it", "Gentile Sig.ra Bianchi,", ["Sig.ra"]),
]

NOT_TITLES = [
    ("de", "Die Frau hat angerufen."),
    ("en", "Mr and Mrs are titles."),
    ("fr", "M. et Mme sont des titres."),
    ("it", "Il Sig. è arrivato."),
]


@pytest.mark.parametrize(("language", "text", "expected"), NAMES)
def test_names_found(
    recognizer: NameRecognizer, language: str, text: str, expected: list[str]
) -> None:
    assert _found(recognizer, text) == expected


@pytest.mark.parametrize(("language", "text"), NOT_NAMES)
def test_not_names(recognizer: NameRecognizer, language: str, text: str) -> None:
    assert _found(recognizer, text) == []


@pytest.mark.parametrize(("language", "text", "expected"), TITLES)
def test_titles_found(
    recognizer: NameRecognizer, language: str, text: str, expected: list[str]
) -> None:
    assert _found(recognizer, text, "person.title") == expected


@pytest.mark.parametrize(("language", "text"), NOT_TITLES)
def test_not_titles(recognizer: NameRecognizer, language: str, text: str) -> None:
    assert _found(recognizer, text, "person.title") == []


def test_evidence_orders_scores(recognizer: NameRecognizer) -> None:
    def score(text: str) -> float:
        (finding,) = recognizer.find(text)
        return finding.score

    cued = score("My name is Anna Keller.")
    full = score("Anna Keller called.")
    capitalised = score("Anna Xyzzyq called.")
    lone = score("Anna called.")
    assert cued > full > capitalised > lone


def test_finding_shape(recognizer: NameRecognizer) -> None:
    (title, name) = recognizer.find("Dear Mr. Smith")
    assert (title.category, name.category) == ("person.title", "person.name")
    assert name.data_class is DataClass.LOW
    assert name.detector == recognizer.id
    assert "Smith" not in name.explanation  # explanations never repeat the value
    assert isinstance(recognizer, Recognizer)
    assert recognizer.languages == {"en", "fr", "de", "it"}


def test_offsets_survive_non_ascii_before(recognizer: NameRecognizer) -> None:
    text = "Ünïcödé ß İ — Bonjour, je m'appelle Zoé Favre."
    assert _found(recognizer, text) == ["Zoé Favre"]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_find_never_raises(text: str) -> None:
    rec = NameRecognizer()
    for f in rec.find(text):
        assert 0 <= f.start < f.end <= len(text)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["Dear ", "Mr. ", "Anna ", "Keller", ", ", "\n", "Best regards", "M.", "é"]
        ),
        max_size=60,
    )
)
def test_find_on_cue_soup(parts: list[str]) -> None:
    text = "".join(parts)
    for f in NameRecognizer().find(text):
        assert 0 <= f.start < f.end <= len(text)


def test_spacy_plugin_when_installed() -> None:
    pytest.importorskip("spacy")
    if not SpacyNameRecognizer.available():
        pytest.skip("no spaCy pipeline installed")
    rec = SpacyNameRecognizer()
    text = "Yesterday Barack Obama met Angela Merkel in Berlin."
    names = [text[f.start : f.end] for f in rec.find(text)]
    assert "Barack Obama" in names
    assert all(f.category == "person.name" for f in rec.find(text))


def test_lone_surrogates_keep_offsets(recognizer: NameRecognizer) -> None:
    text = "\ud800 Dear Mr. Smith \udfff"
    assert _found(recognizer, text) == ["Smith"]
