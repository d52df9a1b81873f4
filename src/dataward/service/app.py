"""The FastAPI application: every router of :mod:`dataward.service.routes`, the problem+json
handlers, the service middleware and a complete OpenAPI schema.

``create_app(ctx)`` serves an already opened :class:`ServiceContext` (tests, embedding; the
caller closes it). ``create_app()`` opens one from settings, service configuration and
environment when the app starts (the lifespan) and closes it when the app stops.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi

from dataward.service.config import ServiceConfig, load_service_config
from dataward.service.context import ServiceContext
from dataward.service.middleware import ServiceMiddleware
from dataward.service.problems import PROBLEM_RESPONSES, Problem, install_problem_handlers
from dataward.service.routes import audit, cards, decide, detect, health, keys, policy, vault
from dataward.settings import Settings, load_settings

__all__ = ["TAGS", "create_app"]

TAGS: Final = [
    {"name": "decide", "description": "The policy decision point: may this role do this?"},
    {"name": "detect", "description": "Find and redact personal data in text and records."},
    {"name": "vault", "description": "Governed, encrypted storage of personal data."},
    {"name": "cards", "description": "Card intake: card data only travels to the processor."},
    {"name": "audit", "description": "The tamper-evident audit log: query, verify, prove."},
    {"name": "policy", "description": "The policy in force and its review status."},
    {"name": "keys", "description": "API keys (administrators)."},
    {"name": "health", "description": "Probes and Prometheus metrics."},
]

DESCRIPTION: Final = """\
dataward asks the policy before personal data is touched, stores it encrypted, and audits
every decision and action.

Every endpoint but the probes needs an API key: `Authorization: Bearer <key>` (create one with
`dataward keys create --role ROLE`). The key's role decides which endpoints it may call; each
data action then goes through the policy with that role and the declared purpose. Errors are
`application/problem+json` (RFC 9457) with a stable `code`; they never echo a personal value.
"""


_NO_TELEMETRY: Final = {
    "tracing": False, "metrics": False, "logs": False, "operation_spans": False,
    "auto_configure": False,
}  # fmt: skip


def create_app(
    context: ServiceContext | None = None,
    *,
    settings: Settings | None = None,
    config: ServiceConfig | None = None,
    environ: Mapping[str, str] | None = None,
) -> FastAPI:
    """The dataward HTTP API over ``context``, or over one opened when the app starts."""
    import dataward  # the package root imports the service: read the version at call time

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned: ServiceContext | None = None
        if getattr(app.state, "dataward", None) is None:
            s = settings or load_settings(environ=environ)
            c = config or load_service_config(s, environ=environ)
            owned = await anyio.to_thread.run_sync(ServiceContext.open, s, c, environ)
            app.state.dataward = owned
        try:
            yield
        finally:
            if owned is not None:
                await anyio.to_thread.run_sync(owned.close)
                app.state.dataward = None
            else:
                ctx: ServiceContext = app.state.dataward
                await anyio.to_thread.run_sync(ctx.decisions.flush)

    options: dict[str, Any] = {}
    if "telemetry" in inspect.signature(FastAPI).parameters:
        # FastAPI's own OpenTelemetry records validation failures and exception messages
        # (request data); the service's middleware and metrics say what leaves, nothing else.
        options["telemetry"] = _NO_TELEMETRY
    app = FastAPI(
        dependencies=[Depends(_query_guard())],
        title="dataward",
        version=dataward.__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        **options,
    )
    app.state.dataward = context
    install_problem_handlers(app)
    app.add_middleware(ServiceMiddleware, direct=decide.direct_routes())
    for module in (decide, detect, vault, cards, audit, policy, keys, health):
        app.include_router(module.router, responses=PROBLEM_RESPONSES)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _query_guard() -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing query parameters the endpoint does not declare (422; the names
    are not echoed: they are input too). The declared ones come from the OpenAPI schema."""
    declared: dict[tuple[str, str], frozenset[str]] = {}

    async def known_query_only(request: Request) -> None:
        if not request.scope.get("query_string"):
            return
        key = (getattr(request.scope.get("route"), "path", ""), request.method.lower())
        names = declared.get(key)
        if names is None:
            operation = request.app.openapi().get("paths", {}).get(key[0], {}).get(key[1], {})
            names = frozenset(
                p["name"] for p in operation.get("parameters", ()) if p.get("in") == "query"
            )
            declared[key] = names
        if any(name not in names for name in request.query_params):
            raise RequestValidationError(
                [{"type": "extra_forbidden", "loc": ("query",), "msg": "unknown query parameter"}]
            )

    return known_query_only


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the problem+json models the error responses refer to."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        defs = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(defs.pop("$defs", {}))
        components["Problem"] = defs
        ctx = getattr(app.state, "dataward", None)
        decide.refine_openapi(schema, ctx)
        keys.refine_openapi(schema, ctx)
        app.openapi_schema = schema
    return app.openapi_schema
