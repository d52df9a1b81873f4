"""POST /v1/decide and /v1/decide/batch: the caller's role decides, answers match the library's
policy, every decision is audited after the group commit, metrics count them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dataward.service.context import ServiceContext

from .conftest import AuthFactory

ROLES = ["service", "support", "billing", "sales", "authentication", "dpm", "auditor", "admin"]

CASES = [
    {"action": "use", "category": "contact.email", "purpose": "support"},
    {"action": "use", "category": "contact.email", "purpose": "contract"},
    {"action": "store", "category": "card.cvv", "purpose": "billing"},
    {"action": "use", "category": "secret.password", "purpose": "authentication"},
    {"action": "store", "category": "sensitive.health", "purpose": "support"},
    {
        "action": "share",
        "category": "contact.postal_address",
        "purpose": "billing",
        "recipient": "card-processor",
    },
    {"action": "share", "category": "contact.email", "purpose": "sales", "recipient": "acme-ads"},
]


def _expected(ctx: ServiceContext, role: str, case: dict[str, str]) -> dict[str, object]:
    return ctx.policy.decide(
        action=case["action"],
        category=case["category"],
        role=role,
        purpose=case["purpose"],
        recipient=case.get("recipient"),
    ).to_dict()


@pytest.mark.parametrize("role", ROLES)
def test_decide_answers_what_the_policy_says_for_the_callers_role(
    client: TestClient, service_ctx: ServiceContext, auth: AuthFactory, role: str
) -> None:
    headers = auth(role)
    for case in CASES:
        r = client.post("/v1/decide", json=case, headers=headers)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        assert r.json() == _expected(service_ctx, role, case)


@pytest.mark.parametrize(
    ("role", "case", "allowed", "rule"),
    [
        ("support", CASES[0], True, "low-support"),
        ("sales", CASES[0], False, None),
        ("billing", CASES[2], False, None),
        ("dpm", CASES[4], False, "forbidden-never"),
        ("billing", CASES[5], True, None),
        ("sales", CASES[6], False, "builtin:unknown-recipient"),
    ],
)
def test_decide_allowed_and_denied(
    client: TestClient,
    auth: AuthFactory,
    role: str,
    case: dict[str, str],
    allowed: bool,
    rule: str | None,
) -> None:
    body = client.post("/v1/decide", json=case, headers=auth(role)).json()
    assert body["allowed"] is allowed
    assert body["effect"] == ("allow" if allowed else "deny")
    assert body["policy_version"] == "2026.1"
    assert body["reason"]
    if rule is not None:
        assert body["rule_id"] == rule


def test_the_role_is_always_the_callers(client: TestClient, auth: AuthFactory) -> None:
    r = client.post("/v1/decide", json={**CASES[0], "role": "support"}, headers=auth("sales"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == "body.role"


def test_batch_answers_in_order(
    client: TestClient, service_ctx: ServiceContext, auth: AuthFactory
) -> None:
    r = client.post("/v1/decide/batch", json={"requests": CASES}, headers=auth("billing"))
    assert r.status_code == 200, r.text
    assert r.json() == {"decisions": [_expected(service_ctx, "billing", c) for c in CASES]}


def test_unknown_category_is_a_422_with_the_field_path_and_no_value(
    client: TestClient, auth: AuthFactory
) -> None:
    case = {"action": "use", "category": "contact.emial", "purpose": "support"}
    r = client.post("/v1/decide", json=case, headers=auth("support"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "unknown_category"
    assert body["errors"][0]["loc"] == "body.category"
    assert "contact.email" in body["errors"][0]["msg"]  # the suggestion
    assert "emial" not in r.text


def test_batch_unknown_categories_name_each_position(client: TestClient, auth: AuthFactory) -> None:
    bad = {"action": "use", "category": "nope.nothing", "purpose": "support"}
    r = client.post(
        "/v1/decide/batch", json={"requests": [CASES[0], bad, bad]}, headers=auth("support")
    )
    assert r.status_code == 422
    locs = [e["loc"] for e in r.json()["errors"]]
    assert locs == ["body.requests.1.category", "body.requests.2.category"]


def test_batch_over_the_configured_limit_is_refused(
    client: TestClient, service_ctx: ServiceContext, auth: AuthFactory
) -> None:
    n = service_ctx.config.batch_max + 1
    r = client.post("/v1/decide/batch", json={"requests": [CASES[0]] * n}, headers=auth("support"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == "body.requests"


def test_empty_batch_is_refused(client: TestClient, auth: AuthFactory) -> None:
    r = client.post("/v1/decide/batch", json={"requests": []}, headers=auth("support"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == "body.requests"


def test_every_decision_is_audited_after_the_flush(
    client: TestClient, service_ctx: ServiceContext, api_key: object
) -> None:
    key = service_ctx.keys.create("support", name="auditing")
    key_id, secret = key[0].id, key[1]
    headers = {"Authorization": f"Bearer {secret}"}
    client.post("/v1/decide", json=CASES[0], headers=headers)
    client.post("/v1/decide/batch", json={"requests": CASES[:3]}, headers=headers)
    assert service_ctx.decisions.flush()
    entries = list(service_ctx.audit.query(actor_id=key_id, action="decide"))
    assert len(entries) == 4
    first = entries[0]
    assert first.actor_role == "support"
    assert first.categories == ("contact.email",)
    assert first.purpose == "support"
    assert first.outcome == "ok"
    assert first.decision is not None and first.decision.allowed
    assert first.decision.rule_id == "low-support"
    assert first.decision.policy_version == "2026.1"
    assert [e.outcome for e in entries[1:]] == ["ok", "denied", "denied"]


def test_a_share_decision_records_the_recipient(
    client: TestClient, service_ctx: ServiceContext
) -> None:
    key, secret = service_ctx.keys.create("billing")
    client.post("/v1/decide", json=CASES[5], headers={"Authorization": f"Bearer {secret}"})
    assert service_ctx.decisions.flush()
    (entry,) = service_ctx.audit.query(actor_id=key.id, action="decide")
    assert entry.recipient == "card-processor"
    assert entry.classes == ("low",)


def test_decisions_are_counted_in_the_metrics(
    client: TestClient, service_ctx: ServiceContext, auth: AuthFactory
) -> None:
    client.post("/v1/decide/batch", json={"requests": CASES[:3]}, headers=auth("support"))
    text = service_ctx.metrics.exposition().decode()
    assert 'dataward_decisions_total{action="use",data_class="low",effect="allow"} 1.0' in text
    assert 'dataward_decisions_total{action="use",data_class="low",effect="deny"} 1.0' in text
    assert 'dataward_decisions_total{action="store",data_class="special",effect="deny"} 1.0' in text


def test_decision_log_and_vault_log_extend_one_verifiable_chain(
    client_any: TestClient, service_ctx_any: ServiceContext
) -> None:
    _, admin = service_ctx_any.keys.create("admin")
    headers = {"Authorization": f"Bearer {admin}"}
    for i in range(5):
        client_any.post("/v1/decide/batch", json={"requests": CASES}, headers=headers)
        client_any.post("/v1/keys", json={"role": "support", "name": f"k{i}"}, headers=headers)
    assert service_ctx_any.decisions.flush()
    result = service_ctx_any.audit.verify()
    assert result.ok
    assert len(list(service_ctx_any.audit.query(action="decide"))) == 5 * len(CASES)


def test_unknown_purposes_and_recipients_stay_out_of_the_log(
    client: TestClient, service_ctx: ServiceContext
) -> None:
    key, secret = service_ctx.keys.create("sales")
    case = {"action": "share", "category": "contact.email", "purpose": "profiling_x",
            "recipient": "someone-41791234567"}  # fmt: skip
    body = client.post("/v1/decide", json=case, headers={"Authorization": f"Bearer {secret}"})
    assert body.json()["allowed"] is False
    assert service_ctx.decisions.flush()
    (entry,) = service_ctx.audit.query(actor_id=key.id, action="decide")
    assert entry.purpose is None and entry.recipient is None
    assert entry.outcome == "denied"
    assert entry.decision is not None and entry.decision.rule_id.startswith("builtin:unknown")
