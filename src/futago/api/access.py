"""The one dependency every route goes through: who is calling, for which resource and permission, and may they.

Authentication: a bearer API key (``fk_...``, see ``futago.security.service``), the configured bootstrap token
(``[server] api_token``, an administrator), or a dashboard session cookie (started with a key). Without
credentials, a server bound to loopback with no token and ``require_auth`` off runs in local admin mode;
otherwise it answers 401. Authorisation: the policy entries, default deny (403). Reads of twins are shaped by
the same policies: a twin the caller may not read is not there, and a property it may not read is left out
(``Access.readable``; the query runs over ``ReadableGraph``). Whatever else is about a twin (alerts, commands,
deliveries, behaviour runs, events) is shown only to a caller who may read all it is about (``Access.may_see``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from fastapi import Request

from futago.api.clients import client_address
from futago.api.providers import security_service
from futago.core.errors import Forbidden, NotFound, Unauthorized
from futago.core.events import twin_resource
from futago.core.secrets import Secret
from futago.core.twins import Twin
from futago.security.oidc import OidcVerifier
from futago.security.service import BOOTSTRAP_TOKEN, KEY_PREFIX, LOCAL_ADMIN, Principal, SecurityService
from futago.security.views import ReadableGraph, without_properties

if TYPE_CHECKING:
    from futago.core.ports import TwinStore
    from futago.services.twins import TwinService

Permission = Literal["READ", "WRITE", "COMMAND", "ADMIN"]
ADMIN_REACH = "admin"  # Access.reach() of an administrator, who reads everything
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

    def may_see(self, resources: Iterable[str]) -> bool:
        """Whether this caller may see an item or event about ``resources`` (policy paths, as core.events names
        them: ``twins/<id>``, ``alerts/<id>``, ...): only if it may READ each of them. The one rule for what leaves
        the server, REST items and SSE events alike; an item that names nothing is for administrators (fail closed)."""
        if self.principal.admin:
            return True
        named = tuple(resources)
        return bool(named) and all(self.may("READ", resource) for resource in named)

    def must_see(self, resources: Iterable[str], missing: str) -> None:
        """A 404 in the words of one that does not exist (``missing``) for an item this caller may not see, so
        that naming a hidden item tells nothing a made-up id would not."""
        if not self.may_see(resources):
            raise NotFound(missing)

    def may_read_twin(self, twin_id: str) -> bool:
        """Whether this caller may read the twin: what GET /twins/{id} asks, for a twin named by another resource."""
        return self.may("READ", twin_resource(twin_id))

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

    def reach(self) -> Hashable:
        """What decides this caller's answers: equal for two callers whose policies and scopes are the same, so
        that what is derived from the twins it may read (tiles) is cached per reach, never shared across reaches."""
        if self.principal.admin:
            return ADMIN_REACH
        by_subject = self.security.policies().by_subject
        entries = frozenset(
            (e.resource, e.permissions, e.effect) for s in self.principal.subjects for e in by_subject.get(s, ())
        )
        return (self.principal.scopes, entries)

    def graph(self, twins: TwinService) -> TwinStore | ReadableGraph | None:
        """The twin graph as this caller may read it; None for an administrator, who reads the whole graph."""
        return None if self.principal.admin else twins.graph(self.readable)

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
    security = security_service(request)
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
    token: Secret[str] | None = settings.api_token
    if token and hmac.compare_digest(given.encode(), token.reveal().encode()):
        return BOOTSTRAP_TOKEN
    if given.startswith(KEY_PREFIX):
        return security.authenticate_key(given, client_address(request))
    verifier = _oidc(request)
    if verifier is not None and given.count(".") == 2:
        return verifier.authenticate(given)
    raise Unauthorized("the bearer credential is neither an API key (fk_...), an OIDC token, nor the API token")


def require(permission: Permission, resource: str) -> Callable[[Request], Access]:
    """A dependency naming the permission and the resource; ``{name}`` is filled from path parameters."""

    def dependency(request: Request) -> Access:
        principal = _authenticate(request)
        request.state.caller = principal.name  # for the audit of this request
        security = security_service(request)
        target = resource.format(**request.path_params)
        security.check(principal, permission, target)
        return Access(principal, permission, target, security)

    return dependency
