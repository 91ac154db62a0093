"""POST /entityOperations/query (GS CIM 009 5.7.2, 6.23): the union of a Query's entity selectors.

Each EntitySelector (id, idPattern, type) with the Query's attrs, q and geoQ is one ``EntityQuery``; several are a
union, merged in id order (each query yields its entities in id order), so that limit and offset page over the
union as GET /entities pages over one query.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

from futago.services.ngsild.mapping import EntityState
from futago.services.ngsild.querying import matching
from futago.services.ngsild.service import EntityQuery, NgsiLdService, Readable


def union_query(
    service: NgsiLdService,
    tenant: str | None,
    queries: list[EntityQuery],
    readable: Readable,
    may_read_twin: Callable[[str], bool] | None = None,
) -> tuple[list[EntityState], int | None]:
    """One page of the entities matching any of ``queries`` (limit, offset and count are the first one's) and,
    when asked, how many match in all."""
    first = queries[0]
    if len(queries) == 1:
        return service.query(tenant, first, readable, may_read_twin)
    found: list[EntityState] = []
    total = 0
    for state in _union([matching(service, tenant, q, readable, may_read_twin) for q in queries]):
        if total >= first.offset and len(found) < first.limit:
            found.append(state)
        total += 1
        if not first.count and len(found) >= first.limit:
            break
    return found, total if first.count else None


def _union(streams: list[Iterator[EntityState]]) -> Iterator[EntityState]:
    last = None
    for state in heapq.merge(*streams, key=lambda s: s.id):
        if state.id != last:
            last = state.id
            yield state
