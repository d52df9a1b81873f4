"""The audit log over HTTP: query with paging, verify, checkpoints, proofs, public keys."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient

from dataward.audit import Checkpoint, verify_consistency, verify_inclusion

from .conftest import AuthFactory

EMAIL = "jane.doe@example.com"


def _problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    assert body["code"] == code, body
    return body


def _activity(client: TestClient, auth: AuthFactory, subjects: int = 3) -> None:
    support = auth("support")
    for i in range(subjects):
        resp = client.post(
            f"/v1/subjects/cust-{i}/fields",
            json={"purpose": "support", "fields": [{"field": "email", "value": EMAIL}]},
            headers=support,
        )
        assert resp.status_code == 201, resp.text


READS = [
    ("GET", "/v1/audit/entries"),
    ("POST", "/v1/audit/verify"),
    ("GET", "/v1/audit/checkpoints"),
    ("GET", "/v1/audit/proofs/inclusion/1"),
    ("GET", "/v1/audit/proofs/consistency?first=1"),
    ("GET", "/v1/audit/keys"),
]


@pytest.mark.parametrize("role", ["auditor", "dpm", "admin"])
def test_audit_readers(client: TestClient, auth: AuthFactory, role: str) -> None:
    _activity(client, auth, 1)
    headers = auth(role)
    for method, path in READS:
        resp = client.request(method, path, headers=headers)
        assert resp.status_code == 200, (path, resp.text)
        assert EMAIL not in resp.text


@pytest.mark.parametrize("role", ["service", "support", "billing", "sales", "authentication"])
def test_data_roles_may_not_read_the_log(client: TestClient, auth: AuthFactory, role: str) -> None:
    headers = auth(role)
    for method, path in [*READS, ("POST", "/v1/audit/checkpoints")]:
        _problem(client.request(method, path, headers=headers), 403, "role_not_allowed")


@pytest.mark.parametrize("role", ["auditor", "dpm"])
def test_only_admins_sign_checkpoints(client: TestClient, auth: AuthFactory, role: str) -> None:
    _problem(client.post("/v1/audit/checkpoints", headers=auth(role)), 403, "role_not_allowed")


def test_entries_page_and_filter(client_any: TestClient, auth_any: AuthFactory) -> None:
    _activity(client_any, auth_any, 3)
    auditor = auth_any("auditor")
    seen: list[int] = []
    after = 0
    for _ in range(50):
        page = client_any.get(
            f"/v1/audit/entries?limit=2&after_seq={after}", headers=auditor
        ).json()
        assert len(page["entries"]) <= 2
        seen.extend(e["seq"] for e in page["entries"])
        if page["next_after_seq"] is None:
            break
        after = page["next_after_seq"]
    assert seen == sorted(set(seen)) and len(seen) >= 3

    one = client_any.get("/v1/audit/entries?subject_ref=cust-1", headers=auditor).json()["entries"]
    assert [(e["action"], e["subject_ref"], e["categories"]) for e in one] == [
        ("store", "cust-1", ["contact.email"])
    ]
    entry = one[0]
    assert entry["actor_role"] == "support" and entry["purpose"] == "support"
    assert entry["decision"]["allowed"] is True and entry["decision"]["rule_id"]
    assert len(entry["entry_hash"]) == 64

    stores = client_any.get(
        "/v1/audit/entries?action=store&category=contact.email", headers=auditor
    ).json()["entries"]
    assert len(stores) == 3
    late = client_any.get("/v1/audit/entries?since=2999-01-01T00:00:00Z", headers=auditor).json()
    assert late == {"entries": [], "next_after_seq": None}


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=1001", "after_seq=-1", "category=Contact", "since=yesterday",
     "subject_ref=jane@example.com", "since=0001-01-01T00:00:00%2B01:00"],
)  # fmt: skip
def test_bad_filters_are_422(client: TestClient, auth: AuthFactory, query: str) -> None:
    resp = client.get(f"/v1/audit/entries?{query}", headers=auth("auditor"))
    _problem(resp, 422, "invalid_input")


def test_verify_checkpoint_keys_and_proofs(client_any: TestClient, auth_any: AuthFactory) -> None:
    _activity(client_any, auth_any, 3)
    auditor, admin = auth_any("auditor"), auth_any("admin")
    made = client_any.post("/v1/audit/checkpoints", headers=admin)
    assert made.status_code == 201, made.text
    cp = made.json()
    assert cp["tree_size"] >= 3

    listed = client_any.get("/v1/audit/checkpoints", headers=auditor).json()["checkpoints"]
    assert listed[-1] == cp

    keys = {
        k["key_id"]: k for k in client_any.get("/v1/audit/keys", headers=auditor).json()["keys"]
    }
    key = keys[cp["key_id"]]
    raw = base64.b64decode(key["public_key"])
    assert raw.hex() == key["public_key_hex"]
    signed = Checkpoint(
        cp["tree_size"], bytes.fromhex(cp["root_hash"]), cp["time"], cp["key_id"],
        base64.b64decode(cp["signature"]),
    )  # fmt: skip
    assert signed.signature_valid(Ed25519PublicKey.from_public_bytes(raw))
    assert bytes.fromhex(cp["signature_hex"]) == signed.signature

    result = client_any.post("/v1/audit/verify", headers=auditor).json()
    assert result["ok"] is True and result["first_bad_seq"] is None
    assert result["entries"] >= cp["tree_size"] and result["checkpoints"] >= 1

    size = cp["tree_size"]
    inc = client_any.get(f"/v1/audit/proofs/inclusion/2?size={size}", headers=auditor).json()
    assert inc["root"] == cp["root_hash"]
    assert verify_inclusion(
        1, size, bytes.fromhex(inc["leaf_hash"]), [bytes.fromhex(h) for h in inc["path"]],
        bytes.fromhex(inc["root"]),
    )  # fmt: skip
    con = client_any.get(f"/v1/audit/proofs/consistency?first=1&second={size}", headers=auditor)
    proof = con.json()
    assert proof["second_root"] == cp["root_hash"]
    assert verify_consistency(
        1, size, bytes.fromhex(proof["first_root"]), bytes.fromhex(proof["second_root"]),
        [bytes.fromhex(h) for h in proof["path"]],
    )  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [
        "/v1/audit/proofs/inclusion/0",
        "/v1/audit/proofs/inclusion/999999",
        "/v1/audit/proofs/inclusion/1?size=999999",
        "/v1/audit/proofs/inclusion/x",
        "/v1/audit/proofs/consistency",
        "/v1/audit/proofs/consistency?first=0",
        "/v1/audit/proofs/consistency?first=5&second=2",
        "/v1/audit/proofs/consistency?first=1&second=999999",
    ],
)
def test_impossible_proofs_are_422(client: TestClient, auth: AuthFactory, path: str) -> None:
    _activity(client, auth, 1)
    _problem(client.get(path, headers=auth("auditor")), 422, "invalid_input")
