"""The Detector scans the lexicons' literals for them (two passes per window in all): the
findings must be those of the recognizers' own ``find``."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataward.detect import Detector, Recognizer
from dataward.detect.recognizers.names import NameRecognizer
from dataward.detect.recognizers.sensitive import SensitiveRecognizer

FRAGMENTS = [
    "Anna Keller", "Herr Meier", "Frau Dr. Müller", "Dear Jean,", "Hi Will", "Sig.ra Rossi",
    "Mit freundlichen Grüßen\nJürg Zürcher", "Best regards,\nÉlodie Dupont", "my name is Ada",
    "diabetes", "Diabetiker", "carte vitale 1 85 05 78 006 084 36", "health check", "Mitglied der",
    "=SP", "SP", "vota per il PD", "Christian Meier", "christian", "union member", "UNION SELECT",
    "80756012345678901234", "Versichertennummer: 80756 01234 56789 012", "HIV", "hiv",
    "Zürich", "🙂", "é", "ẞ", "İ", " ", "\n", ", ", ". ", "-", "'",
]  # fmt: skip


@pytest.fixture(scope="module", params=[NameRecognizer, SensitiveRecognizer], ids=lambda c: c.id)
def alone(request: pytest.FixtureRequest) -> tuple[Recognizer, Detector]:
    rec = request.param()
    return rec, Detector([rec])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join),
    st.sampled_from([None, "en", "fr", "de", "it"]),
)
def test_shared_scan_finds_what_find_finds(
    alone: tuple[Recognizer, Detector], text: str, language: str | None
) -> None:
    rec, detector = alone
    expected = [f for f in rec.find(text, language) if f.score >= detector.min_score]
    assert detector.detect(text, language) == expected


def test_text_without_any_literal_costs_no_recognizer_call(full: Detector) -> None:
    text = "2025-03-12T10:22:01.123Z INFO svc: cache miss for key instance-types, refreshing\n"
    assert full.detect(text * 50) == []
