"""The speed-ups of the detection hot path keep results: memoized validators, the collector pause
on big windows, literal starts computed from their length, the looser address prefilter."""

from __future__ import annotations

import dataclasses
import gc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.detect import Detector, PatternRecognizer, confirm, pattern_recognizers
from dataward.detect.engine import CHUNK, OVERLAP
from dataward.detect.model import Finding
from dataward.detect.spec import drop_upper_bounds
from dataward.detect.validators import memoized, phone_valid
from dataward.taxonomy import DataClass


def test_memoized_calls_the_check_once_per_value_and_keeps_results() -> None:
    calls: list[str] = []

    def check(value: str) -> float | None:
        calls.append(value)
        return 0.5 if value.startswith("a") else None

    memo = memoized(check)
    assert [memo(v) for v in ("abc", "xyz", "abc", "xyz", "abd")] == [0.5, None, 0.5, None, 0.5]
    assert calls == ["abc", "xyz", "abd"]


def test_memoized_cache_holds_no_value_in_clear() -> None:
    memo = memoized(lambda value: 1.0)
    memo("+41 79 555 12 34")
    cells = [c.cell_contents for c in memo.__closure__ or ()]
    caches = [c for c in cells if isinstance(c, dict)]
    assert caches, "the memo keeps a dict"
    for key in caches[0]:
        assert isinstance(key, bytes) and b"555" not in key and len(key) == 16


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call +41 79 123 45 67 now", 0.85),
        ("call 079 123 45 67 now", 0.7),
        ("id 12345678901234567890 x", None),
    ],
)
def test_phone_validator_same_result_when_repeated(text: str, expected: float | None) -> None:
    data = text.encode()
    start = data.index(b" ") + 1
    end = data.rindex(b" ")
    first = phone_valid(data, start, end)
    assert first == expected
    assert phone_valid(data, start, end) == first


def test_repeated_values_give_identical_findings(full: Detector) -> None:
    text = "Anna Meier, +41 79 123 45 67, CH93 0076 2011 6238 5295 7, anna@example.ch"
    first = full.detect(text)
    assert {f.category for f in first} >= {
        "person.name",
        "contact.phone",
        "billing.iban",
        "contact.email",
    }
    assert full.detect(text) == first


def test_big_window_restores_the_collector(full: Detector) -> None:
    line = '10.1.2.3 - - [12/Mar/2025:10:00:00 +0000] "GET /x HTTP/1.1" 200 5 "-" "curl/8.4.0"\n'
    text = line * 2000  # > 64 kB: the collector is paused for the window
    assert gc.isenabled()
    found = full.detect(text)
    assert gc.isenabled()
    assert sum(f.category == "traffic.ip_address" for f in found) == 2000
    gc.disable()
    try:
        assert full.detect(text) == found
        assert not gc.isenabled()  # a caller's choice is left alone
    finally:
        gc.enable()


def test_literal_hits_on_non_ascii_text_have_exact_spans(full: Detector) -> None:
    text = "Für die Akte: Amélie Dubois, née à Genève, ist Mitglied der Gewerkschaft Unia."
    found = full.detect(text)
    names = [text[f.start : f.end] for f in found if f.category == "person.name"]
    assert names == ["Amélie Dubois"]
    union = [text[f.start : f.end] for f in found if f.category == "sensitive.trade_union"]
    assert union == ["Mitglied der Gewerkschaft", "Unia"]


def test_street_address_still_found_with_the_looser_prefilter(full: Detector) -> None:
    text = "Ship it to 221B Baker Street, London NW1 6XE please."
    found = [f for f in full.detect(text) if f.category == "contact.postal_address"]
    assert found and text[found[0].start : found[0].end].startswith("221B Baker Street")


def test_drop_upper_bounds_only_loosens_counts() -> None:
    assert drop_upper_bounds(r"a{2,199}[^x]{0,3}b{5}c{1,}") == r"a{2,}[^x]{0,}b{5}c{1,}"


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        # a run longer than the counted {2,199}: the finding stops at 200 characters
        ("password=" + "Ab3xYz9Q" * 40 + " end", [(9, 209)]),
        # the finder matches at the first key but the regex does not: the search goes on
        ("password=" + "." * 250 + "x and pwd: s3cr3tValue", [(270, 281)]),
        ("x pass: ab. pwd=Zz9!kk", [(16, 22)]),
    ],
)
def test_password_finder_gives_the_regex_matches(
    patterns: Detector, text: str, spans: list[tuple[int, int]]
) -> None:
    found = [(f.start, f.end) for f in patterns.detect(text) if f.detector == "secret.password_kv"]
    assert found == spans


@pytest.mark.parametrize("accent", ["", "é"])
@pytest.mark.parametrize("min_score", [0.5, 0.8])
def test_big_text_findings_repeat_with_each_line(
    full: Detector, accent: str, min_score: float
) -> None:
    """Findings are built only for what a window keeps (score, owned range): on a text of many
    windows made of one line repeated, each line gives the findings of the line alone, shifted,
    none lost or doubled at window edges, with and without non-ASCII text."""
    line = (
        f"10.1.2.3 - - [12/Mar/2025] {accent}GET /v2/zone?u=jean.dupont@example.ch "
        '"curl/8.4.0" card 4111 1111 1111 1111 call +41 79 123 45 67 '
        "https://portal.exoscale.com/u/42 IBAN CH93 0076 2011 6238 5295 7\n"
    )
    detector = Detector(full.recognizers, min_score=min_score)
    alone = [(f.start, f.end, f.category, f.score) for f in detector.detect(line)]
    assert len(alone) >= 6
    assert all(score >= min_score for *_, score in alone)
    reps = (2 * CHUNK + OVERLAP) // len(line) + 3
    text = line * reps
    found = [(f.start, f.end, f.category, f.score) for f in detector.detect(text)]
    expected = [
        (s + k * len(line), e + k * len(line), c, score)
        for k in range(reps)
        for s, e, c, score in alone
    ]
    assert found == expected
    pieces = (text[i : i + 9999] for i in range(0, len(text), 9999))
    streamed = [(f.start, f.end, f.category, f.score) for f in detector.detect_stream(pieces)]
    assert streamed == expected


def _without_confirm() -> Detector:
    return Detector(
        [
            PatternRecognizer(r.id, [dataclasses.replace(s, confirm=False) for s in r.specs])
            for r in pattern_recognizers()
        ]
    )


_LOG_LINES = (
    "2025-03-12T10:22:01.123Z INFO trace=12345678901234567890123 span 4111-1111-1111-11112",
    "2025-03-12T10:22:02.456Z WARN order 0041 7912 3456 7890 12 ref ABCD12 3456 7890",
    "2025-03-12T10:22:03.789Z INFO paid with 4111 1111 1111 1111 from CH93 0076 2011 6238 5295 7",
    "2025-03-12T10:22:04.000Z INFO call +41 79 123 45 67, AHV 756.1234.5678.97, cvv: 123",
    "2025-03-12T10:22:05.000Z INFO 8000 Zürich, Bahnhofstrasse 12, DE 12 345 678 901",
    "2025-03-12T10:22:06.000Z DEBUG DNI 12345678Z NIE X1234567L ssn 123-45-6789 exp 12/27",
)


@pytest.mark.parametrize("lines", [_LOG_LINES, _LOG_LINES[:2], _LOG_LINES[2:4], _LOG_LINES[4:]])
@pytest.mark.parametrize("size", [100, 5000, 70000])
def test_set_confirmation_keeps_findings(
    patterns: Detector, lines: tuple[str, ...], size: int
) -> None:
    """Big windows ask one RE2 set which card, ID and phone specs match at all before running
    them: the findings are those of the same specs run one by one."""
    text = ("\n".join(lines) + "\n") * (size // 400 + 1)
    baseline = _without_confirm().detect(text)
    assert patterns.detect(text) == baseline
    if lines != _LOG_LINES[:2]:
        assert baseline  # the real identifiers among the decoys are found


def test_set_too_big_for_its_memory_leaves_specs_one_by_one(
    patterns: Detector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An RE2 set that cannot be built within its memory budget is not used: every fired spec
    runs on its own, as without the set, and nothing is lost."""
    monkeypatch.setattr(confirm, "_SET_MAX_MEM", 1 << 21)
    starved = Detector(pattern_recognizers())
    text = ("\n".join(_LOG_LINES) + "\n") * 200
    found = starved.detect(text)
    assert found == patterns.detect(text) == _without_confirm().detect(text)
    assert {f.detector for f in found} >= {"card.pan", "iban", "phone"}


# --- Detector.restricted: a gate that never misses what the full detector reports ------------

_REFUSED = frozenset({
    "card.pan", "card.cvv", "sensitive.health", "sensitive.religious_belief",
    "sensitive.political_opinion", "sensitive.sex_life", "sensitive.racial_ethnic_origin",
    "sensitive.trade_union", "sensitive.biometric", "sensitive.genetic", "sensitive.criminal",
    "sensitive.social_assistance",
})  # fmt: skip
_PIECES = (
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
    "cvv 123",
    "CVC: 9876",
    "exp 12/29",
    "card",
    "anna@example.ch",
    "+41 79 123 45 67",
    "CH93 0076 2011 6238 5295 7",
    "756.1234.5678.97",
    "diabetes",
    "Diabetes",
    "cancer",
    "HIV-positive",
    "catholic",
    "muslim",
    "SP member",
    "Gewerkschaft",
    "syndicat",
    "depression",
    "health check",
    "union of sets",
    "Christmas sale",
    "Mr Meier",
    "password=hunter2",
    " ",
    "\n",
    ", ",
    "-",
    "1234",
    "é",
    "user7.w",
)


@pytest.fixture(scope="module")
def gate(full: Detector) -> Detector:
    return full.restricted(_REFUSED)


def test_restricted_keeps_only_the_recognizers_of_those_categories(
    full: Detector, gate: Detector
) -> None:
    assert 0 < len(gate.recognizers) < len(full.recognizers)
    assert all(r.categories & _REFUSED for r in gate.recognizers)
    assert full.restricted({"no.such.category"}).recognizers == ()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12))
def test_the_gate_finds_something_whenever_the_full_detector_reports_a_refused_category(
    full: Detector, gate: Detector, pieces: list[str]
) -> None:
    text = "".join(pieces)
    if any(f.category in _REFUSED for f in full.detect(text)):
        assert gate.detect(text), "the gate missed what the full detector refuses"


class _MisdeclaredPlugin:
    """A plug-in that reports a category it does not declare (nothing stops it)."""

    id = "acme.notes"
    categories = ("relation.support_case",)  # a tuple, not a frozenset: still accepted
    languages = frozenset[str]()

    def find(self, text: str, language: str | None = None) -> list[Finding]:
        i = text.find("chemo")
        return [] if i < 0 else [
            Finding(i, i + 5, "sensitive.health", DataClass.FORBIDDEN, 0.9, self.id)
        ]  # fmt: skip


def test_restricted_keeps_every_plug_in_recognizer(full: Detector) -> None:
    det = Detector([*full.recognizers, _MisdeclaredPlugin()])  # type: ignore[list-item]
    narrow = det.restricted({"card.pan"})
    assert "acme.notes" in {r.id for r in narrow.recognizers}
    assert "lexicon.sensitive" not in {r.id for r in narrow.recognizers}
    assert narrow.detect("after the chemo session")  # the plug-in's finding still gates
