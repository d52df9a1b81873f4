"""Whatever is changed in the stored log, verify finds it and names the first bad entry."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, delete, select, update

from dataward.audit import AuditLog, export_log, verify_offline
from dataward.audit.entry import canonical_bytes
from dataward.db.schema import audit_checkpoints, audit_entries, audit_head
from dataward.errors import AuditIntegrityError

T = audit_entries


def _flip(value: str) -> str:
    """The same text with one byte changed (still a valid-looking identifier)."""
    last = value[-1]
    return value[:-1] + ("x" if last != "x" else "y")


@pytest.mark.parametrize(
    "column", ["actor_id", "subject_ref", "categories", "rule_id", "occurred_at", "outcome"]
)
def test_one_byte_flipped_in_a_field(filled: AuditLog, column: str) -> None:
    with filled.engine.begin() as conn:
        value = conn.execute(select(T.c[column]).where(T.c.seq == 7)).scalar_one()
        conn.execute(update(T).where(T.c.seq == 7).values({column: _flip(value)}))
    result = filled.verify()
    assert not result.ok
    assert result.first_bad_seq == 7
    with pytest.raises(AuditIntegrityError) as info:
        result.raise_for_failure()
    assert info.value.seq == 7
    assert info.value.exit_code != 0


@pytest.mark.parametrize("column", ["prev_hash", "entry_hash", "leaf_hash"])
def test_one_byte_flipped_in_a_stored_hash(filled: AuditLog, column: str) -> None:
    with filled.engine.begin() as conn:
        value = bytearray(conn.execute(select(T.c[column]).where(T.c.seq == 15)).scalar_one())
        value[3] ^= 0x01
        conn.execute(update(T).where(T.c.seq == 15).values({column: bytes(value)}))
    result = filled.verify()
    assert not result.ok
    assert result.first_bad_seq in (15, 16)  # a broken stored hash also breaks the next link


def test_decision_flipped_from_allow_to_deny(filled: AuditLog) -> None:
    with filled.engine.begin() as conn:
        conn.execute(update(T).where(T.c.seq == 3).values(allowed=False))
    assert filled.verify().first_bad_seq == 3


def test_one_entry_deleted(filled: AuditLog) -> None:
    with filled.engine.begin() as conn:
        conn.execute(delete(T).where(T.c.seq == 9))
    result = filled.verify()
    assert not result.ok and result.first_bad_seq == 9
    assert "missing" in (result.reason or "")


def test_two_entries_swapped(filled: AuditLog) -> None:
    payload = [c for c in T.c if c.name != "seq"]
    with filled.engine.begin() as conn:
        a = conn.execute(select(*payload).where(T.c.seq == 4)).one()
        b = conn.execute(select(*payload).where(T.c.seq == 5)).one()
        conn.execute(update(T).where(T.c.seq == 4).values(dict(b._mapping)))
        conn.execute(update(T).where(T.c.seq == 5).values(dict(a._mapping)))
    result = filled.verify()
    assert not result.ok and result.first_bad_seq == 4


def test_tail_truncated(filled: AuditLog) -> None:
    with filled.engine.begin() as conn:
        conn.execute(delete(T).where(T.c.seq > 16))
    result = filled.verify()
    assert not result.ok and result.first_bad_seq == 17


def test_tail_truncated_and_head_rewritten_is_caught_by_the_checkpoint(filled: AuditLog) -> None:
    with filled.engine.begin() as conn:
        last = conn.execute(select(T.c.entry_hash).where(T.c.seq == 16)).scalar_one()
        conn.execute(delete(T).where(T.c.seq > 16))
        conn.execute(update(audit_head).values(seq=16, entry_hash=last))
    result = filled.verify()
    assert not result.ok and result.first_bad_seq == 17
    assert "checkpoint" in (result.reason or "")


def _rechain_forgery(engine: Engine, *, drop_checkpoints: bool) -> None:
    """Replace the whole log by a forgery whose hashes are all recomputed consistently."""
    log = AuditLog(engine)
    entries = list(log.query())
    prev = bytes(32)
    with engine.begin() as conn:
        for e in entries:
            body = e.body()
            if e.seq == 5:
                body["actor_id"] = "someone-else"
            canon = canonical_bytes(body)
            h = hashlib.sha256(prev + canon).digest()
            leaf = hashlib.sha256(b"\x00" + canon).digest()
            conn.execute(
                update(T)
                .where(T.c.seq == e.seq)
                .values(actor_id=body["actor_id"], prev_hash=prev, entry_hash=h, leaf_hash=leaf)
            )
            prev = h
        conn.execute(update(audit_head).values(entry_hash=prev))
        if drop_checkpoints:
            conn.execute(delete(audit_checkpoints))


def test_rechained_forgery_is_caught_by_the_signed_checkpoint(filled: AuditLog) -> None:
    _rechain_forgery(filled.engine, drop_checkpoints=False)
    result = filled.verify()
    assert not result.ok
    assert result.first_bad_seq == 12  # the first checkpoint covering the forged entry
    assert "checkpoint" in (result.reason or "")


def test_rechained_forgery_is_caught_by_the_auditors_checkpoint(filled: AuditLog) -> None:
    held = filled.checkpoints()[0]  # the auditor kept this one (size 12)
    before = filled.prove_consistency(held.tree_size)
    assert before.verify() and before.first_root == held.root_hash
    _rechain_forgery(filled.engine, drop_checkpoints=True)
    # the forger removed the stored checkpoints: chain and tree alone look fine ...
    assert filled.verify().ok
    # ... but the auditor's checkpoint does not match, neither by verify nor by consistency proof
    result = filled.verify(against=[held])
    assert not result.ok and result.first_bad_seq == 12
    proof = filled.prove_consistency(held.tree_size)
    assert proof.verify()  # the forged log is self-consistent
    assert proof.first_root != held.root_hash  # but not with what the auditor holds


def test_forged_checkpoint_signature_is_caught(filled: AuditLog) -> None:
    other = Ed25519PrivateKey.generate()
    with filled.engine.begin() as conn:
        conn.execute(update(audit_checkpoints).values(signature=other.sign(b"forged")))
    result = filled.verify()
    assert not result.ok and "signature" in (result.reason or "")


@pytest.mark.parametrize("mutation", ["flip", "delete", "swap", "truncate"])
def test_tampered_export_fails_offline(filled: AuditLog, tmp_path: Path, mutation: str) -> None:
    out = tmp_path / "export"
    export_log(filled, out)
    assert verify_offline(out).ok
    path = out / "entries.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    if mutation == "flip":
        doc = json.loads(lines[5])
        doc["subject_ref"] = _flip(doc["subject_ref"])
        lines[5] = json.dumps(doc)
    elif mutation == "delete":
        del lines[5]
    elif mutation == "swap":
        lines[5], lines[6] = lines[6], lines[5]
    else:
        lines = lines[:15]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = verify_offline(out)
    assert not result.ok
    assert result.first_bad_seq == (16 if mutation == "truncate" else 6)
