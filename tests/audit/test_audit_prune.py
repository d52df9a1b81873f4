"""Retention: prune old entries' content; chain, tree, proofs and checkpoints still verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_factories import make_fields  # type: ignore[import-not-found]
from sqlalchemy import select, update

from dataward.audit import AuditLog
from dataward.db.schema import audit_entries as T  # noqa: N812 - short table alias
from dataward.errors import PolicyError
from dataward.policy.model import IsoDuration

P1Y = IsoDuration(years=1)
OLD = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def aged(log: AuditLog) -> AuditLog:
    """10 entries from 2020 (checkpoint at 6), then 5 recent ones."""
    log.append_many(make_fields(i, time=OLD + timedelta(minutes=i)) for i in range(6))
    log.checkpoint()
    log.append_many(make_fields(i, time=OLD + timedelta(minutes=i)) for i in range(6, 10))
    log.append_many(make_fields(i) for i in range(10, 15))
    return log


def test_prune_then_verify(aged: AuditLog) -> None:
    before = aged.prove_inclusion(3, 15)
    result = aged.prune(P1Y)
    assert (result.pruned, result.first, result.last) == (10, 1, 10)
    assert result.checkpoint_size >= 10  # a checkpoint was signed to cover the pruned range
    verdict = aged.verify()
    assert verdict.ok, verdict.reason
    assert verdict.entries == 16  # the prune itself is an audit entry
    assert [e.seq for e in aged.query()] == list(range(11, 17))
    record = aged.get(16)
    assert record.action == "prune"
    assert record.subject_ref == "audit-seq:1-10"
    # proofs still verify from the kept leaf hashes
    proof = aged.prove_inclusion(3, 15)
    assert proof == before
    assert proof.verify()
    assert aged.prove_consistency(6, 16).verify()
    with aged.engine.connect() as conn:
        row = conn.execute(select(T.c.actor_id, T.c.occurred_at).where(T.c.seq == 3)).one()
    assert row[0] is None
    assert row[1] is not None


def test_prune_is_idempotent(aged: AuditLog) -> None:
    assert aged.prune(P1Y).pruned == 10
    head = aged.head()
    again = aged.prune(P1Y)
    assert again.pruned == 0
    assert again.already_pruned == 10
    assert aged.head() == head
    assert aged.verify().ok


def test_dry_run_changes_nothing(aged: AuditLog) -> None:
    head = aged.head()
    result = aged.prune(P1Y, dry_run=True)
    assert (result.pruned, result.dry_run) == (10, True)
    assert aged.head() == head
    assert len(list(aged.query())) == 15


@pytest.mark.parametrize("retention", ["P6M", "P364D", "P11M"])
def test_retention_under_one_year_is_refused(aged: AuditLog, retention: str) -> None:
    with pytest.raises(PolicyError, match="audit_retention"):
        aged.prune(IsoDuration.parse(retention))
    assert len(list(aged.query())) == 15


def test_longer_retention_prunes_less(aged: AuditLog) -> None:
    now = OLD + timedelta(days=366, minutes=3, seconds=30)
    assert aged.prune(P1Y, now=now).last == 4


@pytest.mark.parametrize(
    ("seq", "column", "value"),
    [
        (12, "actor_id", "svc-x"),  # a kept entry's content
        (11, "actor_id", None),  # removing a kept entry's content (outside the prefix)
        (4, "entry_hash", bytes(32)),  # a pruned entry's hashes
        (4, "leaf_hash", bytes(32)),
        (4, "prev_hash", bytes(32)),
        (4, "actor_id", "svc-x"),  # content put back into a pruned entry
    ],
)
def test_tampering_after_prune_is_caught(
    aged: AuditLog, seq: int, column: str, value: object
) -> None:
    aged.prune(P1Y)
    with aged.engine.begin() as conn:
        if column == "actor_id" and value is None:
            conn.execute(update(T).where(T.c.seq == seq).values({c: None for c in _content()}))
        else:
            conn.execute(update(T).where(T.c.seq == seq).values({column: value}))
    verdict = aged.verify()
    assert not verdict.ok
    assert verdict.first_bad_seq is not None


def _content() -> list[str]:
    from dataward.audit.rows import CONTENT_COLUMNS

    return [c.name for c in CONTENT_COLUMNS]


def test_export_of_pruned_log_verifies_offline(aged: AuditLog, tmp_path: Path) -> None:
    aged.prune(P1Y)
    out = tmp_path / "export"
    aged.export(out)
    assert AuditLog.verify_offline(out).ok
    lines = (out / "entries.jsonl").read_text().splitlines()
    lines[3] = lines[3].replace('"leaf_hash":"', '"leaf_hash":"00', 1)[:-3] + '"}'
    (out / "entries.jsonl").write_text("\n".join(lines) + "\n")
    assert not AuditLog.verify_offline(out).ok


def test_cli_prune_uses_the_policy_retention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataward.cli.common import run_guarded
    from dataward.cli.main import app
    from dataward.db import create_engine_for

    for var in ("DATAWARD_DATABASE_URL", "DATAWARD_AUDIT_KEY_FILE", "DATAWARD_AUDIT_SIGNING_KEY"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"

    def run(*args: str) -> int:
        return run_guarded(app, ["--home", str(home), "audit", *args])

    assert run("checkpoint") == 0  # creates the database and the signing key
    engine = create_engine_for(f"sqlite:///{home / 'dataward.db'}")
    old = AuditLog(engine)
    old.append_many(make_fields(i, time=OLD + timedelta(hours=i)) for i in range(4))
    old.append_many(make_fields(i) for i in range(4, 6))
    engine.dispose()
    capsys.readouterr()
    assert run("prune", "--dry-run") == 0
    assert "would prune 4 entries (1..4)" in capsys.readouterr().out
    assert run("prune") == 0
    assert "pruned 4 entries (1..4)" in capsys.readouterr().out
    assert run("prune") == 0
    assert "nothing to prune" in capsys.readouterr().out
    assert run("verify") == 0
    assert "audit log OK: 7 entries" in capsys.readouterr().out
    assert run("export", str(tmp_path / "x")) == 0
    assert run("verify", "--offline", str(tmp_path / "x")) == 0
