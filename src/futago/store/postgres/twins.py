"""The twin graph's PostgreSQL parts: PostGIS answers bounding boxes, JSONB answers property filters.

A trigger keeps each twin's ``geom`` in step with its GeoJSON (``migrations/R__twin_geometry.sql``), so storing a
twin needs nothing more here.

JSONB keeps a twin's properties as values, not as the text it was given: they come back with their keys in JSONB's
order (shorter keys first) rather than as written, and a whole number written with an exponent (``1e18``, as a
double property may be) comes back as an integer of the same value. JSON does not order keys and the values are
equal, so the API answers the same document; only its text differs from SQLite's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from futago.core.twins import Twin
from futago.store.sql.twins import SqlTwins


class PostgresTwins(SqlTwins):
    def _index_bounds(self, conn: Any, twins: Sequence[Twin]) -> None:
        pass  # the geometry trigger did it

    def _unindex(self, conn: Any, rid: int) -> None:
        pass  # the row and its geometry go together

    def _bbox_condition(self, bbox: tuple[float, float, float, float]) -> tuple[str, list[Any]]:
        return "geom && ST_MakeEnvelope(?, ?, ?, ?, 4326)", list(bbox)

    def _extra_types_condition(self, types: Sequence[str]) -> tuple[str, list[Any]]:
        # The first term is the partial index's own predicate (migration V9), so the planner may scan that index
        return (
            "(properties -> '$ngsild' -> 'types') IS NOT NULL "
            "AND jsonb_exists_any(properties -> '$ngsild' -> 'types', ?::text[])",
            [list(types)],
        )

    def _property_condition(self, path: Sequence[str], op: str, value: Any) -> tuple[str, list[Any]]:
        if op in ("array_contains", "array_contains_partial"):
            if "\\u0000" in value:  # JSONB refuses NUL, and no stored twin can hold one: let the engine decide
                return "TRUE", []
            # JSONB containment: an element that contains the wanted value (members of objects, recursively). It
            # serves both matches, keeping extra rows for the full one (an element with more members).
            return "(properties #> ?::text[]) @> ?::jsonb", [list(path), f"[{value}]"]
        op = "<>" if op == "!=" else op
        if isinstance(value, str):
            # Text in code point order, as the query engine compares Python strings; a number stored under the path
            # compares as its text, which can only keep extra rows.
            return f'(properties #>> ?::text[]) COLLATE "C" {op} ?', [list(path), value]
        # JSONB orders numbers numerically and puts other types apart, so only same-type values can match.
        return f"(properties #> ?::text[]) {op} ?::jsonb", [list(path), orjson.dumps(value).decode()]
