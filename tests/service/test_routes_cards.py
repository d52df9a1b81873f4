"""Cards over HTTP: the unconfigured answer, validation, roles, and the whole path through the
reference card processor (TLS, its own process). PAN and CVV never come back: not in an
answer, not in an error, not in a log line."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dataward.service.context import ServiceContext

from .conftest import AuthFactory, role_headers

PAN = "4242 4242 4242 4242"
PAN_DIGITS = "4242424242424242"
CVV = "737"
CARD = {"subject_id": "cust-1", "pan": PAN, "cvv": CVV, "expiry": "12/2030", "holder": "Jane Doe"}
REF = "card:0123456789abcdef01234567"
CHARGE = {"subject_id": "cust-1", "amount": 1250, "currency": "CHF"}


def _problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["code"] == code, body
    return body


def _no_card_data(text: str) -> None:
    digits = re.sub(r"[ -]", "", text)
    assert PAN_DIGITS not in digits and "424242424242" not in digits
    assert f'"{CVV}"' not in text and f"cvv {CVV}" not in text.lower()


# --- without a processor ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/cards", CARD),
        ("POST", f"/v1/cards/{REF}/charges", CHARGE),
        ("DELETE", f"/v1/cards/{REF}?subject_id=cust-1", None),
    ],
)
def test_unconfigured_cards_answer_unavailable(
    client: TestClient, auth: AuthFactory, method: str, path: str, body: Any
) -> None:
    resp = client.request(method, path, json=body, headers=auth("billing"))
    assert resp.status_code in (502, 503), resp.text
    assert resp.json()["code"] in ("processor_error", "processor_unavailable", "unavailable")
    assert "DATAWARD_PROCESSOR" in resp.json()["detail"] or "processor" in resp.json()["detail"]
    _no_card_data(resp.text)


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("auditor", "POST", "/v1/cards", CARD),
        ("admin", "POST", f"/v1/cards/{REF}/charges", CHARGE),
        ("support", "DELETE", f"/v1/cards/{REF}?subject_id=cust-1", None),
        ("sales", "DELETE", f"/v1/cards/{REF}?subject_id=cust-1", None),
    ],
)
def test_role_table_comes_first(
    client: TestClient, auth: AuthFactory, role: str, method: str, path: str, body: Any
) -> None:
    resp = client.request(method, path, json=body, headers=auth(role))
    _problem(resp, 403, "role_not_allowed")
    _no_card_data(resp.text)


def test_no_key_is_401(client: TestClient) -> None:
    _problem(client.post("/v1/cards", json=CARD), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("method", "path", "body", "loc"),
    [
        ("POST", "/v1/cards", {**CARD, "pan": int(PAN_DIGITS)}, "body.pan"),
        ("POST", "/v1/cards", {**CARD, "pan": PAN_DIGITS * 5}, "body.pan"),
        ("POST", "/v1/cards", {**CARD, "cvv": 737}, "body.cvv"),
        ("POST", "/v1/cards", {**CARD, "cvv": CVV * 3}, "body.cvv"),
        ("POST", "/v1/cards", {k: v for k, v in CARD.items() if k != "cvv"}, "body.cvv"),
        ("POST", "/v1/cards", {**CARD, "track2": PAN_DIGITS}, "body.track2"),
        ("POST", "/v1/cards", {**CARD, "subject_id": "jane doe"}, "body.subject_id"),
        ("POST", "/v1/cards", {**CARD, "idempotency_key": "short"}, "body.idempotency_key"),
        ("POST", "/v1/cards/4242424242424242/charges", CHARGE, "path.card_ref"),
        ("POST", f"/v1/cards/{REF}/charges", {**CHARGE, "amount": 0}, "body.amount"),
        ("POST", f"/v1/cards/{REF}/charges", {**CHARGE, "currency": "chf"}, "body.currency"),
        ("POST", f"/v1/cards/{REF}/charges", {**CHARGE, "pan": PAN}, "body.pan"),
        ("DELETE", f"/v1/cards/{REF}", None, "query.subject_id"),
        ("DELETE", "/v1/cards/card:XYZ?subject_id=cust-1", None, "path.card_ref"),
    ],
)
def test_validation_never_echoes_card_data(
    client: TestClient, auth: AuthFactory, method: str, path: str, body: Any, loc: str
) -> None:
    resp = client.request(method, path, json=body, headers=auth("billing"))
    problem = _problem(resp, 422, "invalid_input")
    assert loc in [e["loc"] for e in problem["errors"]]
    _no_card_data(resp.text)


# --- through the reference processor ----------------------------------------------------------


def test_register_charge_remove(
    card_client: tuple[TestClient, ServiceContext], caplog: pytest.LogCaptureFixture
) -> None:
    client, ctx = card_client
    billing = role_headers(ctx, "billing")
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    made = client.post("/v1/cards", json={**CARD, "idempotency_key": "reg-0001"}, headers=billing)
    texts.append(made.text)
    assert made.status_code == 201, made.text
    card = made.json()
    assert re.fullmatch(r"card:[0-9a-f]{24}", card["card_ref"])
    assert (card["last4"], card["brand"], card["expiry"]) == ("4242", "visa", "12/2030")
    again = client.post("/v1/cards", json={**CARD, "idempotency_key": "reg-0001"}, headers=billing)
    texts.append(again.text)
    assert again.json()["card_ref"] == card["card_ref"]

    ref = card["card_ref"]
    paid = client.post(f"/v1/cards/{ref}/charges", json=CHARGE, headers=billing)
    texts.append(paid.text)
    assert paid.status_code == 201, paid.text
    assert paid.json()["approved"] is True and paid.json()["amount"] == 1250
    big = client.post(f"/v1/cards/{ref}/charges", json={**CHARGE, "amount": 10**9}, headers=billing)
    assert big.json()["status"] == "declined" and big.json()["decline_reason"]

    other = client.post(
        f"/v1/cards/{ref}/charges", json={**CHARGE, "subject_id": "cust-2"}, headers=billing
    )
    _problem(other, 404, "not_found")

    gone = client.delete(f"/v1/cards/{ref}?subject_id=cust-1", headers=billing)
    assert gone.status_code == 204, gone.text
    after = client.post(f"/v1/cards/{ref}/charges", json=CHARGE, headers=billing)
    _problem(after, 404, "not_found")

    for text in texts:
        _no_card_data(text)
    for record in caplog.records:
        _no_card_data(record.getMessage())
    for entry in ctx.audit.query():
        _no_card_data(str(entry.body()))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pan": "4242 4242 4242 4241"}, "pan"),
        ({"expiry": "01/2001"}, "expiry"),
        ({"cvv": "12"}, "cvv"),
        ({"holder": "J4ne"}, "holder"),
    ],
)
def test_invalid_cards_name_the_field(
    card_client: tuple[TestClient, ServiceContext], change: dict[str, str], field: str
) -> None:
    client, ctx = card_client
    resp = client.post("/v1/cards", json={**CARD, **change}, headers=role_headers(ctx, "service"))
    problem = _problem(resp, 422, "card_invalid")
    assert problem["errors"][0]["loc"] == f"body.{field}"
    assert "424242424242" not in re.sub(r"[ -]", "", resp.text)


def test_policy_refuses_card_data_to_other_roles(
    card_client: tuple[TestClient, ServiceContext],
) -> None:
    client, ctx = card_client
    resp = client.post("/v1/cards", json=CARD, headers=role_headers(ctx, "support"))
    assert _problem(resp, 403, "policy_denied")["rule_id"]
    _no_card_data(resp.text)
