"""What a caller may read of the twin graph, as a graph: the query engine runs over this view, not the store.

Filtering result rows afterwards would leak through WHERE (``WHERE T.owner = 'x'`` tells whether the hidden
value is 'x' by the rows it returns) and through projections that no longer name their twin. Here a twin the
caller may not read does not exist, and a property it may not read is absent (undefined), before the query
sees either; a relationship shows only between two readable twins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from futago.core.ports import TwinStore
from futago.core.twins import Relationship, Twin, TwinScan

PAGE = 500


class ReadableGraph:
    def __init__(self, store: TwinStore, readable: Callable[[Twin], Twin | None]) -> None:
        self.store = store
        self.readable = readable  # the twin as the caller may see it, or None

    def scan_twins(self, scan: TwinScan) -> list[Twin]:
        # Pushed-down property filters would test hidden values; the engine re-checks every row anyway.
        limit = scan.limit
        wanted = scan._replace(properties=(), limit=max(limit or PAGE, 1))
        out: list[Twin] = []
        while True:
            page = self.store.scan_twins(wanted)
            out += [t for t in (self.readable(twin) for twin in page) if t is not None]
            if (limit is not None and len(out) >= limit) or len(page) < (wanted.limit or 0):
                return out[:limit] if limit is not None else out
            wanted = wanted._replace(after_id=page[-1].id)

    def get_twins(self, twin_ids: Iterable[str]) -> dict[str, Twin]:
        found = self.store.get_twins(twin_ids)
        return {i: t for i, t in ((i, self.readable(twin)) for i, twin in found.items()) if t is not None}

    def list_relationships_of(self, source_ids: Iterable[str], name: str | None = None) -> list[Relationship]:
        sources = list(self.get_twins(source_ids))
        relationships = self.store.list_relationships_of(sources, name)
        targets = self.get_twins({r.target_id for r in relationships})
        return [r for r in relationships if r.target_id in targets]


def without_properties(twin: Twin, hidden: Callable[[str], bool]) -> Twin:
    """A copy of the twin without the properties ``hidden`` names."""
    return replace(twin, properties={k: v for k, v in twin.properties.items() if not hidden(k)})
