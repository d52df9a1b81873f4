"""The log's API: transactions, queries, checkpoints, rotation, proofs, export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_factories import make_fields  # type: ignore[import-not-found]
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, column, create_engine, insert, select, table

from dataward.audit import AuditLog, export_log, verify_offline
from dataward.audit.merkle import verify_consistency, verify_inclusion
from dataward.db import create_engine_for
from dataward.db.schema import audit_keys
from dataward.errors import AuditError, ConfigurationError, InputError


def test_append_returns_the_stored_chained_entry(log: AuditLog) -> None:
    first = log.append(make_fields(1))
    second = log.append(make_fields(2))
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == bytes(32)
    assert second.prev_hash == first.entry_hash
    assert log.get(2) == second
    assert log.head() == (2, second.entry_hash)


def test_append_joins_the_callers_transaction(log: AuditLog) -> None:
    with log.engine.connect() as conn:
        with conn.begin():
            log.append(make_fields(1), conn=conn)
        trans = conn.begin()
        log.append(make_fields(2), conn=conn)
        trans.rollback()  # the data change failed: its audit entry goes too
    assert log.head()[0] == 1
    assert log.append(make_fields(3)).seq == 2  # no gap left by the rolled-back entry
    assert log.verify().ok


def test_append_many_is_all_or_nothing(log: AuditLog) -> None:
    with pytest.raises(AuditError):
        log.append_many([make_fields(1), make_fields(2, subject_ref="a b")])
    assert log.head()[0] == 0
    assert [e.seq for e in log.append_many(make_fields(i) for i in range(5))] == [1, 2, 3, 4, 5]
    assert log.append_many([]) == []


def test_query_filters(log: AuditLog) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    log.append_many(make_fields(i, time=base + timedelta(hours=i)) for i in range(20))
    assert {e.subject_ref for e in log.query(subject_ref="subj-2")} == {"subj-2"}
    assert len(list(log.query(subject_ref="subj-2"))) == 4
    assert all(e.actor_id == "svc-1" for e in log.query(actor_id="svc-1"))
    email = list(log.query(category="contact.email"))
    assert email and all("contact.email" in e.categories for e in email)
    assert len(email) == 10
    assert not list(log.query(category="contact_email"))  # "_" is not a wildcard
    shares = list(log.query(action="share"))
    assert len(shares) == 5 and all(e.recipient == "processor-acme" for e in shares)
    window = list(log.query(since=base + timedelta(hours=3), until=base + timedelta(hours=6)))
    assert [e.seq for e in window] == [4, 5, 6]
    assert len(list(log.query(limit=3))) == 3
    # keyset paging: each page starts after the last seq of the one before
    pages, after = [], 0
    while page := [e.seq for e in log.query(category="contact.email", after_seq=after, limit=4)]:
        pages.append(page)
        after = page[-1]
    assert [s for p in pages for s in p] == [e.seq for e in email]
    assert [len(p) for p in pages] == [4, 4, 2]


def test_checkpoints_and_proofs(filled: AuditLog) -> None:
    cps = filled.checkpoints()
    assert [c.tree_size for c in cps] == [12, 20]
    keys = filled.public_keys()
    assert all(c.signature_valid(keys[c.key_id]) for c in cps)
    for seq in (1, 7, 12, 20):
        proof = filled.prove_inclusion(seq)
        assert proof.verify() and proof.root == cps[1].root_hash
        old = filled.prove_inclusion(seq, 12) if seq <= 12 else None
        assert old is None or verify_inclusion(
            seq - 1, 12, old.leaf_hash, old.path, cps[0].root_hash
        )
    cons = filled.prove_consistency(12)
    assert cons.first_root == cps[0].root_hash and cons.second_root == cps[1].root_hash
    assert verify_consistency(12, 20, cps[0].root_hash, cps[1].root_hash, cons.path)
    with pytest.raises(InputError):
        filled.prove_inclusion(21)
    with pytest.raises(InputError):
        filled.prove_consistency(21)


def test_verify_from_a_checkpoint_trusts_only_what_it_covers(filled: AuditLog) -> None:
    cp = filled.checkpoints()[0]
    assert filled.verify(from_checkpoint=cp).ok
    forged = type(cp)(cp.tree_size, bytes(32), cp.time, cp.key_id, cp.signature)
    assert not filled.verify(from_checkpoint=forged).ok


def test_rotation_keeps_old_checkpoints_verifiable(filled: AuditLog) -> None:
    old_id = filled.checkpoints()[0].key_id
    new = Ed25519PrivateKey.generate()
    cp = filled.rotate_key(new)
    assert cp.key_id != old_id
    reader = AuditLog(filled.engine)  # no key at hand: only the stored public keys
    result = reader.verify()
    assert result.ok and result.checkpoints == 3
    with filled.engine.connect() as conn:
        retired = conn.execute(
            select(audit_keys.c.retired_at).where(audit_keys.c.key_id == old_id)
        ).scalar_one()
    assert retired is not None


def test_a_checkpoint_by_an_unknown_key_fails(filled: AuditLog) -> None:
    with filled.engine.begin() as conn:
        conn.execute(audit_keys.delete())
    result = AuditLog(filled.engine).verify()
    assert not result.ok and "unknown key" in (result.reason or "")


def test_export_verifies_offline(filled: AuditLog, tmp_path: Path) -> None:
    manifest = export_log(filled, tmp_path / "exp")
    assert manifest["entries"] == 20
    result = verify_offline(tmp_path / "exp")
    assert result.ok and result.entries == 20 and result.checkpoints == 2
    assert result.root == filled.verify().root


def test_export_methods_on_the_log(filled: AuditLog, tmp_path: Path) -> None:
    filled.export(tmp_path / "e")
    assert AuditLog.verify_offline(tmp_path / "e").ok


def test_offline_verify_refuses_a_non_export(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        verify_offline(tmp_path)


def test_checkpoint_needs_a_key(engine: Engine) -> None:
    with pytest.raises(ConfigurationError):
        AuditLog(engine).checkpoint()


def test_a_plain_sqlite_engine_is_refused(tmp_path: Path) -> None:
    eng = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigurationError, match="create_engine_for"):
        AuditLog(eng)


def test_unmigrated_database_gives_a_clear_error(tmp_path: Path) -> None:
    eng = create_engine_for(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(AuditError, match="db upgrade"):
        AuditLog(eng).append(make_fields())
    with eng.begin() as conn:  # the engine still works afterwards
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.execute(insert(table("t", column("x"))).values(x=1))
