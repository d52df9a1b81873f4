"""Request dependencies: the service context, and the caller (authenticated, rate-limited and
checked against the role table) for each endpoint's permission.

Routers declare ``caller: Caller = Depends(requires(Permission.VAULT_READ))`` and
``ctx: ServiceContext = Depends(get_context)``; nothing else reads the ``Authorization`` header.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dataward.errors import AccessDeniedError, AuthenticationError
from dataward.service.roles import Permission, allowed_roles, is_allowed
from dataward.vault import Actor

if TYPE_CHECKING:
    from dataward.service.context import ServiceContext

__all__ = ["BEARER", "Caller", "authorize", "bearer_token", "get_context", "requires"]

#: The one security scheme: ``Authorization: Bearer <key>`` (shown in the OpenAPI schema).
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    bearerFormat="dw_<id>_<secret>",
    description="An API key from `dataward keys create --role ROLE`.",
)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls: the API key's id (the actor in the audit log) and its role."""

    key_id: str
    role: str

    @property
    def actor(self) -> Actor:
        return Actor(self.key_id, self.role)


async def get_context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.dataward
    return ctx


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The key of the first ``Authorization`` header of ASGI ``headers`` when its scheme is
    ``Bearer`` (read as :data:`BEARER` reads it), else None."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, param = value.decode("latin-1").partition(" ")
            param = param.strip()
            return param if scheme and param and scheme.lower() == "bearer" else None
    return None


def authorize(
    ctx: ServiceContext, scope: MutableMapping[str, Any], token: str | None, permission: Permission
) -> Caller:
    """The caller whose key is ``token``: valid, within its rate, with a role allowed to use
    ``permission`` (the key id goes to the request's state, for the access log). Raises
    :class:`AuthenticationError` (401), :class:`RateLimitedError` (429) or
    :class:`AccessDeniedError` (403)."""
    if token is None:
        raise AuthenticationError(
            "this endpoint needs an API key: send 'Authorization: Bearer <key>' "
            "(create one with `dataward keys create --role ROLE`)"
        )
    key = ctx.keys.authenticate(token)
    scope.setdefault("state", {})["key_id"] = key.id
    ctx.limiter.check(key.id)
    if not is_allowed(permission, key.role, ctx.policy.roles):
        raise AccessDeniedError(
            f"role {key.role!r} may not use {permission.value!r}; roles allowed: "
            f"{', '.join(allowed_roles(permission, ctx.policy.roles)) or 'none'}",
            role=key.role,
        )
    return Caller(key.id, key.role)


def requires(
    permission: Permission,
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[Caller]]:
    """A dependency that admits a caller whose key is valid, within its rate, with a role
    allowed to use ``permission`` (see :func:`authorize`). Raises 401, 429 or 403 problems
    otherwise."""

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(BEARER),  # noqa: B008 - FastAPI's dependency idiom
    ) -> Caller:
        ctx: ServiceContext = request.app.state.dataward
        token = None
        if credentials is not None and credentials.scheme.lower() == "bearer":
            token = credentials.credentials
        return authorize(ctx, request.scope, token, permission)

    return dependency
