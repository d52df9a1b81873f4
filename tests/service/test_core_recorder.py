"""DecisionRecorder: group commit of decision entries, back-pressure, nothing dropped silently."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from dataward.audit import AuditLog
from dataward.db import create_engine_for, upgrade
from dataward.db.schema import audit_entries
from dataward.errors import StorageError
from dataward.policy import load_policy
from dataward.service.decisions import DecisionRecorder, decision_entry

POLICY = load_policy()


@pytest.fixture
def audit(db_url: str) -> Iterator[AuditLog]:
    engine = create_engine_for(db_url)
    upgrade(engine)
    try:
        yield AuditLog(engine, taxonomy=POLICY.taxonomy)
    finally:
        engine.dispose()


def _entry(i: int = 0, purpose: str = "support") -> dict[str, Any]:
    d = POLICY.decide(action="use", category="contact.email", role="support", purpose=purpose)
    return decision_entry(
        key_id=f"k{i:011d}", role="support", category="contact.email",
        purpose=purpose, recipient=None, decision=d, known_purposes=POLICY.purposes,
        known_recipients=POLICY.processors,
    )  # fmt: skip


def _count(audit: AuditLog) -> int:
    with audit.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_entries)).scalar_one())


def test_entries_are_written_in_batches_and_in_order(audit: AuditLog) -> None:
    rec = DecisionRecorder(audit, flush_seconds=0.01, batch_size=50)
    try:
        for i in range(230):
            assert rec.offer([_entry(i)])
        assert rec.flush()
        assert rec.pending == 0
    finally:
        rec.close()
    entries = list(audit.query(action="decide"))
    assert [e.actor_id for e in entries] == [f"k{i:011d}" for i in range(230)]
    assert audit.verify().ok


def test_close_writes_what_waits(audit: AuditLog) -> None:
    rec = DecisionRecorder(audit, flush_seconds=5.0, batch_size=500)
    rec.offer([_entry(i) for i in range(7)])
    rec.close()
    assert _count(audit) == 7
    with pytest.raises(StorageError):
        rec.offer([_entry()])


def test_a_full_queue_pushes_back_instead_of_dropping(audit: AuditLog) -> None:
    rec = DecisionRecorder(audit, flush_seconds=0.01, batch_size=10, max_pending=10)
    try:
        # hold the writer: it cannot take the head row while we hold it (both dialects lock)
        with audit.engine.begin() as conn:
            audit.append({"actor_id": "holder", "actor_role": "admin", "action": "access"},
                         conn=conn)  # fmt: skip
            assert rec.offer([_entry(i) for i in range(10)])
            assert not rec.offer([_entry(99)])
            with pytest.raises(StorageError):
                rec.put([_entry(99)], timeout=0.05)
        assert rec.flush()
        rec.put([_entry(99)], timeout=0.05)  # room again
    finally:
        rec.close()
    # every accepted entry is in the log; the refused one was refused loudly, never lost quietly
    assert _count(audit) == 1 + 10 + 1


def test_an_entry_the_log_refuses_leaves_a_trace_and_is_reported(
    audit: AuditLog, caplog: pytest.LogCaptureFixture
) -> None:
    bad = {**_entry(1), "purpose": "Not A Name!"}
    rec = DecisionRecorder(audit, flush_seconds=0.01)
    with caplog.at_level(logging.ERROR, logger="dataward.service.decisions"):
        rec.offer([_entry(0), bad, _entry(2)])
        assert rec.flush()
        rec.close()
    entries = list(audit.query(action="decide"))
    assert [e.outcome for e in entries] == ["ok", "error", "ok"]
    assert entries[1].purpose is None and entries[1].decision is None
    assert "refused 1 decision entries" in caplog.text
    assert "Not A Name" not in caplog.text


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=12))
def test_every_offered_entry_is_written_exactly_once(sizes: list[int]) -> None:
    engine = create_engine_for("sqlite://")
    upgrade(engine)
    audit = AuditLog(engine, taxonomy=POLICY.taxonomy)
    rec = DecisionRecorder(audit, flush_seconds=0.001, batch_size=16)
    n = 0
    for size in sizes:
        rec.put([_entry(n + j) for j in range(size)])
        n += size
    rec.close()
    ids = [e.actor_id for e in audit.query(action="decide")]
    assert ids == [f"k{i:011d}" for i in range(n)]
    engine.dispose()
