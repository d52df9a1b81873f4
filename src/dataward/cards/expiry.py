"""Retention of cards: a card due for destruction is deleted at its processor first.

The vault's lifecycle holds card subjects (``run_lifecycle``'s default ``hold``): shredding a
card here while its token still lives at the processor would leave the card number behind it
for good. :func:`expire_cards` removes each due card as an erasure instead
(:meth:`CardIntake.expire`: the token's erasure copy, bound to the card alone, is opened only to
be deleted at the processor, then the card is crypto-shredded here). Cards registered before
erasure copies existed are removed through their owner (:meth:`CardIntake.remove`), found by
:meth:`~dataward.vault.vault.Vault.owners_of`. ``dataward lifecycle run`` runs both.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Final

from dataward.cards.intake import _ERASURE_FIELD, CARD_PREFIX, CardIntake
from dataward.errors import DatawardError
from dataward.vault.lifecycle import (
    HELD_BY_DEFAULT,
    LIFECYCLE_ACTOR,
    LIFECYCLE_PURPOSE,
    due_for_destruction,
)
from dataward.vault.model import Actor

__all__ = ["CARD_RETENTION_HOLD", "CardExpiryReport", "expire_cards"]

#: What ``run_lifecycle(hold=...)`` leaves to :func:`expire_cards` (its default).
CARD_RETENTION_HOLD: Final = HELD_BY_DEFAULT
#: Consecutive failures after which a run stops trying (a processor that is down).
MAX_CONSECUTIVE_FAILURES: Final = 3

_log = logging.getLogger("dataward.cards.expiry")


@dataclass(frozen=True, slots=True)
class CardExpiryReport:
    """What one run did with the cards due for destruction (counts of cards)."""

    removed: int = 0  # deleted at the processor, then crypto-shredded here
    failed: int = 0  # the processor, the policy or the database refused: kept, next run
    unowned: int = 0  # old card, owner unknown: kept, for the DPM to remove (CardIntake.remove)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def expire_cards(
    intake: CardIntake,
    now: datetime | None = None,
    *,
    actor: Actor = LIFECYCLE_ACTOR,
    purpose: str = LIFECYCLE_PURPOSE,
) -> CardExpiryReport:
    """Remove every card due for destruction (see the module docstring). Each removal is an
    erasure the policy must allow ``actor`` for ``purpose`` (the default policy's
    ``card-on-file-lifecycle``) and is audited. A failure leaves that card for the next run;
    after :data:`MAX_CONSECUTIVE_FAILURES` in a row the run stops (the rest count as failed)."""
    vault = intake.vault
    due = due_for_destruction(vault, now, prefix=CARD_PREFIX)
    removed = failed = streak = 0
    legacy: list[str] = []
    steps: list[tuple[str, str | None]] = []
    for ref in due:
        if any(f.field == _ERASURE_FIELD for f in vault.fields_of(ref)):
            steps.append((ref, None))
        else:
            legacy.append(ref)
    owners = vault.owners_of(legacy, skip_prefix=CARD_PREFIX) if legacy else {}
    steps += [(ref, owners[ref]) for ref in legacy if ref in owners]
    unowned = len(legacy) - len(owners)
    for i, (ref, owner) in enumerate(steps):
        if streak >= MAX_CONSECUTIVE_FAILURES:
            _log.warning("card retention: %d failures in a row; the rest waits", streak)
            failed += len(steps) - i
            break
        try:
            if owner is None:
                intake.expire(ref, actor=actor, purpose=purpose)
            else:
                intake.remove(ref, subject_id=owner, actor=actor, purpose=purpose)
        except DatawardError as exc:  # the processor, the policy, the database: next run
            _log.warning("card %s: not removed (%s); kept for next run", ref, type(exc).__name__)
            failed += 1
            streak += 1
        else:
            removed += 1
            streak = 0
    if unowned:
        _log.warning(
            "%d card(s) due for destruction have no erasure copy and no known owner; kept "
            "(their tokens live at the processor): remove them with CardIntake.remove",
            unowned,
        )
    return CardExpiryReport(removed, failed, unowned)
