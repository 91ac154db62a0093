"""Running an NGSI-LD query: narrow in the store, decide exactly, page.

What the store can narrow by goes down with the scan (``TwinScan``): the models of the types named (every
version of a derived model, every descendant of an uploaded one), the tenant's id range, ids, a bounding box for
a geo-query on ``location`` (the twin's spatially indexed geometry), and the top-level comparisons of ``q`` on
Properties that every candidate model declares with a scalar schema (``PropertyFilter``: a store may keep extra
rows, never lose one). Everything is then decided exactly on each candidate, cheapest test first: the geometry
on the twin itself, then the entity (built with its relationships, fetched once per page of twins).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from futago.core.twin_rules import NGSILD_META as META
from futago.core.twins import PropertyFilter, Twin, TwinScan
from futago.services.ngsild.attributes import LOCATION
from futago.services.ngsild.geoquery import GeoQuery, geo_value
from futago.services.ngsild.mapping import EntityState, from_twin
from futago.services.ngsild.qlang import DateTimeValue, Node, Range, Term, Word, conjuncts, matches
from futago.services.ngsild.scopeq import scope_matches
from futago.services.ngsild.typeexpr import named, type_matches
from futago.services.ngsild.types import is_derived

if TYPE_CHECKING:
    from futago.services.ngsild.service import EntityQuery, NgsiLdService, Readable

PAGE = 500  # twins read from the store at once
MAX_PUSHED = 4  # comparisons handed to the store (each is a condition on every row it scans)
_SCALARS = {"double": float, "float": float, "integer": int, "long": int, "string": str}


def run_query(
    service: NgsiLdService,
    tenant: str | None,
    query: EntityQuery,
    readable: Readable,
    may_read_twin: Callable[[str], bool] | None,
) -> tuple[list[EntityState], int | None]:
    """One page (offset, limit) of the entities matching ``query`` in id order and, when asked, how many match."""
    found: list[EntityState] = []
    total = 0
    for state in matching(service, tenant, query, readable, may_read_twin):
        if total >= query.offset and len(found) < query.limit:
            found.append(state)
        total += 1
        if not query.count and len(found) >= query.limit:
            break
    return found, total if query.count else None


def matching(
    service: NgsiLdService,
    tenant: str | None,
    query: EntityQuery,
    readable: Readable,
    may_read_twin: Callable[[str], bool] | None,
) -> Iterator[EntityState]:
    """The entities of ``query`` in id order, as the caller may see them."""
    types = list(query.types or [])
    if query.type_sets is not None:
        types = sorted(set(types) | set(named(query.type_sets)))
    models = service._model_ids(types or None)
    geo: GeoQuery | None = query.geo
    on_twin = geo is not None and geo.geoproperty == LOCATION
    scan = TwinScan(
        model_ids=models,
        twin_ids=frozenset(service.tenant_twin_id(tenant, i) for i in query.ids) if query.ids else None,
        bbox=geo.bbox() if geo is not None and on_twin else None,
        properties=pushed_filters(service, models, query.q),
    )
    geo_test = geo.test() if geo is not None else None
    # A first page just over what the answer needs (most candidates of a narrowed scan match), then full ones.
    first = PAGE if query.count else min(PAGE, 2 * (query.offset + query.limit) + 20)
    extra = frozenset(types) if types else None
    for page in twin_pages(service, tenant, scan, extra, query.id_pattern, first):
        candidates = []
        for twin in page:
            shown = readable(twin)
            if shown is None:
                continue
            if geo_test is not None and on_twin and not geo_test(shown.geometry):
                continue
            candidates.append(shown)
        for state in _states(service, tenant, candidates, may_read_twin):
            if _decide(query, state, geo_test, on_twin):
                yield state


def twin_pages(
    service: NgsiLdService,
    tenant: str | None,
    scan: TwinScan,
    extra_types: frozenset[str] | None,
    id_pattern: str | None,
    first: int = PAGE,
) -> Iterator[list[Twin]]:
    """The twins of ``scan`` and, when types are named (``extra_types``), of the entities holding one of them as
    a further type (a multi-typed entity's twin has the model of its first type only), one id-ordered stream a
    page at a time. The second scan reads the store's index of multi-typed twins: nothing where there are none."""
    main = _pages(service, tenant, scan, id_pattern, first) if scan.model_ids is None or scan.model_ids else iter(())
    if extra_types is None:
        yield from main
        return
    others = _pages(
        service,
        tenant,
        # only the index of multi-typed twins: a box or a property filter could lead the engine to another index
        # and a scan of every twin in it (the geometry and q are decided on each candidate anyway)
        scan._replace(model_ids=None, properties=(), bbox=None, extra_types=extra_types),
        id_pattern,
        first,
    )
    page: list[Twin] = []
    size = first
    seen: set[str] = set()  # multi-typed twins given: one may be in both scans (its model's type and another named)
    for twin in heapq.merge(_flat(main), _flat(others), key=lambda t: t.id):
        meta = twin.properties.get(META)
        if isinstance(meta, dict) and meta.get("types"):
            if twin.id in seen:
                continue
            seen.add(twin.id)
        page.append(twin)
        if len(page) >= size:
            yield page
            page, size = [], PAGE
    if page:
        yield page


def _flat(pages: Iterator[list[Twin]]) -> Iterator[Twin]:
    for page in pages:
        yield from page


def _pages(
    service: NgsiLdService, tenant: str | None, scan: TwinScan, id_pattern: str | None, first: int = PAGE
) -> Iterator[list[Twin]]:
    """The store's twins for ``scan`` in id order, a page at a time, within the tenant and the idPattern."""
    from futago.services.ngsild.service import _pattern

    pattern = _pattern(id_pattern)
    prefix = f"~{tenant}~" if tenant is not None else None
    after = prefix
    size = first
    while True:
        page = service.twins.store.scan_twins(scan._replace(after_id=after, limit=size))
        kept = []
        ended = len(page) < size
        size = PAGE
        for twin in page:
            if prefix is not None and not twin.id.startswith(prefix):
                ended = True
                break
            if prefix is None and twin.id.startswith("~"):
                continue
            if pattern is not None and not pattern.search(service.entity_id(tenant, twin.id)):
                continue
            kept.append(twin)
        if kept:
            yield kept
        if ended:
            return
        after = page[-1].id


def _states(
    service: NgsiLdService, tenant: str | None, twins: list[Twin], may_read_twin: Callable[[str], bool] | None
) -> Iterator[EntityState]:
    """The twins as entities, their relationships read in one call."""
    if not twins:
        return
    by_source: dict[str, list[Any]] = {}
    for rel in service.twins.store.list_relationships_of([t.id for t in twins]):
        if may_read_twin is None or may_read_twin(rel.target_id):
            by_source.setdefault(rel.source_id, []).append(rel)
    models = service.models.models
    for twin in twins:
        yield from_twin(twin, by_source.get(twin.id, []), models, lambda t: service.entity_id(tenant, t))


def _decide(query: EntityQuery, state: EntityState, geo_test: Callable[[Any], bool] | None, on_twin: bool) -> bool:
    if query.type_sets is not None and not type_matches(query.type_sets, (state.type, *state.extra_types)):
        return False
    if query.attrs is not None and not any(a in state.attrs for a in query.attrs):
        return False
    if query.q is not None and not matches(query.q, state.attrs):
        return False
    if query.scope_q is not None and not scope_matches(query.scope_q, state.scope):
        return False
    if geo_test is not None and not on_twin:
        assert query.geo is not None
        return geo_test(geo_value(state.attrs, query.geo.geoproperty))
    return True


def pushed_filters(service: NgsiLdService, models: frozenset[str] | None, q: Node | None) -> tuple[PropertyFilter, ...]:
    """The comparisons of ``q`` a store can narrow by: top-level, on a Property every candidate model declares
    under one name with a scalar schema of the value's kind (so the twin holds the default instance's value)."""
    if q is None or not models:
        return ()
    filters: list[PropertyFilter] = []
    for part in conjuncts(q):
        if not isinstance(part, Term) or part.path.subs or part.path.keys or part.op is None:
            continue
        for op, value in _comparisons(part):
            name = _property_name(service, models, part.path.attr, type(value))
            if name is not None and len(filters) < MAX_PUSHED:
                filters.append(PropertyFilter((name,), op, value))
    return tuple(filters)


def _comparisons(term: Term) -> list[tuple[str, Any]]:
    def scalar(value: Any) -> bool:
        if isinstance(value, bool | DateTimeValue | Word):
            return False
        return isinstance(value, int | float | str)

    if term.op in ("==", ">", ">=", "<", "<=") and not term.is_list and scalar(term.value):
        return [("=" if term.op == "==" else term.op, term.value)]
    if term.op == "==" and isinstance(term.value, Range):
        low, high = term.value.low, term.value.high
        if scalar(low) and scalar(high) and type(low) is type(high):
            return [(">=", low), ("<=", high)]
    return []


def _property_name(service: NgsiLdService, models: frozenset[str], iri: str, kind: type) -> str | None:
    names: set[str] = set()
    documents = service.models.models.documents
    for model_id in models:
        document = documents.get(model_id) if is_derived(model_id) else None
        if not document:
            return None  # an uploaded model: values may live where its mapping puts them; decide exactly
        content = next(
            (c for c in document.get("contents", ()) if isinstance(c, dict) and c.get("comment") == iri), None
        )
        if content is None:
            return None  # its twins may hold the attribute in $ngsild only (a value DTDL cannot type)
        schema = _SCALARS.get(str(content.get("schema"))) if content.get("@type") == "Property" else None
        if schema is None or (schema is str) != (kind is str):
            return None
        names.add(str(content["name"]))
    return names.pop() if len(names) == 1 else None
