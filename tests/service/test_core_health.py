"""Probes, metrics, the policy endpoints, the access log and the context's card wiring."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dataward.service.app import create_app
from dataward.service.context import CARD_TOKEN_KEY_FILE, ServiceContext
from dataward.service.middleware import ACCESS_LOGGER

from .conftest import SERVICE_ENVIRON, AuthFactory, make_service_config, open_context

DECIDE = {"action": "use", "category": "contact.email", "purpose": "support"}


def test_probes_answer_without_a_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ready",
        "checks": {"database": "ok", "processor": "not configured"},
    }


def test_readyz_on_postgresql(service_ctx_pg: ServiceContext) -> None:
    with TestClient(create_app(service_ctx_pg)) as c:
        assert c.get("/readyz").json()["checks"]["database"] == "ok"


def test_closed_probes_need_a_key_with_the_metrics_permission(service_home: Path) -> None:
    ctx = open_context(service_home, make_service_config(open_probes=False))
    try:
        _, admin = ctx.keys.create("admin")
        _, support = ctx.keys.create("support")
        with TestClient(create_app(ctx), raise_server_exceptions=False) as c:
            assert c.get("/healthz").status_code == 401
            assert (
                c.get("/readyz", headers={"Authorization": f"Bearer {support}"}).status_code == 403
            )
            assert c.get("/readyz", headers={"Authorization": f"Bearer {admin}"}).status_code == 200
    finally:
        ctx.close()


def test_readyz_is_503_when_the_processor_is_unreachable(
    service_ctx: ServiceContext,
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service_ctx.processor_address = ("127.0.0.1", port)
    with TestClient(create_app(service_ctx), raise_server_exceptions=False) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "not_ready"
    assert r.json()["checks"]["processor"] == "unreachable"


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("auditor", 200), ("support", 403)])
def test_metrics_need_the_metrics_permission(
    client: TestClient, auth: AuthFactory, role: str, status: int
) -> None:
    assert client.get("/metrics", headers=auth(role)).status_code == status


def test_metrics_show_decisions_and_request_latency(client: TestClient, auth: AuthFactory) -> None:
    client.post("/v1/decide", json=DECIDE, headers=auth("support"))
    r = client.get("/metrics", headers=auth("admin"))
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'dataward_decisions_total{action="use",data_class="low",effect="allow"} 1.0' in text
    assert (
        'dataward_http_request_duration_seconds_bucket{le="+Inf",method="POST",'
        'route="/v1/decide",status="200"} 1.0'
    ) in text
    assert 'dataward_http_requests_total{method="POST",route="/v1/decide",status="200"}' in text


def test_metrics_label_unmatched_paths_without_the_path(
    client: TestClient, auth: AuthFactory
) -> None:
    client.get("/v1/subjects-typo/jane.doe@example.com")
    text = client.get("/metrics", headers=auth("admin")).text
    assert 'route="<unmatched>"' in text
    assert "jane.doe" not in text


@pytest.mark.parametrize("role", ["service", "auditor", "admin"])
def test_policy_show(client: TestClient, auth: AuthFactory, role: str) -> None:
    body = client.get("/v1/policy", headers=auth(role)).json()
    assert body["version"] == "2026.1"
    assert body["effective"] == "2026-11-01"
    assert body["next_review"] == "2027-11-01"
    assert "dpm" in body["roles"] and "support" in body["purposes"]
    assert [p["name"] for p in body["processors"]] == ["card-processor"]
    rules = {r["id"]: r for r in body["rules"]}
    assert rules["low-support"]["roles"] == ["support"]
    assert rules["forbidden-never"]["effect"] == "deny"


def test_policy_status(client: TestClient, auth: AuthFactory) -> None:
    body = client.get("/v1/policy/status", headers=auth("dpm")).json()
    assert set(body) == {
        "version", "effective", "next_review", "owner", "overdue", "days_to_review",
        "audit_retention",
    }  # fmt: skip
    assert body["overdue"] is (body["days_to_review"] < 0)


def test_access_log_lines_hold_the_route_template_never_values(
    client: TestClient, service_ctx: ServiceContext, caplog: pytest.LogCaptureFixture
) -> None:
    key, secret = service_ctx.keys.create("support")
    headers = {"Authorization": f"Bearer {secret}"}
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        client.post("/v1/decide?email=jane.doe@example.com", json=DECIDE, headers=headers)
        client.get("/v1/keys/jane.doe@example.com", headers=headers)
        client.delete("/v1/keys/0123456789ab", headers=headers)
    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    assert len(lines) == 3
    assert lines[0].startswith("POST /v1/decide 422 ")  # unknown query parameter
    assert lines[0].endswith(f"key={key.id}")
    assert lines[1].startswith("GET /v1/keys/{key_id} 405 ") or "<unmatched>" in lines[1]
    assert lines[2].startswith("DELETE /v1/keys/{key_id} 403 ")
    for line in lines:
        assert "jane" not in line and secret not in line and "0123456789ab" not in line


def test_card_endpoints_without_a_processor_are_a_503_naming_the_variables(
    service_ctx: ServiceContext,
) -> None:
    from dataward.errors import ProcessorUnavailableError

    assert service_ctx.cards is None
    with pytest.raises(ProcessorUnavailableError) as info:
        service_ctx.require_cards()
    assert info.value.http_status == 503
    assert "switched off" in str(info.value)
    service_ctx.config = make_service_config(processor=True)
    with pytest.raises(ProcessorUnavailableError) as info:
        service_ctx.require_cards()
    assert "DATAWARD_PROCESSOR_URL" in str(info.value)


def test_open_with_a_processor_creates_the_token_key_privately(service_home: Path) -> None:
    key_file = service_home / "processor.key"
    key_file.write_text("processor-api-key\n")
    environ = {
        **SERVICE_ENVIRON,
        "DATAWARD_PROCESSOR_URL": "https://127.0.0.1:9",
        "DATAWARD_PROCESSOR_API_KEY_FILE": str(key_file),
    }
    from dataward.settings import load_settings

    settings = load_settings(service_home, environ=environ)
    ctx = ServiceContext.open(settings, make_service_config(processor=True), environ)
    try:
        assert ctx.cards is not None
        assert ctx.processor_address == ("127.0.0.1", 9)
        token_key = service_home / CARD_TOKEN_KEY_FILE
        assert token_key.stat().st_mode & 0o777 == 0o600
    finally:
        ctx.close()
