"""The one dependency every route goes through: who is calling, for which resource and permission.

Today it authenticates an optional bearer token (mandatory once the server is bound beyond
loopback) and grants every authenticated caller. The security issue replaces ``grant`` with
per-twin policies, and ``shape_row`` with per-field filtering of query results; routes do
not change.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request

from futago.core.errors import FutagoError

Permission = Literal["READ", "WRITE", "COMMAND", "ADMIN"]


class Unauthorized(FutagoError):
    status = 401
    title = "Unauthorized"


@dataclass(frozen=True, slots=True)
class Access:
    caller: str
    permission: Permission
    resource: str

    def shape_row(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """Every query result row passes here; a policy may drop it or remove fields."""
        return row


def _authenticate(request: Request) -> str:
    token: str | None = request.app.state.settings.api_token
    if not token:
        return "local-admin"
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("send 'Authorization: Bearer <token>' with the API token configured for this server")
    return "token"


def require(permission: Permission, resource: str) -> Callable[[Request], Access]:
    """A dependency naming the permission and the resource; ``{name}`` is filled from path parameters."""

    def dependency(request: Request) -> Access:
        caller = _authenticate(request)
        request.state.caller = caller  # for the audit of this request
        return Access(caller, permission, resource.format(**request.path_params))

    return dependency
