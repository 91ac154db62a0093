"""What a subscription's owner may see of an entity when a notification is made: the one visibility rule
(policies on twins, their properties and relationship targets) applied as the owner, not as whoever made the change.
The owner is kept with the subscription as a plain record (name, subjects, scopes, admin) so it outlives the
request that created it and reaches the leader of a cluster."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from futago.core.twins import Twin
from futago.security.service import Principal, SecurityService
from futago.security.views import without_properties
from futago.services.ngsild.mapping import EntityState
from futago.services.ngsild.service import NgsiLdService
from futago.services.ngsild.triggers import Delta, bare

Attrs = dict[str, list[dict[str, Any]]]  # instances by attribute IRI


def owner_of(principal: Principal | None) -> dict[str, Any]:
    """The record a subscription keeps of the principal that created it (no principal: the local administrator)."""
    if principal is None:
        return {"name": "local-admin", "subjects": [], "scopes": [], "admin": True}
    return {
        "name": principal.name,
        "subjects": list(principal.subjects),
        "scopes": sorted(principal.scopes),
        "admin": principal.admin,
    }


def tenant_of(twin_id: str) -> str:
    """The tenant a twin id names (``~tenant~id``); "" for the default tenant."""
    if not twin_id.startswith("~"):
        return ""
    end = twin_id.find("~", 1)
    return twin_id[1:end] if end > 0 else ""


def _principal(owner: dict[str, Any]) -> Principal:
    return Principal(str(owner.get("name", "")), tuple(owner.get("subjects", ())), frozenset(owner.get("scopes", ())))


def as_owner_sees(
    security: SecurityService | None, ngsild: NgsiLdService, record: dict[str, Any], tenant: str, twin: Twin
) -> EntityState | None:
    """The entity as the subscription's owner may read it now, or None."""
    owner = record.get("owner") or {}
    if owner.get("admin", False) or security is None:
        return ngsild.state_of(tenant or None, twin)
    principal = _principal(owner)

    def may(resource: str) -> bool:
        return security.allowed(principal, "READ", resource)

    resource = f"twins/{twin.id}"
    if not may(resource):
        return None
    if security.policies().restricted_below(principal.subjects, "READ", resource):
        twin = without_properties(twin, lambda name: not may(f"{resource}/properties/{name}"))
    return ngsild.state_of(tenant or None, twin, lambda target: may(f"twins/{target}"))


def gone_as_owner_sees(
    security: SecurityService | None, ngsild: NgsiLdService, record: dict[str, Any], twin_id: str, gone: Attrs
) -> Attrs:
    """Attributes (instances by IRI) that went from an entity, as its owner may be told of them: all of them for an
    administrator; where the policies restrict the twin's properties, none but relationships (which property was
    readable cannot be checked once it is gone); relationships only to twins the owner may read."""
    owner = record.get("owner") or {}
    if owner.get("admin", False) or security is None:
        return gone
    principal = _principal(owner)
    resource = f"twins/{twin_id}"
    if not security.allowed(principal, "READ", resource):
        return {}
    restricted = security.policies().restricted_below(principal.subjects, "READ", resource)
    tenant = tenant_of(twin_id) or None
    told: Attrs = {}
    for iri, instances in gone.items():
        kept = [
            i for i in instances
            if ("object" not in i and not restricted)
            or ("object" in i
                and security.allowed(principal, "READ", f"twins/{ngsild.tenant_twin_id(tenant, i['object'])}"))
        ]  # fmt: skip
        if kept:
            told[iri] = kept
    return told


def deleted_as_owner_sees(
    security: SecurityService | None, ngsild: NgsiLdService, record: dict[str, Any], twin_id: str, last: EntityState
) -> EntityState | None:
    """A deleted entity as its owner may read it (None: not at all): its id and type, and the attributes it had
    as ``gone_as_owner_sees`` tells them."""
    owner = record.get("owner") or {}
    if owner.get("admin", False) or security is None:
        return last
    if not security.allowed(_principal(owner), "READ", f"twins/{twin_id}"):
        return None
    shown = bare(last)
    shown.attrs = gone_as_owner_sees(security, ngsild, record, twin_id, last.attrs)
    return shown


def delta_as_owner_sees(delta: Delta, shown: EntityState, gone: Attrs) -> Delta:
    """A change as the owner may be told of it: created and updated attributes it may read now (in ``shown``),
    the deleted ones it may be told of (``gone``)."""
    if len(gone) == len(delta.deleted) and delta.touched - set(delta.deleted) <= set(shown.attrs):
        return delta
    readable = set(shown.attrs)
    return replace(delta, created=delta.created & readable, updated=delta.updated & readable, deleted=gone)
