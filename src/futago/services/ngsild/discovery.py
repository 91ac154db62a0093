"""Discovery (GS CIM 009 clauses 5.7.5 - 5.7.10): the entity types and attributes a tenant holds.

Computed from the tenant's twins as entities (every version of a derived model is one type), through the same
scan and visibility as queries: a caller sees the types and attributes of the entities it may read. The answers
name types and attributes by their expanded IRIs, the route compacts them with the caller's context.

A census is one pass over the tenant's twins; it is kept and answered again until the graph changes. Visibility
is per twin and per property (policies by path), which no store aggregate can apply, so the census is kept per
*reach* (``Access.reach``: equal for callers whose policies and scopes are the same) rather than computed once for
all. Any event that may change a twin, a relationship or a model (this process's, or another's arriving on the
bus) drops every kept census; a kept census is also dropped after ``MAX_AGE_S``, for writes that announce nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from futago.core.events import Event
from futago.core.twins import TwinScan
from futago.services.ngsild.attached import Attached
from futago.services.ngsild.querying import _states, twin_pages

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


MAX_AGE_S = 60.0
MAX_KEPT = 256  # censuses kept per service (tenants x reaches x types asked for)
# Events that change no twin, relationship or model: they leave a census as it is.
_UNCHANGING = ("telemetry.", "notification.", "alert.", "command.", "quality.", "behaviour.")


class _Kept:
    """The censuses of one service, dropped together when its graph changes."""

    def __init__(self, service: NgsiLdService) -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.censuses: dict[Hashable, tuple[int, float, Census]] = {}
        service.twins.bus.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if not event.type.startswith(_UNCHANGING):
            with self.lock:
                self.generation += 1
                self.censuses.clear()

    def get(self, key: Hashable) -> Census | None:
        with self.lock:
            found = self.censuses.get(key)
            if found is None or found[0] != self.generation or time.monotonic() - found[1] > MAX_AGE_S:
                return None
            return found[2]

    def put(self, key: Hashable, generation: int, census: Census) -> None:
        with self.lock:
            if generation == self.generation:  # else the graph changed while it was counted: not kept
                if len(self.censuses) >= MAX_KEPT:
                    self.censuses.pop(next(iter(self.censuses)))
                self.censuses[key] = (generation, time.monotonic(), census)


_kept_of: Attached[NgsiLdService, _Kept] = Attached(_Kept)  # one kept set per service


def census(
    service: NgsiLdService,
    tenant: str | None,
    readable: Readable,
    may_read_twin: Callable[[str], bool] | None,
    only_type: str | None = None,
    reach: Hashable | None = None,
) -> Census:
    """Every entity type and attribute of the tenant's readable entities (of ``only_type``'s models if given).
    ``reach``: what decides the caller's visibility (``Access.reach``); given, the census is kept for the next
    caller of the same reach until the graph changes. The answer is shared: read it, never change it."""
    if reach is None:
        return _count(service, tenant, readable, may_read_twin, only_type)
    kept = _kept_of(service)
    key = (tenant, reach, only_type)
    found = kept.get(key)
    if found is not None:
        return found
    generation = kept.generation  # read before counting: a change meanwhile keeps this census from being kept
    found = _count(service, tenant, readable, may_read_twin, only_type)
    kept.put(key, generation, found)
    return found


def _count(
    service: NgsiLdService,
    tenant: str | None,
    readable: Readable,
    may_read_twin: Callable[[str], bool] | None,
    only_type: str | None,
) -> Census:
    models = service._model_ids([only_type]) if only_type is not None else None
    found = Census()
    extra = frozenset([only_type]) if only_type is not None else None  # an entity's further types count too
    for page in twin_pages(service, tenant, TwinScan(model_ids=models), extra, None):
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
