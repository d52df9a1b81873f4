"""The split verifier (seq ranges in worker processes + one leaf pass) equals the single pass."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from audit_factories import make_fields  # type: ignore[import-not-found]
from sqlalchemy import Engine, delete, select, update

from dataward.audit import AuditLog
from dataward.db.schema import audit_checkpoints as CP  # noqa: N812 - short table alias
from dataward.db.schema import audit_entries as T  # noqa: N812 - short table alias
from dataward.db.schema import audit_head as H  # noqa: N812 - short table alias
from dataward.policy.model import IsoDuration

OLD = datetime(2020, 1, 1, tzinfo=UTC)


def _set(seq: int, **values: object) -> Callable[[Engine], None]:
    def go(engine: Engine) -> None:
        with engine.begin() as conn:
            conn.execute(update(T).where(T.c.seq == seq).values(values))

    return go


def _delete(seq: int) -> Callable[[Engine], None]:
    def go(engine: Engine) -> None:
        with engine.begin() as conn:
            conn.execute(delete(T).where(T.c.seq == seq))

    return go


def _truncate(engine: Engine) -> None:
    with engine.begin() as conn:
        last = conn.execute(select(T.c.entry_hash).where(T.c.seq == 17)).scalar_one()
        conn.execute(delete(T).where(T.c.seq > 17))
        conn.execute(update(H).values(seq=17, entry_hash=last))


def _bad_root(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(T).where(T.c.seq == 2).values(leaf_hash=bytes(32)))
        conn.execute(delete(CP).where(CP.c.tree_size != 6))


MUTATIONS: dict[str, Callable[[Engine], None] | None] = {
    "none": None,
    "kept_field": _set(14, actor_id="svc-x"),
    "kept_content_removed": _set(11, **{c: None for c in ("actor_id", "actor_role", "action")}),
    "pruned_entry_hash": _set(4, entry_hash=bytes(32)),
    "pruned_prev_hash": _set(9, prev_hash=bytes(32)),  # at a range boundary with 2-3 workers
    "boundary_prev": _set(10, prev_hash=bytes(32)),
    "leaf": _set(18, leaf_hash=bytes(32)),
    "deleted": _delete(13),
    "truncated": _truncate,
    "bad_root": _bad_root,
}


@pytest.fixture
def pruned(log: AuditLog) -> AuditLog:
    log.append_many(make_fields(i, time=OLD + timedelta(minutes=i)) for i in range(6))
    log.checkpoint()
    log.append_many(make_fields(i, time=OLD + timedelta(minutes=i)) for i in range(6, 10))
    log.append_many(make_fields(i) for i in range(10, 19))
    log.prune(IsoDuration(years=1))
    log.checkpoint()
    return log


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_split_verify_matches_single_pass(pruned: AuditLog, mutation: str, workers: int) -> None:
    change = MUTATIONS[mutation]
    if change is not None:
        change(pruned.engine)
    single = pruned.verify(workers=1)
    split = pruned.verify(workers=workers, parallel_min=0)
    assert (split.ok, split.first_bad_seq, split.entries) == (
        single.ok,
        single.first_bad_seq,
        single.entries,
    )
    assert single.ok == (mutation == "none")
    if single.ok:
        assert split.root == single.root
        assert split.checked_sizes == single.checked_sizes


@pytest.mark.parametrize("workers", [1, 2])
def test_from_checkpoint_inside_the_pruned_prefix(pruned: AuditLog, workers: int) -> None:
    first = next(cp for cp in pruned.checkpoints() if cp.tree_size == 6)
    result = pruned.verify(from_checkpoint=first, workers=workers, parallel_min=0)
    assert result.ok, result.reason
    assert result.entries == 20
