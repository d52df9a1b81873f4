"""Every error is problem+json with a stable code, and never carries the value that was sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dataward.errors import PolicyDeniedError
from dataward.service.app import create_app
from dataward.service.context import ServiceContext

from .conftest import AuthFactory, make_service_config, open_context

PROBLEM = "application/problem+json"
SECRET_LOOKING = "jane.doe@example.com"
DECIDE = {"action": "use", "category": "contact.email", "purpose": "support"}


def _problem(r: object, status: int, code: str) -> dict[str, object]:
    from httpx import Response

    assert isinstance(r, Response)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert isinstance(body, dict)
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:dataward:problem:{code}"
    assert body["title"] and body["detail"]
    return body


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer dw_000000000000_nottherightsecret"},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
    ids=["no-key", "unknown-key", "malformed-key", "wrong-scheme"],
)
def test_401_without_a_valid_key(client: TestClient, headers: dict[str, str]) -> None:
    r = client.post("/v1/decide", json=DECIDE, headers=headers)
    _problem(r, 401, "unauthenticated")
    assert "nottherightsecret" not in r.text


def test_403_when_the_role_may_not_call_the_endpoint(client: TestClient, auth: AuthFactory) -> None:
    body = _problem(client.get("/v1/keys", headers=auth("support")), 403, "role_not_allowed")
    assert body["role"] == "support"
    assert "admin" in str(body["detail"])


@pytest.fixture
def denying_client(service_ctx: ServiceContext) -> Iterator[TestClient]:
    """The app plus one route where the library's policy denial surfaces."""
    app: FastAPI = create_app(service_ctx)

    @app.get("/test/denied")
    async def denied() -> None:
        raise PolicyDeniedError(
            "the policy denies use of contact.email for role 'sales' and purpose 'support' "
            "(rule low-sales): sales uses client data only for a sales process",
            rule_id="low-sales",
        )

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_403_policy_denial_carries_the_reason_and_the_rule(denying_client: TestClient) -> None:
    body = _problem(denying_client.get("/test/denied"), 403, "policy_denied")
    assert body["rule_id"] == "low-sales"
    assert "only for a sales process" in str(body["detail"])


def test_413_over_the_size_limit(client: TestClient, auth: AuthFactory) -> None:
    big = {**DECIDE, "purpose": "x" * 2_000_000}
    r = client.post("/v1/decide", json=big, headers=auth("support"))
    _problem(r, 413, "payload_too_large")


def test_413_for_a_streamed_body_over_the_limit(client: TestClient, auth: AuthFactory) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"action": "use", "category": "contact.email", "purpose": "'
        for _ in range(300):
            yield b"x" * 4096
        yield b'"}'

    headers = {**auth("support"), "Content-Type": "application/json"}
    r = client.post("/v1/decide", content=chunks(), headers=headers)
    _problem(r, 413, "payload_too_large")


def test_422_names_the_fields_and_never_echoes_the_values(
    client: TestClient, auth: AuthFactory
) -> None:
    body = {"action": "peek", "category": SECRET_LOOKING, "purpose": SECRET_LOOKING, "x": 1}
    r = client.post("/v1/decide", json=body, headers=auth("support"))
    problem = _problem(r, 422, "invalid_input")
    errors = problem["errors"]
    assert isinstance(errors, list)
    assert {e["loc"] for e in errors} == {"body.action", "body.category", "body.purpose", "body.x"}
    for e in errors:
        assert set(e) == {"loc", "msg", "type"}
    assert SECRET_LOOKING not in r.text
    assert "peek" not in r.text


def test_422_for_a_body_that_is_not_json(client: TestClient, auth: AuthFactory) -> None:
    headers = {**auth("support"), "Content-Type": "application/json"}
    r = client.post(
        "/v1/decide", content=b'{"purpose": "' + SECRET_LOOKING.encode(), headers=headers
    )
    problem = _problem(r, 422, "invalid_input")
    assert problem["errors"][0]["type"] == "json_invalid"  # type: ignore[index]
    assert SECRET_LOOKING not in r.text


def test_422_for_a_missing_body(client: TestClient, auth: AuthFactory) -> None:
    problem = _problem(client.post("/v1/decide", headers=auth("support")), 422, "invalid_input")
    assert problem["errors"][0]["loc"] == "body"  # type: ignore[index]


def test_429_over_the_keys_rate_with_retry_after(service_home: Path) -> None:
    ctx = open_context(service_home, make_service_config(rate_limit_per_second=0.01,
                                                         rate_limit_burst=2))  # fmt: skip
    try:
        _, secret = ctx.keys.create("support")
        headers = {"Authorization": f"Bearer {secret}"}
        with TestClient(create_app(ctx), raise_server_exceptions=False) as c:
            assert c.post("/v1/decide", json=DECIDE, headers=headers).status_code == 200
            assert c.post("/v1/decide", json=DECIDE, headers=headers).status_code == 200
            r = c.post("/v1/decide", json=DECIDE, headers=headers)
            body = _problem(r, 429, "rate_limited")
            assert int(r.headers["Retry-After"]) >= 1
            assert isinstance(body["retry_after"], float | int) and body["retry_after"] > 0
            # another key has its own budget
            _, other = ctx.keys.create("support")
            ok = c.post("/v1/decide", json=DECIDE, headers={"Authorization": f"Bearer {other}"})
            assert ok.status_code == 200
    finally:
        ctx.close()


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v1/nothing-here/jane.doe@example.com", 404, "not_found"),
        ("GET", "/v1/decide", 405, "method_not_allowed"),
    ],
)
def test_routing_errors_are_problems(
    client: TestClient, method: str, path: str, status: int, code: str
) -> None:
    r = client.request(method, path)
    _problem(r, status, code)
    assert SECRET_LOOKING not in r.text


def test_an_unexpected_error_is_a_500_without_details(
    service_ctx: ServiceContext, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(service_ctx)

    @app.get("/test/boom")
    async def boom() -> None:
        raise RuntimeError(f"value {SECRET_LOOKING} leaked")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/test/boom")
    _problem(r, 500, "internal_error")
    assert SECRET_LOOKING not in r.text
    assert SECRET_LOOKING not in caplog.text
    assert "RuntimeError" in caplog.text


def test_the_openapi_schema_documents_problems_on_every_endpoint(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "dataward"
    assert "Problem" in schema["components"]["schemas"]
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            for status in ("401", "403", "413", "422", "429"):
                content = op["responses"][status]["content"]
                assert PROBLEM in content, (method, path, status)
                assert "application/json" not in content, (method, path, status)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/keys?jane.doe@example.com=1"), ("POST", "/v1/decide?jane.doe@example.com=1")],
)
def test_unknown_query_parameters_are_refused_without_echo(
    client: TestClient, auth: AuthFactory, method: str, path: str
) -> None:
    r = client.request(method, path, json=DECIDE, headers=auth("admin"))
    problem = _problem(r, 422, "invalid_input")
    assert problem["errors"] == [
        {"loc": "query", "msg": "unknown query parameter", "type": "extra_forbidden"}
    ]
    assert "jane" not in r.text


def test_declared_query_parameters_pass(client: TestClient, auth: AuthFactory) -> None:
    r = client.get("/v1/keys?include_revoked=false", headers=auth("admin"))
    assert r.status_code == 200


def test_405_names_every_method_of_the_path(client: TestClient) -> None:
    r = client.request("PUT", "/v1/keys")
    _problem(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "GET, POST"
