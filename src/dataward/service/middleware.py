"""The one (pure ASGI) middleware: body-size limit, access log, latency metrics, last-resort 500.

Pure ASGI on purpose: Starlette's ``BaseHTTPMiddleware`` runs the app in a task group with
memory streams and costs a large share of a fast endpoint's time.

- A ``Content-Length`` over ``config.max_body_bytes`` is answered 413 before anything is read;
  a body without one (chunked) is counted as it streams and cut off at the limit.
- One access-log line per request on the ``dataward.access`` logger: method, route TEMPLATE
  (never the raw path or query: they can hold values), status, milliseconds, the API key id.
  ``dataward serve`` writes these lines through a
  :class:`~dataward.service.logs.BatchingStreamHandler` (one write per batch, not per line).
- The latency histogram and request counter of :class:`~dataward.service.metrics.Metrics`.
- The ``direct`` routes (the decision point, see
  :class:`~dataward.service.routes.decide.DecideRoute`) are served from here, past the routing
  and exception layers below (they cost more than the decision itself), with the same problem
  mapping as the app's handlers.
- An exception that escapes the app becomes a 500 problem (logged by type only), so no
  traceback with request data reaches the server log.

"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, Protocol

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dataward.errors import DatawardError
from dataward.logging import SAFE_RECORD
from dataward.service.problems import (
    dataward_problem,
    http_problem,
    internal_problem,
    problem_response,
    validation_problem,
)

__all__ = [
    "ACCESS_LOGGER",
    "DirectRoute",
    "ServiceMiddleware",
]

ACCESS_LOGGER: Final = "dataward.access"
UNMATCHED: Final = "<unmatched>"
_access = logging.getLogger(ACCESS_LOGGER)
# built only from the method, the route template, the status, the time and the key id
_SAFE = {SAFE_RECORD: True}
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_log = logging.getLogger("dataward.service")
_perf = time.perf_counter


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the request body is over the limit of {limit} bytes")


class DirectRoute(Protocol):
    """A POST route the middleware serves itself: its template and its request handler."""

    @property
    def path(self) -> str: ...

    @property
    def handler(self) -> Callable[[Request], Awaitable[Response]]: ...


class ServiceMiddleware:
    """Wraps the whole app; reads its settings from ``app.state.dataward`` per request."""

    def __init__(self, app: ASGIApp, *, direct: Mapping[str, DirectRoute] | None = None) -> None:
        self.app = app
        self._direct = dict(direct or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = getattr(scope["app"].state, "dataward", None)
        if ctx is None:  # the lifespan has not opened the service (yet)
            await self.app(scope, receive, send)
            return
        start = _perf()
        limit: int = ctx.config.max_body_bytes
        status = 500
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
            await send(message)

        length = _content_length(scope)
        try:
            if length is not None and length > limit:
                status = 413
                await problem_response(
                    413, "payload_too_large", str(_too_large(limit).detail),
                    headers={"Connection": "close"},
                )(scope, receive, send)  # fmt: skip
                return
            inner_receive = receive if length is not None else _counting(receive, limit)
            direct = self._direct.get(scope["path"])
            if direct is not None and scope["method"] == "POST":
                scope["route"] = direct
                await _serve_direct(direct.handler, scope, inner_receive, send_wrapper)
            else:
                await self.app(scope, inner_receive, send_wrapper)
        except Exception as exc:
            _log.error("unhandled %s in %s %s", type(exc).__name__, scope["method"], _route(scope))
            if not started:
                await internal_problem()(scope, receive, send_wrapper)
        finally:
            elapsed = _perf() - start
            route = _route(scope)
            ctx.metrics.observe_request(scope["method"], route, status, elapsed)
            if ctx.config.access_log and _access.isEnabledFor(logging.INFO):
                state = scope.get("state")
                key_id = state.get("key_id", "-") if state else "-"
                method = scope["method"]
                # makeRecord + handle: Logger.info's work without its search of the call
                # stack for the caller's file and line (the access line does not show them)
                _access.handle(
                    _access.makeRecord(
                        ACCESS_LOGGER, logging.INFO, __file__, 0,
                        "%s %s %d %.1fms key=%s",
                        (method, route, status, elapsed * 1000, key_id),
                        None, extra=_SAFE if method in _METHODS else None,
                    )
                )  # fmt: skip


async def _serve_direct(
    handler: Callable[[Request], Awaitable[Response]], scope: Scope, receive: Receive, send: Send
) -> None:
    try:
        response = await handler(Request(scope, receive))
    except DatawardError as exc:
        response = dataward_problem(exc)
    except RequestValidationError as exc:
        response = validation_problem(exc)
    except HTTPException as exc:
        response = http_problem(exc)
    await response(scope, receive, send)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def _counting(receive: Receive, limit: int) -> Receive:
    """A ``receive`` that raises 413 once a streamed body passes ``limit`` bytes."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _too_large(limit)
        return message

    return counted
