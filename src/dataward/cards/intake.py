"""The card intake: the one door card numbers come in by, and go out of, to the processor.

``register`` validates the card, asks the policy (create and share of ``card.pan`` /
``card.cvv`` / ``card.expiry`` to the registered ``card-processor``), sends PAN, CVV and expiry
over TLS to the processor, and stores in the vault only what the policy allows to keep: the
processor's token **sealed** with the dedicated token key (``card.token``) and a display line
``<brand> ****<last 4> <MM>/<YYYY>`` (``card.expiry``, which the policy masks on reading).

Each card is its own vault subject, ``card:<24 hex>`` (the *card reference*): removing a card
destroys that subject's key (crypto-shredding, backups included) without touching the owner's
other data. The sealed token is bound to ``<owner>/<reference>``, so a token row moved to another
card or charged for another owner does not open.

Each card subject carries an *owner link* to its customer (a blind-index entry, keyed HMAC of
the customer's id, see :meth:`dataward.vault.Vault.link_owner`), so :meth:`CardIntake.cards_of`
lists a customer's cards without decrypting anything and :meth:`CardIntake.remove_all` erases
them, at the processor too. Cards registered before the link existed have none: they still
charge and remove by reference, but ``cards_of`` does not list them until billing links them
(:meth:`CardIntake.link`, given the owner and the reference from its own records).

Removing a card is an erasure, not a disclosure: the sealed token is read back only to order
the processor that issued it to delete it, gated by the policy's ``destroy`` decision
(:meth:`dataward.vault.Vault.erase_at_issuer`), so the DPM (``data_subject_request``) and
billing (``billing``) can both remove a card, while charging still needs ``share``.

The reference is derived from the token with a keyed HMAC: a retried registration (same
idempotency key, hence the same token from the processor) lands on the same reference and never
creates a second record. PAN and CVV never reach the vault, the audit log, a log line or an
exception (see :mod:`dataward.cards.validation` for what Python can and cannot promise about
memory).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from dataward.cards.model import ChargeResult, ProcessorToken, check_amount, check_currency
from dataward.cards.processor import CardProcessor, new_idempotency_key
from dataward.cards.token_crypto import TokenKey, open_token, seal_token
from dataward.cards.validation import Brand, Expiry, validate_card
from dataward.errors import (
    CardValidationError,
    DatawardError,
    InputError,
    KeyStoreError,
    NotFoundError,
    PolicyDeniedError,
    ProcessorError,
)
from dataward.taxonomy import Action
from dataward.vault import Actor, Vault
from dataward.vault.model import check_id, check_name

__all__ = ["CARD_PREFIX", "PROCESSOR_RECIPIENT", "CardIntake", "CardRef"]

_log = logging.getLogger("dataward.cards.intake")

#: The processor's name in the policy's ``processors:`` section.
PROCESSOR_RECIPIENT: Final = "card-processor"
_TOKEN_FIELD: Final = "token"  # noqa: S105 - a vault field name, not a secret
_DISPLAY_FIELD: Final = "display"
#: The token sealed a second time, bound to the card alone: opened only to delete the token at
#: the processor when the card's retention runs out (the lifecycle does not know the owner).
_ERASURE_FIELD: Final = "erasure"
_REF_PREFIX: Final = "card:"
#: Every card reference (the vault subject of a card) starts with this.
CARD_PREFIX: Final = _REF_PREFIX
_CARD_DATA: Final = ("card.cvv", "card.expiry", "card.pan")
_ON_FILE: Final = ("card.expiry", "card.token")  # what a card subject holds


@dataclass(frozen=True, slots=True)
class CardRef:
    """A card on file: its reference (a vault subject) and what may be displayed."""

    ref: str
    subject_id: str
    brand: Brand
    last4: str
    expiry: Expiry

    @property
    def display(self) -> str:
        return f"{self.brand.value} ****{self.last4} {self.expiry.month:02d}/{self.expiry.year}"

    def __str__(self) -> str:
        return self.ref


class CardIntake:
    """Register, charge and remove cards; the vault keeps only the sealed token.

    ``token_key`` seals tokens; give a sequence to rotate (the first seals, all open).
    """

    def __init__(
        self,
        vault: Vault,
        processor: CardProcessor,
        *,
        token_key: TokenKey | Iterable[TokenKey],
        recipient: str = PROCESSOR_RECIPIENT,
    ) -> None:
        keys = [token_key] if isinstance(token_key, TokenKey) else list(token_key)
        if not keys:
            raise InputError("CardIntake needs at least one token key")
        self._vault = vault
        self._processor = processor
        self._keys = keys
        self._recipient = check_id(recipient, "a processor name")

    # --- helpers ---------------------------------------------------------------------------

    @property
    def vault(self) -> Vault:
        """The vault this intake keeps its cards in."""
        return self._vault

    def _audit(self, fields: Mapping[str, Any]) -> None:
        self._vault.audit.append(dict(fields))

    def _entry(
        self,
        actor: Actor,
        action: str,
        subject: str,
        purpose: str,
        outcome: str,
        *,
        categories: Iterable[str] = _CARD_DATA,
        rule_id: str | None = None,
        allowed: bool | None = None,
        recipient: str | None = None,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "actor_id": actor.id,
            "actor_role": actor.role,
            "action": action,
            "subject_ref": subject,
            "categories": sorted(set(categories)),
            "purpose": purpose,
            "outcome": outcome,
        }
        if recipient is not None:
            fields["recipient"] = recipient
        if rule_id is not None:
            fields["rule_id"] = rule_id[:128]
            fields["allowed"] = bool(allowed)
        return fields

    def _ref_for(self, subject_id: str, token: ProcessorToken) -> str:
        mac = hmac.new(
            self._keys[0].material,
            b"dataward/card-ref/v1\x00" + subject_id.encode() + b"\x00" + token.value.encode(),
            hashlib.sha256,
        )
        return _REF_PREFIX + mac.hexdigest()[:24]

    @staticmethod
    def _context(subject_id: str, ref: str) -> str:
        return f"{subject_id}/{ref}"

    def _check_policy(self, subject_id: str, actor: Actor, purpose: str) -> str:
        """Create and share-to-processor of PAN, CVV and expiry must all be allowed."""
        policy = self._vault.policy
        decisions = [
            policy.decide(action=Action.CREATE, category=c, role=actor.role, purpose=purpose)
            for c in ("card.pan", "card.cvv")
        ] + [
            policy.decide(
                action=Action.SHARE,
                category=c,
                role=actor.role,
                purpose=purpose,
                recipient=self._recipient,
            )
            for c in _CARD_DATA
        ]
        rules = ":".join(sorted({d.rule_id for d in decisions}))
        denied = next((d for d in decisions if not d.allowed), None)
        if denied is not None:
            self._audit(
                self._entry(
                    actor, "share", subject_id, purpose, "denied",
                    rule_id=denied.rule_id, allowed=False, recipient=self._recipient,
                )
            )  # fmt: skip
            raise PolicyDeniedError(
                f"the policy denies taking card data for role {actor.role!r} and purpose "
                f"{purpose!r} (rule {denied.rule_id}): {denied.reason}",
                rule_id=denied.rule_id,
            )
        return rules

    # --- register --------------------------------------------------------------------------

    def register(
        self,
        subject_id: str,
        pan: object,
        cvv: object,
        expiry: object,
        holder: object,
        *,
        actor: Actor,
        purpose: str = "billing",
        idempotency_key: str | None = None,
    ) -> CardRef:
        """Validate, tokenize at the processor, keep the sealed token. Returns the reference.

        Retrying with the same ``idempotency_key`` returns the same reference and never
        creates a second token or record.
        """
        check_id(subject_id, "a subject id")
        try:
            card = validate_card(pan, cvv, expiry, holder)
        except CardValidationError as exc:
            failure: CardValidationError | None = exc
        else:
            failure = None
        if failure is not None:
            self._audit(self._entry(actor, "create", subject_id, purpose, "refused"))
            raise failure from None
        rules = self._check_policy(subject_id, actor, purpose)
        key = idempotency_key or new_idempotency_key()
        try:
            token = self._processor.tokenize(
                card.number, card.cvv, card.expiry, card.holder, idempotency_key=key
            )
        except DatawardError as exc:
            error: DatawardError | None = exc
        else:
            error = None
        share = self._entry(
            actor, "share", subject_id, purpose, "error" if error else "ok",
            rule_id=rules, allowed=True, recipient=self._recipient,
        )  # fmt: skip
        self._audit(share)
        if error is not None:
            raise error from None
        ref = self._ref_for(subject_id, token)
        result = CardRef(ref, subject_id, card.number.brand, card.number.last4, card.expiry)
        del card, pan, cvv  # the intake's own references go now; see validation's docstring
        if any(f.field == _TOKEN_FIELD for f in self._vault.fields_of(ref)):
            _log.debug("card %s already registered (same token): nothing stored again", ref)
            return result
        sealed = seal_token(token, self._keys[0], context=self._context(subject_id, ref))
        try:
            self._vault.store(
                ref, _DISPLAY_FIELD, result.display,
                category="card.expiry", purpose=purpose, actor=actor,
            )  # fmt: skip
            self._vault.store(
                ref, _TOKEN_FIELD, sealed.text, category="card.token", purpose=purpose, actor=actor
            )
            erasure = seal_token(token, self._keys[0], context=_erasure_context(ref))
            self._vault.store(
                ref, _ERASURE_FIELD, erasure.text, category="card.token", purpose=purpose,
                actor=actor,
            )  # fmt: skip
            self._vault.link_owner(ref, subject_id, actor=actor, purpose=purpose)
        except DatawardError:
            self._undo(ref, token, actor, purpose)
            raise
        _log.debug("card %s registered for subject %s", ref, subject_id)
        return result

    def _undo(self, ref: str, token: ProcessorToken, actor: Actor, purpose: str) -> None:
        """No partial record: drop what was stored and the processor's token."""
        if self._vault.fields_of(ref):
            try:
                self._vault.destroy(ref, actor=actor, purpose=purpose)
            except DatawardError:
                _log.warning("card %s: could not roll back the partial record", ref)
        try:
            self._processor.delete_token(token, idempotency_key=new_idempotency_key())
        except DatawardError:
            _log.warning("card %s: could not delete the token at the processor", ref)

    # --- charge and remove -----------------------------------------------------------------

    def _token(
        self,
        subject_id: str,
        ref: str,
        actor: Actor,
        purpose: str,
        *,
        read: Literal["share", "use"] = "share",
    ) -> ProcessorToken:
        """The card's token, opened for ``subject_id``: shared with the processor (a charge)
        or used here (``use``: to prove the owner)."""
        _check_ref(subject_id, ref)
        if read == "use":
            sealed = self._vault.use(ref, _TOKEN_FIELD, purpose=purpose, actor=actor)[
                _TOKEN_FIELD
            ].value
        else:
            sealed = self._vault.share(
                ref, _TOKEN_FIELD, recipient=self._recipient, purpose=purpose, actor=actor
            )[_TOKEN_FIELD]
        return self._open_sealed(subject_id, ref, sealed)

    def _open_sealed(self, subject_id: str, ref: str, sealed: str | None) -> ProcessorToken:
        try:
            if sealed is not None:
                return open_token(sealed, self._keys, context=self._context(subject_id, ref))
        except KeyStoreError:
            pass
        raise NotFoundError(
            f"card {ref!r} is not a card of subject {subject_id!r} (or its token was altered)"
        )

    def charge(
        self,
        subject_id: str,
        card_ref: CardRef | str,
        amount: int,
        currency: str,
        *,
        purpose: str = "billing",
        actor: Actor,
        idempotency_key: str | None = None,
    ) -> ChargeResult:
        """Charge ``amount`` minor units with the card's token (the PAN is not needed)."""
        check_amount(amount)
        check_currency(currency)
        ref = str(card_ref)
        token = self._token(subject_id, ref, actor, purpose)
        return self._processor.charge(
            token, amount, currency, idempotency_key=idempotency_key or new_idempotency_key()
        )

    def remove(
        self,
        card_ref: CardRef | str,
        *,
        actor: Actor,
        subject_id: str | None = None,
        purpose: str = "billing",
    ) -> None:
        """Delete the token at the processor, then crypto-shred the card here.

        An erasure: the policy must let ``actor`` destroy the card's data for ``purpose``
        (billing for ``billing``, the DPM for ``data_subject_request``). ``subject_id`` is
        needed only when ``card_ref`` is a plain reference string.
        """
        owner, ref = _owner_and_ref(card_ref, subject_id, "remove")
        _check_ref(owner, ref)

        def delete_at_processor(sealed: str) -> None:
            token = self._open_sealed(owner, ref, sealed)  # not the owner's: NotFoundError
            try:
                self._processor.delete_token(token, idempotency_key=new_idempotency_key())
            except ProcessorError:
                _log.warning("card %s: the processor could not delete the token; kept here", ref)
                raise

        self._vault.erase_at_issuer(
            ref, _TOKEN_FIELD, recipient=self._recipient, delete=delete_at_processor,
            purpose=purpose, actor=actor,
        )  # fmt: skip
        _log.debug("card %s removed here and at the processor", ref)

    def expire(self, card_ref: str, *, actor: Actor, purpose: str) -> None:
        """Delete an expired card's token at the processor, then crypto-shred the card here,
        without knowing its owner (the retention lifecycle's step, see
        :func:`dataward.cards.expire_cards`): the token's erasure copy, bound to the card
        alone, is opened only to be deleted. An erasure like :meth:`remove` (the policy must
        let ``actor`` destroy the card's data for ``purpose``). A card registered before
        erasure copies existed: :class:`NotFoundError` (remove it with :meth:`remove`)."""
        ref = str(card_ref)
        _check_card_ref(ref)

        def delete_at_processor(sealed: str) -> None:
            try:
                token = open_token(sealed, self._keys, context=_erasure_context(ref))
            except KeyStoreError:
                raise NotFoundError(f"card {ref!r}: its erasure copy does not open") from None
            self._processor.delete_token(token, idempotency_key=new_idempotency_key())

        self._vault.erase_at_issuer(
            ref, _ERASURE_FIELD, recipient=self._recipient, delete=delete_at_processor,
            purpose=purpose, actor=actor,
        )  # fmt: skip

    def link(
        self,
        card_ref: CardRef | str,
        *,
        actor: Actor,
        subject_id: str | None = None,
        purpose: str = "billing",
    ) -> None:
        """Give a card registered before owner links existed its link, so that
        :meth:`cards_of` and :meth:`remove_all` reach it. The owner is proven: the card's
        token must open for ``subject_id`` (it is bound to ``<owner>/<reference>``), else
        :class:`NotFoundError`. Needs the policy's ``use`` and ``store`` of the card's data
        (billing, ``billing``). Idempotent."""
        owner, ref = _owner_and_ref(card_ref, subject_id, "link")
        self._token(owner, ref, actor, purpose, read="use")
        self._vault.link_owner(ref, owner, actor=actor, purpose=purpose)

    def cards_of(self, subject_id: str, *, actor: Actor, purpose: str) -> list[str]:
        """The references of ``subject_id``'s cards (see :func:`linked_cards`)."""
        return linked_cards(self._vault, subject_id, actor=actor, purpose=purpose)

    def remove_all(self, subject_id: str, *, actor: Actor, purpose: str) -> list[str]:
        """Remove every card of ``subject_id`` (:meth:`cards_of`), each at the processor then
        here; the references removed. Stops at the first failure: what was removed stays
        removed, a retry removes the rest."""
        refs = self.cards_of(subject_id, actor=actor, purpose=purpose)
        for ref in refs:
            self.remove(ref, subject_id=subject_id, actor=actor, purpose=purpose)
        return refs


def _erasure_context(ref: str) -> str:
    return f"erasure/{ref}"


def _owner_and_ref(card_ref: CardRef | str, subject_id: str | None, verb: str) -> tuple[str, str]:
    """The owner and reference of a card given as a :class:`CardRef` or a reference string."""
    owner = card_ref.subject_id if isinstance(card_ref, CardRef) else subject_id
    if owner is None:
        raise InputError(f"{verb}() needs subject_id= when given a reference string")
    return owner, str(card_ref)


def _check_ref(subject_id: str, ref: str) -> None:
    check_id(subject_id, "a subject id")
    _check_card_ref(ref)


def _check_card_ref(ref: str) -> None:
    check_id(ref, "a card reference")
    if not ref.startswith(_REF_PREFIX):
        raise InputError(f"{ref!r} is not a card reference (they start with 'card:')")


def linked_cards(vault: Vault, subject_id: str, *, actor: Actor, purpose: str) -> list[str]:
    """The references of ``subject_id``'s cards, from their owner links (nothing decrypted;
    no processor needed). The listing serves removal: the policy must let ``actor`` destroy
    card data for ``purpose``. Cards registered before owner links existed are not listed."""
    check_id(subject_id, "a subject id")
    return vault.owned_subjects(
        subject_id, categories=_ON_FILE, action=Action.DESTROY, actor=actor,
        purpose=purpose, prefix=_REF_PREFIX,
    )  # fmt: skip


def export_cards(
    vault: Vault, subject_id: str, *, actor: Actor, purpose: str
) -> list[dict[str, Any]] | None:
    """What is held about ``subject_id``'s cards, for an access request: one
    :meth:`Vault.export_subject` document per linked card (its display form and expiry; the
    processor token is listed as protected, never decrypted). ``None`` when the policy does
    not let ``actor`` use card data for ``purpose`` (decided before looking, so it never tells
    whether there are cards). Each card's export is audited. No processor needed; cards
    registered before owner links existed are not listed."""
    check_id(subject_id, "a subject id")
    check_name(purpose, "a purpose")
    allowed = vault.policy.decide(
        action=Action.USE, category="card.expiry", role=actor.role, purpose=purpose
    )
    if not allowed.allowed:
        return None
    refs = vault.owned_subjects(
        subject_id, categories=("card.expiry",), action=Action.USE, actor=actor,
        purpose=purpose, prefix=_REF_PREFIX,
    )  # fmt: skip
    return [
        vault.export_subject(ref, actor=actor, purpose=purpose, withhold=("card.token",))
        for ref in refs
    ]


def access_export(vault: Vault, subject_id: str, *, actor: Actor, purpose: str) -> dict[str, Any]:
    """An access request's answer: :meth:`Vault.export_subject` of ``subject_id`` with its
    cards on file under ``"cards"`` (:func:`export_cards`) and ``"cards_included"`` saying
    whether the policy let ``actor`` see card data for ``purpose`` (if not, the export is the
    subject's own, as before). A customer known here only by cards still gets an export (their
    own record's export is audited as not found, each card's as exported); one known neither
    way is :class:`NotFoundError`. The subject's own export is decided first, so a refusal
    returns and audits no card."""
    try:
        doc: dict[str, Any] | None = vault.export_subject(subject_id, actor=actor, purpose=purpose)
    except NotFoundError:
        doc = None
    cards = export_cards(vault, subject_id, actor=actor, purpose=purpose)
    if doc is None:
        if not cards:
            raise NotFoundError(f"subject {subject_id!r} is not in the vault")
        doc = {"subject_id": subject_id, "created_at": None, "categories": [], "purposes": [],
               "fields": [], "recipients": []}  # fmt: skip
    doc["cards"] = cards or []
    doc["cards_included"] = cards is not None
    return doc
