"""SensitiveRecognizer: the forbidden categories in EN/FR/DE/IT, with cues and guards."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.detect.model import Recognizer
from dataward.detect.recognizers.sensitive import SensitiveRecognizer
from dataward.taxonomy import DataClass


@pytest.fixture(scope="module")
def recognizer() -> SensitiveRecognizer:
    return SensitiveRecognizer()


POSITIVE = [
    # (language, category, text, expected mention)
    ("en", "health", "I was diagnosed with diabetes last year.", "diabetes"),
    ("en", "health", "My husband is diabetic.", "diabetic"),
    ("en", "health", "She suffers from depression.", "depression"),
    ("en", "health", "The customer is pregnant.", "pregnant"),
    ("en", "health", "He uses a wheelchair.", "wheelchair"),
    ("en", "health", "I take metformin twice a day.", "metformin"),
    ("fr", "health", "Je suis diabétique.", "diabétique"),
    ("fr", "health", "Elle est enceinte.", "enceinte"),
    ("fr", "health", "Il souffre de dépression.", "dépression"),
    ("de", "health", "Ich bin Diabetiker.", "Diabetiker"),
    ("de", "health", "Sie ist schwanger.", "schwanger"),
    ("de", "health", "Er hat Krebs.", "Krebs"),
    ("it", "health", "Sono diabetico.", "diabetico"),
    ("it", "health", "È incinta.", "incinta"),
    ("it", "health", "Ha un cancro.", "cancro"),
    ("en", "religious_belief", "As a practising Muslim I fast.", "Muslim"),
    ("fr", "religious_belief", "Elle est catholique.", "catholique"),
    ("de", "religious_belief", "Er ist evangelisch.", "evangelisch"),
    ("it", "religious_belief", "Il cliente è ebreo.", "ebreo"),
    ("en", "political_opinion", "He votes for the SP.", "SP"),
    ("en", "political_opinion", "She is a member of the Labour party.", "Labour"),
    ("fr", "political_opinion", "Il est membre de l'UDC.", "UDC"),
    (
        "fr",
        "political_opinion",
        "Elle vote pour le Rassemblement national.",
        "Rassemblement national",
    ),
    ("de", "political_opinion", "Sie wählt die Grünen.", "Grünen"),
    ("de", "political_opinion", "Er ist Mitglied der SVP.", "SVP"),
    ("it", "political_opinion", "È iscritto alla Lega.", "Lega"),
    ("it", "political_opinion", "Ha votato Fratelli d'Italia.", "Fratelli d'Italia"),
    ("en", "trade_union", "She is a trade union member.", "trade union member"),
    ("fr", "trade_union", "Elle est syndiquée chez Unia.", "syndiquée"),
    ("de", "trade_union", "Er ist Gewerkschaftsmitglied.", "Gewerkschaftsmitglied"),
    ("de", "trade_union", "Sie ist Mitglied bei ver.di.", "ver.di"),
    ("it", "trade_union", "È delegato della CGIL.", "CGIL"),
    ("en", "sex_life", "He said he is gay.", "gay"),
    ("fr", "sex_life", "Le client est homosexuel.", "homosexuel"),
    ("de", "sex_life", "Er sagte, er sei schwul.", "schwul"),
    ("it", "sex_life", "Ha detto di essere bisessuale.", "bisessuale"),
    ("en", "racial_ethnic_origin", "The applicant is of Moroccan origin.", "of Moroccan origin"),
    ("fr", "racial_ethnic_origin", "Le candidat est d'origine marocaine.", "d'origine marocaine"),
    ("de", "racial_ethnic_origin", "Der Bewerber ist türkischer Herkunft.", "türkischer Herkunft"),
    ("it", "racial_ethnic_origin", "È di origine albanese.", "di origine albanese"),
    ("en", "genetic", "She sent her DNA test results.", "DNA test"),
    ("fr", "genetic", "Il a fait un test génétique.", "test génétique"),
    ("de", "genetic", "Das Ergebnis ihres Gentests kam an.", "Gentests"),
    ("it", "genetic", "Ha inviato il test del DNA.", "test del DNA"),
    ("en", "biometric", "The reader stores a fingerprint template.", "fingerprint template"),
    ("fr", "biometric", "Le badge garde les empreintes digitales.", "empreintes digitales"),
    ("de", "biometric", "Das System speichert den Fingerabdruck.", "Fingerabdruck"),
    ("it", "biometric", "Il sistema usa il riconoscimento facciale.", "riconoscimento facciale"),
    ("en", "criminal", "He has a criminal record.", "criminal record"),
    ("fr", "criminal", "Il a un casier judiciaire.", "casier judiciaire"),
    ("de", "criminal", "Er ist vorbestraft.", "vorbestraft"),
    ("it", "criminal", "Ha precedenti penali.", "precedenti penali"),
    ("en", "social_assistance", "She receives unemployment benefits.", "unemployment benefits"),
    ("fr", "social_assistance", "Elle touche l'aide sociale.", "aide sociale"),
    ("de", "social_assistance", "Er bezieht Sozialhilfe.", "Sozialhilfe"),
    ("it", "social_assistance", "Riceve l'assistenza sociale.", "assistenza sociale"),
]

NEGATIVE = [
    ("en", "The health check endpoint returned 503."),
    ("en", "GET /healthz 200"),
    ("en", "SELECT id FROM a UNION SELECT id FROM b"),
    ("en", "The result is the union of two sets."),
    ("en", "Our third party API is rate limited; the party API too."),
    ("en", "The Christmas sale and Black Friday start soon."),
    ("en", "We run a cancer research fundraiser."),
    ("en", "Move from master/slave to primary/replica; update the white list."),
    ("en", "The build system is sick again."),
    ("en", "There is a race condition in the scheduler."),
    ("en", "Check the SSH key fingerprint first."),
    ("en", "The account was disabled after three attempts."),
    ("en", "PS: the invoice is attached."),
    ("fr", "Le health check a échoué, la requête UNION SELECT est bloquée."),
    ("fr", "Nous soutenons la recherche contre le cancer."),
    ("fr", "Cliquez sur le menu de droite."),
    ("fr", "Le syndicat de copropriété a payé."),
    ("de", "Wir spenden an die Krebsforschung."),
    ("de", "Klicken Sie in der Mitte des Fensters."),
    ("de", "Das Rezept für den Kuchen."),
    ("de", "Der Server ist im grünen Bereich."),
    ("it", "Sarò a Roma per una riunione."),
    ("it", "Clicca sulla colonna di destra."),
    ("it", "La ricetta della torta è sul blog."),
    ("it", "La Lega contro i tumori ringrazia."),
    ("de", "Christian Meier hat angerufen."),
]


@pytest.mark.parametrize(("language", "category", "text", "mention"), POSITIVE)
@pytest.mark.parametrize("hint", [True, False], ids=["language", "no-language"])
def test_positive(
    recognizer: SensitiveRecognizer,
    language: str,
    category: str,
    text: str,
    mention: str,
    hint: bool,
) -> None:
    found = recognizer.find(text, language if hint else None)
    assert (mention, f"sensitive.{category}") in [
        (text[f.start : f.end], f.category) for f in found
    ]


@pytest.mark.parametrize(("language", "text"), NEGATIVE)
@pytest.mark.parametrize("hint", [True, False], ids=["language", "no-language"])
def test_negative(recognizer: SensitiveRecognizer, language: str, text: str, hint: bool) -> None:
    assert recognizer.find(text, language if hint else None) == []


def test_cue_raises_score(recognizer: SensitiveRecognizer) -> None:
    (bare,) = recognizer.find("Diabetes.", "en")
    (cued,) = recognizer.find("She suffers from diabetes.", "en")
    assert cued.score > bare.score
    assert "suffers from" in cued.context


def test_ambiguous_term_needs_cue(recognizer: SensitiveRecognizer) -> None:
    assert recognizer.find("The SP team meets on Monday.", "en") == []
    assert [f.category for f in recognizer.find("I vote SP.", "en")] == [
        "sensitive.political_opinion"
    ]


def test_cue_in_another_sentence_does_not_count(recognizer: SensitiveRecognizer) -> None:
    assert recognizer.find("He votes often. The SP team meets on Monday.", "en") == []


def test_language_narrows_the_lexicon(recognizer: SensitiveRecognizer) -> None:
    assert recognizer.find("Er ist schwanger.", "en") == []
    assert len(recognizer.find("Er ist schwanger.", "de")) == 1


def test_insurance_numbers(recognizer: SensitiveRecognizer) -> None:
    text = "Versichertennummer: 80756 01234 56789 012, danke."
    (f,) = recognizer.find(text, "de")
    assert text[f.start : f.end] == "Versichertennummer: 80756 01234 56789 012"
    card = "card 80756012345678901234 on file"
    (g,) = recognizer.find(card)
    assert card[g.start : g.end] == "80756012345678901234"
    assert g.category == "sensitive.health"
    assert "80756" not in g.explanation


def test_finding_shape(recognizer: SensitiveRecognizer) -> None:
    (f,) = recognizer.find("Er ist vorbestraft.", "de")
    assert f.data_class is DataClass.FORBIDDEN
    assert f.detector == recognizer.id
    assert "vorbestraft" not in f.explanation
    assert isinstance(recognizer, Recognizer)
    assert recognizer.categories == {
        f"sensitive.{c}"
        for c in [
            "health",
            "religious_belief",
            "political_opinion",
            "trade_union",
            "sex_life",
            "racial_ethnic_origin",
            "genetic",
            "biometric",
            "criminal",
            "social_assistance",
        ]
    }


def test_offsets_with_non_ascii_text(recognizer: SensitiveRecognizer) -> None:
    text = "İstanbul — Ünïcödé ß; la cliente è incinta."
    assert [text[f.start : f.end] for f in recognizer.find(text)] == ["incinta"]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300), st.sampled_from([None, "en", "fr", "de", "it", "xx"]))
def test_find_never_raises(text: str, language: str | None) -> None:
    for f in SensitiveRecognizer().find(text, language):
        assert 0 <= f.start < f.end <= len(text)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["diabet", "es ", "807", "0", "Versichertennummer", ": ", "union", " select", "-", "é"]
        ),
        max_size=80,
    )
)
def test_find_on_lexicon_soup(parts: list[str]) -> None:
    text = "".join(parts)
    for f in SensitiveRecognizer().find(text):
        assert 0 <= f.start < f.end <= len(text)


def test_lone_surrogates_keep_offsets(recognizer: SensitiveRecognizer) -> None:
    text = "\ud800 x \udfff I have diabetes \ud83d"
    assert [text[f.start : f.end] for f in recognizer.find(text, "en")] == ["diabetes"]
