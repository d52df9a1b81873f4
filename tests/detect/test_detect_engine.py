"""The Detector: overlaps, ordering, plug-ins, chunking, binary refusal, hostile input."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataward.detect import (
    Detector,
    Finding,
    PatternRecognizer,
    PatternSpec,
    decode_bytes,
    default_recognizers,
    pattern_recognizers,
)
from dataward.detect.engine import CHUNK, OVERLAP
from dataward.detect.model import new_finding
from dataward.errors import BinaryInputError, InputError, UnknownCategoryError
from dataward.taxonomy import DataClass

SAMPLE = (
    "Hi, I'm Jean Dupont (jean.dupont@example.ch, +41 44 668 18 00). "
    "IBAN CH93 0076 2011 6238 5295 7, card 4111 1111 1111 1111 exp 12/27 cvv 123, "
    "password=hunter2!, from 203.0.113.7 via https://user:Pa55w0rd@example.com/x"
)


def test_findings_sorted_and_disjoint(full: Detector) -> None:
    findings = full.detect(SAMPLE)
    assert findings == sorted(findings, key=lambda f: f.start)
    for a, b in itertools.pairwise(findings):
        assert a.end <= b.start
    cats = {f.category for f in findings}
    assert {"contact.email", "contact.phone", "billing.iban", "card.pan", "card.cvv",
            "card.expiry", "secret.password", "traffic.ip_address"} <= cats  # fmt: skip


def test_more_specific_wins_on_overlap(patterns: Detector) -> None:
    text = "db at postgres://app:Pa55w0rd@db.example.com/main"
    found = {text[f.start : f.end]: f.category for f in patterns.detect(text)}
    assert found.get("Pa55w0rd") == "secret.password"
    assert "traffic.url" not in found.values()  # the URL overlapped the password and lost


def test_valid_iban_wins_over_card_number_inside_it(patterns: Detector) -> None:
    # the last 17 digits of this IBAN also pass Luhn and a card brand range
    text = "refund to IBAN CH49 5744 6765 3000 4564 8 today"
    found = [(text[f.start : f.end], f.category) for f in patterns.detect(text)]
    assert found == [("CH49 5744 6765 3000 4564 8", "billing.iban")]


@pytest.mark.parametrize(
    "text",
    [
        "health insurance number 0791234567 on file",
        "Ma carte vitale: 06 12 34 56 78 90",
        "Numéro de carte vitale 1 85 05 78 006 084 36 transmis par erreur.",
    ],
)
def test_insurance_number_stays_health_data(full: Detector, text: str) -> None:
    cats = [f.category for f in full.detect(text)]
    assert "sensitive.health" in cats
    assert "contact.phone" not in cats


def test_jsonl_shape(patterns: Detector) -> None:
    (f,) = patterns.detect("mail: a.b@example.org")
    assert f.to_dict() == {
        "start": 6, "end": 21, "category": "contact.email", "class": "low",
        "score": 0.95, "detector": "email",
    }  # fmt: skip


def test_offsets_are_str_indices_with_non_ascii(patterns: Detector) -> None:
    text = "Grüße aus Zürich — écrivez à josé.müller@example.ch 🙂 ou marie@example.fr"
    emails = [text[f.start : f.end] for f in patterns.detect(text)]
    assert "marie@example.fr" in emails


class _Plugin:
    id = "acme.loyalty"
    categories = frozenset({"identity.customer_id"})
    languages = frozenset[str]()

    def find(self, text: str, language: str | None = None) -> Iterator[Finding]:
        i = text.find("LOY-")
        if i >= 0:
            yield Finding(i, i + 10, "identity.customer_id", DataClass.LOW, 0.9, self.id)


def test_plugin_passed_explicitly() -> None:
    det = Detector(default_recognizers(plugins=[_Plugin()], exclude={"lexicon.person_name"}))
    text = "member LOY-123456 and x@example.com"
    cats = {f.category for f in det.detect(text)}
    assert {"identity.customer_id", "contact.email"} <= cats


def test_pattern_plugin_gets_prefiltered() -> None:
    spec = PatternSpec(
        id="acme.ticket",
        category="relation.support_case",
        regex=r"\bTCK-\d{6}\b",
        score=0.9,
        explanation="pattern: ACME ticket number",
    )
    det = Detector([PatternRecognizer("acme", [spec])])
    assert [f.detector for f in det.detect("see TCK-123456")] == ["acme.ticket"]
    assert det.detect("see TCK-12") == []


def test_unknown_category_refused() -> None:
    spec = PatternSpec(id="x", category="contact.emial", regex="x", score=0.9, explanation="x")
    with pytest.raises(UnknownCategoryError):
        Detector([PatternRecognizer("bad", [spec])])


def test_duplicate_ids_refused() -> None:
    with pytest.raises(InputError):
        Detector([*pattern_recognizers(), *pattern_recognizers()])


@pytest.mark.parametrize(
    "text", ["abc\x00def", "\x01\x02\x03\x04\x05\x06 binary \x07\x08\x0e\x0f\x10\x11"]
)
def test_binary_text_refused(patterns: Detector, text: str) -> None:
    with pytest.raises(BinaryInputError) as exc:
        patterns.detect(text)
    assert "binary" in str(exc.value)


def test_bytes_are_not_text(patterns: Detector) -> None:
    with pytest.raises(InputError):
        patterns.detect(b"x@example.com")  # type: ignore[arg-type]


def test_invalid_utf8_replaced() -> None:
    assert decode_bytes(b"caf\xe9 x@example.com") == "caf\ufffd x@example.com"
    with pytest.raises(BinaryInputError):
        decode_bytes(b"\x7fELF\x00\x00\x01")


def test_lone_surrogates_do_not_shift_offsets(patterns: Detector) -> None:
    text = "\ud800 x@example.com"
    (f,) = patterns.detect(text)
    assert text[f.start : f.end] == "x@example.com"


def test_long_input_chunked_findings_at_boundaries(patterns: Detector) -> None:
    filler = "lorem ipsum dolor sit amet "
    n = (2 * CHUNK + OVERLAP) // len(filler) + 10
    text = filler * n
    marks = [CHUNK - 8, CHUNK + 3, 2 * CHUNK - 256 - 5, 2 * CHUNK + 100]
    email = "jean.dupont@example.ch"
    for m in sorted(marks, reverse=True):
        text = text[:m] + f" {email} " + text[m:]
    found = patterns.detect(text)
    assert [text[f.start : f.end] for f in found] == [email] * len(marks)
    streamed = list(patterns.detect_stream(text[i : i + 7777] for i in range(0, len(text), 7777)))
    assert streamed == found


def test_thread_safe(patterns: Detector) -> None:
    texts = [f"user{i}@example.com from 10.0.0.{i % 250}" for i in range(200)]
    expected = [patterns.detect(t) for t in texts]
    barrier = threading.Barrier(4)

    def work(chunk: list[str]) -> list[list[Finding]]:
        barrier.wait()
        return [patterns.detect(t) for t in chunk]

    with ThreadPoolExecutor(4) as pool:
        parts = list(pool.map(work, [texts[i::4] for i in range(4)]))
    got = {t: r for i in range(4) for t, r in zip(texts[i::4], parts[i], strict=True)}
    assert [got[t] for t in texts] == expected


def test_scan_categories(full: Detector) -> None:
    assert full.scan_categories("card 4111 1111 1111 1111, cvv 123") >= {"card.pan", "card.cvv"}


def test_default_is_cached() -> None:
    assert Detector.default() is Detector.default()


# --- hostile input ------------------------------------------------------------------------------

ADVERSARIAL = [
    "-" * 100_000,
    ". " * 100_000,
    "@" * 100_000,
    "1" * 1_000_000,
    "1 " * 200_000,
    "a@" * 50_000,
    "+41 " * 50_000,
    "password=" * 20_000,
    "-----BEGIN PRIVATE KEY-----" + "A" * 200_000,
    "https://" + "a/" * 100_000,
    ":" * 100_000,
    "Mozilla/5.0 " + "(x) " * 50_000,
    "Bearer " + "a" * 300_000,
    "token=" + "Ab1" * 100_000,
    "token=Ab1Cd2Ef3Gh4Ij5K " * 20_000,
    "otpauth://" + "x" * 300_000,
    "x_secret_token_key=" * 20_000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda t: f"{t[:12]!r}x{len(t)}")
def test_adversarial_input_completes_sanely(full: Detector, text: str) -> None:
    found = full.detect(text)
    for f in found:
        assert 0 <= f.start < f.end <= len(text)
    assert len(found) <= len(text)


_TEXT = st.text(
    alphabet=st.sampled_from([*list("0123456789 -./:@+_=abcXYZéü\n\t\"'()[]{}$"), "🙂"]),
    max_size=400,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_detect_never_raises_on_text(full: Detector, text: str) -> None:
    for f in full.detect(text):
        assert 0 <= f.start < f.end <= len(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300).filter(lambda t: "\x00" not in t))
def test_detect_never_raises_on_any_unicode(full: Detector, text: str) -> None:
    try:
        found = full.detect(text)
    except BinaryInputError:
        return  # many control characters: refused cleanly, by design
    for f in found:
        assert 0 <= f.start < f.end <= len(text)


@given(
    st.integers(-3, 10),
    st.integers(-3, 10),
    st.floats(-0.5, 1.5, allow_nan=False),
)
def test_new_finding_is_finding(start: int, end: int, score: float) -> None:
    args = (start, end, "contact.email", DataClass.LOW, score, "email", "why", ("mail",))
    try:
        expected = Finding(*args)
    except ValueError:
        with pytest.raises(ValueError, match="finding"):
            new_finding(*args)
        return
    made = new_finding(*args)
    assert made == expected
    assert hash(made) == hash(expected)
    assert type(made) is Finding
