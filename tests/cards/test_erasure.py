"""Removing cards is an erasure: the DPM removes a card (and all of a customer's cards) through
the reference processor over TLS; the token goes back to the processor only to be deleted."""

from __future__ import annotations

import json
import os
import random
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dataward.cards import (
    CardIntake,
    HttpCardProcessor,
    TokenKey,
    expire_cards,
    new_idempotency_key,
    seal_token,
    validate_card,
)
from dataward.errors import NotFoundError, PolicyDeniedError
from dataward.settings import load_settings
from dataward.vault import Actor, Vault, run_lifecycle
from dataward.vault.schema import blind_index, values

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
    assert {f.field for f in vault.fields_of(ref)} == {"display", "token", "erasure"}
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
    assert {f.field for f in vault.fields_of(theirs)} == {"display", "token", "erasure"}
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


def test_cards_due_for_destruction_are_deleted_at_the_processor_first(
    processor_server: ProcessorServer, tmp_path: Path
) -> None:
    vault = Vault.open(load_settings(home=tmp_path), environ={})
    processor = HttpCardProcessor(
        processor_server.url, processor_server.api_key,
        ca_bundle=processor_server.ca_path, pins=[processor_server.cert_pin],
    )  # fmt: skip
    intake = CardIntake(vault, processor, token_key=TokenKey.generate())
    try:
        # two cards of a customer known here only by them, one of a customer with a record
        mine = sorted(_register(intake, "cust-old", seed) for seed in (31, 32))
        vault.store("cust-rec", "email", "rec@example.com", category="contact.email",
                    purpose="contract", actor=Actor("app", "service"))  # fmt: skip
        theirs = _register(intake, "cust-rec", 33)
        # cards registered before erasure copies existed: one still has its owner link (it
        # is removed through its owner, found by hashing known ids), one has none either
        old = _register(intake, "cust-rec", 35)
        lost = _register(intake, "cust-lost", 34)
        with vault.engine.begin() as conn:
            conn.execute(values.delete().where(
                values.c.subject_id.in_([old, lost]), values.c.field == "erasure"
            ))  # fmt: skip
            conn.execute(blind_index.delete().where(blind_index.c.subject_id == lost))
        tokens = processor_server.count("tokens")
        later = datetime(2040, 1, 1)

        # Nothing is due yet: nothing happens.
        assert expire_cards(intake).to_dict() == {"removed": 0, "failed": 0, "unowned": 0}
        # The vault's lifecycle (default) holds due cards: nothing shredded, tokens untouched.
        assert run_lifecycle(vault, later).held == 5
        assert processor_server.count("tokens") == tokens
        report = expire_cards(intake, later)
        assert report.to_dict() == {"removed": 4, "failed": 0, "unowned": 1}
        assert processor_server.count("tokens") == tokens - 4
        for ref in (*mine, theirs, old):
            assert vault.fields_of(ref) == []
        # the unowned card is still held, not shredded: its token still exists
        life = run_lifecycle(vault, later)
        assert life.held == 1 and {f.field for f in vault.fields_of(lost)} == {"display", "token"}
        assert vault.fields_of("cust-rec") == []  # the customer's own record followed retention
        roles = {
            (e.action, e.actor_role, e.outcome)
            for ref in mine
            for e in vault.audit.query(subject_ref=ref)  # type: ignore[attr-defined]
        }
        assert ("destroy", "service", "ok") in roles
        assert vault.audit.verify().ok  # type: ignore[attr-defined]
    finally:
        processor.close()
        vault.close()


def test_lifecycle_command_deletes_due_cards_at_the_processor(
    processor_server: ProcessorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from dataward.cli.common import run_guarded
    from dataward.cli.main import app
    from dataward.service.context import card_token_key

    for k in [k for k in os.environ if k.startswith("DATAWARD_")]:
        monkeypatch.delenv(k)
    home = tmp_path / "home"
    key_file = tmp_path / "api.key"
    key_file.write_text(processor_server.api_key + "\n")
    monkeypatch.setenv("DATAWARD_HOME", str(home))
    settings = load_settings()
    vault = Vault.open(settings, environ={})
    processor = HttpCardProcessor(
        processor_server.url, processor_server.api_key,
        ca_bundle=processor_server.ca_path, pins=[processor_server.cert_pin],
    )  # fmt: skip
    try:
        ref = _register(CardIntake(vault, processor, token_key=card_token_key(settings)), "c-9", 41)
        with vault.engine.begin() as conn:  # its retention ran out an hour ago
            conn.execute(values.update().where(values.c.subject_id == ref).values(
                destroy_due=datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
            ))  # fmt: skip
    finally:
        processor.close()
        vault.close()
    tokens = processor_server.count("tokens")

    # Without a processor: the card is held, not shredded.
    capsys.readouterr()
    assert run_guarded(app, ["lifecycle", "run"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["held"] == 1 and "cards" not in out
    # With one: deleted there first, then shredded here. A future --now is refused with a
    # processor (it would delete live tokens), before anything changes.
    monkeypatch.setenv("DATAWARD_PROCESSOR_URL", processor_server.url)
    monkeypatch.setenv("DATAWARD_PROCESSOR_API_KEY_FILE", str(key_file))
    monkeypatch.setenv("DATAWARD_PROCESSOR_CA_BUNDLE", str(processor_server.ca_path))
    monkeypatch.setenv("DATAWARD_PROCESSOR_PINS", processor_server.cert_pin)
    assert run_guarded(app, ["lifecycle", "run", "--now", "2040-01-01T00:00:00"]) != 0
    assert processor_server.count("tokens") == tokens
    capsys.readouterr()
    assert run_guarded(app, ["lifecycle", "run"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cards"] == {"removed": 1, "failed": 0, "unowned": 0} and out["held"] == 1
    assert processor_server.count("tokens") == tokens - 1
    reopened = Vault.open(load_settings(), environ={})
    try:
        assert reopened.fields_of(ref) == []
    finally:
        reopened.close()
