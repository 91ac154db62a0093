"""Discovery (GS CIM 009 clauses 5.7.5 - 5.7.10): the entity types and attributes a tenant holds.

Computed from the tenant's twins as entities (every version of a derived model is one type), through the same
scan and visibility as queries: a caller sees the types and attributes of the entities it may read. One pass over
the tenant's twins per request; the answers name types and attributes by their expanded IRIs, the route compacts
them with the caller's context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from futago.core.twins import TwinScan
from futago.services.ngsild.querying import _pages, _states

if TYPE_CHECKING:
    from futago.services.ngsild.service import NgsiLdService, Readable


@dataclass
class TypeInfo:
    count: int = 0
    attributes: dict[str, set[str]] = field(default_factory=dict)  # attribute IRI -> attribute types


@dataclass
class AttributeInfo:
    count: int = 0  # instances of it over all entities
    types: set[str] = field(default_factory=set)  # entity type IRIs having it
    kinds: set[str] = field(default_factory=set)  # Property, Relationship, ...


@dataclass
class Census:
    types: dict[str, TypeInfo] = field(default_factory=dict)
    attributes: dict[str, AttributeInfo] = field(default_factory=dict)


def census(
    service: NgsiLdService,
    tenant: str | None,
    readable: Readable,
    may_read_twin: Callable[[str], bool] | None,
    only_type: str | None = None,
) -> Census:
    """Every entity type and attribute of the tenant's readable entities (of ``only_type``'s models if given)."""
    models = service._model_ids([only_type]) if only_type is not None else None
    found = Census()
    if models is not None and not models:
        return found
    for page in _pages(service, tenant, TwinScan(model_ids=models), None):
        shown = [t for t in (readable(twin) for twin in page) if t is not None]
        for state in _states(service, tenant, shown, may_read_twin):
            for type_iri in (state.type, *state.extra_types):
                info = found.types.setdefault(type_iri, TypeInfo())
                info.count += 1
                for iri, instances in state.attrs.items():
                    info.attributes.setdefault(iri, set()).update(str(i.get("type")) for i in instances)
            for iri, instances in state.attrs.items():
                attribute = found.attributes.setdefault(iri, AttributeInfo())
                attribute.count += len(instances)
                attribute.types.update((state.type, *state.extra_types))
                attribute.kinds.update(str(i.get("type")) for i in instances)
    return found
