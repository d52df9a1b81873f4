"""HttpCardProcessor against the reference processor, in its own process, over TLS."""

from __future__ import annotations

import base64
import random
import secrets
import threading
import traceback
from pathlib import Path

import pytest
import trustme

from dataward.cards import (
    Brand,
    CardNumber,
    ChargeStatus,
    HttpCardProcessor,
    ProcessorToken,
    ValidatedCard,
    new_idempotency_key,
    processor_from_env,
    processor_from_url,
    validate_card,
)
from dataward.errors import (
    CardValidationError,
    ConfigurationError,
    NotFoundError,
    ProcessorError,
)

from .conftest import ProcessorServer
from .support import leaked_windows, make_pan


def _card(rng: random.Random, prefix: str = "4", length: int = 16) -> ValidatedCard:
    cvv = "".join(str(rng.randrange(10)) for _ in range(4 if prefix in ("34", "37") else 3))
    return validate_card(make_pan(prefix, length, rng), cvv, "12/2030", "Ada Lovelace")


def _tokenize(p: HttpCardProcessor, card: ValidatedCard, key: str) -> ProcessorToken:
    return p.tokenize(card.number, card.cvv, card.expiry, card.holder, idempotency_key=key)


def test_tokenize_charge_refund_delete(
    processor: HttpCardProcessor, processor_server: ProcessorServer, rng: random.Random
) -> None:
    card = _card(rng)
    token = _tokenize(processor, card, new_idempotency_key())
    assert card.number.reveal() not in token.value
    charge = processor.charge(token, 1250, "CHF", idempotency_key=new_idempotency_key())
    assert charge.status is ChargeStatus.APPROVED and charge.approved
    assert (charge.amount_minor, charge.currency) == (1250, "CHF")
    refund = processor.refund(charge.charge_id, 250, idempotency_key=new_idempotency_key())
    assert (refund.charge_id, refund.amount_minor) == (charge.charge_id, 250)
    with pytest.raises(ProcessorError, match="refund_exceeds_charge"):
        processor.refund(charge.charge_id, 1001, idempotency_key=new_idempotency_key())
    assert processor.delete_token(token, idempotency_key=new_idempotency_key()) is True
    assert processor.delete_token(token, idempotency_key=new_idempotency_key()) is False
    with pytest.raises(NotFoundError, match="register the card again"):
        processor.charge(token, 100, "CHF", idempotency_key=new_idempotency_key())


def test_over_the_limit_is_declined_not_an_error(
    processor: HttpCardProcessor, rng: random.Random
) -> None:
    token = _tokenize(processor, _card(rng, "37", 15), new_idempotency_key())
    result = processor.charge(token, 10_000_001, "EUR", idempotency_key=new_idempotency_key())
    assert result.status is ChargeStatus.DECLINED
    assert result.decline_reason == "over_limit"


def test_same_idempotency_key_never_creates_two_tokens(
    processor: HttpCardProcessor, processor_server: ProcessorServer, rng: random.Random
) -> None:
    card = _card(rng)
    key = new_idempotency_key()
    before = processor_server.count("tokens")
    tokens: list[str] = []

    def register() -> None:
        tokens.append(_tokenize(processor, card, key).value)

    threads = [threading.Thread(target=register) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tokens.append(_tokenize(processor, card, key).value)
    assert len(tokens) == 7 and len(set(tokens)) == 1
    assert processor_server.count("tokens") == before + 1
    # the same key for another card is refused, not silently answered with the first token
    with pytest.raises(ProcessorError, match="idempotency key was already used"):
        _tokenize(processor, _card(rng), key)
    assert processor_server.count("tokens") == before + 1


def test_same_charge_key_charges_once(
    processor: HttpCardProcessor, processor_server: ProcessorServer, rng: random.Random
) -> None:
    token = _tokenize(processor, _card(rng), new_idempotency_key())
    key, before = new_idempotency_key(), processor_server.count("charges")
    ids = {processor.charge(token, 500, "CHF", idempotency_key=key).charge_id for _ in range(3)}
    assert len(ids) == 1
    assert processor_server.count("charges") == before + 1


def test_tokens_are_random_and_unlinkable_to_the_number(
    processor: HttpCardProcessor, rng: random.Random
) -> None:
    card = _card(rng)
    first = _tokenize(processor, card, new_idempotency_key()).value
    second = _tokenize(processor, card, new_idempotency_key()).value
    assert first != second
    for token in (first, second):
        assert not leaked_windows(ValueError(token), card.number.reveal())


def test_wrong_ca_fails_before_sending_anything(
    processor_server: ProcessorServer, tmp_path: Path, rng: random.Random
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    before = processor_server.count("tokens")
    card = _card(rng)
    with (
        HttpCardProcessor(processor_server.url, processor_server.api_key, ca_bundle=other) as p,
        pytest.raises(ProcessorError, match="certificate verification failed") as info,
    ):
        _tokenize(p, card, new_idempotency_key())
    assert processor_server.count("tokens") == before
    assert not leaked_windows(info.value, card.number.reveal())


def test_pinning(processor_server: ProcessorServer, rng: random.Random) -> None:
    card = _card(rng)
    with HttpCardProcessor(
        processor_server.url,
        processor_server.api_key,
        ca_bundle=processor_server.ca_path,
        pins=[processor_server.cert_pin],
    ) as p:
        assert _tokenize(p, card, new_idempotency_key())
    wrong = "sha256/" + base64.b64encode(secrets.token_bytes(32)).decode()
    before = processor_server.count("tokens")
    with (
        HttpCardProcessor(
            processor_server.url,
            processor_server.api_key,
            ca_bundle=processor_server.ca_path,
            pins=[wrong],
        ) as p,
        pytest.raises(ProcessorError, match="does not match the configured pin") as info,
    ):
        _tokenize(p, card, new_idempotency_key())
    assert processor_server.count("tokens") == before
    text = "".join(traceback.format_exception(info.value))
    assert card.number.reveal() not in text


def test_wrong_api_key(processor_server: ProcessorServer, rng: random.Random) -> None:
    with (
        HttpCardProcessor(
            processor_server.url, "not-the-key-0123456789", ca_bundle=processor_server.ca_path
        ) as p,
        pytest.raises(ProcessorError, match="API key"),
    ):
        _tokenize(p, _card(rng), new_idempotency_key())


def test_processor_refusal_of_the_card_is_a_card_validation_error(
    processor: HttpCardProcessor, rng: random.Random
) -> None:
    # A number that passes our checks in form but that the processor refuses (Luhn broken).
    pan = make_pan("4", 16, rng)
    broken = CardNumber(pan[:-1] + str((int(pan[-1]) + 1) % 10), Brand.VISA)
    card = _card(rng)
    with pytest.raises(CardValidationError, match="refused the card's pan") as info:
        processor.tokenize(broken, card.cvv, card.expiry, card.holder, idempotency_key="k" * 12)
    assert info.value.field == "pan"
    assert not leaked_windows(info.value, broken.reveal())


def test_configuration_is_checked(processor_server: ProcessorServer) -> None:
    with pytest.raises(ConfigurationError, match="https://"):
        HttpCardProcessor("http://127.0.0.1:1", "key-0123456789abcdef")
    with pytest.raises(ConfigurationError, match="https://"):
        processor_from_url("ftp://127.0.0.1:1", api_key="key-0123456789abcdef")
    with pytest.raises(ConfigurationError, match="pin"):
        HttpCardProcessor(processor_server.url, "k" * 20, pins=["sha256/short"])
    with pytest.raises(ConfigurationError, match="CA bundle"):
        HttpCardProcessor(processor_server.url, "k" * 20, ca_bundle="/nonexistent/ca.pem")
    with pytest.raises(ConfigurationError, match="DATAWARD_PROCESSOR_URL"):
        processor_from_env({})


def test_processor_from_env(
    processor_server: ProcessorServer, tmp_path: Path, rng: random.Random
) -> None:
    key_file = tmp_path / "api.key"
    key_file.write_text(processor_server.api_key + "\n")
    p = processor_from_env(
        {
            "DATAWARD_PROCESSOR_URL": processor_server.url,
            "DATAWARD_PROCESSOR_API_KEY_FILE": str(key_file),
            "DATAWARD_PROCESSOR_CA_BUNDLE": str(processor_server.ca_path),
            "DATAWARD_PROCESSOR_PINS": processor_server.cert_pin,
        }
    )
    assert isinstance(p, HttpCardProcessor)
    assert _tokenize(p, _card(rng), new_idempotency_key())
    p.close()
