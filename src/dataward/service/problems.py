"""Every error as problem+json (RFC 9457), with a stable ``code``; never an input value.

``{"type", "title", "status", "detail", "code"}``, plus ``errors: [{"loc", "msg", "type"}]`` for
422 (field paths like ``body.requests.0.category``, never the value that was sent), ``rule_id``
for a policy denial, ``retry_after`` (and the ``Retry-After`` header) for 429. The handlers:
:class:`DatawardError` (status and code from the class), request validation (FastAPI's default
echoes the input: not here), Starlette's HTTP errors (404, 405, ...), anything else (500 without
details; logged by type only).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from dataward.errors import (
    AccessDeniedError,
    DatawardError,
    PolicyDeniedError,
    RateLimitedError,
    UnknownCategoryError,
)

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_RESPONSES",
    "FieldError",
    "Problem",
    "dataward_problem",
    "field_problem",
    "http_problem",
    "install_problem_handlers",
    "internal_problem",
    "problem_response",
    "problem_type",
    "validation_problem",
]

_log = logging.getLogger("dataward.service")

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"

_HTTP_CODES: Final[Mapping[int, str]] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class FieldError(BaseModel):
    """One invalid field of a request: where, what is wrong; never the value sent."""

    loc: str = Field(description="Dotted path of the field, e.g. `body.requests.0.category`.")
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="A stable machine code for the kind of error.")


class Problem(BaseModel):
    """An error (RFC 9457 problem details). ``code`` is stable; branch on it, not on text."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:dataward:problem:policy_denied",
                    "title": "Forbidden",
                    "status": 403,
                    "detail": "the policy denies use of contact.email for role 'sales' and "
                    "purpose 'support' (rule sales-own-purpose): ...",
                    "code": "policy_denied",
                    "rule_id": "sales-own-purpose",
                }
            ]
        },
    )

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="The HTTP status phrase.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What happened and what to do; never a personal value.")
    code: str = Field(description="Stable machine-readable error code.")
    errors: list[FieldError] | None = Field(
        None, description="Invalid fields (422 only): paths and messages, never the values."
    )
    rule_id: str | None = Field(None, description="The policy rule that denied (403).")
    retry_after: float | None = Field(None, description="Seconds to wait before retrying (429).")


def problem_type(code: str) -> str:
    return f"urn:dataward:problem:{code}"


_PROBLEM_REF: Final = {"$ref": "#/components/schemas/Problem"}


def _doc(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}}


#: Documented on every endpoint (the router-level ``responses=`` of ``create_app``).
PROBLEM_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    401: _doc("No valid API key (`Authorization: Bearer <key>`)."),
    403: _doc("The key's role may not call this endpoint, or the policy denied the action."),
    413: _doc("The request body is over the size limit."),
    422: _doc("Invalid request: `errors` lists the fields (paths, never values)."),
    429: _doc("Over the key's rate limit; retry after `Retry-After` seconds."),
    "default": _doc("Any other error (404, 405, 500, 502, 503), as problem+json."),
}


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    errors: Sequence[Mapping[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": _title(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = list(errors)
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _loc(parts: Iterable[object]) -> str:
    return ".".join(str(p) for p in parts)


def field_problem(loc: Sequence[object], exc: DatawardError) -> Response:
    """A 422 for one bad field that the library (not the request schema) refused."""
    return problem_response(
        exc.http_status,
        exc.code,
        exc.message,
        errors=[{"loc": _loc(loc), "msg": exc.message, "type": exc.code}],
    )


def dataward_problem(exc: DatawardError) -> Response:
    headers: dict[str, str] | None = None
    extra: dict[str, Any] = {}
    if isinstance(exc, RateLimitedError):
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
        extra["retry_after"] = round(exc.retry_after, 3)
    elif isinstance(exc, PolicyDeniedError):
        extra["rule_id"] = exc.rule_id
    elif isinstance(exc, AccessDeniedError):
        extra["role"] = exc.role
    errors = None
    if isinstance(exc, UnknownCategoryError):
        errors = [{"loc": "category", "msg": exc.message, "type": exc.code}]
    if exc.http_status >= 500:
        _log.warning("answered %d %s", exc.http_status, exc.code)
    return problem_response(
        exc.http_status, exc.code, exc.message, errors=errors, headers=headers, **extra
    )


def validation_problem(exc: RequestValidationError) -> Response:
    """422 with each error's path, message and type; the input values are left out."""
    errors = []
    malformed = False
    for e in exc.errors():
        kind = str(e.get("type", "invalid"))
        malformed = malformed or kind == "json_invalid"
        msg = "the body is not valid JSON" if kind == "json_invalid" else str(e.get("msg", ""))
        errors.append({"loc": _loc(e.get("loc", ())), "msg": msg, "type": kind})
    detail = (
        "the request body is not valid JSON"
        if malformed
        else f"the request has {len(errors)} invalid field(s); see errors"
    )
    return problem_response(422, "invalid_input", detail, errors=errors)


def http_problem(exc: StarletteHTTPException) -> Response:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else _title(exc.status_code)
    if exc.status_code == 404:
        detail = "no such resource; see /docs for the API"
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(exc.status_code, code, detail, headers=headers)


def internal_problem() -> Response:
    return problem_response(
        500, "internal_error", "internal error; the service log has the error type"
    )


def _template(path: str) -> re.Pattern[str]:
    """``/v1/keys/{key_id}`` -> a pattern matching ``/v1/keys/<one segment>``."""
    return re.compile("[^/]+".join(re.escape(p) for p in re.split(r"\{[^}/]+\}", path)))


def _allowed_methods(app: FastAPI, path: str) -> str | None:
    for template, operations in app.openapi().get("paths", {}).items():
        if _template(template).fullmatch(path):
            return ", ".join(sorted(m.upper() for m in operations))
    return None


def install_problem_handlers(app: FastAPI) -> None:
    async def on_dataward(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, DatawardError)
        return dataward_problem(exc)

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return validation_problem(exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            # Starlette names only the first route of the path; list every documented method
            allowed = _allowed_methods(app, request.url.path)
            if allowed:
                exc.headers = {**(exc.headers or {}), "Allow": allowed}
        return http_problem(exc)

    async def on_other(request: Request, exc: Exception) -> Response:
        route = getattr(request.scope.get("route"), "path", "<unmatched>")
        _log.error("unhandled %s in %s %s", type(exc).__name__, request.method, route)
        return internal_problem()

    app.add_exception_handler(DatawardError, on_dataward)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_other)
