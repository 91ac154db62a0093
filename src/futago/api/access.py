"""The one dependency every route goes through: who is calling, for which resource and permission, and may they.

Authentication: a bearer API key (``fk_...``, see ``futago.security.service``), the configured bootstrap token
(``[server] api_token``, an administrator), or a dashboard session cookie (started with a key). Without
credentials, a server bound to loopback with no token and ``require_auth`` off runs in local admin mode;
otherwise it answers 401. Authorisation: the policy entries, default deny (403). Reads of twins are shaped by
the same policies: a twin the caller may not read is not there, and a property it may not read is left out
(``Access.readable``; the query runs over ``ReadableGraph``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request

from futago.core.errors import Forbidden, Unauthorized
from futago.core.twins import Twin
from futago.security.oidc import OidcVerifier
from futago.security.service import BOOTSTRAP_TOKEN, KEY_PREFIX, LOCAL_ADMIN, Principal, SecurityService
from futago.security.views import ReadableGraph, without_properties

Permission = Literal["READ", "WRITE", "COMMAND", "ADMIN"]
SESSION_COOKIE = "futago_session"  # the dashboard's: HttpOnly, SameSite=Strict (api/security.py)

__all__ = ["Access", "Forbidden", "Permission", "Unauthorized", "require"]


@dataclass(frozen=True, slots=True)
class Access:
    principal: Principal
    permission: Permission
    resource: str
    security: SecurityService

    @property
    def caller(self) -> str:
        return self.principal.name

    def may(self, permission: str, resource: str) -> bool:
        return self.security.allowed(self.principal, permission, resource)

    def readable(self, twin: Twin) -> Twin | None:
        """The twin as this caller may see it, or None."""
        if self.principal.admin:
            return twin
        resource = f"twins/{twin.id}"
        if not self.may("READ", resource):
            return None
        if not self.security.policies().restricted_below(self.principal.subjects, "READ", resource):
            return twin
        return without_properties(twin, lambda name: not self.may("READ", f"{resource}/properties/{name}"))

    def graph(self, app: Any) -> Any:
        """The twin graph as this caller may read it (the store itself for an administrator)."""
        return None if self.principal.admin else ReadableGraph(app.store, self.readable)

    def shape_row(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """A twin document (``$dtId``) as this caller may see it; rows come from a ReadableGraph already."""
        if self.principal.admin or "$dtId" not in row:
            return row
        resource = f"twins/{row['$dtId']}"
        if not self.may("READ", resource):
            return None
        telemetry = self.may("READ", f"{resource}/telemetry")  # $telemetry: the latest readings

        def shown(key: str) -> bool:
            if key == "$telemetry":
                return telemetry
            return key.startswith("$") or key == "geometry" or self.may("READ", f"{resource}/properties/{key}")

        return {k: v for k, v in row.items() if shown(k)}


def _oidc(request: Request) -> OidcVerifier | None:
    """The server's OIDC verifier (its JWKS cache lives as long as the server), when an issuer is configured."""
    state = request.app.state
    settings = state.settings
    if not settings.oidc_issuer:
        return None
    verifier: OidcVerifier | None = getattr(state, "oidc", None)
    if verifier is None or verifier.issuer != settings.oidc_issuer:
        if not settings.oidc_audience:
            raise Unauthorized("OIDC is configured without an audience ([oidc] audience): tokens cannot be checked")
        verifier = state.oidc = OidcVerifier(
            settings.oidc_issuer, settings.oidc_audience, settings.oidc_jwks_url, settings.oidc_leeway_s
        )
    return verifier


def _authenticate(request: Request) -> Principal:
    settings = request.app.state.settings
    security: SecurityService = request.app.state.futago.security
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        session = request.cookies.get(SESSION_COOKIE)
        principal = security.session(session) if session else None
        if principal is not None:
            return principal
        if not settings.auth_required:
            return LOCAL_ADMIN
        raise Unauthorized("send 'Authorization: Bearer <API key>' (futago keys create) or the configured API token")
    token: str | None = settings.api_token
    if token and hmac.compare_digest(given.encode(), token.encode()):
        return BOOTSTRAP_TOKEN
    if given.startswith(KEY_PREFIX):
        return security.authenticate_key(given)
    verifier = _oidc(request)
    if verifier is not None and given.count(".") == 2:
        return verifier.authenticate(given)
    raise Unauthorized("the bearer credential is neither an API key (fk_...), an OIDC token, nor the API token")


def require(permission: Permission, resource: str) -> Callable[[Request], Access]:
    """A dependency naming the permission and the resource; ``{name}`` is filled from path parameters."""

    def dependency(request: Request) -> Access:
        principal = _authenticate(request)
        request.state.caller = principal.name  # for the audit of this request
        security: SecurityService = request.app.state.futago.security
        target = resource.format(**request.path_params)
        security.check(principal, permission, target)
        return Access(principal, permission, target, security)

    return dependency
