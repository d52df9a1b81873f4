"""The policy decision point: ``POST /v1/decide`` and ``POST /v1/decide/batch``.

The hot path of the service. ``async def`` (pure CPU: a table lookup, no thread-pool hop), no
database I/O per request (the key check is cached, the audit entry is queued for the group
commit of :class:`~dataward.service.decisions.DecisionRecorder`), and the JSON of each distinct
decision is built once and reused. The role is always the caller's.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Final, Literal, get_type_hints

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.config import JsonDict
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive

from dataward.errors import InputError, UnknownCategoryError
from dataward.policy.model import Decision
from dataward.service.context import ServiceContext
from dataward.service.decisions import decision_entry
from dataward.service.deps import Caller, authorize, bearer_token, requires
from dataward.service.problems import problem_response
from dataward.service.roles import Permission
from dataward.taxonomy import Action

__all__ = [
    "BatchRequest",
    "BatchResponse",
    "DecideRequest",
    "DecideResponse",
    "DecideRoute",
    "direct_routes",
    "refine_openapi",
    "router",
]


PURPOSE_PATTERN: Final = r"^[a-z][a-z0-9_]{0,63}$"
CATEGORY_PATTERN: Final = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"
RECIPIENT_PATTERN: Final = r"^[A-Za-z0-9_.:-]{1,128}$"
BATCH_LIMIT: Final = 10_000  # the schema's bound; the configured batch_max applies below it

_EXAMPLE: JsonDict = {"action": "use", "category": "contact.email", "purpose": "support"}


class DecideRequest(BaseModel):
    """One question to the policy: may the caller's role do ``action`` on ``category`` for
    ``purpose`` (and, for ``share``, to ``recipient``)?"""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                _EXAMPLE,
                {
                    "action": "share",
                    "category": "contact.postal_address",
                    "purpose": "billing",
                    "recipient": "card-processor",
                },
            ]
        },
    )

    action: Action = Field(description="One of the six actions of the agreement.")
    category: str = Field(
        max_length=128,
        pattern=CATEGORY_PATTERN,
        description="A category of the policy's taxonomy, e.g. `contact.email`.",
    )
    purpose: str = Field(
        pattern=PURPOSE_PATTERN, description="Why: a purpose of the policy, e.g. `support`."
    )
    recipient: str | None = Field(
        None,
        pattern=RECIPIENT_PATTERN,
        description="For `share`: the registered processor the data would go to.",
    )


class DecisionRetention(BaseModel):
    keep: str = Field(description="ISO-8601 duration in active storage, e.g. `P3Y`.")
    archive: str | None = Field(description="ISO-8601 duration in the archive, or null.")


class DecideResponse(BaseModel):
    """The policy's answer. Deny unless ``allowed``; the obligations bind the caller."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "allowed": True,
                    "effect": "allow",
                    "rule_id": "support-use-low",
                    "reason": "support may use client data to handle a support case",
                    "obligations": ["audit", "encrypt"],
                    "retention": {"keep": "P3Y", "archive": "P7Y"},
                    "policy_version": "2026.1",
                }
            ]
        }
    )

    allowed: bool
    effect: Literal["allow", "deny"]
    rule_id: str = Field(description="The rule (or built-in guard) that decided.")
    reason: str = Field(description="Why, in words (the rule's citation of the agreement).")
    obligations: list[str] = Field(
        description="What the caller must do: encrypt, hash, tokenize, mask, audit."
    )
    retention: DecisionRetention | None = Field(description="How long the data may be kept.")
    policy_version: str


class BatchRequest(BaseModel):
    """Several questions in one call (at most the service's `batch_max`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"requests": [_EXAMPLE, {"action": "use", "category": "card.cvv", "purpose": "billing"}]}
    ]})  # fmt: skip

    requests: list[DecideRequest] = Field(min_length=1, max_length=BATCH_LIMIT)


class BatchResponse(BaseModel):
    decisions: list[DecideResponse] = Field(description="One answer per request, in order.")


# --- the JSON of each distinct decision, built once -------------------------------------------

_CACHE_MAX: Final = 4096
_encoded: dict[Decision, bytes] = {}


def _encode(decision: Decision) -> bytes:
    data = _encoded.get(decision)
    if data is None:
        data = json.dumps(decision.to_dict(), separators=(",", ":")).encode("utf-8")
        if len(_encoded) < _CACHE_MAX:
            _encoded[decision] = data
    return data


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


# --- the endpoints -----------------------------------------------------------------------------


def _unknown(loc: str, exc: UnknownCategoryError) -> dict[str, str]:
    hint = f"; did you mean {', '.join(exc.suggestions)}?" if exc.suggestions else ""
    return {"loc": loc, "msg": f"not a category of the policy's taxonomy{hint}", "type": exc.code}


def _decide_all(
    ctx: ServiceContext, caller: Caller, items: Sequence[DecideRequest], locs: Sequence[str]
) -> tuple[list[Decision], list[dict[str, Any]], list[dict[str, str]]]:
    policy = ctx.policy
    decide = policy.decide
    class_of = policy.taxonomy.class_of
    purposes, recipients = policy.purposes, policy.processors
    count = ctx.metrics.count_decision
    decisions: list[Decision] = []
    entries: list[dict[str, Any]] = []
    bad: list[dict[str, str]] = []
    for item, loc in zip(items, locs, strict=True):
        try:
            d = decide(
                action=item.action,
                category=item.category,
                role=caller.role,
                purpose=item.purpose,
                recipient=item.recipient,
            )
        except UnknownCategoryError as exc:
            bad.append(_unknown(loc, exc))
            continue
        decisions.append(d)
        entries.append(
            decision_entry(
                key_id=caller.key_id, role=caller.role, category=item.category,
                purpose=item.purpose, recipient=item.recipient, decision=d,
                known_purposes=purposes, known_recipients=recipients,
            )
        )  # fmt: skip
    if not bad:
        for item, d in zip(items, decisions, strict=True):
            count(
                "allow" if d.allowed else "deny", class_of(item.category).value, item.action.value
            )
    return decisions, entries, bad


async def _record(ctx: ServiceContext, entries: list[dict[str, Any]]) -> None:
    if not ctx.decisions.offer(entries):  # the log is behind: wait for room off the event loop
        await anyio.to_thread.run_sync(ctx.decisions.put, entries)


def _invalid(bad: list[dict[str, str]]) -> Response:
    return problem_response(
        422, "unknown_category", "unknown category; see `errors` and GET /v1/policy", errors=bad
    )


# --- the fast route ----------------------------------------------------------------------------


async def _read_body(receive: Receive) -> bytes:
    """The whole request body (what ``Request.body`` reads, without its stream machinery)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect


_authorize = requires(Permission.DECIDE)
_DECIDER = Depends(_authorize)
Endpoint = Callable[..., Awaitable[Response]]


class DecideRoute(APIRoute):
    """Serves its endpoint without FastAPI's per-request dependency solving; the service
    middleware calls :attr:`handler` itself, past the routing layers (``create_app`` passes
    :func:`direct_routes`).

    The endpoint is declared as usual (body model, the ``requires`` dependency), so the OpenAPI
    schema is FastAPI's own; each request then runs the same steps directly: the ``Bearer`` key
    is read from the ASGI headers and :func:`~dataward.service.deps.authorize` (what the
    ``requires`` dependency runs) authenticates, rate-limits and checks the role; the body is
    read from ``receive`` and validated by pydantic in one pass from the raw bytes (errors as
    the usual 422); the context comes from the app.
    """

    handler: Callable[[Request], Coroutine[Any, Any, Response]]

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint: Endpoint = self.endpoint
        model: type[BaseModel] = get_type_hints(endpoint)["body"]

        async def handler(request: Request) -> Response:
            scope = request.scope
            raw = await _read_body(request.receive)
            ctx: ServiceContext = request.app.state.dataward
            caller = authorize(ctx, scope, bearer_token(scope["headers"]), Permission.DECIDE)
            if scope.get("query_string"):
                raise RequestValidationError(
                    [
                        {
                            "type": "extra_forbidden",
                            "loc": ("query",),
                            "msg": "unknown query parameter",
                        }
                    ]
                )
            if not raw:
                raise RequestValidationError(
                    [{"type": "missing", "loc": ("body",), "msg": "Field required"}]
                )
            try:
                body = model.model_validate_json(raw)
            except ValidationError as exc:
                raise RequestValidationError(
                    [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_input=False)]
                ) from None
            return await endpoint(body=body, request=request, caller=caller)

        self.handler = handler
        return handler


router = APIRouter(tags=["decide"], route_class=DecideRoute)


def refine_openapi(schema: dict[str, Any], ctx: ServiceContext | None) -> None:
    """Name the loaded policy's categories and the configured batch limit in the schema: the
    request models accept any well-formed name (a policy may add categories), the schema then
    says exactly which ones the service knows."""
    if ctx is None:
        return
    models = schema.get("components", {}).get("schemas", {})
    if "DecideRequest" in models:
        category = models["DecideRequest"]["properties"]["category"]
        category["enum"] = sorted(ctx.policy.taxonomy.categories)
    if "BatchRequest" in models:
        models["BatchRequest"]["properties"]["requests"]["maxItems"] = ctx.config.batch_max


def direct_routes() -> dict[str, DecideRoute]:
    """The decision routes by path, for :class:`~dataward.service.middleware.ServiceMiddleware`."""
    return {r.path: r for r in router.routes if isinstance(r, DecideRoute)}


@router.post(
    "/v1/decide",
    response_model=DecideResponse,
    summary="Ask the policy about one action",
    description="Allow or deny `action` on `category` for `purpose`, with the caller's role. "
    "Every decision is audited (actor: the API key's id).",
)
async def decide(
    body: DecideRequest,
    request: Request,
    caller: Caller = _DECIDER,
) -> Response:
    ctx: ServiceContext = request.app.state.dataward
    decisions, entries, bad = _decide_all(ctx, caller, (body,), ("body.category",))
    if bad:
        return _invalid(bad)
    await _record(ctx, entries)
    return _json(_encode(decisions[0]))


@router.post(
    "/v1/decide/batch",
    response_model=BatchResponse,
    summary="Ask the policy about several actions",
    description="One answer per request, in order; an unknown category fails the whole batch "
    "(422, with each bad position).",
)
async def decide_batch(
    body: BatchRequest,
    request: Request,
    caller: Caller = _DECIDER,
) -> Response:
    ctx: ServiceContext = request.app.state.dataward
    limit = ctx.config.batch_max
    if len(body.requests) > limit:
        msg = f"a batch holds at most {limit} requests; split it"
        return problem_response(
            422, InputError.code, msg,
            errors=[{"loc": "body.requests", "msg": msg, "type": "too_long"}],
        )  # fmt: skip
    locs = [f"body.requests.{i}.category" for i in range(len(body.requests))]
    decisions, entries, bad = _decide_all(ctx, caller, body.requests, locs)
    if bad:
        return _invalid(bad)
    await _record(ctx, entries)
    return _json(b'{"decisions":[' + b",".join(_encode(d) for d in decisions) + b"]}")
