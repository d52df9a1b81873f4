"""Removing cards is an erasure: the DPM removes a card (and all of a customer's cards) through
the reference processor over TLS; the token goes back to the processor only to be deleted."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from dataward.cards import (
    CardIntake,
    HttpCardProcessor,
    TokenKey,
    new_idempotency_key,
    seal_token,
    validate_card,
)
from dataward.errors import NotFoundError, PolicyDeniedError
from dataward.settings import load_settings
from dataward.vault import Actor, Vault

from .conftest import ProcessorServer
from .support import make_pan

BILLING = Actor("billing-service", "billing")
DPM = Actor("dpm-1", "dpm")
SUPPORT = Actor("agent-7", "support")
DSR = "data_subject_request"


@pytest.fixture(scope="module")
def world(
    processor_server: ProcessorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("dataward-erasure")
    vault = Vault.open(load_settings(home=home), environ={})
    processor = HttpCardProcessor(
        processor_server.url,
        processor_server.api_key,
        ca_bundle=processor_server.ca_path,
        pins=[processor_server.cert_pin],
    )
    key = TokenKey.generate()
    intake = CardIntake(vault, processor, token_key=key)
    try:
        yield {"vault": vault, "intake": intake, "key": key, "processor": processor}
    finally:
        processor.close()
        vault.close()


def _register(intake: CardIntake, owner: str, seed: int) -> str:
    pan = make_pan("4", 16, random.Random(seed))
    return intake.register(owner, pan, "123", "01/2031", "Ada Lovelace", actor=BILLING).ref


def test_dpm_removes_a_card_for_a_data_subject_request(
    world: dict[str, Any], processor_server: ProcessorServer
) -> None:
    intake: CardIntake = world["intake"]
    vault: Vault = world["vault"]
    ref = _register(intake, "cust-dsr", 11)
    tokens = processor_server.count("tokens")
    # Not for billing's purpose, and not for support at all: nothing happens anywhere.
    for actor, purpose in ((DPM, "billing"), (SUPPORT, "support"), (SUPPORT, DSR)):
        with pytest.raises(PolicyDeniedError):
            intake.remove(ref, subject_id="cust-dsr", actor=actor, purpose=purpose)
    assert processor_server.count("tokens") == tokens
    assert {f.field for f in vault.fields_of(ref)} == {"display", "token"}
    # The DPM cannot charge (no share of the token) but can erase.
    with pytest.raises(PolicyDeniedError):
        intake.charge("cust-dsr", ref, 100, "CHF", actor=DPM, purpose=DSR)
    intake.remove(ref, subject_id="cust-dsr", actor=DPM, purpose=DSR)
    assert processor_server.count("tokens") == tokens - 1
    assert vault.fields_of(ref) == []
    actions = [(e.action, e.actor_role, e.outcome) for e in vault.audit.query(subject_ref=ref)]  # type: ignore[attr-defined]
    assert ("destroy", "dpm", "ok") in actions
    assert ("share", "dpm", "ok") not in actions  # the erasure disclosed nothing
    destroys = [
        (e.actor_role, e.outcome)
        for e in vault.audit.query(subject_ref=ref, action="destroy")  # type: ignore[attr-defined]
    ]
    # the three refusals (naming the processor), then the DPM's one destroy, audited once
    assert destroys == [("dpm", "denied"), ("support", "denied"), ("support", "denied"),
                        ("dpm", "ok")]  # fmt: skip
    with pytest.raises(NotFoundError):
        intake.remove(ref, subject_id="cust-dsr", actor=DPM, purpose=DSR)


def test_remove_checks_the_owner(world: dict[str, Any], processor_server: ProcessorServer) -> None:
    intake: CardIntake = world["intake"]
    ref = _register(intake, "cust-own", 12)
    tokens = processor_server.count("tokens")
    with pytest.raises(NotFoundError, match="not a card of subject"):
        intake.remove(ref, subject_id="cust-other", actor=DPM, purpose=DSR)
    assert processor_server.count("tokens") == tokens
    intake.remove(ref, subject_id="cust-own", actor=BILLING, purpose="billing")
    assert processor_server.count("tokens") == tokens - 1


def test_cards_of_and_remove_all_reach_only_that_customers_cards(
    world: dict[str, Any], processor_server: ProcessorServer
) -> None:
    intake: CardIntake = world["intake"]
    vault: Vault = world["vault"]
    mine = sorted(_register(intake, "cust-x", seed) for seed in (21, 22, 23))
    theirs = _register(intake, "cust-y", 24)
    vault.store(
        "cust-x", "email", "x@example.com", category="contact.email", purpose="contract",
        actor=Actor("app", "service"),
    )  # fmt: skip
    assert intake.cards_of("cust-x", actor=DPM, purpose=DSR) == mine
    assert intake.cards_of("cust-x", actor=BILLING, purpose="billing") == mine
    assert intake.cards_of("cust-y", actor=DPM, purpose=DSR) == [theirs]
    assert intake.cards_of("cust-nobody", actor=DPM, purpose=DSR) == []
    with pytest.raises(PolicyDeniedError):
        intake.cards_of("cust-x", actor=SUPPORT, purpose="support")
    with pytest.raises(PolicyDeniedError):
        intake.remove_all("cust-x", actor=DPM, purpose="billing")

    tokens = processor_server.count("tokens")
    assert intake.remove_all("cust-x", actor=DPM, purpose=DSR) == mine
    assert processor_server.count("tokens") == tokens - 3
    assert all(vault.fields_of(ref) == [] for ref in mine)
    assert intake.cards_of("cust-x", actor=DPM, purpose=DSR) == []
    assert intake.remove_all("cust-x", actor=DPM, purpose=DSR) == []  # a retry is harmless
    # The customer's own data and the other customer's card are untouched.
    assert [f.field for f in vault.fields_of("cust-x")] == ["email"]
    assert {f.field for f in vault.fields_of(theirs)} == {"display", "token"}
    assert intake.charge("cust-y", theirs, 100, "CHF", actor=BILLING).approved


def test_cards_registered_before_owner_links_can_be_linked(
    world: dict[str, Any], processor_server: ProcessorServer
) -> None:
    intake: CardIntake = world["intake"]
    vault: Vault = world["vault"]
    processor: HttpCardProcessor = world["processor"]
    # A card as the intake stored it before owner links: display line and sealed token only.
    card = validate_card(make_pan("4", 16, random.Random(31)), "123", "01/2031", "Ada Lovelace")
    token = processor.tokenize(
        card.number, card.cvv, card.expiry, card.holder, idempotency_key=new_idempotency_key()
    )
    ref = "card:" + secrets.token_hex(12)
    sealed = seal_token(token, world["key"], context=f"cust-old/{ref}")
    vault.store(ref, "display", f"visa ****{card.number.last4} 01/2031", category="card.expiry",
                purpose="billing", actor=BILLING)  # fmt: skip
    vault.store(ref, "token", sealed.text, category="card.token", purpose="billing", actor=BILLING)
    assert intake.charge("cust-old", ref, 100, "CHF", actor=BILLING).approved  # still readable
    assert intake.cards_of("cust-old", actor=DPM, purpose=DSR) == []  # but not linked

    with pytest.raises(NotFoundError, match="not a card of subject"):
        intake.link(ref, subject_id="cust-other", actor=BILLING)  # the owner is proven
    with pytest.raises(PolicyDeniedError):
        intake.link(ref, subject_id="cust-old", actor=SUPPORT, purpose="support")
    assert intake.cards_of("cust-other", actor=DPM, purpose=DSR) == []
    intake.link(ref, subject_id="cust-old", actor=BILLING)
    assert intake.cards_of("cust-old", actor=DPM, purpose=DSR) == [ref]
    tokens = processor_server.count("tokens")
    assert intake.remove_all("cust-old", actor=DPM, purpose=DSR) == [ref]
    assert processor_server.count("tokens") == tokens - 1
