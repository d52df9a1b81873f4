"""Retention, applied: archive what is due, destroy what is due, shred keys nobody needs.

``run_lifecycle`` works in batches, each one transaction that changes the rows and appends one
audit entry per change. It is idempotent (every change re-checks its condition inside the
transaction), resumable (a crash loses at most the uncommitted batch; the next run picks up the
rest) and safe when two runs start at once: on SQLite every transaction begins IMMEDIATE (one
writer at a time), on PostgreSQL each batch first takes a transaction-scoped advisory lock.
A subject left without values is deleted and its data key shredded after the commit; a crash in
between leaves an orphan key, which the sweep at the end of every run deletes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, exists, func, or_, select, text, update

from dataward.db.engine import is_sqlite, read_connection
from dataward.taxonomy import Action
from dataward.vault.core import _naive, delete_subject, purge_destroyed, queue_unlisted_residue
from dataward.vault.model import Actor
from dataward.vault.schema import blind_index, subjects, values
from dataward.vault.vault import Vault

__all__ = [
    "HELD_BY_DEFAULT",
    "LIFECYCLE_ACTOR",
    "LIFECYCLE_PURPOSE",
    "LifecycleReport",
    "due_for_destruction",
    "run_lifecycle",
]

LIFECYCLE_ACTOR = Actor(id="dataward-lifecycle", role="service")
LIFECYCLE_PURPOSE = "legal"
_LOCK_KEY = 0x7661756C74  # "vault"
#: Subjects the lifecycle never destroys by default: cards, whose token lives at the card
#: processor and must be deleted there first (``dataward.cards.expire_cards`` does).
HELD_BY_DEFAULT: tuple[str, ...] = ("card:",)


@dataclass(frozen=True, slots=True)
class LifecycleReport:
    """What one run did."""

    archived: int = 0
    destroyed: int = 0
    subjects_shredded: int = 0
    orphan_keys_shredded: int = 0
    blocked: int = 0  # due, but the policy denied the lifecycle actor
    purged: int = 0  # unreadable rows of destroyed subjects deleted
    held: int = 0  # subjects due for destruction but held (``hold``): cards, for the processor

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _lock(conn: Connection) -> None:
    if not is_sqlite(conn.engine):
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def run_lifecycle(
    vault: Vault,
    now: datetime | None = None,
    *,
    batch: int = 500,
    actor: Actor = LIFECYCLE_ACTOR,
    purpose: str = LIFECYCLE_PURPOSE,
    orphan_grace: timedelta = timedelta(hours=1),
    hold: tuple[str, ...] = HELD_BY_DEFAULT,
) -> LifecycleReport:
    """Apply retention once (see the module docstring). Subjects whose id starts with one of
    ``hold`` are archived on schedule but never destroyed (counted as ``held``): by default
    cards, whose token must first be deleted at the processor
    (:func:`dataward.cards.expire_cards`). ``hold=()`` destroys them like any subject."""
    when = _naive(now)
    archived = destroyed = shredded = blocked = 0
    kept: ColumnElement[bool] | None = (
        or_(*(values.c.subject_id.startswith(p, autoescape=True) for p in hold)) if hold else None
    )
    for phase in ("archive", "destroy"):
        last_id = 0
        while True:
            emptied: list[str] = []
            with vault.engine.begin() as conn:
                _lock(conn)
                cond: ColumnElement[bool]
                if phase == "archive":
                    cond = (values.c.state == "active") & (values.c.archive_due <= when)
                else:
                    cond = values.c.destroy_due <= when
                live = exists().where(subjects.c.subject_id == values.c.subject_id)
                if kept is not None and phase == "destroy":
                    cond = cond & ~kept
                rows = conn.execute(
                    select(values).where(cond, live, values.c.id > last_id).order_by(values.c.id)
                    .limit(batch)
                ).all()  # fmt: skip
                for r in rows:
                    act = Action.ARCHIVE if phase == "archive" else Action.DESTROY
                    d = vault.policy.decide(
                        action=act, category=r.category, role=actor.role, purpose=purpose
                    )
                    if not d.allowed:
                        blocked += 1
                    elif phase == "archive":
                        conn.execute(
                            update(values).where(values.c.id == r.id).values(state="archived")
                        )
                        archived += 1
                    else:
                        conn.execute(delete(values).where(values.c.id == r.id))
                        conn.execute(
                            delete(blind_index).where(
                                blind_index.c.subject_id == r.subject_id,
                                blind_index.c.field == r.field,
                            )
                        )
                        destroyed += 1
                    vault._audit(
                        conn, actor=actor, action=act.value, subject_id=r.subject_id,
                        categories=[r.category], decisions=[d], purpose=purpose,
                        outcome="ok" if d.allowed else "denied",
                    )  # fmt: skip
                if phase == "destroy":
                    for sid in sorted({r.subject_id for r in rows}):
                        left = conn.execute(
                            select(exists().where(values.c.subject_id == sid))
                        ).scalar()
                        if not left:
                            delete_subject(conn, sid)
                            emptied.append(sid)
            for sid in emptied:
                vault.keyring.destroy(sid)
                shredded += 1
            if not rows:
                break
            last_id = rows[-1].id
    with vault.engine.begin() as conn:
        _lock(conn)
        queue_unlisted_residue(conn)
    purged = 0
    while True:
        with vault.engine.begin() as conn:
            _lock(conn)
            n = purge_destroyed(conn, batch=batch * 10)
        purged += n
        if n == 0:
            break
    orphans = sweep_orphan_keys(vault, when - orphan_grace)
    held = 0
    if kept is not None:
        with read_connection(vault.engine) as conn:
            held = int(conn.execute(
                select(func.count(values.c.subject_id.distinct())).where(
                    kept, values.c.destroy_due <= when,
                    exists().where(subjects.c.subject_id == values.c.subject_id),
                )
            ).scalar_one())  # fmt: skip
    return LifecycleReport(archived, destroyed, shredded, orphans, blocked, purged, held)


def due_for_destruction(vault: Vault, now: datetime | None = None, *, prefix: str) -> list[str]:
    """Live subjects whose id starts with ``prefix`` and that hold a value due for
    destruction (for a step that must act before the lifecycle destroys them)."""
    when = _naive(now)
    with read_connection(vault.engine) as conn:
        return [
            r[0]
            for r in conn.execute(
                select(values.c.subject_id)
                .where(
                    values.c.subject_id.startswith(prefix, autoescape=True),
                    values.c.destroy_due <= when,
                    exists().where(subjects.c.subject_id == values.c.subject_id),
                )
                .distinct()
                .order_by(values.c.subject_id)
            )
        ]


def sweep_orphan_keys(vault: Vault, created_before: datetime) -> int:
    """Shred data keys whose subject no longer exists (left by a crash after a destroy)."""
    candidates = vault.keyring.subject_ids_older_than(created_before)
    n = 0
    for i in range(0, len(candidates), 500):
        chunk = candidates[i : i + 500]
        with read_connection(vault.engine) as conn:
            live = {
                r.subject_id
                for r in conn.execute(
                    select(subjects.c.subject_id).where(subjects.c.subject_id.in_(chunk))
                )
            }
        for sid in chunk:
            if sid not in live and vault.keyring.destroy(sid):
                n += 1
    return n


def lifecycle_summary(report: LifecycleReport) -> dict[str, Any]:
    """The report as a JSON-ready dict (for the CLI)."""
    return report.to_dict()
