"""The two ports a query runs against; the storage adapter and the model set implement them.

Kept deliberately tiny so that every store (SQLite, PostgreSQL, an in-memory test double)
can serve queries, while the planner still pushes the selective parts down to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from futago.core.twins import Relationship, Twin, TwinScan


class GraphSource(Protocol):
    def scan_twins(self, scan: TwinScan) -> list[Twin]:
        """Twins in ascending id order honouring every TwinScan field.

        ``bbox`` may return extra candidates whose geometry merely intersects the box; the
        query re-checks the exact predicate.
        """
        ...

    def get_twins(self, twin_ids: Iterable[str]) -> dict[str, Twin]:
        """The twins that exist among ``twin_ids``, by id; missing ids are left out."""
        ...

    def list_relationships_of(self, source_ids: Iterable[str], name: str | None = None) -> list[Relationship]:
        """Outgoing relationships of the given sources, optionally only those called ``name``."""
        ...


class ModelCatalog(Protocol):
    def descendants(self, model_id: str) -> frozenset[str]:
        """The model itself plus every model that extends it, directly or not."""
        ...
