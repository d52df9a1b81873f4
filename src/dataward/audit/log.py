"""The audit log: append (joining the caller's transaction), verify, checkpoint, prove, query.

Appends are serialized on the single head row: ``SELECT ... FOR UPDATE`` on PostgreSQL, and on
SQLite the write lock every transaction takes at ``BEGIN IMMEDIATE``. So any number of processes
extend ONE chain, without forks or gaps, and an entry commits together with the data change it
records when the caller passes its connection.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from dataward.audit.checkpoint import Checkpoint, sign_checkpoint
from dataward.audit.entry import AuditEntry, EntryBuilder, Scrubber, canonical_bytes, format_time
from dataward.audit.keys import key_id, public_bytes
from dataward.audit.merkle import (
    ConsistencyProof,
    InclusionProof,
    consistency_path,
    inclusion_path,
    root_of,
)
from dataward.audit.parallel import PARALLEL_MIN_ENTRIES, can_split, verify_split
from dataward.audit.rows import (
    chain_select,
    entry_from_row,
    entry_to_row,
    row_canonical,
    row_pruned,
)
from dataward.audit.verify import VerifyResult, verify_records

if TYPE_CHECKING:
    from dataward.audit.prune import PruneResult
from dataward.db.bulk import BulkInsert
from dataward.db.engine import begins_immediate, is_sqlite, read_connection
from dataward.db.schema import audit_checkpoints as CP  # noqa: N812 - short table alias
from dataward.db.schema import audit_entries as T  # noqa: N812 - short table alias, SQLAlchemy idiom
from dataward.db.schema import audit_head as H  # noqa: N812 - short table alias
from dataward.db.schema import audit_keys as K  # noqa: N812 - short table alias
from dataward.errors import AuditError, AuditIntegrityError, ConfigurationError, InputError
from dataward.policy.model import IsoDuration
from dataward.taxonomy import Taxonomy

__all__ = ["FETCH_SIZE", "AuditLog"]

FETCH_SIZE = 50_000

# statements built once (building them per append costs more than running them)
_INSERT = insert(T)
_LOCK_HEAD = select(H.c.seq, H.c.entry_hash).where(H.c.id == 1).with_for_update()
_MOVE_HEAD = (
    update(H).where(H.c.id == 1).values(seq=bindparam("new_seq"), entry_hash=bindparam("new_hash"))
)
_CLAIM_HEAD = (
    update(H)
    .where(H.c.id == 1, H.c.seq == bindparam("old_seq"), H.c.entry_hash == bindparam("old_hash"))
    .values(seq=bindparam("new_seq"), entry_hash=bindparam("new_hash"))
)
_sha256 = hashlib.sha256


class AuditLog:
    """The tamper-evident audit log stored in ``engine`` (tables from ``dataward db upgrade``)."""

    def __init__(
        self,
        engine: Engine,
        *,
        signing_key: Ed25519PrivateKey | None = None,
        scrubber: Scrubber | None = None,
        taxonomy: Taxonomy | None = None,
    ) -> None:
        if is_sqlite(engine) and not begins_immediate(engine):
            raise ConfigurationError(
                "the audit log needs an engine from dataward.db.create_engine_for (SQLite "
                "transactions must begin IMMEDIATE to keep one chain)"
            )
        self.engine = engine
        self.signing_key = signing_key
        self.scrubber = scrubber
        self.taxonomy = taxonomy
        self._head: tuple[int, bytes] | None = None  # the head as this process last left it

    # --- writing ------------------------------------------------------------------------------

    def append(
        self, entry_fields: Mapping[str, Any], *, conn: Connection | None = None
    ) -> AuditEntry:
        """Validate and append one entry; with ``conn`` it commits with the caller's transaction."""
        return self.append_many([entry_fields], conn=conn)[0]

    def append_many(
        self, items: Iterable[Mapping[str, Any]], *, conn: Connection | None = None
    ) -> list[AuditEntry]:
        """Append several entries in one transaction (all or none)."""
        builder = EntryBuilder(
            taxonomy=self.taxonomy, scrubber=self.scrubber, now=datetime.now(UTC)
        )
        drafts = builder.build_drafts(items)
        if not drafts:
            return []
        try:
            if conn is not None:
                return self._append(conn, drafts)
            with self.engine.begin() as own:
                return self._append(own, drafts)
        except SQLAlchemyError as exc:
            raise AuditError(
                f"cannot write the audit log ({type(exc).__name__}); nothing was appended. "
                "Is the database reachable and migrated (`dataward db upgrade`)?"
            ) from None

    def _append(self, conn: Connection, drafts: Sequence[_Draft]) -> list[AuditEntry]:
        # Fast path: assume the head this process saw last is still the head, and claim it with
        # ONE conditional UPDATE (atomic; it locks the row on PostgreSQL, and SQLite holds the
        # write lock since BEGIN IMMEDIATE). If another appender moved the head, nothing
        # matches and we read the head under lock and chain from there.
        cached = self._head
        if cached is not None:
            rows, out, new_head = _chain(drafts, *cached)
            claimed = conn.execute(
                _CLAIM_HEAD,
                {
                    "old_seq": cached[0],
                    "old_hash": cached[1],
                    "new_seq": new_head[0],
                    "new_hash": new_head[1],
                },
            ).rowcount
            if claimed == 1:
                _INSERT_ROWS.run(conn, rows)
                self._head = new_head
                return out
        head = conn.execute(_LOCK_HEAD).one_or_none()
        if head is None:
            raise AuditError("the audit head row is missing; run `dataward db upgrade`")
        rows, out, new_head = _chain(drafts, int(head[0]), bytes(head[1]))
        _INSERT_ROWS.run(conn, rows)
        conn.execute(_MOVE_HEAD, {"new_seq": new_head[0], "new_hash": new_head[1]})
        # if the caller rolls back, the cached head no longer matches and the next append
        # simply takes the locked path
        self._head = new_head
        return out

    # --- reading ------------------------------------------------------------------------------

    def head(self) -> tuple[int, bytes]:
        """(number of entries, hash of the last entry)."""
        with read_connection(self.engine) as conn:
            row = conn.execute(select(H.c.seq, H.c.entry_hash).where(H.c.id == 1)).one_or_none()
        if row is None:
            raise AuditError("the audit head row is missing; run `dataward db upgrade`")
        return int(row[0]), bytes(row[1])

    def get(self, seq: int) -> AuditEntry:
        with read_connection(self.engine) as conn:
            row = conn.execute(chain_select().where(T.c.seq == seq)).one_or_none()
        if row is None:
            raise InputError(f"audit entry {seq} does not exist")
        return entry_from_row(row)

    def query(
        self,
        *,
        subject_ref: str | None = None,
        actor_id: str | None = None,
        category: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
    ) -> Iterator[AuditEntry]:
        """Entries matching every given filter, oldest first (``until`` is exclusive).

        ``after_seq`` lists only entries after that sequence number: pass the last ``seq`` of
        one page to read the next (keyset paging on the primary key, no offset scan).
        Entries pruned by retention have no content left and are not listed.
        """
        stmt = chain_select().where(T.c.action.is_not(None))
        if after_seq is not None:
            stmt = stmt.where(T.c.seq > after_seq)
        if subject_ref is not None:
            stmt = stmt.where(T.c.subject_ref == subject_ref)
        if actor_id is not None:
            stmt = stmt.where(T.c.actor_id == actor_id)
        if category is not None:
            stmt = stmt.where(T.c.categories.contains(f",{category},", autoescape=True))
        if action is not None:
            stmt = stmt.where(T.c.action == action)
        if since is not None:
            stmt = stmt.where(T.c.occurred_at >= format_time(since))
        if until is not None:
            stmt = stmt.where(T.c.occurred_at < format_time(until))
        if limit is not None:
            stmt = stmt.limit(limit)
        with read_connection(self.engine) as conn:
            result = conn.execution_options(yield_per=FETCH_SIZE).execute(stmt)
            for row in result:
                yield entry_from_row(row)

    def checkpoints(self) -> list[Checkpoint]:
        with read_connection(self.engine) as conn:
            rows = conn.execute(
                select(
                    CP.c.tree_size, CP.c.root_hash, CP.c.created_at, CP.c.key_id, CP.c.signature
                ).order_by(CP.c.id)
            ).all()
        return [Checkpoint(int(r[0]), bytes(r[1]), r[2], r[3], bytes(r[4])) for r in rows]

    def public_keys(self) -> dict[str, bytes]:
        """Every public key that signed (or may sign) checkpoints, by key id."""
        with read_connection(self.engine) as conn:
            rows = conn.execute(select(K.c.key_id, K.c.public_key)).all()
        keys = {r[0]: bytes(r[1]) for r in rows}
        if self.signing_key is not None:
            keys[key_id(self.signing_key)] = public_bytes(self.signing_key)
        return keys

    def leaves(self, size: int) -> list[bytes]:
        """Stored leaf hashes of entries 1..size."""
        with read_connection(self.engine) as conn:
            result = conn.execution_options(yield_per=FETCH_SIZE).execute(
                select(T.c.leaf_hash).where(T.c.seq <= size).order_by(T.c.seq)
            )
            out = [bytes(r[0]) for r in result]
        if len(out) != size:
            raise AuditIntegrityError(
                f"the log has {len(out)} leaves where {size} were expected; run `dataward audit "
                "verify`",
                seq=len(out) + 1,
            )
        return out

    # --- checkpoints and proofs ---------------------------------------------------------------

    def _require_key(self) -> Ed25519PrivateKey:
        if self.signing_key is None:
            raise ConfigurationError("no audit signing key: pass signing_key to AuditLog")
        return self.signing_key

    def register_key(self, key: Ed25519PrivateKey, *, retired: bool = False) -> str:
        kid = key_id(key)
        now = format_time(datetime.now(UTC))
        with self.engine.begin() as conn:
            row = conn.execute(select(K.c.key_id).where(K.c.key_id == kid)).one_or_none()
            if row is None:
                conn.execute(
                    insert(K).values(key_id=kid, public_key=public_bytes(key), created_at=now)
                )
            if retired:
                conn.execute(update(K).where(K.c.key_id == kid).values(retired_at=now))
        return kid

    def checkpoint(self) -> Checkpoint:
        """Sign (tree size, root, time) for the current log and store it."""
        key = self._require_key()
        self.register_key(key)
        size, _ = self.head()
        cp = sign_checkpoint(key, size, root_of(self.leaves(size)))
        with self.engine.begin() as conn:
            conn.execute(
                insert(CP).values(
                    tree_size=cp.tree_size,
                    root_hash=cp.root_hash,
                    created_at=cp.time,
                    key_id=cp.key_id,
                    signature=cp.signature,
                )
            )
        return cp

    def rotate_key(self, new_key: Ed25519PrivateKey) -> Checkpoint:
        """Retire the current key (its public key stays), sign a checkpoint with ``new_key``."""
        if self.signing_key is not None:
            self.register_key(self.signing_key, retired=True)
        self.signing_key = new_key
        return self.checkpoint()

    def prove_inclusion(self, seq: int, size: int | None = None) -> InclusionProof:
        """Proof that entry ``seq`` is in the tree of ``size`` entries (default: all)."""
        size = self.head()[0] if size is None else size
        if not 1 <= seq <= size:
            raise InputError(f"entry {seq} is not in a tree of {size} entries")
        leaves = self.leaves(size)
        return InclusionProof(
            seq, size, leaves[seq - 1], tuple(inclusion_path(seq - 1, leaves)), root_of(leaves)
        )

    def prove_consistency(self, first: int, second: int | None = None) -> ConsistencyProof:
        """Proof that the tree of ``first`` entries is a prefix of the tree of ``second``."""
        second = self.head()[0] if second is None else second
        if not 1 <= first <= second:
            raise InputError(f"cannot prove a tree of {first} entries inside one of {second}")
        leaves = self.leaves(second)
        return ConsistencyProof(
            first,
            second,
            root_of(leaves[:first]),
            root_of(leaves),
            tuple(consistency_path(first, leaves)),
        )

    # --- retention ----------------------------------------------------------------------------

    def prune(
        self, retention: IsoDuration, *, now: datetime | None = None, dry_run: bool = False
    ) -> PruneResult:
        """Remove the content of entries older than ``retention``; hashes stay verifiable."""
        from dataward.audit.prune import prune_log  # pruning builds on this module

        return prune_log(self, retention, now=now, dry_run=dry_run)

    # --- export -------------------------------------------------------------------------------

    def export(self, directory: Path) -> dict[str, Any]:
        """Write entries (JSON Lines), checkpoints and public keys to ``directory``."""
        from dataward.audit.export import export_log  # export builds on this module

        return export_log(self, directory)

    @staticmethod
    def verify_offline(directory: Path) -> VerifyResult:
        """Verify an export directory with nothing but its files."""
        from dataward.audit.export import verify_offline

        return verify_offline(directory)

    # --- verification -------------------------------------------------------------------------

    def verify(
        self,
        *,
        from_checkpoint: Checkpoint | None = None,
        against: Sequence[Checkpoint] = (),
        trusted_keys: Mapping[str, bytes] | None = None,
        workers: int | None = None,
        parallel_min: int = PARALLEL_MIN_ENTRIES,
    ) -> VerifyResult:
        """Recompute chain and tree, check every checkpoint signature and root.

        A log of ``parallel_min`` entries or more is checked by ``workers`` processes (default:
        the CPU count, at most 4) in seq ranges, with the same checks and the same first bad entry.

        ``from_checkpoint``: trust the entries it covers (their stored hashes must still give its
        root) and recompute only the ones after. ``against``: checkpoints held outside the log
        (an auditor's copies). ``trusted_keys``: extra public keys (e.g. the auditor's copy).
        """
        keys = self.public_keys()
        if trusted_keys:
            keys.update(trusted_keys)
        cps = self.checkpoints()
        trust = 0
        if from_checkpoint is not None:
            cps.append(from_checkpoint)
            trust = from_checkpoint.tree_size
        head = self.head()
        workers = min(4, os.cpu_count() or 1) if workers is None else workers
        if workers > 1 and head[0] >= parallel_min and can_split(self.engine):
            return verify_split(
                self.engine,
                cps,
                keys,
                head=head,
                trusted=against,
                trust_until=trust,
                workers=workers,
            )
        sql = str(chain_select().compile(dialect=self.engine.dialect))
        with read_connection(self.engine) as conn:
            conn.exec_driver_sql("SELECT 1")  # begin the (read) transaction the scan runs in
            dbapi = conn.connection.dbapi_connection
            if dbapi is None:  # pragma: no cover - a live connection always has one
                raise AuditError("lost the database connection while verifying")
            # a raw DB-API cursor: no per-row result processing on the hot path; on PostgreSQL a
            # named (server-side) cursor streams the rows
            cursor = dbapi.cursor() if is_sqlite(self.engine) else dbapi.cursor(name="audit_scan")
            try:
                cursor.execute(sql)
                rows = chain.from_iterable(iter(lambda: cursor.fetchmany(FETCH_SIZE), []))
                return verify_records(
                    rows,
                    cps,
                    keys,
                    canonical=row_canonical,
                    columns=(15, 16, 17),
                    pruned=row_pruned,
                    action_columns=(4, 5),
                    head=head,
                    trusted=against,
                    trust_until=trust,
                )
            finally:
                cursor.close()


_COLUMNS = tuple(c.key for c in T.columns)
_INSERT_ROWS = BulkInsert(T, _COLUMNS)
_encode_str = json.encoder.encode_basestring_ascii  # what the canonical JSON encoder uses
_Template = tuple[bytes, bytes, tuple[Any, ...]]
_Draft = tuple[AuditEntry, str | None]


def _template(draft: AuditEntry) -> _Template:
    """For the entries equal to ``draft`` but for seq and subject_ref: the canonical bytes
    before and after ``"seq":<n>,"subject_ref":<ref>,`` (adjacent in the sorted keys; a string
    value cannot hold that text unescaped) and the row's other columns."""
    body = draft.body()
    body["seq"] = 0
    body["subject_ref"] = None
    canon = canonical_bytes(body)
    marker = b',"seq":0,"subject_ref":null,'
    if canon.count(marker) != 1:  # pragma: no cover - the sorted keys make it exactly one
        raise AuditError("unexpected canonical form of an audit entry")
    head, tail = canon.split(marker)
    row = entry_to_row(draft, b"")
    return head + b',"seq":', b"," + tail, tuple(row[c] for c in _COLUMNS)


def _chain(
    drafts: Sequence[_Draft], seq: int, prev: bytes
) -> tuple[list[tuple[Any, ...]], list[AuditEntry], tuple[int, bytes]]:
    """Number and hash ``drafts`` (``(template, subject_ref)`` from
    :meth:`EntryBuilder.build_drafts`) after the head (seq, prev): rows (in ``_COLUMNS``
    order), entries, the new head. The canonical bytes of an entry are
    ``canonical_bytes(body)``, assembled from its template's prefix and suffix (a test holds
    both equal)."""
    sha = _sha256
    rows: list[tuple[Any, ...]] = []
    out: list[AuditEntry] = []
    templates: dict[int, _Template] = {}  # by id(): the drafts hold their templates alive
    for draft, ref in drafts:
        seq += 1
        tpl = templates.get(id(draft))
        if tpl is None:
            tpl = templates[id(draft)] = _template(draft)
        head, tail, cols = tpl
        mid = f'{seq},"subject_ref":{"null" if ref is None else _encode_str(ref)}'
        canon = head + mid.encode("ascii") + tail
        h = sha(prev + canon).digest()
        entry = AuditEntry(  # dataclasses.replace, without its per-call field introspection
            seq, draft.time, draft.actor_id, draft.actor_role, draft.action, ref,
            draft.categories, draft.classes, draft.decision, draft.purpose, draft.recipient,
            draft.outcome, draft.request_id, prev, h,
        )  # fmt: skip
        out.append(entry)
        # _COLUMNS: seq, occurred_at .. action, subject_ref, categories .. request_id, hashes
        rows.append((seq, *cols[1:5], ref, *cols[6:15], prev, h, sha(b"\x00" + canon).digest()))
        prev = h
    return rows, out, (seq, prev)
