"""The twin graph's SQLite parts: an R*Tree over each twin's geometry bounds, and JSON1 property filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from futago.core.geometry import geometry_bounds
from futago.core.twins import Twin
from futago.store.sql.twins import SqlTwins


def _bounds(geometry: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """None for a geometry without a position (an empty GeometryCollection is valid GeoJSON): it has no bounds to
    index and meets no box, as in PostGIS."""
    try:
        return geometry_bounds(geometry)
    except ValueError:
        return None


class SQLiteTwins(SqlTwins):
    def _index_bounds(self, conn: Any, twins: Sequence[Twin]) -> None:
        rids: dict[str, int] = {}
        ids = [t.id for t in twins]
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rids.update(conn.execute(f"SELECT id, rid FROM twins WHERE id IN ({','.join('?' * len(part))})", part))
        conn.executemany("DELETE FROM twin_bounds WHERE rid = ?", [(rids[i],) for i in ids])
        conn.executemany(
            "INSERT INTO twin_bounds (rid, min_lon, max_lon, min_lat, max_lat) VALUES (?, ?, ?, ?, ?)",
            [
                (rids[t.id], b[0], b[2], b[1], b[3])
                for t in twins
                if t.geometry is not None
                for b in (_bounds(t.geometry),)
                if b is not None
            ],
        )

    def _unindex(self, conn: Any, rid: int) -> None:
        conn.execute("DELETE FROM twin_bounds WHERE rid = ?", (rid,))

    def _bbox_condition(self, bbox: tuple[float, float, float, float]) -> tuple[str, list[Any]]:
        min_lon, min_lat, max_lon, max_lat = bbox
        sql = (
            "rid IN (SELECT rid FROM twin_bounds WHERE max_lon >= ? AND min_lon <= ? AND max_lat >= ? AND min_lat <= ?)"
        )
        return sql, [min_lon, max_lon, min_lat, max_lat]

    def _property_condition(self, path: Sequence[str], op: str, value: Any) -> tuple[str, list[Any]]:
        if op in ("array_contains", "array_contains_partial"):
            return _array_contains(_json_path(path), orjson.loads(value))
        # JSON1's json_extract: SQLite orders numbers before text, so a number compared with a string (or the
        # reverse) can only keep extra rows, which the query engine drops.
        return f"json_extract(properties, ?) {op} ?", [_json_path(path), value]


def _json_path(path: Sequence[str]) -> str:
    return "$." + ".".join(f'"{seg}"' for seg in path)


def _scalar_test(type_sql: str, value_sql: str, locator: list[Any], wanted: Any) -> tuple[str, list[Any]] | None:
    """SQL that holds when a JSON value equals the scalar ``wanted``; None when ``wanted`` is not a scalar.

    ``type_sql`` gives the value's json_type and ``value_sql`` its SQL value, each taking ``locator`` as parameters.
    """
    if isinstance(wanted, bool):
        return f"{type_sql} = ?", [*locator, "true" if wanted else "false"]
    if wanted is None:
        return f"{type_sql} = 'null'", list(locator)
    if isinstance(wanted, int | float):
        return f"{type_sql} IN ('integer', 'real') AND {value_sql} = ?", [*locator, *locator, wanted]
    if isinstance(wanted, str):
        return f"{type_sql} = 'text' AND {value_sql} = ?", [*locator, *locator, wanted]
    return None


def _array_contains(array_path: str, wanted: Any) -> tuple[str, list[Any]]:
    """An element of the array equal to ``wanted`` or, for an object, holding its scalar members.

    The same condition serves the full and the partial match: it may keep extra rows (an object with more members,
    nested values left unchecked, an object iterated as if it were an array), which the query engine drops.
    """
    conditions: list[str] = []
    params: list[Any] = [array_path]
    scalar = _scalar_test("e.type", "e.value", [], wanted)
    if scalar is not None:
        conditions.append(scalar[0])
        params += scalar[1]
    elif isinstance(wanted, dict):
        conditions.append("e.type = 'object'")
        for key, member in wanted.items():
            if '"' in key or "\\" in key or not key.isprintable():  # no way to spell it in a JSON path
                continue
            test = _scalar_test("json_type(e.value, ?)", "json_extract(e.value, ?)", [_json_path([key])], member)
            if test is not None:
                conditions.append(test[0])
                params += test[1]
    else:
        conditions.append("e.type = 'array'")
    return f"EXISTS (SELECT 1 FROM json_each(properties, ?) AS e WHERE {' AND '.join(conditions)})", params
