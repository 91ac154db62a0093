"""The twin graph's SQLite parts: an R*Tree over each twin's geometry bounds, and JSON1 property filters."""

from __future__ import annotations

from array import array
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


# SQLite's R*Tree keeps 32-bit floats, each minimum rounded down and each maximum up to one (rtree.c's
# rtreeValueDown and rtreeValueUp): a box is what the index already holds when these give exactly its values.
_TOWARDS = 1.0 - 1.0 / 8388608.0
_AWAY = 1.0 + 1.0 / 8388608.0


def _float32(value: float) -> float:
    return float(array("f", (value,))[0])


def _stored(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The row (min_lon, max_lon, min_lat, max_lat) the R*Tree holds for ``bounds`` (min_lon, min_lat, max_lon,
    max_lat). A box is left alone only where its row equals this, which is then the row writing it again would
    leave; should SQLite round otherwise, a box merely reads as changed and is written again."""
    min_lon, min_lat, max_lon, max_lat = bounds
    low_lon, low_lat, high_lon, high_lat = array("f", bounds).tolist()  # the nearest 32-bit floats
    if low_lon > min_lon:
        low_lon = _float32(min_lon * (_AWAY if min_lon < 0 else _TOWARDS))
    if low_lat > min_lat:
        low_lat = _float32(min_lat * (_AWAY if min_lat < 0 else _TOWARDS))
    if high_lon < max_lon:
        high_lon = _float32(max_lon * (_TOWARDS if max_lon < 0 else _AWAY))
    if high_lat < max_lat:
        high_lat = _float32(max_lat * (_TOWARDS if max_lat < 0 else _AWAY))
    return (low_lon, high_lon, low_lat, high_lat)


class SQLiteTwins(SqlTwins):
    def _index_bounds(self, conn: Any, twins: Sequence[Twin]) -> None:
        """Bring the R*Tree rows of ``twins`` (just written) up to date, touching only those whose box changed:
        taking a row out of an R*Tree costs several times writing one, and a bulk write mostly creates twins (no
        row yet) or rewrites twins that stayed where they were (the same box)."""
        wanted: dict[int, tuple[float, float, float, float] | None] = {}
        held: dict[int, tuple[float, float, float, float]] = {}
        boxes = {t.id: _bounds(t.geometry) if t.geometry is not None else None for t in twins}
        ids = list(boxes)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rows = conn.execute(
                "SELECT t.id, t.rid, b.min_lon, b.max_lon, b.min_lat, b.max_lat FROM twins AS t "
                f"LEFT JOIN twin_bounds AS b ON b.rid = t.rid WHERE t.id IN ({','.join('?' * len(part))})",
                part,
            )
            for twin_id, rid, *box in rows:
                wanted[rid] = boxes[twin_id]
                if box[0] is not None:
                    held[rid] = (box[0], box[1], box[2], box[3])
        stale = [rid for rid, box in held.items() if (b := wanted[rid]) is None or _stored(b) != box]
        renewed = set(stale)
        fresh = [(rid, b) for rid, b in wanted.items() if b is not None and (rid not in held or rid in renewed)]
        # Many rows per statement, not one statement per row: see store.sql.twins._UPSERT_ROWS.
        for start in range(0, len(stale), 500):
            gone = stale[start : start + 500]
            conn.execute(f"DELETE FROM twin_bounds WHERE rid IN ({','.join('?' * len(gone))})", gone)
        for start in range(0, len(fresh), 500):
            rows = fresh[start : start + 500]
            values = ",".join(["(?, ?, ?, ?, ?)"] * len(rows))
            params = [v for rid, b in rows for v in (rid, b[0], b[2], b[1], b[3])]
            conn.execute(f"INSERT INTO twin_bounds (rid, min_lon, max_lon, min_lat, max_lat) VALUES {values}", params)

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

    def _extra_types_condition(self, types: Sequence[str]) -> tuple[str, list[Any]]:
        # The first term is the partial index's own WHERE, written alike, so that SQLite scans that index
        return (
            f"{_EXTRA_TYPES} IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(properties, '{_EXTRA_TYPES_PATH}') "
            f"WHERE value IN ({','.join('?' * len(types))}))",
            list(types),
        )


# where an NGSI-LD entity's further types are (futago.core.twin_rules.NGSILD_META), as migration V9 indexes them
_EXTRA_TYPES_PATH = '$."$ngsild".types'
_EXTRA_TYPES = f"json_extract(properties, '{_EXTRA_TYPES_PATH}')"


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
