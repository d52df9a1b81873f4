"""/v1/keys: administrators create (the key shown once), list and revoke API keys."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dataward.service.context import ServiceContext

from .conftest import AuthFactory

DECIDE = {"action": "use", "category": "contact.email", "purpose": "support"}


def test_create_list_revoke(client_any: TestClient, auth_any: AuthFactory) -> None:
    admin = auth_any("admin")
    r = client_any.post("/v1/keys", json={"role": "support", "name": "helpdesk"}, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["role"] == "support" and created["name"] == "helpdesk"
    assert created["active"] is True and created["revoked_at"] is None
    key = created["key"]
    assert key.startswith(f"dw_{created['id']}_")

    # the new key works, with its own role
    use = {"Authorization": f"Bearer {key}"}
    assert client_any.post("/v1/decide", json=DECIDE, headers=use).json()["allowed"] is True

    listed = client_any.get("/v1/keys", headers=admin).json()["keys"]
    mine = next(k for k in listed if k["id"] == created["id"])
    assert "key" not in mine
    assert key not in str(listed)

    revoked = client_any.delete(f"/v1/keys/{created['id']}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    assert client_any.post("/v1/decide", json=DECIDE, headers=use).status_code == 401

    active = client_any.get("/v1/keys?include_revoked=false", headers=admin).json()["keys"]
    assert created["id"] not in {k["id"] for k in active}


def test_key_changes_are_audited_with_the_admin_as_actor(
    client: TestClient, service_ctx: ServiceContext
) -> None:
    admin, secret = service_ctx.keys.create("admin")
    headers = {"Authorization": f"Bearer {secret}"}
    created = client.post("/v1/keys", json={"role": "billing"}, headers=headers).json()
    client.delete(f"/v1/keys/{created['id']}", headers=headers)
    actions = [e.action for e in service_ctx.audit.query(actor_id=admin.id)]
    assert len(actions) >= 2


@pytest.mark.parametrize("role", ["support", "dpm", "auditor", "service"])
def test_only_admins_manage_keys(client: TestClient, auth: AuthFactory, role: str) -> None:
    headers = auth(role)
    assert client.get("/v1/keys", headers=headers).status_code == 403
    assert client.post("/v1/keys", json={"role": "admin"}, headers=headers).status_code == 403
    assert client.delete("/v1/keys/0123456789ab", headers=headers).status_code == 403


def test_bad_requests(client: TestClient, auth: AuthFactory) -> None:
    admin = auth("admin")
    unknown = client.post("/v1/keys", json={"role": "overlord"}, headers=admin)
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"
    bad_id = client.delete("/v1/keys/not-an-id", headers=admin)
    assert bad_id.status_code == 422
    assert bad_id.json()["errors"][0]["loc"] == "path.key_id"
    missing = client.delete("/v1/keys/0123456789ab", headers=admin)
    assert missing.status_code == 404
