"""The client's address, decided once per request, before anything counts or records it.

``ClientAddress`` is the outermost middleware: it resolves the client (``futago.security.proxies``: the peer,
or behind a trusted proxy the hop it forwarded for) and the scheme, and writes them into the ASGI scope, so that
the refusal budget, the failed-key budget, the audit and ``request.client`` all see the same address.
``client_address`` is how code reads it; nothing else reads ``X-Forwarded-*``. uvicorn's own proxy handling
(which believes any loopback peer) is off (``futago.api.serving.uvicorn_options``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from futago.security.proxies import TrustedProxies


def client_address(scope: Mapping[str, Any]) -> str | None:
    """The client's address of a request (an ASGI scope or a Starlette Request), as ClientAddress decided it."""
    client = scope.get("client")
    return str(client[0]) if client else None


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", ()) if key == name]


class ClientAddress:
    def __init__(self, app: ASGIApp, trusted_proxies: tuple[str, ...] = ()) -> None:
        self.app = app
        self.proxies = TrustedProxies(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.proxies:
            peer = scope.get("client")
            host = peer[0] if peer else None
            if self.proxies.trusts(host):
                client = self.proxies.client(host, _header_values(scope, b"x-forwarded-for"))
                port = peer[1] if peer and client == host else 0
                scheme = self.proxies.scheme(host, _header_values(scope, b"x-forwarded-proto"), scope["scheme"])
                if scope["type"] == "websocket":
                    scheme = scheme.replace("http", "ws")
                scope = {**scope, "client": (client, port), "scheme": scheme}
        await self.app(scope, receive, send)
