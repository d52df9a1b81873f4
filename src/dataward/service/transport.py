"""One ``send`` per HTTP answer: uvicorn's httptools protocol with a coalescing transport.

uvicorn writes a response's status line and headers as soon as the app starts its answer, then
the body: two ``send`` system calls, and two segments for the client to read, per answer.
:class:`HttpProtocol` (given to uvicorn as its ``http`` class) wraps each connection's transport
in a :class:`CoalescingTransport` that sends the head together with the body.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["CoalescingTransport", "HttpProtocol"]


class CoalescingTransport:
    """A transport that sends a response's head together with its body.

    uvicorn writes the status line and headers when the app starts its response, then the
    body: two ``send`` system calls (and two segments for the client to read) per answer.
    This holds the head until the next write, or until the event loop's next turn when no
    body follows at once (``HEAD``, ``100 Continue``): one ``send`` for a typical answer,
    bytes and order unchanged. Everything else goes to the real transport.
    """

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + bytes(data))
        elif isinstance(data, bytes) and data.startswith(b"HTTP/") and data.endswith(b"\r\n\r\n"):
            self._held = data
            self._loop.call_soon(self._flush)
        else:
            self._transport.write(data)

    def _flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing each answer with one ``send``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = cast(asyncio.Transport, CoalescingTransport(transport, self.loop))
