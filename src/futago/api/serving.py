"""How the API is served over HTTP/1.1: uvicorn with bounded connections and a deadline for request headers.

uvicorn has no header timeout: a client that opens a connection and sends its headers a byte at a time
("slowloris"), or nothing at all, holds the connection for ever, and its ``limit_concurrency`` only answers 503
once headers are complete, so such connections pile up without bound. ``GuardedH11Protocol`` closes a
connection whose request headers are not complete within ``header_timeout_s`` (the first request and each
next one on a kept-alive connection), and closes at once any connection beyond ``limit_concurrency``.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    from futago.config import Settings

#: The largest request line plus headers read (h11's incomplete-event limit); a bigger head is refused.
MAX_HEADER_BYTES = 16 * 1024
_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and a hard cap on open connections."""

    def __init__(self, *args: Any, header_timeout_s: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.limit_concurrency is not None and len(self.connections) > self.limit_concurrency:
            # At the cap uvicorn answers 503; beyond it a connection is not even read, so idle ones cannot pile up.
            transport.close()
            return
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        if self._header_deadline is None and self.conn.their_state is h11.IDLE:
            self._await_headers()  # the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_complete()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _headers_complete(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.write(_TIMED_OUT)
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` / ``uvicorn.Config`` that bound what one client can hold open.

    The protocol is a partial (not a subclass made on the fly) so that ``futago serve --workers N`` can pickle
    it into its worker processes."""
    return {
        "http": functools.partial(GuardedH11Protocol, header_timeout_s=settings.header_timeout_s),
        "limit_concurrency": settings.max_connections or None,
        "timeout_keep_alive": settings.keep_alive_s,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        # uvicorn believes X-Forwarded-For from any loopback peer by default; futago believes only the proxies
        # named in [server] trusted_proxies (futago.api.clients)
        "proxy_headers": False,
    }
