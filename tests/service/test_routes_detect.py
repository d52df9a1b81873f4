"""``POST /v1/detect``, ``/v1/detect/records`` and ``/v1/redact`` over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import AuthFactory

EMAIL = "jane.doe@example.com"
PHONE = "+41 44 668 18 00"
TEXT = f"Please write to {EMAIL} or call {PHONE} before Friday."
ALL_ROLES = ["service", "support", "billing", "sales", "authentication", "dpm", "auditor", "admin"]


def _problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["code"] == code, body
    return body


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_may_detect(client: TestClient, auth: AuthFactory, role: str) -> None:
    resp = client.post("/v1/detect", json={"text": TEXT}, headers=auth(role))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    cats = {f["category"] for f in body["findings"]}
    assert {"contact.email", "contact.phone"} <= cats
    assert body["count"] == len(body["findings"])


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/detect", {"text": TEXT}),
        ("/v1/detect/records", {"records": [{"email": EMAIL}]}),
        ("/v1/redact", {"text": TEXT}),
    ],
)
def test_no_key_is_401(client: TestClient, path: str, body: dict[str, Any]) -> None:
    _problem(client.post(path, json=body), 401, "unauthenticated")
    bad = {"Authorization": "Bearer dw_000000000000_nope"}
    _problem(client.post(path, json=body, headers=bad), 401, "unauthenticated")


def test_findings_hold_spans_never_the_text(client: TestClient, auth: AuthFactory) -> None:
    resp = client.post("/v1/detect", json={"text": TEXT}, headers=auth("support"))
    assert EMAIL not in resp.text and "668 18 00" not in resp.text
    email = next(f for f in resp.json()["findings"] if f["category"] == "contact.email")
    assert TEXT[email["start"] : email["end"]] == EMAIL
    assert email["data_class"] == "low"
    assert set(email) == {"category", "data_class", "start", "end", "score", "detector"}


def test_category_and_score_filters(client: TestClient, auth: AuthFactory) -> None:
    h = auth("service")
    only = client.post(
        "/v1/detect", json={"text": TEXT, "categories": ["contact.email"]}, headers=h
    ).json()
    assert [f["category"] for f in only["findings"]] == ["contact.email"]
    none = client.post("/v1/detect", json={"text": TEXT, "min_score": 1.0}, headers=h).json()
    assert all(f["score"] >= 1.0 for f in none["findings"])


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": "a\x00b"}, "binary_input"),
        ({"text": "\x01\x02\x03\x04 x"}, "binary_input"),
        ({"text": TEXT, "categories": ["contact.emial"]}, "unknown_category"),
        ({"text": TEXT, "categories": ["not a category"]}, "invalid_input"),
        ({"text": TEXT, "min_score": 2}, "invalid_input"),
        ({"text": TEXT, "language": "xx"}, "invalid_input"),
        ({"text": TEXT, "extra": 1}, "invalid_input"),
        ({"text": 42}, "invalid_input"),
        ({}, "invalid_input"),
    ],
)
def test_bad_detect_input_is_a_typed_422(
    client: TestClient, auth: AuthFactory, body: dict[str, Any], code: str
) -> None:
    resp = client.post("/v1/detect", json=body, headers=auth("support"))
    problem = _problem(resp, 422, code)
    assert EMAIL not in resp.text
    if code == "invalid_input":
        assert problem["errors"] and all("input" not in e for e in problem["errors"])


def test_text_over_the_limit_is_422_without_the_text(client: TestClient, auth: AuthFactory) -> None:
    text = EMAIL + " " + "x" * 1_000_000
    resp = client.post("/v1/detect", json={"text": text}, headers=auth("support"))
    problem = _problem(resp, 422, "invalid_input")
    assert problem["errors"][0]["loc"] == "body.text"
    assert EMAIL not in resp.text


def test_invalid_json_is_422(client: TestClient, auth: AuthFactory) -> None:
    headers = {**auth("support"), "content-type": "application/json"}
    resp = client.post("/v1/detect", content=b'{"text": "' + EMAIL.encode(), headers=headers)
    _problem(resp, 422, "invalid_input")
    assert EMAIL not in resp.text


def test_records_report_each_field_path(client: TestClient, auth: AuthFactory) -> None:
    records = [
        {"email": EMAIL, "profile": {"phone": PHONE, "plan": "pro"}},
        {"note": f"customer asked to use {EMAIL} from now on", "count": 3},
    ]
    resp = client.post("/v1/detect/records", json={"records": records}, headers=auth("sales"))
    assert resp.status_code == 200, resp.text
    assert EMAIL not in resp.text and "668 18 00" not in resp.text
    first, second = resp.json()["records"]
    assert first["index"] == 0 and second["index"] == 1
    by_field = {f["field"]: f for f in first["fields"]}
    assert set(by_field) == {"email", "profile.phone", "profile.plan"}
    assert by_field["email"]["category"] == "contact.email"
    assert by_field["profile.phone"]["category"] == "contact.phone"
    note = next(f for f in second["fields"] if f["field"] == "note")
    assert [x["category"] for x in note["findings"]] == ["contact.email"]


@pytest.mark.parametrize(
    "body",
    [{"records": []}, {"records": [1]}, {"records": {"a": 1}}, {"records": [{}] * 1001}],
)
def test_bad_records_are_422(client: TestClient, auth: AuthFactory, body: Any) -> None:
    _problem(
        client.post("/v1/detect/records", json=body, headers=auth("dpm")), 422, "invalid_input"
    )


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("replace", "Please write to <contact.email> or call <contact.phone> before Friday."),
        ("drop", "Please write to  or call  before Friday."),
    ],
)
def test_redact_styles(client: TestClient, auth: AuthFactory, style: str, expected: str) -> None:
    resp = client.post("/v1/redact", json={"text": TEXT, "style": style}, headers=auth("support"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["text"] == expected
    assert body["redacted"] == 2
    assert body["categories"] == ["contact.email", "contact.phone"]


def test_redact_mask_and_hash_hide_the_value(client: TestClient, auth: AuthFactory) -> None:
    h = auth("support")
    masked = client.post("/v1/redact", json={"text": TEXT, "style": "mask"}, headers=h).json()
    assert EMAIL not in masked["text"] and "@" in masked["text"]
    first = client.post("/v1/redact", json={"text": TEXT, "style": "hash"}, headers=h).json()
    again = client.post("/v1/redact", json={"text": TEXT, "style": "hash"}, headers=h).json()
    assert first["text"] == again["text"]  # stable pseudonyms: joins still work
    assert EMAIL not in first["text"] and "<contact.email:" in first["text"]


def test_redact_only_some_categories(client: TestClient, auth: AuthFactory) -> None:
    resp = client.post(
        "/v1/redact",
        json={"text": TEXT, "categories": ["contact.phone"]},
        headers=auth("support"),
    )
    body = resp.json()
    assert EMAIL in body["text"] and "<contact.phone>" in body["text"]
    assert body["categories"] == ["contact.phone"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": TEXT, "style": "rot13"}, "invalid_input"),
        ({"text": "x\x00y"}, "binary_input"),
        ({"text": TEXT, "categories": ["contact.mail"]}, "unknown_category"),
    ],
)
def test_bad_redact_input(
    client: TestClient, auth: AuthFactory, body: dict[str, Any], code: str
) -> None:
    resp = client.post("/v1/redact", json=body, headers=auth("support"))
    _problem(resp, 422, code)
    assert EMAIL not in resp.text


def test_lone_surrogates_never_crash(client: TestClient, auth: AuthFactory) -> None:
    headers = {**auth("support"), "content-type": "application/json"}
    for path, raw in [
        ("/v1/redact", b'{"text": "a\\ud800b"}'),
        ("/v1/detect", b'{"text": "a\\ud800b"}'),
        ("/v1/detect/records", b'{"records": [{"k\\udfff": "v"}]}'),
    ]:
        resp = client.post(path, content=raw, headers=headers)
        assert resp.status_code in (200, 422), (path, resp.text)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(max_size=200))
def test_any_text_gives_spans_inside_it_or_a_422(
    client: TestClient, auth: AuthFactory, text: str
) -> None:
    resp = client.post("/v1/detect", json={"text": text}, headers=auth("support"))
    assert resp.status_code in (200, 422), resp.text
    if resp.status_code == 200:
        for f in resp.json()["findings"]:
            assert 0 <= f["start"] < f["end"] <= len(text)
