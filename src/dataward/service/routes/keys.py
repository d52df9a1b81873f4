"""API keys, for administrators: ``POST /v1/keys`` (the key is shown in that response only),
``GET /v1/keys``, ``DELETE /v1/keys/{key_id}`` (revoke). Every change is audited with the
administrator's key id as the actor."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from dataward.service.apikeys import ApiKey
from dataward.service.context import ServiceContext
from dataward.service.deps import Caller, get_context, requires
from dataward.service.roles import Permission

__all__ = ["ApiKeyOut", "CreateKeyRequest", "CreatedKey", "KeyList", "refine_openapi", "router"]

router = APIRouter(tags=["keys"])

KEY_ID_PATTERN: Final = r"^[0-9a-f]{12}$"
_EXAMPLE_KEY: JsonDict = {
    "id": "3f9a1c2b7d4e",
    "role": "support",
    "name": "helpdesk app",
    "created_at": "2026-11-29T08:00:00Z",
    "revoked_at": None,
    "created_by": "0a1b2c3d4e5f",
    "active": True,
}


class CreateKeyRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"role": "support", "name": "helpdesk app"}]},
    )

    role: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,63}$", description="A role of the policy, e.g. `support`."
    )
    name: str = Field(
        "",
        max_length=100,
        pattern=r"^[A-Za-z0-9 _.:-]*$",
        description="A label for people (which application holds the key).",
    )


class ApiKeyOut(BaseModel):
    """An API key's record; never its secret."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_KEY]})

    id: str = Field(description="The key id: the actor in the audit log.")
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    created_by: str | None = Field(description="The key id of the administrator who made it.")
    active: bool

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls.model_validate(key, from_attributes=True)


class CreatedKey(ApiKeyOut):
    """The new key: ``key`` is shown here once and never again (only a hash is stored)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_EXAMPLE_KEY, "key": "dw_3f9a1c2b7d4e_<secret>"}]}
    )

    key: str = Field(description="Send as `Authorization: Bearer <key>`. Shown once.")


class KeyList(BaseModel):
    keys: list[ApiKeyOut]


_ADMIN = Depends(requires(Permission.KEYS_MANAGE))


def refine_openapi(schema: dict[str, Any], ctx: ServiceContext | None) -> None:
    """Name the loaded policy's roles in the schema (the model accepts any well-formed name)."""
    if ctx is None:
        return
    models = schema.get("components", {}).get("schemas", {})
    if "CreateKeyRequest" in models:
        models["CreateKeyRequest"]["properties"]["role"]["enum"] = sorted(ctx.policy.roles)


@router.post("/v1/keys", status_code=201, response_model=CreatedKey, summary="Create an API key")
def create_key(
    body: CreateKeyRequest,
    caller: Caller = _ADMIN,
    ctx: ServiceContext = Depends(get_context),  # noqa: B008 - FastAPI's idiom
) -> CreatedKey:
    key, secret = ctx.keys.create(body.role, name=body.name, actor=caller.actor)
    return CreatedKey(**ApiKeyOut.of(key).model_dump(), key=secret)


@router.get("/v1/keys", response_model=KeyList, summary="List API keys (never their secrets)")
def list_keys(
    include_revoked: bool = Query(True, description="Also list revoked keys."),
    caller: Caller = _ADMIN,
    ctx: ServiceContext = Depends(get_context),  # noqa: B008
) -> KeyList:
    return KeyList(keys=[ApiKeyOut.of(k) for k in ctx.keys.list(include_revoked=include_revoked)])


@router.delete("/v1/keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key")
def revoke_key(
    key_id: str = Path(pattern=KEY_ID_PATTERN, description="The key's 12-hex id."),
    caller: Caller = _ADMIN,
    ctx: ServiceContext = Depends(get_context),  # noqa: B008
) -> ApiKeyOut:
    return ApiKeyOut.of(ctx.keys.revoke(key_id, actor=caller.actor))
