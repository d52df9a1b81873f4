"""The vault's core: dependencies, classification, decisions, audit, row access.

:class:`VaultCore` is the base of :class:`dataward.vault.Vault`; the write path is in
:mod:`dataward.vault.writes`, the read path in :mod:`dataward.vault.vault`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Exists, delete, exists, select

from dataward.db.bulk import BulkInsert
from dataward.db.engine import read_connection
from dataward.detect.engine import Detector
from dataward.errors import (
    CardDataError,
    ForbiddenDataError,
    InputError,
    PolicyDeniedError,
)
from dataward.policy.model import Decision, Obligation, Retention
from dataward.taxonomy import Action, Category, DataClass, Taxonomy
from dataward.vault.blind_index import BlindIndexer, IndexKind, index_kind_of
from dataward.vault.crypto import CiphertextError, Sealed, open_value
from dataward.vault.keyring import KeyRing
from dataward.vault.model import (
    Actor,
    AuditSink,
    DecisionMaker,
    FieldInfo,
    FieldValue,
    FindingSource,
    mask_value,
)
from dataward.vault.passwords import PasswordHasher
from dataward.vault.schema import blind_index, destroyed, shares, subjects, values

__all__ = [
    "ARCHIVE_PURPOSES",
    "CARD_CATEGORIES",
    "MAX_VALUE_BYTES",
    "VaultCore",
    "queue_unlisted_residue",
]

_INSERT_SUBJECTS = BulkInsert(subjects, ("subject_id", "created_at"), skip_existing=True)
_QUEUE_PURGE = BulkInsert(destroyed, ("subject_id", "destroyed_at"), skip_existing=True)
CARD_CATEGORIES = frozenset({"card.pan", "card.cvv"})
MAX_VALUE_BYTES = 1 << 20
ARCHIVE_PURPOSES = frozenset({"legal", "data_subject_request"})


def utcnow() -> datetime:
    """Naive UTC, the form the vault's DateTime columns hold on every backend."""
    return datetime.now(UTC).replace(tzinfo=None)


def _naive(when: datetime | None) -> datetime:
    if when is None:
        return utcnow()
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def _joined(ids: Iterable[str]) -> str:
    return ":".join(sorted(set(ids)))[:128] or "none"


class VaultCore:
    """Governed storage: explicit dependencies in, nothing global.

    ``engine`` holds the data and the audit log (schema ``0002``); ``keyring`` holds the wrapped
    subject keys and should be another database (``Vault.open`` puts it in ``<home>/keys``).
    """

    def __init__(
        self,
        engine: Engine,
        policy: DecisionMaker,
        keyring: KeyRing,
        audit: AuditSink,
        detector: FindingSource,
        *,
        hasher: PasswordHasher | None = None,
        phone_region: str = "CH",
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.keyring = keyring
        self.keystore = keyring.keystore
        self.audit = audit
        self.detector = detector
        # Values of a declared category are only searched for what the vault refuses (forbidden
        # and card data). A detector that can narrow itself to those recognizers answers that
        # first, cheaply; only when the narrow one finds anything does the full one decide.
        refused = CARD_CATEGORIES | {
            c.name for c in policy.taxonomy.categories.values()
            if c.data_class is DataClass.FORBIDDEN
        }  # fmt: skip
        # Only dataward's own Detector: a subclass or another detector may find more than a
        # Detector of its recognizers would, which a narrowed copy would miss (fail closed).
        self._refusal_gate: FindingSource | None = (
            detector.restricted(refused) if type(detector) is Detector else None
        )
        self.hasher = hasher or PasswordHasher()
        self.indexer = BlindIndexer(self.keystore.index_key(), region=phone_region)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()
        self.keyring.engine.dispose()

    @property
    def taxonomy(self) -> Taxonomy:
        return self.policy.taxonomy

    # ------------------------------------------------------------------ audit and decisions --

    def _entry_fields(
        self,
        *,
        actor: Actor,
        action: str,
        subject_id: str | None,
        categories: Iterable[str] = (),
        decisions: Sequence[Decision] = (),
        purpose: str | None = None,
        recipient: str | None = None,
        outcome: str = "ok",
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "actor_id": actor.id,
            "actor_role": actor.role,
            "action": action,
            "subject_ref": subject_id,
            "categories": tuple(sorted(set(categories))),
            "purpose": purpose,
            "recipient": recipient,
            "outcome": outcome,
        }
        if decisions:
            denied = [d for d in decisions if not d.allowed]
            shown = denied or list(decisions)
            fields["allowed"] = not denied
            fields["rule_id"] = _joined(d.rule_id for d in shown)
            fields["policy_version"] = shown[0].policy_version or None
        return fields

    def _audit(self, conn: Connection, **kw: Any) -> None:
        """Append one audit entry inside ``conn``'s transaction."""
        self.audit.append(self._entry_fields(**kw), conn=conn)

    def _audit_alone(self, **kw: Any) -> None:
        with self.engine.begin() as conn:
            self._audit(conn, **kw)

    def _deny(
        self,
        denied: Decision,
        *,
        action: Action,
        category: str,
        actor: Actor,
        purpose: str,
    ) -> PolicyDeniedError:
        return PolicyDeniedError(
            f"the policy denies {action.value} of {category} for role {actor.role!r} and purpose "
            f"{purpose!r} (rule {denied.rule_id}): {denied.reason}",
            rule_id=denied.rule_id,
        )

    def _decide(
        self,
        action: Action,
        category: str,
        actor: Actor,
        purpose: str,
        recipient: str | None = None,
    ) -> Decision:
        return self.policy.decide(
            action=action, category=category, role=actor.role, purpose=purpose, recipient=recipient
        )

    # ------------------------------------------------------------------ classification -------

    def _classify(
        self,
        *,
        subject_id: str,
        field: str,
        value: str,
        category: str | None,
        actor: Actor,
        purpose: str,
        action: str,
    ) -> Category:
        """The category to store ``value`` under; refuses forbidden and card data, audited."""
        tax = self.taxonomy
        known = tax.categories
        declared = tax.get(category) if category is not None else None
        # (category, score) of each finding the taxonomy knows, in the detector's order
        gate = self._refusal_gate
        if declared is not None and gate is not None and not gate.detect(value):
            found = []  # nothing the vault refuses (see __init__); the declared category holds
        else:
            found = [
                (known[f.category], f.score)
                for f in self.detector.detect(value)
                if f.category in known
            ]
        offered = [c for c, _ in found]
        if declared is not None:
            offered.insert(0, declared)
        forbidden = card = None
        for c in offered:
            if forbidden is None and c.data_class is DataClass.FORBIDDEN:
                forbidden = c
            if card is None and c.name in CARD_CATEGORIES:
                card = c
        refused = forbidden or card
        if refused is not None:
            decision = self._decide(Action.CREATE, refused.name, actor, purpose)
            if decision.allowed:  # a policy can never allow these; record the refusal anyway
                decision = Decision(
                    False, "forbidden" if forbidden else "card-data", "refused by the vault",
                    policy_version=decision.policy_version,
                )  # fmt: skip
            self._audit_alone(
                actor=actor, action=action, subject_id=subject_id, categories=[refused.name],
                decisions=[decision], purpose=purpose, outcome="refused",
            )  # fmt: skip
            if forbidden is not None:
                raise ForbiddenDataError(forbidden.name, field=field)
            raise CardDataError(refused.name, field=field)
        if declared is not None:
            return declared
        if not found:
            raise InputError(
                f"field {field!r}: no category given and the detector found none; "
                "pass category= (--category) with the taxonomy name of this value"
            )
        return max(found, key=lambda cs: (cs[0].data_class.rank, cs[1]))[0]

    # ------------------------------------------------------------------ writes ---------------

    def _check_value(self, value: str, field: str) -> bytes:
        if not isinstance(value, str):
            raise InputError(f"field {field!r}: the value must be text")
        raw = value.encode("utf-8", "surrogatepass")
        if len(raw) > MAX_VALUE_BYTES or not value:
            raise InputError(f"field {field!r}: the value must be 1 byte to 1 MiB of text")
        return raw

    def _index_token(self, category: str, value: str, field: str) -> tuple[IndexKind, bytes] | None:
        kind = index_kind_of(category)
        if kind is None:
            return None
        try:
            return kind, self.indexer.token(kind, value)
        except InputError:
            raise InputError(
                f"field {field!r} ({category}) is malformed and cannot be indexed; correct it"
            ) from None

    def _insert_subjects(
        self, conn: Connection, subject_ids: Sequence[str], when: datetime
    ) -> None:
        """Insert subject rows; one a concurrent writer created first is left alone."""
        _INSERT_SUBJECTS.run(conn, [(sid, when) for sid in subject_ids])

    # ------------------------------------------------------------------ reads ----------------

    def _row(self, subject_id: str, field: str) -> Any:
        with read_connection(self.engine) as conn:
            rows = self._rows(conn, subject_id, [field])
        return rows[0] if rows else None

    def _rows(self, conn: Connection, subject_id: str, fields: Sequence[str] | None) -> list[Any]:
        q = select(values).where(values.c.subject_id == subject_id, _live(subject_id))
        if fields is not None:
            q = q.where(values.c.field.in_(list(fields)))
        return list(conn.execute(q.order_by(values.c.field)).all())

    def _open(self, row: Any) -> str:
        dek = self.keyring.get(row.subject_id)
        if dek is None:
            raise CiphertextError(
                f"subject {row.subject_id!r} has no data key (it was destroyed); its values are "
                "unrecoverable"
            )
        sealed = Sealed(bytes(row.nonce), bytes(row.ciphertext))
        try:
            raw = open_value(
                dek, sealed, subject_id=row.subject_id, field=row.field, version=row.version
            )
        except CiphertextError:
            # Maybe a key this process cached was shredded and replaced by another process
            # (destroy, then the id re-created): ask the key ring again, once.
            self.keyring.forget(row.subject_id)
            fresh = self.keyring.get(row.subject_id)
            if fresh is None or fresh == dek:
                raise
            raw = open_value(
                fresh, sealed, subject_id=row.subject_id, field=row.field, version=row.version
            )
        return raw.decode("utf-8", "surrogatepass")

    def _read_decisions(
        self, rows: Sequence[Any], actor: Actor, purpose: str, action: Action = Action.USE,
        recipient: str | None = None,
    ) -> list[Decision]:  # fmt: skip
        out = []
        for r in rows:
            d = self._decide(action, r.category, actor, purpose, recipient)
            if d.allowed and r.state == "archived" and purpose not in ARCHIVE_PURPOSES:
                d = Decision(
                    False, "builtin:archived",
                    f"field {r.field!r} is archived; archived data may be used only for the "
                    f"purposes {', '.join(sorted(ARCHIVE_PURPOSES))}",
                    policy_version=d.policy_version,
                )  # fmt: skip
            out.append(d)
        return out

    def _visible(self, row: Any, decision: Decision | None) -> FieldValue:
        if decision is None or _protected(row):
            return FieldValue(
                row.field, row.category, row.data_class, None, protected=True, state=row.state
            )
        plain = self._open(row)
        if Obligation.MASK in decision.obligations:
            return FieldValue(
                row.field, row.category, row.data_class, mask_value(row.category, plain),
                masked=True, state=row.state,
            )  # fmt: skip
        return FieldValue(row.field, row.category, row.data_class, plain, state=row.state)

    def _retention(self, category: str) -> Retention | None:
        getter = getattr(self.policy, "retention_for", None)
        if getter is None:
            return None
        result = getter(category)
        return result if isinstance(result, Retention) else None


_CATEGORY_OF_KIND = {
    IndexKind.EMAIL: "contact.email",
    IndexKind.CUSTOMER_ID: "identity.customer_id",
    IndexKind.PHONE: "contact.phone",
}


@dataclass(slots=True)  # not frozen: one per write, and a frozen __init__ costs 3-4x more
class _Prepared:
    """A write that passed classification and the policy, ready for its transaction (never
    changed once built)."""

    subject_id: str
    field: str
    category: Category
    purpose: str
    actor: Actor
    action: str
    must_exist: bool
    when: datetime
    decisions: tuple[Decision, ...]
    plain: bytes = dataclasses.field(repr=False)
    hashed: bool = False
    archive_due: datetime | None = None
    destroy_due: datetime | None = None
    token: tuple[IndexKind, bytes] | None = dataclasses.field(default=None, repr=False)
    audit: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What writing one category means for one (actor, purpose, action): the decisions, the
    protection, the dues and the audit entry's fields but the subject (the same for every value
    of that category in a batch)."""

    decisions: tuple[Decision, ...]
    hashed: bool
    archive_due: datetime | None
    destroy_due: datetime | None
    audit: Mapping[str, Any]


@dataclass(slots=True)
class _Memo:
    """A write batch's shared state: its time and the plans computed so far, by
    (category, action, must_exist, actor, purpose)."""

    when: datetime
    plans: dict[tuple[str, str, bool, Actor, str], _Plan] = dataclasses.field(default_factory=dict)


def _live(subject_id: str) -> Exists:
    """True while the subject exists (value rows of a destroyed subject await the purge)."""
    return exists().where(subjects.c.subject_id == subject_id)


def delete_subject(conn: Connection, subject_id: str) -> None:
    """Delete a subject: its row, index entries and share records at once; its value rows,
    unreadable once the key is shredded, are queued for the lifecycle's purge
    (:func:`purge_destroyed`)."""
    for table in (blind_index, shares):
        conn.execute(delete(table).where(table.c.subject_id == subject_id))
    conn.execute(delete(subjects).where(subjects.c.subject_id == subject_id))
    _QUEUE_PURGE.run(conn, [(subject_id, utcnow())])


def queue_unlisted_residue(conn: Connection) -> int:
    """Queue every subject that has value rows but no subject row and is not queued yet (rows
    left by a store that raced a destroy, or by a destroy of an older version); the number
    queued. One scan of ``vault_values``: the lifecycle runs it before each purge."""
    orphans = (
        select(values.c.subject_id)
        .where(
            ~exists().where(subjects.c.subject_id == values.c.subject_id),
            ~exists().where(destroyed.c.subject_id == values.c.subject_id),
        )
        .distinct()
    )
    ids = [r[0] for r in conn.execute(orphans)]
    when = utcnow()
    _QUEUE_PURGE.run(conn, [(sid, when) for sid in ids])
    return len(ids)


#: destroyed subjects taken per round of :func:`purge_destroyed`
_PURGE_SUBJECTS = 100


def purge_destroyed(conn: Connection, *, batch: int = 5000) -> int:
    """Delete up to ``batch`` value rows of destroyed subjects (``vault_destroyed``), the
    number deleted; a subject leaves the queue once none of its rows is left."""
    done = 0
    after = ""
    while done < batch:
        queued = [
            r[0]
            for r in conn.execute(
                select(destroyed.c.subject_id)
                .where(destroyed.c.subject_id > after)
                .order_by(destroyed.c.subject_id)
                .limit(_PURGE_SUBJECTS)
            )
        ]
        if not queued:
            break
        want = batch - done
        ids = [
            r[0]
            for r in conn.execute(
                select(values.c.id)
                .where(
                    values.c.subject_id.in_(queued),
                    # never a live subject's rows (a queued id re-created leaves the queue)
                    ~exists().where(subjects.c.subject_id == values.c.subject_id),
                )
                .limit(want)
            )
        ]
        if ids:
            conn.execute(delete(values).where(values.c.id.in_(ids)))
            done += len(ids)
        if len(ids) == want:
            break  # rows may be left: these subjects stay queued for the next call
        conn.execute(delete(destroyed).where(destroyed.c.subject_id.in_(queued)))
        after = queued[-1]
    return done


def _protected(row: Any) -> bool:
    """High-class and hashed values never leave the vault in clear."""
    return bool(row.protection == "hashed" or row.data_class == DataClass.HIGH.value)


def _dues(retention: Retention | None, start: datetime) -> tuple[datetime | None, datetime | None]:
    if retention is None:
        return None, None
    if retention.archive is None:
        return None, retention.keep.after(start)
    return retention.keep.after(start), retention.total.after(start)


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.replace(tzinfo=UTC).isoformat()


def _retention_text(retention: Retention | None) -> str | None:
    return None if retention is None else str(retention)


def _info(r: Any) -> FieldInfo:
    return FieldInfo(
        field=r.field, category=r.category, data_class=r.data_class, purpose=r.purpose,
        state=r.state, version=r.version, stored_at=r.stored_at, archive_due=r.archive_due,
        destroy_due=r.destroy_due, protection=r.protection,
    )  # fmt: skip
