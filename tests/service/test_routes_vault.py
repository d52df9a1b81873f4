"""The vault over HTTP: each role's allowed and denied paths, on SQLite and PostgreSQL.

Two kinds of 403 are told apart: ``role_not_allowed`` (the role table, before anything runs) and
``policy_denied`` / ``forbidden_data`` / ``card_data_refused`` (the library's decision, with the
rule). No stored value ever shows in an error.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from dataward.service.context import ServiceContext

from .conftest import AuthFactory, KeyFactory

EMAIL = "jane.doe@example.com"
NEW_EMAIL = "jane.roe@example.com"
PAN = "4242 4242 4242 4242"
PASSWORD = "correct horse battery staple"


def _problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["code"] == code, body
    return body


def _store(
    client: TestClient, headers: dict[str, str], subject: str = "cust-1", purpose: str = "support"
) -> Any:
    return client.post(
        f"/v1/subjects/{subject}/fields",
        json={
            "purpose": purpose,
            "fields": [
                {"field": "email", "value": EMAIL},
                {"field": "name", "value": "Jane Doe", "category": "person.name"},
            ],
        },
        headers=headers,
    )


def test_store_list_use_search_destroy(client_any: TestClient, auth_any: AuthFactory) -> None:
    support, dpm = auth_any("support"), auth_any("dpm")
    stored = _store(client_any, support)
    assert stored.status_code == 201, stored.text
    assert EMAIL not in stored.text and "Jane Doe" not in stored.text
    fields = {f["field"]: f for f in stored.json()["fields"]}
    assert fields["email"]["category"] == "contact.email"  # classified by the vault
    assert fields["email"]["protection"] == "encrypted"
    assert fields["email"]["retention"]

    listed = client_any.get("/v1/subjects/cust-1/fields?purpose=support", headers=support)
    assert listed.status_code == 200, listed.text
    assert EMAIL not in listed.text
    assert [f["field"] for f in listed.json()["fields"]] == ["email", "name"]

    used = client_any.post(
        "/v1/subjects/cust-1/use",
        json={"purpose": "support", "fields": ["email", "name"]},
        headers=support,
    )
    assert used.status_code == 200, used.text
    values = {f["field"]: f["value"] for f in used.json()["fields"]}
    assert values == {"email": EMAIL, "name": "Jane Doe"}

    found = client_any.post(
        "/v1/subjects/search", json={"purpose": "support", "email": " Jane.Doe@Example.com"},
        headers=support,
    )  # fmt: skip
    assert found.json() == {"subject_ids": ["cust-1"]}

    gone = client_any.delete("/v1/subjects/cust-1", headers=dpm)
    assert gone.status_code == 200, gone.text
    assert gone.json()["destroyed_categories"] == ["contact.email", "person.name"]
    _problem(
        client_any.get("/v1/subjects/cust-1/fields?purpose=support", headers=support),
        404,
        "not_found",
    )


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("auditor", "POST", "/v1/subjects/cust-1/fields", {"purpose": "support", "fields": []}),
        ("admin", "POST", "/v1/subjects/cust-1/use", {"purpose": "support", "fields": ["email"]}),
        ("admin", "GET", "/v1/subjects/cust-1/fields?purpose=support", None),
        ("auditor", "POST", "/v1/subjects/search", {"purpose": "support", "email": EMAIL}),
        ("support", "PUT", "/v1/subjects/cust-1/fields/email", {"value": NEW_EMAIL}),
        ("support", "GET", "/v1/subjects/cust-1/export", None),
        ("billing", "DELETE", "/v1/subjects/cust-1", None),
        ("sales", "DELETE", "/v1/subjects/cust-1", None),
        ("admin", "POST", "/v1/subjects/cust-1/share",
         {"fields": ["email"], "recipient": "card-processor", "purpose": "billing"}),
    ],
)  # fmt: skip
def test_role_table_refuses_before_anything_runs(
    client: TestClient,
    auth: AuthFactory,
    role: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    resp = client.request(method, path, json=body, headers=auth(role))
    problem = _problem(resp, 403, "role_not_allowed")
    assert problem["role"] == role
    assert EMAIL not in resp.text


@pytest.mark.parametrize(
    ("role", "method", "suffix", "body"),
    [
        # sales may hold low data for a sales process, not for support
        ("sales", "POST", "fields",
         {"purpose": "support", "fields": [{"field": "email", "value": EMAIL}]}),
        ("support", "POST", "use", {"purpose": "billing", "fields": ["email"]}),
        # only billing/service may share, and only to the registered processor
        ("support", "POST", "share",
         {"fields": ["email"], "recipient": "card-processor", "purpose": "support"}),
        ("billing", "POST", "share",
         {"fields": ["email"], "recipient": "ad-network", "purpose": "billing"}),
        ("dpm", "POST", "use", {"purpose": "sales", "fields": ["email"]}),
    ],
)  # fmt: skip
def test_policy_denies_with_its_rule(
    client: TestClient,
    auth: AuthFactory,
    role: str,
    method: str,
    suffix: str,
    body: dict[str, Any],
) -> None:
    assert _store(client, auth("support")).status_code == 201
    resp = client.request(method, f"/v1/subjects/cust-1/{suffix}", json=body, headers=auth(role))
    problem = _problem(resp, 403, "policy_denied")
    assert problem["rule_id"]
    assert EMAIL not in resp.text


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"field": "diagnosis", "value": "type 2 diabetes", "category": "sensitive.health"},
         "forbidden_data"),
        ({"field": "note", "value": f"card {PAN}"}, "card_data_refused"),
        ({"field": "pan", "value": PAN, "category": "card.pan"}, "card_data_refused"),
    ],
)  # fmt: skip
def test_forbidden_and_card_data_are_refused_whole(
    client: TestClient, auth: AuthFactory, item: dict[str, str], code: str
) -> None:
    headers = auth("support")
    body = {"purpose": "support", "fields": [{"field": "email", "value": EMAIL}, item]}
    resp = client.post("/v1/subjects/cust-2/fields", json=body, headers=headers)
    _problem(resp, 403, code)
    assert item["value"] not in resp.text and "4242 4242" not in resp.text
    # all or nothing: the e-mail was not stored either
    listed = client.get("/v1/subjects/cust-2/fields?purpose=support", headers=headers)
    _problem(listed, 404, "not_found")


def test_secrets_are_verified_never_shown(client_any: TestClient, auth_any: AuthFactory) -> None:
    login, dpm = auth_any("authentication"), auth_any("dpm")
    stored = client_any.post(
        "/v1/subjects/cust-3/fields",
        json={
            "purpose": "authentication",
            "fields": [{"field": "password", "value": PASSWORD, "category": "secret.password"}],
        },
        headers=login,
    )
    assert stored.status_code == 201, stored.text
    assert stored.json()["fields"][0]["protection"] == "hashed"
    used = client_any.post(
        "/v1/subjects/cust-3/use",
        json={"purpose": "authentication", "fields": ["password"]},
        headers=login,
    )
    assert used.json()["fields"][0]["value"] is None
    assert used.json()["fields"][0]["protected"] is True
    for candidate, match in [(PASSWORD, True), ("wrong horse", False)]:
        resp = client_any.post(
            "/v1/subjects/cust-3/verify",
            json={"field": "password", "candidate": candidate},
            headers=login,
        )
        assert resp.json() == {"match": match}
        assert candidate not in resp.text
    exported = client_any.get("/v1/subjects/cust-3/export", headers=dpm)
    assert exported.status_code == 200, exported.text
    assert PASSWORD not in exported.text
    assert exported.json()["fields"][0]["value"] is None
    denied = client_any.post(
        "/v1/subjects/cust-3/verify",
        json={"field": "password", "candidate": PASSWORD, "purpose": "support"},
        headers=auth_any("support"),
    )
    _problem(denied, 403, "policy_denied")
    assert PASSWORD not in denied.text


def test_share_rectify_export(client_any: TestClient, auth_any: AuthFactory) -> None:
    billing, dpm = auth_any("billing"), auth_any("dpm")
    assert _store(client_any, billing, "cust-4", "billing").status_code == 201
    shared = client_any.post(
        "/v1/subjects/cust-4/share",
        json={"fields": ["email"], "recipient": "card-processor", "purpose": "billing"},
        headers=billing,
    )
    assert shared.status_code == 200, shared.text
    assert shared.json()["values"] == [{"field": "email", "value": EMAIL}]

    fixed = client_any.put(
        "/v1/subjects/cust-4/fields/email", json={"value": NEW_EMAIL}, headers=dpm
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["version"] == 2 and NEW_EMAIL not in fixed.text

    exported = client_any.get("/v1/subjects/cust-4/export", headers=dpm)
    assert exported.status_code == 200, exported.text
    doc = exported.json()
    assert {f["field"]: f["value"] for f in doc["fields"]}["email"] == NEW_EMAIL
    assert doc["categories"] == ["contact.email", "person.name"]
    assert doc["purposes"] == ["billing", "data_subject_request"]
    assert [(r["recipient"], r["field"]) for r in doc["recipients"]] == [
        ("card-processor", "email")
    ]
    missing = client_any.put("/v1/subjects/cust-4/fields/phone", json={"value": "x"}, headers=dpm)
    _problem(missing, 404, "not_found")


def test_the_key_id_is_the_audit_actor(
    client: TestClient, api_key: KeyFactory, service_ctx: ServiceContext
) -> None:
    key = api_key("support")
    key_id = service_ctx.keys.authenticate(key).id
    assert _store(client, {"Authorization": f"Bearer {key}"}, "cust-5").status_code == 201
    client.get(
        "/v1/subjects/cust-5/fields?purpose=support", headers={"Authorization": f"Bearer {key}"}
    )
    entries = list(service_ctx.audit.query(subject_ref="cust-5"))
    assert [e.action for e in entries] == ["store", "store", "access"]
    assert {(e.actor_id, e.actor_role, e.purpose) for e in entries} == {
        (key_id, "support", "support")
    }


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/subjects/jane@example.com/fields?purpose=support", None),
        ("GET", "/v1/subjects/" + "x" * 129 + "/fields?purpose=support", None),
        ("GET", "/v1/subjects/cust-1/fields", None),
        ("GET", "/v1/subjects/cust-1/fields?purpose=Support", None),
        ("PUT", "/v1/subjects/cust-1/fields/1st", {"value": "x"}),
        ("POST", "/v1/subjects/cust-1/fields", {"purpose": "support", "fields": []}),
        ("POST", "/v1/subjects/cust-1/fields",
         {"purpose": "support", "fields": [{"field": "e mail", "value": EMAIL}]}),
        ("POST", "/v1/subjects/cust-1/fields",
         {"purpose": "support", "fields": [{"field": "a", "value": EMAIL},
                                           {"field": "a", "value": EMAIL}]}),
        ("POST", "/v1/subjects/cust-1/fields",
         {"purpose": "support", "fields": [{"field": "a", "value": EMAIL, "colour": 1}]}),
        ("POST", "/v1/subjects/cust-1/use", {"purpose": "support", "fields": ["a", "a"]}),
        ("POST", "/v1/subjects/search", {"purpose": "support"}),
        ("POST", "/v1/subjects/search", {"purpose": "support", "email": EMAIL, "phone": "1"}),
    ],
)  # fmt: skip
def test_bad_input_is_422_never_echoed(
    client: TestClient, auth: AuthFactory, method: str, path: str, body: Any
) -> None:
    headers = {**auth("dpm" if method == "PUT" else "support")}
    resp = client.request(method, path, json=body, headers=headers)
    problem = _problem(resp, 422, "invalid_input")
    assert problem["errors"]
    assert EMAIL not in resp.text


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"field": "x", "value": "nothing to see here"}, "invalid_input"),
        ({"field": "x", "value": "abc", "category": "contact.emial"}, "unknown_category"),
    ],
)
def test_library_refusals_are_422(
    client: TestClient, auth: AuthFactory, item: dict[str, str], code: str
) -> None:
    resp = client.post(
        "/v1/subjects/cust-6/fields",
        json={"purpose": "support", "fields": [item]},
        headers=auth("support"),
    )
    _problem(resp, 422, code)
    assert item["value"] not in resp.text


def test_unknown_purpose_in_listing(client: TestClient, auth: AuthFactory) -> None:
    resp = client.get("/v1/subjects/cust-1/fields?purpose=marketing", headers=auth("support"))
    _problem(resp, 422, "invalid_input")
