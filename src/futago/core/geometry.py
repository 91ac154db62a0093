"""GeoJSON geometry of twins: validation and bounds, in WGS84 (longitude, latitude)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from futago.core.problems import Problem

_NESTING = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}


def _positions(coords: Any, depth: int) -> Iterator[Any]:
    if depth == 0:
        yield coords
    else:
        for item in coords:
            yield from _positions(item, depth - 1)


def check_geometry(geometry: Any, pointer: str = "/geometry") -> list[Problem]:
    """Check a GeoJSON geometry (RFC 7946), longitude before latitude, within WGS84 ranges."""
    if not isinstance(geometry, dict):
        return [Problem(pointer, "geometry must be a GeoJSON geometry object, e.g. {'type': 'Point', ...}")]
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, list):
            return [Problem(pointer + "/geometries", "a GeometryCollection needs a 'geometries' array")]
        return [p for i, g in enumerate(members) for p in check_geometry(g, f"{pointer}/geometries/{i}")]
    if kind not in _NESTING:
        allowed = ", ".join([*_NESTING, "GeometryCollection"])
        return [Problem(pointer + "/type", f"geometry type {kind!r} is not GeoJSON; use one of {allowed}")]
    return _check_coordinates(geometry.get("coordinates"), _NESTING[kind], pointer + "/coordinates")


def _check_coordinates(coords: Any, depth: int, pointer: str) -> list[Problem]:
    if depth == 0:
        return _check_position(coords, pointer)
    if depth == 1 and _fine_positions(coords):  # a ring or line: the bulk of a city's twins, checked in one loop
        return []
    if not isinstance(coords, list) or not coords:
        return [Problem(pointer, "coordinates must be a non-empty array nested as the geometry type requires")]
    problems: list[Problem] = []
    for i, item in enumerate(coords):
        problems += _check_coordinates(item, depth - 1, f"{pointer}/{i}")
        if len(problems) >= 10:
            break
    return problems


def _fine_positions(coords: Any) -> bool:
    """Whether every position is a plain [lon, lat(, h)] list of numbers in range; when not, the position by
    position check says what is wrong (NaN and number subclasses such as numpy's take that path too)."""
    if type(coords) is not list or not coords:
        return False
    for p in coords:
        if type(p) is not list or not 2 <= len(p) <= 3:
            return False
        for v in p:
            if type(v) is not float and type(v) is not int:
                return False
        if not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90):
            return False
    return True


def _check_position(position: Any, pointer: str) -> list[Problem]:
    numbers = isinstance(position, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in position
    )
    if not numbers or not 2 <= len(position) <= 3:
        return [Problem(pointer, "a position is [longitude, latitude] or [longitude, latitude, height]")]
    lon, lat = position[0], position[1]
    if not -180 <= lon <= 180:
        return [Problem(pointer + "/0", f"longitude {lon} is outside -180..180 (positions are [lon, lat])")]
    if not -90 <= lat <= 90:
        return [Problem(pointer + "/1", f"latitude {lat} is outside -90..90 (positions are [lon, lat])")]
    return []


def geometry_bounds(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of a geometry already checked by check_geometry."""
    if geometry["type"] == "GeometryCollection":
        parts = [geometry_bounds(g) for g in geometry["geometries"]]
        return (
            min(p[0] for p in parts),
            min(p[1] for p in parts),
            max(p[2] for p in parts),
            max(p[3] for p in parts),
        )
    positions = list(_positions(geometry["coordinates"], _NESTING[geometry["type"]]))
    lons = [p[0] for p in positions]
    lats = [p[1] for p in positions]
    return (min(lons), min(lats), max(lons), max(lats))
