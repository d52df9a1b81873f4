"""The reference processor's own contract: auth, idempotency header, no echo, sealed store."""

from __future__ import annotations

import random
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dataward.cards import HttpCardProcessor, new_idempotency_key, validate_card
from dataward.processor_service.__main__ import main

from .conftest import ProcessorServer
from .support import make_pan


@pytest.fixture
def raw(processor_server: ProcessorServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=processor_server.url,
        verify=ssl.create_default_context(cafile=processor_server.ca_path),
        headers={"Authorization": f"Bearer {processor_server.api_key}"},
    ) as client:
        yield client


def test_malformed_requests_are_refused_without_echoing_the_input(
    raw: httpx.Client, rng: random.Random
) -> None:
    pan = make_pan("4", 16, rng)
    body = {"pan": int(pan), "cvv": "123", "exp_month": 12, "exp_year": 2030, "holder": "Ada L"}
    r = raw.post("/v1/tokens", json=body, headers={"Idempotency-Key": "k" * 10})
    assert r.status_code == 422
    assert r.json() == {"error": "malformed_request", "field": "pan"}
    assert pan not in r.text
    body["pan"] = pan[:-1] + str((int(pan[-1]) + 1) % 10)  # Luhn broken
    r = raw.post("/v1/tokens", json=body, headers={"Idempotency-Key": "k" * 10})
    assert r.json() == {"error": "card_invalid", "field": "pan"}
    assert pan[:-4] not in r.text


def test_auth_and_idempotency_key_are_required(
    raw: httpx.Client, processor_server: ProcessorServer
) -> None:
    body = {"token": "tok_abcdefgh", "amount_minor": 100, "currency": "CHF"}
    assert raw.post("/v1/charges", json=body).json()["error"] == "idempotency_key_required"
    ctx = ssl.create_default_context(cafile=processor_server.ca_path)
    with httpx.Client(base_url=processor_server.url, verify=ctx) as anonymous:
        r = anonymous.post("/v1/charges", json=body, headers={"Idempotency-Key": "k" * 10})
    assert r.status_code == 401


def test_the_processor_store_holds_numbers_only_encrypted(
    processor: HttpCardProcessor, processor_server: ProcessorServer, rng: random.Random
) -> None:
    pans = [make_pan("4", 16, rng) for _ in range(5)]
    for pan in pans:
        card = validate_card(pan, "123", "12/30", "Grace Hopper")
        processor.tokenize(
            card.number, card.cvv, card.expiry, card.holder, idempotency_key=new_idempotency_key()
        )
    written = b"".join(
        p.read_bytes() for p in processor_server.store_path.parent.glob("processor.db*")
    )
    for pan in pans:
        assert pan.encode() not in written
        assert pan[:12].encode() not in written


def test_main_refuses_a_missing_key_file(tmp_path: Path) -> None:
    argv = [
        "--certfile=c.pem",
        "--keyfile=k.pem",
        f"--api-key-file={tmp_path / 'missing'}",
        f"--store={tmp_path / 'p.db'}",
    ]
    assert main(argv) == 78
