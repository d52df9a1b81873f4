"""Processor down, slow or answering garbage: a clear ProcessorError, retries as promised, and
no card data in the error."""

from __future__ import annotations

import json
import random
import socket
import ssl
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataward.cards import (
    HttpCardProcessor,
    ProcessorToken,
    ValidatedCard,
    new_idempotency_key,
    validate_card,
)
from dataward.errors import IdempotencyConflictError, ProcessorError

from .support import Reply, leaked_windows, make_pan, scripted_tls_server


@pytest.fixture
def card(rng: random.Random) -> ValidatedCard:
    return validate_card(make_pan("51", 16, rng), "321", "12/30", "Ada Lovelace")


def _client(
    url: str, ca_path: Path, *, timeout: float = 5.0, retries: int = 2
) -> HttpCardProcessor:
    return HttpCardProcessor(
        url, "api-key-0123456789abc", ca_bundle=ca_path, timeout=timeout, retries=retries,
        sleep=lambda _s: None,
    )  # fmt: skip


def _assert_clean(exc: BaseException, card: ValidatedCard) -> None:
    assert not leaked_windows(exc, card.number.reveal())
    text = "".join(traceback.format_exception(exc))
    cvv = card.cvv.reveal()
    assert cvv not in str(exc) + repr(exc.args)
    assert f"'{cvv}'" not in text and f'"{cvv}"' not in text
    assert exc.__cause__ is None
    assert exc.__context__ is None or exc.__suppress_context__


@pytest.fixture
def closed_port() -> Iterator[int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    yield port


def test_processor_down(closed_port: int, ca_path: Path, card: ValidatedCard) -> None:
    with (
        _client(f"https://127.0.0.1:{closed_port}", ca_path) as p,
        pytest.raises(ProcessorError, match=r"is unreachable \(after 3 attempts\)") as info,
    ):
        p.tokenize(card.number, card.cvv, card.expiry, card.holder, idempotency_key="k" * 10)
    assert "nothing was stored" in info.value.message
    _assert_clean(info.value, card)


def test_processor_slow_times_out_after_retrying(
    server_ssl_context: ssl.SSLContext, ca_path: Path, card: ValidatedCard
) -> None:
    reply: Reply = lambda _n: (201, b'{"token": "tok_abcdefghij"}', 30.0)  # noqa: E731
    with scripted_tls_server(server_ssl_context, reply) as server:
        with (
            _client(server.url, ca_path, timeout=1.0, retries=1) as p,
            pytest.raises(ProcessorError, match="timed out") as info,
        ):
            p.tokenize(card.number, card.cvv, card.expiry, card.holder, idempotency_key="k" * 10)
        assert server.hits == ["/v1/tokens", "/v1/tokens"]  # first try + one retry, same key
    _assert_clean(info.value, card)


GARBAGE = [
    ("not_json", 200, b"<html>hello 4111111111111111</html>"),
    ("wrong_shape", 201, b'{"tok": "x"}'),
    ("bad_token", 201, b'{"token": "has spaces and 5555555555554444"}'),
    ("list", 201, b"[1, 2, 3]"),
    ("number_token", 201, b'{"token": 12345678901}'),
    ("huge", 201, b'{"token": "' + b"a" * 70_000 + b'"}'),
    ("teapot", 418, b"I'm a teapot"),
    ("echoing_error", 400, b'{"error": "card 5105105105105100 bad", "field": "x"}'),
]


@pytest.mark.parametrize(("status", "body"), [g[1:] for g in GARBAGE], ids=[g[0] for g in GARBAGE])
def test_processor_answering_garbage(
    server_ssl_context: ssl.SSLContext, ca_path: Path, card: ValidatedCard, status: int, body: bytes
) -> None:
    with scripted_tls_server(server_ssl_context, lambda _n: (status, body, 0.0)) as server:
        with _client(server.url, ca_path) as p, pytest.raises(ProcessorError) as info:
            p.tokenize(card.number, card.cvv, card.expiry, card.holder, idempotency_key="k" * 10)
        assert len(server.hits) == 1  # a definite answer is not retried
    _assert_clean(info.value, card)
    assert not leaked_windows(info.value, "4111111111111111 5555555555554444 5105105105105100")


def test_undecodable_body_is_garbage_not_a_crash(
    server_ssl_context: ssl.SSLContext, ca_path: Path, card: ValidatedCard
) -> None:
    with (
        scripted_tls_server(
            server_ssl_context, lambda _n: (201, b"\x00not gzip", 0.0), {"Content-Encoding": "gzip"}
        ) as server,
        _client(server.url, ca_path) as p,
        pytest.raises(ProcessorError, match="cannot be decoded") as info,
    ):
        p.tokenize(card.number, card.cvv, card.expiry, card.holder, idempotency_key="k" * 10)
    assert len(server.hits) == 1
    _assert_clean(info.value, card)


def test_5xx_is_retried_with_the_same_key_then_succeeds(
    server_ssl_context: ssl.SSLContext, ca_path: Path, card: ValidatedCard
) -> None:
    def reply(n: int) -> tuple[int, bytes, float]:
        if n < 3:
            return 503, b'{"error": "busy"}', 0.0
        return 201, json.dumps({"token": "tok_abcdefghijkl"}).encode(), 0.0

    with (
        scripted_tls_server(server_ssl_context, reply) as server,
        _client(server.url, ca_path) as p,
    ):
        token = p.tokenize(
            card.number, card.cvv, card.expiry, card.holder, idempotency_key="k" * 10
        )
        assert token.value == "tok_abcdefghijkl"
        assert len(server.hits) == 3


def test_5xx_forever_gives_a_clear_error(
    server_ssl_context: ssl.SSLContext, ca_path: Path, card: ValidatedCard
) -> None:
    with (
        scripted_tls_server(server_ssl_context, lambda _n: (502, b"bad gateway", 0.0)) as server,
        _client(server.url, ca_path, retries=3) as p,
        pytest.raises(ProcessorError, match=r"HTTP 502 \(after 4 attempts\)") as info,
    ):
        p.charge(
            __import__("dataward.cards", fromlist=["ProcessorToken"]).ProcessorToken(
                "tok_abcdefgh"
            ),
            100,
            "CHF",
            idempotency_key=new_idempotency_key(),
        )
    assert len(server.hits) == 4
    _assert_clean(info.value, card)


def test_a_charge_answer_for_another_amount_is_refused(
    server_ssl_context: ssl.SSLContext, ca_path: Path
) -> None:
    body = json.dumps(
        {"charge_id": "ch_1", "status": "approved", "amount_minor": 999, "currency": "CHF"}
    ).encode()
    with (
        scripted_tls_server(server_ssl_context, lambda _n: (201, body, 0.0)) as server,
        _client(server.url, ca_path) as p,
        pytest.raises(ProcessorError, match="another amount"),
    ):
        p.charge(ProcessorToken("tok_abcdefgh"), 100, "CHF", idempotency_key="k" * 10)


def test_reused_idempotency_key_is_a_conflict_not_an_outage(
    server_ssl_context: ssl.SSLContext, ca_path: Path, card: ValidatedCard
) -> None:
    body = b'{"error": "idempotency_key_reused"}'
    with scripted_tls_server(server_ssl_context, lambda _n: (409, body, 0.0)) as server:
        with _client(server.url, ca_path) as p, pytest.raises(IdempotencyConflictError) as info:
            p.tokenize(card.number, card.cvv, card.expiry, card.holder, idempotency_key="k" * 10)
        assert len(server.hits) == 1  # a definite answer is not retried
    assert isinstance(info.value, ProcessorError)  # still caught by processor-error handlers
    assert (info.value.http_status, info.value.code) == (409, "idempotency_conflict")
    assert "new key" in info.value.message
    _assert_clean(info.value, card)
