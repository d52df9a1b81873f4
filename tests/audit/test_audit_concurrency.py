"""Several processes append at once: still ONE chain, no fork, no gap, verify passes."""

from __future__ import annotations

import multiprocessing

import pytest
from audit_worker import append_entries  # type: ignore[import-not-found]
from sqlalchemy import func, select

from dataward.audit import AuditLog
from dataward.db.schema import audit_entries

PROCESSES = 4
PER_PROCESS = 2_000


@pytest.mark.slow
def test_four_processes_make_one_chain(db_url: str, log: AuditLog) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        counts = pool.starmap(append_entries, [(db_url, w, PER_PROCESS) for w in range(PROCESSES)])
    assert counts == [PER_PROCESS] * PROCESSES
    total = PROCESSES * PER_PROCESS
    with log.engine.connect() as conn:
        seqs = [r[0] for r in conn.execute(select(audit_entries.c.seq).order_by("seq"))]
        per_worker = dict(
            conn.execute(
                select(audit_entries.c.actor_id, func.count()).group_by(audit_entries.c.actor_id)
            ).all()
        )
    assert seqs == list(range(1, total + 1))
    assert per_worker == {f"worker-{w}": PER_PROCESS for w in range(PROCESSES)}
    assert log.head()[0] == total
    log.checkpoint()
    result = log.verify()
    assert result.ok, result.reason
    assert result.entries == total
