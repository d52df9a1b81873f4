"""The fast canonical formatter gives exactly the bytes of the JSON encoder."""

from __future__ import annotations

from datetime import UTC, datetime

from audit_factories import make_fields  # type: ignore[import-not-found]
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.audit import build_entry
from dataward.audit.rows import CHAIN_COLUMNS, _row_canonical_json, entry_to_row, row_canonical
from dataward.taxonomy import default_taxonomy

CATEGORIES = sorted(c.name for c in default_taxonomy())
IDS = st.from_regex(r"[A-Za-z0-9_.:-]{1,20}", fullmatch=True)


def _row(entry_fields: dict[str, object], seq: int) -> tuple[object, ...]:
    entry = build_entry(entry_fields, seq=seq)
    row = entry_to_row(entry, b"")
    return tuple(row[c.name] for c in CHAIN_COLUMNS)


@settings(max_examples=150, deadline=None)
@given(
    seq=st.integers(1, 10**12),
    subject=st.none() | IDS,
    actor=IDS,
    cats=st.lists(st.sampled_from(CATEGORIES), max_size=4),
    decision=st.none()
    | st.fixed_dictionaries(
        {"allowed": st.booleans(), "rule_id": st.none() | IDS, "policy_version": st.none() | IDS}
    ),
    recipient=st.none() | IDS,
)
def test_fast_and_json_canonical_agree(
    seq: int,
    subject: str | None,
    actor: str,
    cats: list[str],
    decision: dict[str, object] | None,
    recipient: str | None,
) -> None:
    fields = make_fields(
        1,
        subject_ref=subject,
        actor_id=actor,
        categories=cats,
        decision=decision,
        recipient=recipient,
        time=datetime(2026, 5, 1, tzinfo=UTC),
    )
    entry = build_entry(fields, seq=seq)
    row = _row(fields, seq)
    assert row_canonical(row) == _row_canonical_json(row) == entry.canonical()


def test_odd_stored_text_takes_the_json_path() -> None:
    row = list(_row(make_fields(2), 3))
    row[2] = 'a","actor_role":"b'  # an injected quote cannot shift field boundaries
    assert row_canonical(row) == _row_canonical_json(row)
    row[2] = None
    assert row_canonical(row) == _row_canonical_json(row)
    row = list(_row(make_fields(2), 3))
    row[6] = "contact.email"  # missing the framing commas
    assert row_canonical(row) is None
