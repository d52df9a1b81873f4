"""The vault's write path: store, rectify, store_many, archive, destroy, key rotation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, text, tuple_, update

from dataward.db.bulk import BulkInsert
from dataward.errors import (
    NotFoundError,
)
from dataward.policy.model import Obligation
from dataward.taxonomy import Action, Category
from dataward.vault.blind_index import IndexKind
from dataward.vault.core import (
    VaultCore,
    _dues,
    _live,
    _Memo,
    _naive,
    _Plan,
    _Prepared,
    delete_subject,
)
from dataward.vault.crypto import Sealer
from dataward.vault.model import (
    Actor,
    FieldInfo,
    check_field,
    check_id,
    check_name,
)
from dataward.vault.schema import blind_index, destroyed, subjects, values

__all__ = ["VaultWrites"]

_INSERT_VALUES = BulkInsert(
    values,
    ("subject_id", "field", "category", "data_class", "protection", "nonce", "ciphertext",
     "version", "state", "purpose", "policy_version", "stored_at", "archive_due", "destroy_due"),
)  # fmt: skip
_INSERT_INDEX = BulkInsert(blind_index, ("kind", "token", "subject_id", "field"))
# the batch's lookups, built once (building them per batch costs more than running them)
# FOR KEY SHARE (PostgreSQL; SQLite writers are serialized anyway): a destroy of one of these
# subjects waits for this transaction, so no value row is ever added to a subject being
# destroyed and purged (it would escape the purge queue).
_LIVE_SUBJECTS = (
    select(subjects.c.subject_id)
    .where(subjects.c.subject_id.in_(bindparam("ids", expanding=True)))
    .with_for_update(read=True, key_share=True)
)
_AWAITING_PURGE = select(destroyed.c.subject_id).where(
    destroyed.c.subject_id.in_(bindparam("ids", expanding=True))
)
_DROP_RESIDUE = delete(values).where(values.c.subject_id.in_(bindparam("ids", expanding=True)))
_UNQUEUE = delete(destroyed).where(destroyed.c.subject_id.in_(bindparam("ids", expanding=True)))
_VERSIONS = select(values.c.subject_id, values.c.field, values.c.version).where(
    values.c.subject_id.in_(bindparam("ids", expanding=True)),
    tuple_(values.c.subject_id, values.c.field).in_(bindparam("keys", expanding=True)),
)


class VaultWrites(VaultCore):
    """Writes: every one classified, decided, protected, and audited in its transaction."""

    def store(
        self,
        subject_id: str,
        field: str,
        value: str,
        *,
        category: str | None = None,
        purpose: str,
        actor: Actor,
        now: datetime | None = None,
    ) -> FieldInfo:
        """Classify, decide (create, store), protect and store ``value``; audited."""
        return self._write(
            subject_id, field, value, category=category, purpose=purpose, actor=actor,
            now=now, action="store", must_exist=False,
        )  # fmt: skip

    def rectify(
        self,
        subject_id: str,
        field: str,
        value: str,
        *,
        purpose: str = "data_subject_request",
        actor: Actor,
        category: str | None = None,
        now: datetime | None = None,
    ) -> FieldInfo:
        """Replace an existing value (a new version); the category stays unless given."""
        return self._write(
            subject_id, field, value, category=category, purpose=purpose, actor=actor,
            now=now, action="rectify", must_exist=True,
        )  # fmt: skip

    def store_many(
        self,
        items: Iterable[tuple[str, str, str, str | None]],
        *,
        purpose: str,
        actor: Actor,
        now: datetime | None = None,
    ) -> list[FieldInfo]:
        """Store ``(subject_id, field, value, category)`` items in ONE transaction, one audit
        entry each. All or nothing: a refused or denied item (audited) stores none of them."""
        # Every value is still checked, classified (detector) and refused on its own; what is
        # the same for the whole batch (decisions, obligations, dues, the audit template per
        # category; the time; one AES-GCM context per subject) is computed once.
        memo = _Memo(_naive(now))
        prepared = [
            self._prepare(sid, fld, val, category=cat, purpose=purpose, actor=actor, now=now,
                          action="store", must_exist=False, memo=memo)
            for sid, fld, val, cat in items
        ]  # fmt: skip
        deks = self.keyring.get_or_create_many([p.subject_id for p in prepared])
        with self.engine.begin() as conn:
            infos = self._apply_many(conn, prepared, deks)
            self.audit.append_many([self._entry(p) for p in prepared], conn=conn)
        return infos

    def _write(
        self,
        subject_id: str,
        field: str,
        value: str,
        *,
        category: str | None,
        purpose: str,
        actor: Actor,
        now: datetime | None,
        action: str,
        must_exist: bool,
    ) -> FieldInfo:
        p = self._prepare(
            subject_id, field, value, category=category, purpose=purpose, actor=actor, now=now,
            action=action, must_exist=must_exist,
        )  # fmt: skip
        deks = {subject_id: self.keyring.get_or_create(subject_id)}
        with self.engine.begin() as conn:
            info = self._apply_many(conn, [p], deks)[0]
            self.audit.append(self._entry(p), conn=conn)
        return info

    def _prepare(
        self,
        subject_id: str,
        field: str,
        value: str,
        *,
        category: str | None,
        purpose: str,
        actor: Actor,
        now: datetime | None,
        action: str,
        must_exist: bool,
        memo: _Memo | None = None,
    ) -> _Prepared:
        """Validate, classify, decide, protect: everything before the transaction."""
        check_id(subject_id, "a subject id")
        check_field(field)
        check_name(purpose, "a purpose")
        raw = self._check_value(value, field)
        when = _naive(now) if memo is None else memo.when
        if must_exist and category is None:
            existing = self._row(subject_id, field)
            if existing is None:
                self._audit_alone(
                    actor=actor, action=action, subject_id=subject_id, purpose=purpose,
                    outcome="error",
                )  # fmt: skip
                raise NotFoundError(f"subject {subject_id!r} has no field {field!r}")
            category = existing.category
        cat = self._classify(
            subject_id=subject_id, field=field, value=value, category=category, actor=actor,
            purpose=purpose, action=action,
        )  # fmt: skip
        key = (cat.name, action, must_exist, actor, purpose)
        plan = None if memo is None else memo.plans.get(key)
        if plan is None:
            plan = self._plan(cat, subject_id, purpose, actor, action, must_exist, when)
            if memo is not None:
                memo.plans[key] = plan
        return _Prepared(
            subject_id=subject_id, field=field, category=cat, purpose=purpose, actor=actor,
            action=action, must_exist=must_exist, when=when, decisions=plan.decisions,
            plain=self.hasher.hash(value).encode("utf-8", "surrogatepass") if plan.hashed else raw,
            hashed=plan.hashed, archive_due=plan.archive_due, destroy_due=plan.destroy_due,
            token=self._index_token(cat.name, value, field), audit=plan.audit,
        )  # fmt: skip

    def _plan(
        self,
        cat: Category,
        subject_id: str,
        purpose: str,
        actor: Actor,
        action: str,
        must_exist: bool,
        when: datetime,
    ) -> _Plan:
        """Decide (create, store) for a category; a denial is audited and raised."""
        # A new value is created and stored; a rectification only stores (the DPM's job).
        acts = (Action.STORE,) if must_exist else (Action.CREATE, Action.STORE)
        decisions = tuple(self._decide(a, cat.name, actor, purpose) for a in acts)
        denied = next((d for d in decisions if not d.allowed), None)
        if denied is not None:
            self._audit_alone(
                actor=actor, action=action, subject_id=subject_id, categories=[cat.name],
                decisions=decisions, purpose=purpose, outcome="denied",
            )  # fmt: skip
            act = acts[decisions.index(denied)]
            raise self._deny(denied, action=act, category=cat.name, actor=actor, purpose=purpose)
        obligations = frozenset().union(*(d.obligations for d in decisions))
        retention = next((d.retention for d in reversed(decisions) if d.retention), None)
        archive_due, destroy_due = _dues(retention, when)
        audit = self._entry_fields(
            actor=actor, action=action, subject_id=None, categories=[cat.name],
            decisions=decisions, purpose=purpose,
        )  # fmt: skip
        return _Plan(
            decisions=decisions,
            hashed=cat.name == "secret.password" or Obligation.HASH in obligations,
            archive_due=archive_due,
            destroy_due=destroy_due,
            audit=audit,
        )

    def _entry(self, p: _Prepared) -> dict[str, Any]:
        entry = dict(p.audit)
        entry["subject_ref"] = p.subject_id
        return entry

    def _apply_many(
        self, conn: Connection, batch: Sequence[_Prepared], deks: Mapping[str, bytes]
    ) -> list[FieldInfo]:
        """Write prepared values inside the caller's transaction, a few statements per batch."""
        sids = sorted({p.subject_id for p in batch})
        live = {r[0] for r in conn.execute(_LIVE_SUBJECTS, {"ids": sids})}
        new = [sid for sid in sids if sid not in live]
        if new:
            # New subjects, or destroyed ones whose unreadable rows await the purge: those
            # rows go first (the queue is small; vault_values is not searched for every id).
            residue = [r[0] for r in conn.execute(_AWAITING_PURGE, {"ids": new})]
            if residue:
                conn.execute(_DROP_RESIDUE, {"ids": residue})
                conn.execute(_UNQUEUE, {"ids": residue})
            self._insert_subjects(conn, new, batch[0].when)
        versions: dict[tuple[str, str], int] = {}
        if live:
            keys = sorted({(p.subject_id, p.field) for p in batch if p.subject_id in live})
            for r in conn.execute(_VERSIONS, {"ids": sorted(live), "keys": keys}):
                versions[(r[0], r[1])] = r[2]
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[tuple[str, str], dict[str, Any]]] = []
        tokens: dict[tuple[str, str], tuple[IndexKind, bytes] | None] = {}
        infos: list[FieldInfo] = []
        sealers: dict[str, Sealer] = {}
        for p in batch:
            key = (p.subject_id, p.field)
            if p.must_exist and key not in versions:
                raise NotFoundError(f"subject {p.subject_id!r} has no field {p.field!r}")
            version = versions.get(key, 0) + 1
            sealer = sealers.get(p.subject_id)
            if sealer is None:
                sealer = sealers[p.subject_id] = Sealer(deks[p.subject_id])
            sealed = sealer.seal(p.plain, subject_id=p.subject_id, field=p.field, version=version)
            protection = "hashed" if p.hashed else "encrypted"
            category, data_class = p.category.name, p.category.data_class.value
            policy_version = p.decisions[-1].policy_version or "unknown"
            if key in versions:
                updates.append((key, {
                    "category": category, "data_class": data_class, "protection": protection,
                    "nonce": sealed.nonce, "ciphertext": sealed.ciphertext, "version": version,
                    "state": "active", "purpose": p.purpose, "policy_version": policy_version,
                    "stored_at": p.when, "archive_due": p.archive_due,
                    "destroy_due": p.destroy_due,
                }))  # fmt: skip
            else:
                inserts.append((
                    p.subject_id, p.field, category, data_class, protection, sealed.nonce,
                    sealed.ciphertext, version, "active", p.purpose, policy_version, p.when,
                    p.archive_due, p.destroy_due,
                ))  # fmt: skip
            versions[key] = version
            tokens[key] = p.token
            infos.append(
                FieldInfo(
                    field=p.field,
                    category=category,
                    data_class=data_class,
                    purpose=p.purpose,
                    state="active",
                    version=version,
                    stored_at=p.when,
                    archive_due=p.archive_due,
                    destroy_due=p.destroy_due,
                    protection=protection,
                )
            )
        _INSERT_VALUES.run(conn, inserts)
        for (sid, field), cols in updates:
            conn.execute(
                update(values)
                .where(values.c.subject_id == sid, values.c.field == field)
                .values(**cols)
            )
        replaced = sorted({key for key, _ in updates})
        if replaced:
            conn.execute(
                delete(blind_index).where(
                    tuple_(blind_index.c.subject_id, blind_index.c.field).in_(replaced)
                )
            )
        _INSERT_INDEX.run(
            conn,
            [
                (tok[0].value, tok[1], key[0], key[1])
                for key, tok in tokens.items()
                if tok is not None
            ],
        )
        return infos

    def archive(
        self,
        subject_id: str,
        fields: Sequence[str] | None = None,
        *,
        actor: Actor,
        purpose: str = "legal",
    ) -> int:
        """Move active values into the archive (still encrypted, use restricted). Audited."""
        check_id(subject_id, "a subject id")
        check_name(purpose, "a purpose")
        with self.engine.begin() as conn:
            rows = [r for r in self._rows(conn, subject_id, fields) if r.state == "active"]
            cats = [r.category for r in rows]
            decisions = [self._decide(Action.ARCHIVE, r.category, actor, purpose) for r in rows]
            denied = next((d for d in decisions if not d.allowed), None)
            if denied is None and rows:
                conn.execute(
                    update(values)
                    .where(values.c.id.in_([r.id for r in rows]))
                    .values(state="archived")
                )
            self._audit(
                conn, actor=actor, action="archive", subject_id=subject_id, categories=cats,
                decisions=decisions, purpose=purpose, outcome="denied" if denied else "ok",
            )  # fmt: skip
        if denied is not None:
            bad = rows[decisions.index(denied)]
            raise self._deny(
                denied, action=Action.ARCHIVE, category=bad.category, actor=actor, purpose=purpose
            )
        return len(rows)

    def destroy(
        self, subject_id: str, *, actor: Actor, purpose: str = "data_subject_request"
    ) -> tuple[str, ...]:
        """Crypto-shred a subject: delete its data key, its row, index entries and share
        records at once (its value rows, unreadable from then on, are purged in batches by the
        lifecycle). Audited. Returns the categories destroyed. Costs the same for 10 values or
        100,000."""
        check_id(subject_id, "a subject id")
        check_name(purpose, "a purpose")
        with self.engine.begin() as conn:
            known = conn.execute(select(_live(subject_id))).scalar()
            cats = _categories_of(conn, subject_id) if known else []
            has_key = self.keyring.get(subject_id) is not None
            if not known and not has_key:
                self._audit(
                    conn, actor=actor, action="destroy", subject_id=subject_id, purpose=purpose,
                    outcome="error",
                )  # fmt: skip
                raise NotFoundError(f"subject {subject_id!r} is not in the vault")
            decisions = [self._decide(Action.DESTROY, c, actor, purpose) for c in cats]
            denied = next((d for d in decisions if not d.allowed), None)
            if denied is None:
                delete_subject(conn, subject_id)
            self._audit(
                conn, actor=actor, action="destroy", subject_id=subject_id, categories=cats,
                decisions=decisions, purpose=purpose, outcome="denied" if denied else "ok",
            )  # fmt: skip
        if denied is not None:
            raise self._deny(
                denied, action=Action.DESTROY, category=cats[decisions.index(denied)],
                actor=actor, purpose=purpose,
            )  # fmt: skip
        # After the commit: if we crash here the key is an orphan, which run_lifecycle sweeps.
        self.keyring.destroy(subject_id)
        return tuple(cats)

    # ------------------------------------------------------------------ access requests ------

    def rotate_keys(self, *, actor: Actor) -> dict[str, Any]:
        """New KEK (if the store can make one), then re-wrap every data key under it. The data
        is not touched. Audited as ``key_rotate``."""
        self.keystore.rotate()
        report = self.keyring.rewrap()
        self._audit_alone(actor=actor, action="key_rotate", subject_id=None)
        return report


def _categories_of(conn: Connection, subject_id: str) -> list[str]:
    """The distinct categories of a subject's values: one index probe per category (a "loose
    index scan" on ix_vault_values_subject_category), whatever the number of values."""
    cte = text(
        "WITH RECURSIVE c(cat) AS ("
        " SELECT MIN(category) FROM vault_values WHERE subject_id = :s"
        " UNION ALL"
        " SELECT (SELECT MIN(category) FROM vault_values"
        "         WHERE subject_id = :s AND category > c.cat)"
        " FROM c WHERE c.cat IS NOT NULL"
        ") SELECT cat FROM c WHERE cat IS NOT NULL"
    )
    return [r[0] for r in conn.execute(cte, {"s": subject_id})]
