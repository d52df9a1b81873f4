"""The speed-ups of the detection hot path keep results: memoized validators, the collector pause
on big windows, literal starts computed from their length, the looser address prefilter."""

from __future__ import annotations

import gc

import pytest

from dataward.detect import Detector
from dataward.detect.spec import drop_upper_bounds
from dataward.detect.validators import memoized, phone_valid


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
