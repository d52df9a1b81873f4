"""Retention of cards: a card due for destruction is deleted at its processor first.

The vault's lifecycle cannot do this itself: a card's token is sealed with its owner's id, and
the card record names its owner only by an HMAC (the owner link). :func:`expire_cards` finds
the owners of the due cards (:meth:`~dataward.vault.vault.Vault.owners_of`), then removes each
card as an erasure (:meth:`CardIntake.remove`: the processor deletes the token, then the card is
crypto-shredded here). Run it before :func:`~dataward.vault.lifecycle.run_lifecycle`, which is
told to hold card subjects (``hold=(CARD_PREFIX,)``) so that none is shredded while its token
still lives at the processor (``dataward lifecycle run`` does both).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Final

from dataward.cards.intake import CARD_PREFIX, CardIntake
from dataward.errors import DatawardError
from dataward.vault.lifecycle import LIFECYCLE_ACTOR, LIFECYCLE_PURPOSE, due_for_destruction
from dataward.vault.model import Actor

__all__ = ["CARD_RETENTION_HOLD", "CardExpiryReport", "expire_cards"]

#: What ``run_lifecycle(hold=...)`` must leave to :func:`expire_cards`.
CARD_RETENTION_HOLD: Final = (CARD_PREFIX,)

_log = logging.getLogger("dataward.cards.expiry")


@dataclass(frozen=True, slots=True)
class CardExpiryReport:
    """What one run did with the cards due for destruction."""

    removed: int = 0  # deleted at the processor, then crypto-shredded here
    failed: int = 0  # the processor or the policy refused: kept, tried again next run
    unowned: int = 0  # no known owner to open the token with: kept, for the DPM to resolve

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
    ``card-on-file-lifecycle``) and is audited; a failure leaves that card for the next run."""
    vault = intake.vault
    due = due_for_destruction(vault, now, prefix=CARD_PREFIX)
    if not due:
        return CardExpiryReport()
    owners = vault.owners_of(due, skip_prefix=CARD_PREFIX)
    removed = failed = 0
    for ref in due:
        owner = owners.get(ref)
        if owner is None:
            continue
        try:
            intake.remove(ref, subject_id=owner, actor=actor, purpose=purpose)
        except DatawardError as exc:  # the processor, the policy, the network: next run
            _log.warning(
                "card %s: not removed (%s); kept for the next run", ref, type(exc).__name__
            )
            failed += 1
        else:
            removed += 1
    unowned = len(due) - len(owners)
    if unowned:
        _log.warning(
            "%d card(s) due for destruction have no known owner; kept (their tokens live at the "
            "processor): remove them with CardIntake.remove once the owner is known",
            unowned,
        )
    return CardExpiryReport(removed, failed, unowned)
