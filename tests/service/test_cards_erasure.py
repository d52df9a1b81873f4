"""Card erasure over HTTP, through the reference card processor (TLS, its own process): the
Data Protection Manager removes a card, and erasing a customer removes their cards at the
processor too; support is still refused."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from cards.conftest import ProcessorServer
from dataward.service.app import create_app
from dataward.service.context import ServiceContext

from .conftest import make_service_config, role_headers

DSR = "data_subject_request"
PANS = ("4242 4242 4242 4242", "5555 5555 5555 4444", "4000 0566 5566 5556")


def _code(resp: Any, status: int) -> str:
    assert resp.status_code == status, resp.text
    return str(resp.json()["code"])


def _register(client: TestClient, headers: dict[str, str], subject: str, pan: str) -> str:
    card = {"subject_id": subject, "pan": pan, "cvv": "737", "expiry": "12/2030", "holder": "J D"}
    made = client.post("/v1/cards", json=card, headers=headers)
    assert made.status_code == 201, made.text
    return str(made.json()["card_ref"])


def _store_email(client: TestClient, headers: dict[str, str], subject: str, email: str) -> None:
    stored = client.post(
        f"/v1/subjects/{subject}/fields",
        json={"purpose": "contract", "fields": [{"field": "email", "value": email}]},
        headers=headers,
    )
    assert stored.status_code == 201, stored.text


def _charge(client: TestClient, headers: dict[str, str], subject: str, ref: str) -> Any:
    body = {"subject_id": subject, "amount": 100, "currency": "CHF"}
    return client.post(f"/v1/cards/{ref}/charges", json=body, headers=headers)


def test_dpm_removes_a_card(
    card_client: tuple[TestClient, ServiceContext],
    processor_server: ProcessorServer,
) -> None:
    client, ctx = card_client
    billing, dpm, support = (role_headers(ctx, r) for r in ("billing", "dpm", "support"))
    ref = _register(client, billing, "cust-1", PANS[0])
    tokens = processor_server.count("tokens")
    url = f"/v1/cards/{ref}?subject_id=cust-1"
    assert _code(client.delete(url, headers=support), 403) == "role_not_allowed"
    assert _code(client.delete(url, headers=dpm), 403) == "policy_denied"  # purpose billing
    assert _code(client.delete(f"{url}&purpose=support", headers=dpm), 403) == "policy_denied"
    assert processor_server.count("tokens") == tokens
    assert _charge(client, billing, "cust-1", ref).status_code == 201  # still on file

    gone = client.delete(f"{url}&purpose={DSR}", headers=dpm)
    assert gone.status_code == 204, gone.text
    assert processor_server.count("tokens") == tokens - 1
    assert _code(_charge(client, billing, "cust-1", ref), 404) == "not_found"
    assert _code(client.delete(f"{url}&purpose={DSR}", headers=dpm), 404) == "not_found"


def test_erasing_a_customer_removes_their_cards_at_the_processor(
    card_client: tuple[TestClient, ServiceContext],
    processor_server: ProcessorServer,
) -> None:
    client, ctx = card_client
    billing, dpm, support, service = (
        role_headers(ctx, r) for r in ("billing", "dpm", "support", "service")
    )
    mine = sorted(_register(client, billing, "cust-9", pan) for pan in PANS[:2])
    theirs = _register(client, billing, "cust-10", PANS[2])
    _store_email(client, service, "cust-9", "n@example.com")
    tokens = processor_server.count("tokens")

    assert _code(client.delete("/v1/subjects/cust-9", headers=support), 403) == "role_not_allowed"
    assert _code(client.delete("/v1/subjects/cust-9", headers=billing), 403) == "role_not_allowed"
    assert processor_server.count("tokens") == tokens

    erased = client.delete("/v1/subjects/cust-9", headers=dpm)
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert body["removed_cards"] == mine
    assert body["destroyed_categories"] == ["contact.email"]
    assert processor_server.count("tokens") == tokens - 2
    for ref in mine:
        assert _code(_charge(client, billing, "cust-9", ref), 404) == "not_found"
    assert ctx.vault.fields_of("cust-9") == []
    # The other customer's card is untouched; erasing them (cards only) removes it as well.
    assert _charge(client, billing, "cust-10", theirs).status_code == 201
    only_cards = client.delete("/v1/subjects/cust-10", headers=dpm)
    assert only_cards.status_code == 200, only_cards.text
    assert only_cards.json() == {
        "subject_id": "cust-10",
        "destroyed_categories": [],
        "removed_cards": [theirs],
    }
    assert processor_server.count("tokens") == tokens - 3
    # Nothing left: the erasure of an unknown customer is still a 404.
    assert _code(client.delete("/v1/subjects/cust-10", headers=dpm), 404) == "not_found"


def test_erasure_with_cards_on_file_but_no_processor_changes_nothing(
    card_client: tuple[TestClient, ServiceContext],
    processor_server: ProcessorServer,
) -> None:
    client, ctx = card_client
    billing, dpm = role_headers(ctx, "billing"), role_headers(ctx, "dpm")
    ref = _register(client, billing, "cust-11", PANS[0])
    tokens = processor_server.count("tokens")
    # The same vault served without a card processor (e.g. its settings lost at a restart).
    bare = ServiceContext.build(ctx.settings, make_service_config(processor=False), ctx.vault)
    resp = TestClient(create_app(bare), raise_server_exceptions=False).delete(
        "/v1/subjects/cust-11", headers=dpm
    )
    assert _code(resp, 503) == "processor_unavailable"
    assert "1 card(s) on file" in resp.json()["detail"]
    assert processor_server.count("tokens") == tokens
    assert {f.field for f in ctx.vault.fields_of(ref)} == {"display", "token", "erasure"}
    assert _charge(client, billing, "cust-11", ref).status_code == 201


def test_access_export_lists_the_customers_cards(
    card_client: tuple[TestClient, ServiceContext],
) -> None:
    client, ctx = card_client
    billing, dpm, service = (role_headers(ctx, r) for r in ("billing", "dpm", "service"))
    mine = sorted(_register(client, billing, "cust-x", pan) for pan in PANS[:2])
    only_cards = _register(client, billing, "cust-y", PANS[2])
    _store_email(client, service, "cust-x", "x@example.com")

    got = client.get("/v1/subjects/cust-x/export", headers=dpm)
    assert got.status_code == 200, got.text
    doc = got.json()
    assert [f["field"] for f in doc["fields"]] == ["email"]
    assert sorted(c["subject_id"] for c in doc["cards"]) == mine
    for card in doc["cards"]:
        assert {f["category"] for f in card["fields"]} >= {"card.token", "card.expiry"}
        token = next(f for f in card["fields"] if f["category"] == "card.token")
        assert token["value"] is None and token["protected"]
    shown = sorted(f["value"] for c in doc["cards"] for f in c["fields"] if f["field"] == "display")
    assert shown == ["mastercard ****4444 12/2030", "visa ****4242 12/2030"]
    for pan in PANS:
        assert pan.replace(" ", "") not in got.text and pan not in got.text

    assert doc["cards_included"] is True
    # Another purpose the DPM may export for, but not see card data for: the customer's own
    # export, as before, and no word on cards.
    legal = client.get("/v1/subjects/cust-x/export?purpose=legal", headers=dpm)
    assert legal.status_code == 200, legal.text
    assert legal.json()["cards"] == [] and legal.json()["cards_included"] is False
    assert [f["field"] for f in legal.json()["fields"]] == ["email"]

    # A customer known only by cards still gets an export; an unknown one is a 404.
    alone = client.get("/v1/subjects/cust-y/export", headers=dpm)
    assert alone.status_code == 200, alone.text
    assert alone.json()["fields"] == []
    assert [c["subject_id"] for c in alone.json()["cards"]] == [only_cards]
    assert _code(client.get("/v1/subjects/cust-z/export", headers=dpm), 404) == "not_found"


def test_a_refused_export_audits_no_card_export(
    card_client: tuple[TestClient, ServiceContext],
) -> None:
    client, ctx = card_client
    billing, dpm, service = (role_headers(ctx, r) for r in ("billing", "dpm", "service"))
    _register(client, billing, "cust-r", PANS[0])
    _store_email(client, service, "cust-r", "r@example.com")
    before = [e for e in ctx.vault.audit.query(action="export")]  # type: ignore[attr-defined]
    refused = client.get("/v1/subjects/cust-r/export?purpose=marketing", headers=dpm)
    assert _code(refused, 403) == "policy_denied"
    after = [e for e in ctx.vault.audit.query(action="export")]  # type: ignore[attr-defined]
    new = after[len(before) :]
    assert [(e.subject_ref, e.outcome) for e in new] == [("cust-r", "denied")]
