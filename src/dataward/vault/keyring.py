"""The key ring: each subject's wrapped data key, kept apart from the data (see ``schema``).

The key ring is its own database: by default ``<home>/keys/keyring.db`` (SQLite, mode 0600, in
the 0700 key directory), or ``DATAWARD_VAULT_KEYRING_URL`` (e.g. a separate PostgreSQL database
with its own, short backup retention). Deleting a subject's row is crypto-shredding: no key the
system holds can open that subject's ciphertexts any more, in the live data or in any copy.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, delete, event, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dataward.db.bulk import BulkInsert
from dataward.db.engine import read_connection
from dataward.errors import KeyStoreError, StorageError
from dataward.vault.crypto import new_data_key
from dataward.vault.keystore import KeyStore, WrappedKey
from dataward.vault.schema import keyring_metadata, subject_keys

__all__ = ["KeyRing"]

_SELECT_KEYS = select(
    subject_keys.c.subject_id, subject_keys.c.kek_id, subject_keys.c.wrapped
).where(subject_keys.c.subject_id.in_(bindparam("ids", expanding=True)))
_INSERT_KEYS = BulkInsert(subject_keys, ("subject_id", "kek_id", "wrapped", "created_at"))


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class KeyRing:
    """Creates, opens, destroys and re-wraps subject data keys; caches opened keys in memory."""

    def __init__(self, engine: Engine, keystore: KeyStore, *, cache_size: int = 4096) -> None:
        self.engine = engine
        self.keystore = keystore
        # subject -> (its wrapped key as stored, the data key): the stored form tells whether
        # the key ring still holds the same key (another process may have shredded it)
        self._cache: OrderedDict[str, tuple[bytes, bytes]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        try:
            keyring_metadata.create_all(engine)
        except SQLAlchemyError as exc:
            raise StorageError(
                f"cannot open the key ring database ({type(exc).__name__}); check "
                "DATAWARD_VAULT_KEYRING_URL or the key directory"
            ) from None

    # -- cache -----------------------------------------------------------------------------------

    def _remember(self, subject_id: str, dek: bytes, wrapped: bytes) -> None:
        with self._lock:
            self._cache[subject_id] = (wrapped, dek)
            self._cache.move_to_end(subject_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def forget(self, subject_id: str) -> None:
        with self._lock:
            self._cache.pop(subject_id, None)

    # -- keys ------------------------------------------------------------------------------------

    def get(self, subject_id: str) -> bytes | None:
        """The subject's data key, or ``None`` if it has none (never created, or shredded)."""
        with self._lock:
            cached = self._cache.get(subject_id)
        if cached is not None:
            return cached[1]
        with read_connection(self.engine) as conn:
            row = conn.execute(
                select(subject_keys.c.kek_id, subject_keys.c.wrapped).where(
                    subject_keys.c.subject_id == subject_id
                )
            ).first()
        if row is None:
            return None
        dek = self.keystore.unwrap(
            WrappedKey(row.kek_id, bytes(row.wrapped)), subject_id=subject_id
        )
        self._remember(subject_id, dek, bytes(row.wrapped))
        return dek

    def get_or_create(self, subject_id: str) -> bytes:
        """The subject's data key, creating and storing a new random one if it has none."""
        return self.get_or_create_many([subject_id])[subject_id]

    def _create_one(self, subject_id: str) -> bytes:
        """Create and store one subject's key; another writer's, if it created one first."""
        self.forget(subject_id)
        dek = self.get(subject_id)
        if dek is not None:
            return dek
        new = new_data_key()
        wrapped = self.keystore.wrap(new, subject_id=subject_id)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    subject_keys.insert().values(
                        subject_id=subject_id,
                        kek_id=wrapped.kek_id,
                        wrapped=wrapped.blob,
                        created_at=_utcnow(),
                    )
                )
        except IntegrityError:
            # Another writer created it first: use theirs.
            existing = self.get(subject_id)
            if existing is None:  # pragma: no cover - inserted then shredded in between
                raise KeyStoreError(
                    f"the data key of subject {subject_id!r} vanished while being created"
                ) from None
            return existing
        self._remember(subject_id, new, wrapped.blob)
        return new

    def get_or_create_many(self, subject_ids: Iterable[str]) -> dict[str, bytes]:
        """Data keys of many subjects; the missing ones created in ONE key-ring transaction.

        The key ring is always asked which keys exist (one read, no lock): a key another
        process shredded, or shredded and replaced, is never written with again from this
        process's cache; the cache only saves unwrapping the keys that are unchanged."""
        wanted = sorted(set(subject_ids))
        out: dict[str, bytes] = {}
        if not wanted:
            return out
        with read_connection(self.engine) as conn:
            rows = conn.execute(_SELECT_KEYS, {"ids": wanted}).all()
        with self._lock:
            cached = {sid: self._cache.get(sid) for sid in wanted}
        for r in rows:
            blob = bytes(r.wrapped)
            hit = cached.get(r.subject_id)
            if hit is not None and hit[0] == blob:
                out[r.subject_id] = hit[1]
                continue
            dek = self.keystore.unwrap(WrappedKey(r.kek_id, blob), subject_id=r.subject_id)
            self._remember(r.subject_id, dek, blob)
            out[r.subject_id] = dek
        fresh = {sid: new_data_key() for sid in wanted if sid not in out}
        if not fresh:
            return out
        for sid in fresh:
            self.forget(sid)  # shredded elsewhere since this process cached it
        wrapped = self._wrap_many(fresh)
        now = _utcnow()
        try:
            with self.engine.begin() as conn:
                _INSERT_KEYS.run(conn, [(sid, w.kek_id, w.blob, now) for sid, w in wrapped.items()])
        except IntegrityError:  # a concurrent writer created some: take them one by one
            for sid in fresh:
                out[sid] = self._create_one(sid)
            return out
        for sid, k in fresh.items():
            self._remember(sid, k, wrapped[sid].blob)
            out[sid] = k
        return out

    def _wrap_many(self, keys: Mapping[str, bytes]) -> dict[str, WrappedKey]:
        wrap_many = getattr(self.keystore, "wrap_many", None)  # optional, see _LocalKeys
        if callable(wrap_many):
            return dict(wrap_many(keys))
        return {sid: self.keystore.wrap(k, subject_id=sid) for sid, k in keys.items()}

    def destroy(self, subject_id: str) -> bool:
        """Delete the subject's wrapped key (crypto-shredding). True if there was one."""
        self.forget(subject_id)
        with self.engine.begin() as conn:
            n = conn.execute(delete(subject_keys).where(subject_keys.c.subject_id == subject_id))
        self.forget(subject_id)
        return bool(n.rowcount)

    def subject_ids_older_than(self, cutoff: datetime) -> list[str]:
        """Subjects whose key was created before ``cutoff`` (for sweeping orphan keys)."""
        with read_connection(self.engine) as conn:
            rows = conn.execute(
                select(subject_keys.c.subject_id).where(subject_keys.c.created_at < cutoff)
            )
            return [r.subject_id for r in rows]

    def count(self) -> int:
        with read_connection(self.engine) as conn:
            return int(conn.execute(select(func.count()).select_from(subject_keys)).scalar_one())

    def rewrap(self, *, batch: int = 500) -> dict[str, Any]:
        """Re-wrap every data key not under the current KEK. Touches no data; resumable."""
        current = self.keystore.current_kek_id()
        done = 0
        while True:
            with self.engine.begin() as conn:
                rows = conn.execute(
                    select(subject_keys.c.subject_id, subject_keys.c.kek_id, subject_keys.c.wrapped)
                    .where(subject_keys.c.kek_id != current)
                    .limit(batch)
                ).all()
                for r in rows:
                    dek = self.keystore.unwrap(
                        WrappedKey(r.kek_id, bytes(r.wrapped)), subject_id=r.subject_id
                    )
                    w = self.keystore.wrap(dek, subject_id=r.subject_id)
                    conn.execute(
                        update(subject_keys)
                        .where(
                            subject_keys.c.subject_id == r.subject_id,
                            subject_keys.c.kek_id == r.kek_id,
                        )
                        .values(kek_id=w.kek_id, wrapped=w.blob)
                    )
            done += len(rows)
            if len(rows) < batch:
                break
        with read_connection(self.engine) as conn:
            in_use = {
                r.kek_id for r in conn.execute(select(subject_keys.c.kek_id).distinct()).all()
            }
        return {"kek_id": current, "rewrapped": done, "keks_in_use": sorted(in_use)}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # A lost key is lost data: the key ring syncs every commit (the engine sets WAL etc.).
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()
