"""Security headers on every answer, and a content security policy for the dashboard.

The dashboard's policy allows only this server (and the base-map tile server, when one is configured): no inline
script, no eval, no framing. The API's JSON answers get the generic headers only, so that /docs keeps working.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

GENERIC = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


def dashboard_policy(base_tiles: str | None) -> str:
    tiles = ""
    if base_tiles:
        parts = urlsplit(base_tiles.replace("{", "").replace("}", ""))
        tiles = f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src 'self' blob:; "
        f"img-src 'self' data: blob:{tiles}; connect-src 'self'{tiles}; style-src 'self' 'unsafe-inline'; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, base_tiles: str | None = None) -> None:
        self.app = app
        self.csp = dashboard_policy(base_tiles).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        dashboard = path == "/" or path.startswith("/static/")
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [*GENERIC]
                if dashboard:
                    extra.append((b"content-security-policy", self.csp))
                if https:
                    extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
