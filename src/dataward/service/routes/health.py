"""Probes and metrics: ``GET /healthz`` (the process is up), ``GET /readyz`` (the database and,
when configured, the card processor are reachable), ``GET /metrics`` (Prometheus text).

The probes answer without an API key when ``open_probes`` is set (orchestrators have none);
otherwise they need a key with the ``metrics`` permission, like ``/metrics`` always does.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import Response

from dataward.service.context import ServiceContext
from dataward.service.deps import BEARER, Caller, get_context, requires
from dataward.service.metrics import CONTENT_TYPE
from dataward.service.problems import problem_response
from dataward.service.roles import Permission

__all__ = ["Health", "Readiness", "router"]

router = APIRouter(tags=["health"])

PROBE_TIMEOUT: Final = 2.0
_metrics_caller = requires(Permission.METRICS)


async def probe_caller(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(BEARER),  # noqa: B008 - FastAPI's idiom
) -> Caller | None:
    """No key needed when the probes are open; else the ``metrics`` permission."""
    if (await get_context(request)).config.open_probes:
        return None
    return await _metrics_caller(request, credentials)


class Health(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"status": "ok"}]}}

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {"status": "ready", "checks": {"database": "ok", "processor": "not configured"}}
            ]
        }
    }

    status: Literal["ready"] = "ready"
    checks: dict[str, str] = Field(description="Each dependency and its state.")


#: The probes work with or without a key (``open_probes``): both are documented.
_OPTIONAL_KEY: Final[dict[str, Any]] = {"security": [{}, {"ApiKey": []}]}


@router.get(
    "/healthz",
    response_model=Health,
    summary="Liveness: the process answers",
    openapi_extra=_OPTIONAL_KEY,
)
async def healthz(_: Caller | None = Depends(probe_caller)) -> Health:  # noqa: B008
    return Health()


def _database_ok(ctx: ServiceContext) -> bool:
    try:
        with ctx.vault.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


async def _processor_state(ctx: ServiceContext) -> str:
    if ctx.processor_address is None:
        return "not configured" if ctx.cards is None else "ok"
    host, port = ctx.processor_address
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), PROBE_TIMEOUT)
    except (OSError, TimeoutError):
        return "unreachable"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return "ok"


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: the database and the card processor are reachable",
    openapi_extra=_OPTIONAL_KEY,
)
async def readyz(
    _: Caller | None = Depends(probe_caller),  # noqa: B008
    ctx: ServiceContext = Depends(get_context),  # noqa: B008
) -> Response | Readiness:
    checks = {
        "database": "ok" if await anyio.to_thread.run_sync(_database_ok, ctx) else "unreachable",
        "processor": await _processor_state(ctx),
    }
    if any(v == "unreachable" for v in checks.values()):
        down = ", ".join(k for k, v in checks.items() if v == "unreachable")
        return problem_response(503, "not_ready", f"unreachable: {down}", checks=checks)
    return Readiness(checks=checks)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}},
)
async def metrics(
    _: Caller = Depends(requires(Permission.METRICS)),  # noqa: B008
    ctx: ServiceContext = Depends(get_context),  # noqa: B008
) -> Response:
    return Response(ctx.metrics.exposition(), media_type=CONTENT_TYPE)
