"""A batch of entries (the vault's write batch) gives the same entries, hashes and refusals as
the same entries one by one: EntryBuilder.build_many, the chain's canonical bytes, the detector
scrubber's batch scan."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from dataward import AuditSchemaError
from dataward.audit import AuditLog, Decision, detector_scrubber
from dataward.audit.entry import EntryBuilder
from dataward.db.schema import audit_entries
from dataward.detect import Detector, Finding
from dataward.taxonomy import DataClass

NOW = datetime(2026, 11, 29, 9, 30, 1, 123456, tzinfo=UTC)


def vault_like(i: int, **over: Any) -> dict[str, Any]:
    """What the vault's store_many sends: one template per category, one subject per 4 fields."""
    fields: dict[str, Any] = {
        "actor_id": "bench",
        "actor_role": "service",
        "action": "store",
        "subject_ref": f"w-{i // 4}",
        "categories": ["contact.email"] if i % 3 else ["person.name"],
        "purpose": "contract",
        "recipient": None,
        "outcome": "ok",
        "allowed": True,
        "rule_id": "r1:r2",
        "policy_version": "3",
    }
    fields.update(over)
    return fields


MIXED: list[dict[str, Any]] = [
    *(vault_like(i) for i in range(12)),
    vault_like(12, subject_ref=None),  # no subject: an optional field
    vault_like(13, categories=("contact.email",)),  # a tuple, not a list: its own template
    vault_like(14, time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    vault_like(15, decision=Decision(True, "r9", "3"), allowed=None, rule_id=None,
               policy_version=None),
    vault_like(16, outcome="denied", allowed=False),
    vault_like(17, categories=["person.name", "contact.email", "person.name"]),
]  # fmt: skip


def test_build_many_gives_what_build_gives() -> None:
    one = EntryBuilder(now=NOW)
    expected = [one.build(f, seq=0) for f in MIXED]
    assert EntryBuilder(now=NOW).build_many(MIXED) == expected
    assert len({e.subject_ref for e in expected}) > 3  # the batch really varies the subject


@pytest.mark.parametrize(
    ("position", "bad"),
    [
        (5, {"subject_ref": "has space"}),  # a template hit: only subject_ref is checked
        (0, {"subject_ref": "has space"}),  # the first of its template
        (7, {"outcome": "maybe"}),
        (9, {"allowed": 1}),  # equal to True, but not a bool: not the template of True
    ],
)
def test_build_many_refuses_what_build_refuses(position: int, bad: dict[str, Any]) -> None:
    items = [vault_like(i) for i in range(12)]
    items[position] = {**items[position], **bad}
    with pytest.raises(AuditSchemaError) as one:
        for f in items:
            EntryBuilder(now=NOW).build(f, seq=0)
    with pytest.raises(AuditSchemaError) as many:
        EntryBuilder(now=NOW).build_many(items)
    assert str(many.value) == str(one.value)


def test_chained_entries_hash_their_canonical_bytes(log: AuditLog) -> None:
    entries = log.append_many([*MIXED, *(vault_like(i, subject_ref=f"c:{i}") for i in range(5))])
    prev = b"\x00" * 32 if entries[0].seq == 1 else entries[0].prev_hash
    for e in entries:
        assert e.prev_hash == prev
        assert e.entry_hash == hashlib.sha256(prev + e.canonical()).digest()
        prev = e.entry_hash
    with log.engine.connect() as conn:
        stored = dict(conn.execute(select(audit_entries.c.seq, audit_entries.c.leaf_hash)).all())
    for e in entries:
        assert bytes(stored[e.seq]) == hashlib.sha256(b"\x00" + e.canonical()).digest()
        assert log.get(e.seq) == e
    assert log.verify().ok


def test_a_batch_scan_finds_what_one_by_one_finds() -> None:
    scrub = detector_scrubber()
    bodies = [
        {"actor_id": "svc", "subject_ref": "cust-000123", "purpose": "billing"},
        {"actor_id": "svc", "subject_ref": "756.1234.5678.97", "purpose": "billing"},  # AHV
        {"actor_id": "svc", "subject_ref": "cust-000123", "purpose": "billing"},
        {"actor_id": "CH9300762011623852957", "purpose": "billing"},  # an IBAN
        {"request_id": "4111-1111-1111-1111"},  # a card number
        {},
    ]
    one_by_one = [sorted(set(scrub(b))) for b in bodies]
    assert scrub.scrub_many(bodies) == one_by_one
    assert [bool(x) for x in one_by_one] == [False, True, False, True, True, False]


_CONTEXT_BODIES = [
    # identifiers that count only beside a context word, given by the entry's own purpose
    {"actor_id": "svc", "subject_ref": "P1234567", "purpose": "passport_check"},
    {"actor_id": "svc", "subject_ref": "123456789", "purpose": "ssn_verification"},
    # the same identifiers without context, and context words without identifiers
    {"actor_id": "svc", "subject_ref": "P1234567", "purpose": "billing"},
    {"actor_id": "svc", "subject_ref": "123456789", "purpose": "billing"},
    {"actor_id": "svc", "subject_ref": "cust-0001", "purpose": "passport_renewal"},
    {"actor_id": "svc", "subject_ref": "cust-0002", "purpose": "ssn_verification"},
]


def test_a_batch_judges_each_entry_with_its_own_context_only() -> None:
    """A batch neither hides an entry's identifier (its context word far away in the joined
    text) nor lends one entry's words to another."""
    scrub = detector_scrubber()
    alone = [scrub(b) for b in _CONTEXT_BODIES]
    assert [bool(x) for x in alone] == [True, True, False, False, False, False]
    fillers = [{"actor_id": "svc", "subject_ref": f"cust-{i:04d}", "purpose": "passport_check"}
               for i in range(40)]  # fmt: skip
    batch = fillers + _CONTEXT_BODIES + fillers
    assert scrub.scrub_many(batch) == [[]] * 40 + alone + [[]] * 40


_POOL = [*_CONTEXT_BODIES, {"actor_id": "svc", "subject_ref": "cust-9", "purpose": "billing"}]
_SCRUB = detector_scrubber()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(_POOL), max_size=30))
def test_a_batch_scan_equals_scanning_each_entry_alone(bodies: list[dict[str, str]]) -> None:
    assert _SCRUB.scrub_many(bodies) == [_SCRUB(b) for b in bodies]


class WholeText:
    """Flags the whole text it is given: shows what one detector call sees."""

    id = "test.whole_text"
    categories = frozenset({"contact.email"})
    languages: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.calls = 0

    def find(self, text: str, language: str | None = None) -> list[Finding]:
        self.calls += 1
        return [Finding(0, len(text), "contact.email", DataClass.LOW, 0.9, self.id)]


def test_a_batch_is_one_detector_call_and_findings_stay_inside_one_value() -> None:
    plugin = WholeText()
    scrub = detector_scrubber(Detector([plugin]))
    bodies = [{"subject_ref": f"s-{i}", "actor_id": "a"} for i in range(50)]
    assert scrub.scrub_many(bodies) == [[] for _ in bodies]  # the span covers many values
    assert plugin.calls == 1
    assert scrub.scrub_many([{"subject_ref": "only"}]) == [["contact.email"]]


def test_a_batch_with_personal_data_in_one_entry_appends_nothing(log: AuditLog) -> None:
    scrubbed = AuditLog(log.engine, scrubber=detector_scrubber())
    before = scrubbed.head()
    items = [vault_like(i) for i in range(40)]
    items[33] = vault_like(33, subject_ref="756.1234.5678.97")
    with pytest.raises(AuditSchemaError) as info:
        scrubbed.append_many(items)
    assert "756.1234.5678.97" not in str(info.value)
    assert scrubbed.head() == before
    scrubbed.append_many(items[:33])
    assert scrubbed.head()[0] == before[0] + 33


def test_a_decision_equal_to_a_valid_one_but_not_a_bool_is_refused_in_a_batch() -> None:
    """``Decision(1, ...) == Decision(True, ...)``: the reuse must not let the first pass."""
    good = vault_like(0, decision=Decision(True, "r9", "3"), allowed=None, rule_id=None,
                      policy_version=None)  # fmt: skip
    bad = {**good, "subject_ref": "w-9", "decision": Decision(1, "r9", "3")}  # type: ignore[arg-type]
    with pytest.raises(AuditSchemaError, match=r"decision\.allowed"):
        EntryBuilder(now=NOW).build(bad, seq=0)
    with pytest.raises(AuditSchemaError, match=r"decision\.allowed"):
        EntryBuilder(now=NOW).build_many([good, bad])
