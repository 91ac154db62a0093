"""The twin graph's SQLite parts: an R*Tree over each twin's geometry bounds, and JSON1 property filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
        # JSON1's json_extract: SQLite orders numbers before text, so a number compared with a string (or the
        # reverse) can only keep extra rows, which the query engine drops.
        return f"json_extract(properties, ?) {op} ?", ["$." + ".".join(f'"{seg}"' for seg in path), value]
