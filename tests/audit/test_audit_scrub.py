"""The detector-backed scrubber refuses entries whose identifiers carry personal data."""

from __future__ import annotations

import pytest

from dataward import AuditSchemaError
from dataward.audit import build_entry, detector_scrubber
from dataward.detect import Detector, Finding
from dataward.taxonomy import DataClass

SCRUB = detector_scrubber()


def fields(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "action": "store",
        "actor_id": "svc-billing",
        "actor_role": "service",
        "subject_ref": "cust-000123",
        "categories": ["contact.email"],
        "purpose": "billing",
        "outcome": "ok",
    }
    base.update(over)
    return base


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject_ref", "756.1234.5678.97"),  # a Swiss AHV number as a reference
        ("request_id", "4111-1111-1111-1111"),  # a card number
        ("actor_id", "CH9300762011623852957"),  # an IBAN
    ],
)
def test_personal_value_in_an_identifier_is_refused(field: str, value: str) -> None:
    with pytest.raises(AuditSchemaError) as info:
        build_entry(fields(**{field: value}), seq=1, scrubber=SCRUB)
    assert value not in str(info.value)
    assert "personal data" in str(info.value)


@pytest.mark.parametrize("ref", ["cust-000123", "card:3f2a9c0d11e24b7a8c9d0e1f", "c1", "S-42"])
def test_opaque_references_pass(ref: str) -> None:
    entry = build_entry(fields(subject_ref=ref), seq=1, scrubber=SCRUB)
    assert entry.subject_ref == ref


class WholeText:
    """A plug-in that flags the whole text it is given: shows what one detector call sees."""

    id = "test.whole_text"
    categories = frozenset({"contact.email"})
    languages: frozenset[str] = frozenset()

    def find(self, text: str, language: str | None = None) -> list[Finding]:
        return [Finding(0, len(text), "contact.email", DataClass.LOW, 0.9, self.id)]


def test_a_finding_counts_only_inside_one_value() -> None:
    scrub = detector_scrubber(Detector([WholeText()]))
    # the single scan over the joined values sees one span across both: not inside a value
    assert scrub({"subject_ref": "cust-1", "request_id": "req-2"}) == []
    # with one value the span is that value: refused
    assert scrub({"subject_ref": "cust-1"}) == ["contact.email"]
