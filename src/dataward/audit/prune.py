"""Retention: remove the content of old entries while keeping the log verifiable.

A pruned entry keeps its seq, time, prev hash, entry hash and leaf hash, so the hash chain, the
Merkle tree, inclusion and consistency proofs and every signed checkpoint still verify; only its
content columns become NULL. Pruned entries always form a prefix of the log that a signed
checkpoint covers (one is signed first if needed), the log is verified before anything is
removed (pruning never launders tampering), and the pruning is itself an audit entry naming the
range of seqs it pruned (no values).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from dataward.audit.entry import format_time
from dataward.audit.log import AuditLog
from dataward.audit.rows import CONTENT_COLUMNS
from dataward.db.engine import read_connection
from dataward.db.schema import audit_checkpoints as CP  # noqa: N812 - short table alias
from dataward.db.schema import audit_entries as T  # noqa: N812 - short table alias
from dataward.errors import AuditError, PolicyError
from dataward.policy.model import IsoDuration

__all__ = ["MIN_RETENTION_DAYS", "PruneResult", "prune_log"]

MIN_RETENTION_DAYS = 365
PRUNE_ACTOR = "dataward"
PRUNE_ROLE = "system"


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What a prune did (or, with ``dry_run``, would do): entries ``first``..``last``."""

    cutoff: str
    pruned: int
    first: int | None
    last: int | None
    already_pruned: int
    checkpoint_size: int
    dry_run: bool = False


def _check_retention(retention: IsoDuration) -> None:
    if retention.approx_days < MIN_RETENTION_DAYS:
        raise PolicyError(
            f"policy setting audit_retention {retention} is shorter than one year; audit entries "
            "must be kept at least one year: set settings.audit_retention to P1Y or more"
        )


def _cutoff(retention: IsoDuration, now: datetime) -> str:
    back = IsoDuration(-retention.years, -retention.months, -retention.days, -retention.seconds)
    return format_time(back.after(now.astimezone(UTC)))


def _state(log: AuditLog, cutoff: str) -> tuple[int, int, int]:
    """(already pruned prefix, last seq older than the cutoff as a prefix, largest checkpoint)."""
    size, _ = log.head()
    with read_connection(log.engine) as conn:
        already = conn.execute(
            select(func.max(T.c.seq)).where(and_(*(c.is_(None) for c in CONTENT_COLUMNS)))
        ).scalar()
        first_kept = conn.execute(
            select(func.min(T.c.seq)).where(T.c.occurred_at >= cutoff)
        ).scalar()
        cp_size = conn.execute(select(func.max(CP.c.tree_size))).scalar()
    upto = size if first_kept is None else int(first_kept) - 1
    return int(already or 0), upto, int(cp_size or 0)


def prune_log(
    log: AuditLog,
    retention: IsoDuration,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PruneResult:
    """Prune the content of entries older than ``retention`` (at least one year)."""
    _check_retention(retention)
    cutoff = _cutoff(retention, now or datetime.now(UTC))
    already, upto, cp_size = _state(log, cutoff)
    first, last = already + 1, upto
    count = max(0, last - already)
    if count == 0 or dry_run:
        return PruneResult(
            cutoff,
            count,
            first if count else None,
            last if count else None,
            already,
            cp_size,
            dry_run=dry_run,
        )
    # never prune what does not verify: the removed content could hide tampering
    log.verify().raise_for_failure()
    if cp_size < last:
        cp_size = log.checkpoint().tree_size
    try:
        with log.engine.begin() as conn:
            conn.execute(
                update(T)
                .where(T.c.seq >= first, T.c.seq <= last)
                .values({c.name: None for c in CONTENT_COLUMNS})
            )
            log.append(
                {
                    "actor_id": PRUNE_ACTOR,
                    "actor_role": PRUNE_ROLE,
                    "action": "prune",
                    "subject_ref": f"audit-seq:{first}-{last}",
                    "purpose": "retention",
                    "rule_id": "audit_retention",
                    "policy_version": str(retention),
                    "allowed": True,
                    "outcome": "ok",
                },
                conn=conn,
            )
    except SQLAlchemyError as exc:
        raise AuditError(
            f"cannot prune the audit log ({type(exc).__name__}); nothing was pruned"
        ) from None
    return PruneResult(cutoff, count, first, last, already, cp_size)
