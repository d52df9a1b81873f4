"""After destroy, ciphertexts taken from a copy made before cannot be opened by any key the
system still holds: the wrapped data key never lived in the data database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from dataward.vault import CiphertextError, FileKeyStore, KeyRing, Vault
from dataward.vault.crypto import Sealed, open_value
from dataward.vault.keystore import WrappedKey
from dataward.vault.schema import subject_keys, values

from .conftest import DPM, SERVICE, SUPPORT


def _held_keys(vault: Vault, home: Path) -> list[bytes]:
    """Every key the system still holds: KEKs, the index key, every remaining data key."""
    ks = vault.keystore
    assert isinstance(ks, FileKeyStore)
    keys = [p.read_bytes() for p in (home / "keys").glob("*.key")]
    with vault.keyring.engine.connect() as conn:
        for r in conn.execute(select(subject_keys)):
            keys.append(ks.unwrap(WrappedKey(r.kek_id, bytes(r.wrapped)), subject_id=r.subject_id))
    return keys


def _populate(vault: Vault) -> None:
    for sid in ("doomed", "other-1", "other-2"):
        for field, cat, val in [
            ("email", "contact.email", f"{sid}@example.com"),
            ("name", "person.name", f"Name of {sid}"),
        ]:
            vault.store(sid, field, val, category=cat, purpose="contract", actor=SERVICE)


def _try_all(rows: list[tuple[str, str, int, bytes, bytes]], keys: list[bytes]) -> None:
    assert rows
    for sid, field, version, nonce, ct in rows:
        for key in keys:
            with pytest.raises(CiphertextError):
                open_value(key, Sealed(nonce, ct), subject_id=sid, field=field, version=version)


def test_dump_before_destroy_is_unreadable_after(vault: Vault, tmp_path: Path) -> None:
    _populate(vault)
    with vault.engine.connect() as conn:  # the "dump" made before the erasure
        dump = [
            (r.subject_id, r.field, r.version, bytes(r.nonce), bytes(r.ciphertext))
            for r in conn.execute(select(values).where(values.c.subject_id == "doomed"))
        ]
        assert "vault_subject_keys" not in inspect(conn).get_table_names()
    before = _held_keys(vault, tmp_path)
    # sanity: before destroy the doomed rows DO open with a held key
    dek = vault.keyring.get("doomed")
    assert dek in before
    vault.destroy("doomed", actor=DPM)
    _try_all(dump, _held_keys(vault, tmp_path))


def test_sqlite_file_copy_before_destroy(sqlite_vault: Vault, tmp_path: Path) -> None:
    vault = sqlite_vault
    _populate(vault)
    db_path = Path(str(vault.engine.url.database))
    backup = tmp_path / "backup.db"
    src = sqlite3.connect(db_path)
    dst = sqlite3.connect(backup)
    src.backup(dst)
    src.close()
    vault.destroy("doomed", actor=DPM)
    rows = [
        (r[0], r[1], r[2], bytes(r[3]), bytes(r[4]))
        for r in dst.execute(
            "SELECT subject_id, field, version, nonce, ciphertext FROM vault_values "
            "WHERE subject_id = 'doomed'"
        )
    ]
    tables = {r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    dst.close()
    assert "vault_subject_keys" not in tables
    _try_all(rows, _held_keys(vault, tmp_path))


def test_a_key_shredded_by_another_process_is_never_written_with_again(
    vault: Vault, tmp_path: Path
) -> None:
    # Two workers, each its own key ring cache, one key-ring database.
    other = KeyRing(vault.keyring.engine, vault.keyring.keystore)
    first = vault.keyring.get_or_create_many(["k-1"])["k-1"]
    assert other.get_or_create("k-1") == first  # both cached it
    assert other.destroy("k-1")  # the other worker shreds it
    again = vault.keyring.get_or_create_many(["k-1"])["k-1"]
    assert again != first  # a new key, stored: not the shredded one from this cache
    assert other.get("k-1") == again
    # shredded and re-created by the other worker: this one takes the new key, too
    other.destroy("k-1")
    theirs = other.get_or_create("k-1")
    assert vault.keyring.get_or_create("k-1") == theirs
    assert vault.keyring.get_or_create_many(["k-1", "k-2"])["k-1"] == theirs


def test_a_reader_with_a_stale_cached_key_reads_the_re_created_subject(
    vault: Vault, tmp_path: Path
) -> None:
    # worker A reads (and caches the key of) s-1; worker B destroys and re-creates s-1
    vault.store("s-1", "email", "old@example.com", category="contact.email",
                purpose="contract", actor=SERVICE)  # fmt: skip
    assert vault.use("s-1", "email", purpose="support", actor=SUPPORT)["email"].value
    b = Vault(vault.engine, vault.policy, KeyRing(vault.keyring.engine, vault.keyring.keystore),
              vault.audit, vault.detector)  # fmt: skip
    b.destroy("s-1", actor=DPM)
    b.store("s-1", "email", "new@example.com", category="contact.email",
            purpose="contract", actor=SERVICE)  # fmt: skip
    got = vault.use("s-1", "email", purpose="support", actor=SUPPORT)["email"].value
    assert got == "new@example.com"
