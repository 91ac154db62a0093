"""Spatial predicates over GeoJSON in WGS84 (longitude, latitude).

Distances are great-circle (haversine) metres on a sphere of the IUGG mean Earth radius;
that is within about 0.5 % of the WGS84 ellipsoid, ample for "within 500 m" questions,
and it keeps the bbox that the planner pushes down exact for the same sphere.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, box, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points
from shapely.prepared import prep

from futago.core.twins import BBox

EARTH_RADIUS_M = 6_371_008.8
_REGION_TYPES = ("Polygon", "MultiPolygon")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _lon_lat(value: Any) -> tuple[float, float]:
    if not (isinstance(value, list) and len(value) in (2, 3) and all(_number(v) for v in value)):
        raise ValueError("a position [lon, lat]")
    lon, lat = float(value[0]), float(value[1])
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError("longitude in [-180, 180] and latitude in [-90, 90]")
    return lon, lat


def point_from_literal(value: Any) -> tuple[float, float]:
    """``[lon, lat]`` or a GeoJSON Point, as (lon, lat); ValueError says what was expected."""
    if isinstance(value, dict):
        if value.get("type") != "Point":
            raise ValueError('a GeoJSON Point {"type": "Point", "coordinates": [lon, lat]} or [lon, lat]')
        return _lon_lat(value.get("coordinates"))
    return _lon_lat(value)


def region_from_literal(value: Any) -> BaseGeometry:
    """A bbox ``[min_lon, min_lat, max_lon, max_lat]`` or a GeoJSON (Multi)Polygon."""
    if isinstance(value, list):
        if len(value) != 4 or not all(_number(v) for v in value):
            raise ValueError("a bbox [min_lon, min_lat, max_lon, max_lat]")
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in value)
        if not (min_lon <= max_lon and min_lat <= max_lat):
            raise ValueError("a bbox with min_lon <= max_lon and min_lat <= max_lat")
        if not (min_lon >= -180.0 and max_lon <= 180.0 and min_lat >= -90.0 and max_lat <= 90.0):
            raise ValueError("a bbox within longitude [-180, 180] and latitude [-90, 90]")
        return box(min_lon, min_lat, max_lon, max_lat)
    if isinstance(value, dict) and value.get("type") in _REGION_TYPES:
        try:
            geom = shape(value)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raise ValueError(f"a valid GeoJSON {value.get('type')} ({exc})") from None
        if geom.is_empty or not geom.is_valid:
            raise ValueError("a non-empty, valid (non self-intersecting) polygon")
        return geom
    raise ValueError("a bbox [min_lon, min_lat, max_lon, max_lat] or a GeoJSON Polygon/MultiPolygon")


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def circle_bbox(lon: float, lat: float, metres: float) -> BBox:
    """The smallest lon/lat box holding every point within ``metres`` of (lon, lat).

    Falls back to the full longitude range near the poles and across the antimeridian,
    where a box in degrees can no longer be tight; correctness beats tightness there.
    """
    r = max(metres, 0.0) / EARTH_RADIUS_M
    dlat = math.degrees(r)
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90.0 or max_lat >= 90.0 or r >= math.pi / 2:
        return (-180.0, max(min_lat, -90.0), 180.0, min(max_lat, 90.0))
    ratio = math.sin(r) / math.cos(math.radians(lat))
    if ratio >= 1.0:
        return (-180.0, min_lat, 180.0, max_lat)
    dlon = math.degrees(math.asin(ratio)) + 1e-9
    min_lon, max_lon = lon - dlon, lon + dlon
    if min_lon < -180.0 or max_lon > 180.0:
        return (-180.0, min_lat, 180.0, max_lat)
    return (min_lon, min_lat - 1e-9, max_lon, max_lat + 1e-9)


def _geometry(value: Any) -> BaseGeometry | None:
    if not isinstance(value, dict):
        return None
    try:
        geom = shape(value)
    except Exception:  # a twin's stored geometry may be malformed; it then matches nothing
        return None
    return None if geom.is_empty else geom


def _point_coords(value: Any) -> tuple[float, float] | None:
    """Fast path for the common case, a GeoJSON Point, without building a shapely object."""
    if isinstance(value, dict) and value.get("type") == "Point":
        coords = value.get("coordinates")
        if isinstance(coords, list) and len(coords) >= 2 and _number(coords[0]) and _number(coords[1]):
            return float(coords[0]), float(coords[1])
    return None


def within_test(region_literal: Any) -> Callable[[Any], bool | None]:
    """Compile ST_WITHIN: True when the geometry lies inside the region, edges included."""
    region = region_from_literal(region_literal)
    prepared = prep(region)
    is_box = isinstance(region_literal, list)
    min_lon, min_lat, max_lon, max_lat = region.bounds

    def test(value: Any) -> bool | None:
        point = _point_coords(value)
        if point is not None:
            lon, lat = point
            if is_box:
                return min_lon <= lon <= max_lon and min_lat <= lat <= max_lat
            return bool(prepared.covers(Point(lon, lat)))
        geom = _geometry(value)
        return None if geom is None else bool(prepared.covers(geom))

    return test


def distance_function(point_literal: Any) -> Callable[[Any], float | None]:
    """Compile ST_DISTANCE: metres to the nearest point of the geometry (0 when inside)."""
    lon0, lat0 = point_from_literal(point_literal)
    scale = math.cos(math.radians(lat0))

    def local(coords: np.ndarray) -> np.ndarray:
        # an equirectangular frame centred on the query point, so "nearest" is nearest in metres
        return np.column_stack(((coords[:, 0] - lon0) * scale, coords[:, 1] - lat0))

    def distance(value: Any) -> float | None:
        point = _point_coords(value)
        if point is not None:
            return haversine_m(lon0, lat0, point[0], point[1])
        geom = _geometry(value)
        if geom is None:
            return None
        local_geom = shapely.transform(geom, local)
        origin = Point(0.0, 0.0)
        if local_geom.covers(origin):
            return 0.0
        nearest = nearest_points(local_geom, origin)[0]
        lon = nearest.x / scale + lon0 if scale > 1e-12 else lon0
        return haversine_m(lon0, lat0, lon, nearest.y + lat0)

    return distance


__all__ = [
    "EARTH_RADIUS_M",
    "circle_bbox",
    "distance_function",
    "haversine_m",
    "point_from_literal",
    "region_from_literal",
    "within_test",
]
