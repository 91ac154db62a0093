"""Mapbox Vector Tiles (spec 2.1) of buildings, flood zones and roads for a web map.

Geometry is clipped to the tile plus a buffer (so that strokes and extrusions do not show seams
at tile edges), projected to Web Mercator tile coordinates (``extent`` units per tile, y down)
and encoded with the small protobuf writer in ``protobuf.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import shape
from shapely.geometry.polygon import orient

from futago.city.export import protobuf as pb
from futago.city.export.geojson import feature_properties, scalar_properties
from futago.city.export.scan import BUILDING, FLOOD_ZONE, ROAD, model_family, scan_with_geometry
from futago.core.dtdl.model_set import ModelSet
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.twins import BBox, Twin
from futago.store.port import TwinStore

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
EXTENT = 4096
BUFFER = 64  # tile units around the tile that are kept
MAX_ZOOM = 24
MAX_LAT = 85.0511287798066  # Web Mercator's square world
LAYERS = (("buildings", BUILDING), ("flood_zones", FLOOD_ZONE), ("roads", ROAD))

MOVE_TO, LINE_TO, CLOSE_PATH = 1, 2, 7
POINT, LINESTRING, POLYGON = 1, 2, 3


def check_tile(z: int, x: int, y: int) -> None:
    """Tile addresses outside the pyramid are the caller's mistake, so say which number is wrong."""
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput([Problem("/z", f"zoom {z} is outside 0..{MAX_ZOOM}")])
    problems = [
        Problem(f"/{name}", f"{name}={value} is outside 0..{2**z - 1} at zoom {z}")
        for name, value in (("x", x), ("y", y))
        if not 0 <= value < 2**z
    ]
    if problems:
        raise InvalidInput(problems)


def _lon(fx: float) -> float:
    return fx * 360.0 - 180.0


def _lat(fy: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * fy))))


def tile_bounds(z: int, x: int, y: int, margin: float = 0.0) -> BBox:
    """The tile's WGS84 box, widened by ``margin`` tiles on every side."""
    n = 2**z
    west, east = _lon(max(0.0, (x - margin) / n)), _lon(min(1.0, (x + 1 + margin) / n))
    north, south = _lat(max(0.0, (y - margin) / n)), _lat(min(1.0, (y + 1 + margin) / n))
    return (west, south, east, north)


def tile_transform(
    z: int, x: int, y: int, extent: int = EXTENT
) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """Maps (lon, lat) rows to tile coordinates of tile z/x/y, for ``shapely.transform``."""
    n = 2**z

    def project(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        lon = coords[:, 0]
        lat = np.radians(np.clip(coords[:, 1], -MAX_LAT, MAX_LAT))
        fx = (lon + 180.0) / 360.0 * n - x
        fy = (1.0 - np.arcsinh(np.tan(lat)) / math.pi) / 2.0 * n - y
        return np.column_stack((fx * extent, fy * extent))

    return project


class _Layer:
    """One layer's features, with keys and values shared through the layer's tables."""

    def __init__(self, name: str, extent: int) -> None:
        self.name = name
        self.extent = extent
        self.keys: dict[str, int] = {}
        self.values: dict[tuple[str, Any], int] = {}
        self.features: list[bytes] = []

    def _value_index(self, value: Any) -> int | None:
        encoded: tuple[str, Any]
        if isinstance(value, bool):
            encoded = ("bool", value)
        elif isinstance(value, int):
            encoded = ("int", value)
        elif isinstance(value, float) and math.isfinite(value):
            encoded = ("double", value)
        elif isinstance(value, str):
            encoded = ("string", value)
        else:
            return None  # null, lists and objects have no vector-tile value type
        return self.values.setdefault(encoded, len(self.values))

    def add(self, geom_type: int, commands: list[int], properties: dict[str, Any]) -> None:
        tags: list[int] = []
        for name, value in properties.items():
            index = self._value_index(value)
            if index is not None:
                tags += (self.keys.setdefault(name, len(self.keys)), index)
        self.features.append(pb.packed_uints(2, tags) + pb.uint_field(3, geom_type) + pb.packed_uints(4, commands))

    def encode(self) -> bytes:
        body = bytearray(pb.uint_field(15, 2) + pb.string_field(1, self.name))
        for feature in self.features:
            body += pb.bytes_field(2, feature)
        for name in self.keys:
            body += pb.string_field(3, name)
        for kind, value in self.values:
            if kind == "string":
                item = pb.string_field(1, value)
            elif kind == "double":
                item = pb.double_field(3, value)
            elif kind == "int":
                item = pb.uint_field(6, pb.zigzag(value)) if -(2**63) <= value < 2**63 else pb.double_field(3, value)
            else:
                item = pb.uint_field(7, int(value))
            body += pb.bytes_field(4, item)
        body += pb.uint_field(5, self.extent)
        return bytes(body)


class _Cursor:
    """Geometry commands are relative to the previous point, across all parts of a feature."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.out: list[int] = []

    def path(self, coords: NDArray[np.float64], close: bool) -> None:
        points = coords.astype(np.int64)
        if close:
            points = points[:-1]
        self.out.append(MOVE_TO | (1 << 3))
        for i, (px, py) in enumerate(points.tolist()):
            if i == 1:
                self.out.append(LINE_TO | ((len(points) - 1) << 3))
            self.out += (pb.zigzag(px - self.x), pb.zigzag(py - self.y))
            self.x, self.y = px, py
        if close:
            self.out.append(CLOSE_PATH | (1 << 3))


def _parts(geom: shapely.Geometry, kind: type[Any]) -> Iterator[Any]:
    parts: list[Any] = list(shapely.get_parts(geom))
    return (g for g in parts if isinstance(g, kind) and not g.is_empty)


def encode_geometry(geom: shapely.Geometry) -> tuple[int, list[int]] | None:
    """(type, commands) of a geometry already in integer tile coordinates; None if nothing is left."""
    cursor = _Cursor()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        for polygon in _parts(geom, shapely.Polygon):
            polygon = orient(polygon, sign=1.0)  # exterior: positive area in y-down tile space
            for ring in (polygon.exterior, *polygon.interiors):
                if len(ring.coords) >= 4:
                    cursor.path(np.asarray(ring.coords), close=True)
        return (POLYGON, cursor.out) if cursor.out else None
    if geom.geom_type in ("LineString", "MultiLineString"):
        for line in _parts(geom, shapely.LineString):
            if len(line.coords) >= 2:
                cursor.path(np.asarray(line.coords), close=False)
        return (LINESTRING, cursor.out) if cursor.out else None
    if geom.geom_type in ("Point", "MultiPoint"):
        points = np.asarray([p.coords[0] for p in _parts(geom, shapely.Point)], dtype=np.int64)
        if len(points) == 0:
            return None
        deltas = np.diff(points, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
        return POINT, [MOVE_TO | (len(points) << 3), *(pb.zigzag(int(v)) for v in deltas.ravel())]
    return None


def _tile_geometry(
    twin: Twin, project: Callable[[NDArray[np.float64]], NDArray[np.float64]], extent: int, buffer: int
) -> shapely.Geometry | None:
    try:
        geom = shape(twin.geometry)
        kind = geom.geom_type
        geom = shapely.transform(geom, project)
        geom = shapely.clip_by_rect(geom, -buffer, -buffer, extent + buffer, extent + buffer)
        geom = shapely.set_precision(geom, 1.0)
    except (shapely.errors.ShapelyError, ValueError, TypeError, AttributeError, KeyError):
        return None  # a malformed geometry cannot be drawn; the rest of the tile still can
    if geom.is_empty:
        return None
    if geom.geom_type == "GeometryCollection":  # clipping a polygon along an edge may leave lines
        wanted = "Polygon" if "Polygon" in kind else "LineString" if "LineString" in kind else "Point"
        parts = [g for g in shapely.get_parts(geom) if wanted in g.geom_type]
        geom = shapely.union_all(parts) if parts else shapely.Point()
    return geom


def encode_tile(
    store: TwinStore, models: ModelSet, z: int, x: int, y: int, extent: int = EXTENT, buffer: int = BUFFER
) -> bytes:
    """The tile's bytes; empty (zero bytes) when no feature falls in it."""
    check_tile(z, x, y)
    project = tile_transform(z, x, y, extent)
    area = tile_bounds(z, x, y, margin=buffer / extent)
    out = bytearray()
    for name, root in LAYERS:
        layer = _Layer(name, extent)
        # Flood zones and roads are few and small: all their scalar properties travel with them.
        properties = feature_properties if name == "buildings" else scalar_properties
        for twin in scan_with_geometry(store, model_family(models, root), area):
            geom = _tile_geometry(twin, project, extent, buffer)
            encoded = encode_geometry(geom) if geom is not None else None
            if encoded is not None:
                layer.add(encoded[0], encoded[1], properties(twin))
        if layer.features:
            out += pb.bytes_field(3, layer.encode())
    return bytes(out)
