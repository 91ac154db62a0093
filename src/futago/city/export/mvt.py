"""Mapbox Vector Tiles (spec 2.1) of buildings, flood zones and roads for a web map.

Geometry is clipped to the tile plus a buffer (so that strokes and extrusions do not show seams
at tile edges), projected to Web Mercator tile coordinates (``extent`` units per tile, y down)
and encoded with the small protobuf writer in ``protobuf.py``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import orjson
import shapely
from numpy.typing import NDArray

from futago.city.export import protobuf as pb
from futago.city.export.geojson import coordinate_bounds, map_properties, number, scalar_properties
from futago.city.export.scan import BUILDING, FLOOD_ZONE, ROAD, model_family, scan_with_geometry
from futago.core.dtdl.model_set import ModelSet
from futago.core.errors import InvalidInput
from futago.core.ports import TwinStore
from futago.core.problems import Problem
from futago.core.twins import BBox, Twin

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
EXTENT = 4096
BUFFER = 64  # tile units around the tile that are kept
MAX_ZOOM = 24
MAX_TILE_ZOOM = 15  # a map overzooms these (0.25 m per tile unit at 35°N)
BUILDING_MIN_ZOOM = 12  # below it a tile of a whole city's buildings would be too heavy to draw; zones and roads stay
TOP_CATEGORIES = 8
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


def tiles_covering(bounds: BBox | list[float], z: int) -> list[tuple[int, int]]:
    """The (x, y) of every tile at zoom ``z`` that a WGS84 box touches."""
    n = 2**z

    def column(lon: float) -> int:
        return min(n - 1, max(0, int((lon + 180.0) / 360.0 * n)))

    def row(lat: float) -> int:
        lat = math.radians(min(MAX_LAT, max(-MAX_LAT, lat)))
        return min(n - 1, max(0, int((1.0 - math.asinh(math.tan(lat)) / math.pi) / 2.0 * n)))

    west, south, east, north = bounds
    return [(x, y) for x in range(column(west), column(east) + 1) for y in range(row(north), row(south) + 1)]


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
        for polygon in _parts(geom, shapely.Polygon):  # oriented already: exterior positive in y-down tile space
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


_KIND_OF_TYPE = {1: "LineString", 3: "Polygon", 5: "LineString", 6: "Polygon"}  # shapely type ids; else points


def _tile_geometries(
    twins: list[Twin], project: Callable[[NDArray[np.float64]], NDArray[np.float64]], extent: int, buffer: int
) -> list[shapely.Geometry | None]:
    """The twins' geometries in integer tile coordinates, clipped to the tile and its buffer, all at once.

    shapely's array functions do the projection, clipping, rounding and ring orientation for the whole
    tile in C; a malformed geometry becomes None (it cannot be drawn; the rest of the tile still can)."""
    texts = [orjson.dumps(twin.geometry) for twin in twins]
    geoms = shapely.from_geojson(texts, on_invalid="ignore")
    kinds = shapely.get_type_id(geoms)
    try:
        geoms = shapely.transform(geoms, project)
        geoms = shapely.clip_by_rect(geoms, -buffer, -buffer, extent + buffer, extent + buffer)
        geoms = shapely.set_precision(geoms, 1.0)
        geoms = shapely.orient_polygons(geoms, exterior_cw=False)  # exterior: positive area in y-down tile space
    except shapely.errors.ShapelyError:
        if len(twins) == 1:
            return [None]
        return [_tile_geometries([twin], project, extent, buffer)[0] for twin in twins]  # only the broken one goes
    return [_drawable(geom, int(kind)) for geom, kind in zip(geoms, kinds, strict=True)]


def _drawable(geom: shapely.Geometry | None, kind: int) -> shapely.Geometry | None:
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "GeometryCollection":  # clipping a polygon along an edge may leave lines
        wanted = _KIND_OF_TYPE.get(kind, "Point")
        parts = [g for g in shapely.get_parts(geom) if wanted in g.geom_type]
        geom = shapely.orient_polygons(shapely.union_all(parts), exterior_cw=False) if parts else None
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
        if name == "buildings" and z < BUILDING_MIN_ZOOM:
            continue
        layer = _Layer(name, extent)
        # Flood zones and roads are few and small: all their scalar properties travel with them. Buildings
        # carry their numbers (what a map colours by), not every string a CityGML file gave them.
        properties = _building_properties if name == "buildings" else scalar_properties
        twins = list(scan_with_geometry(store, model_family(models, root), area))
        for twin, geom in zip(twins, _tile_geometries(twins, project, extent, buffer), strict=True):
            encoded = encode_geometry(geom) if geom is not None else None
            if encoded is not None:
                layer.add(encoded[0], encoded[1], properties(twin))
        if layer.features:
            out += pb.bytes_field(3, layer.encode())
    return bytes(out)


def _building_properties(twin: Twin) -> dict[str, Any]:
    return map_properties(twin, numbers_only=True)


def building_summary(store: TwinStore, models: ModelSet) -> dict[str, Any]:
    """What a map needs before the first tile: where the buildings are, and the range of each number they carry
    (so that a colour ramp is right in the first frame) and the commonest usages."""
    count, bounds = 0, [math.inf, math.inf, -math.inf, -math.inf]
    ranges: dict[str, list[float]] = {}
    usages: Counter[str] = Counter()
    for twin in scan_with_geometry(store, model_family(models, BUILDING), None):
        try:
            west, south, east, north = coordinate_bounds((twin.geometry or {})["coordinates"])
        except (TypeError, IndexError, KeyError, ValueError):
            continue  # a malformed footprint is not drawn either
        count += 1
        bounds = [min(bounds[0], west), min(bounds[1], south), max(bounds[2], east), max(bounds[3], north)]
        for key, value in _building_properties(twin).items():
            v = number(value)
            if v is not None and math.isfinite(v):
                lo_hi = ranges.setdefault(key, [v, v])
                lo_hi[0], lo_hi[1] = min(lo_hi[0], v), max(lo_hi[1], v)
        if isinstance(usage := twin.properties.get("usage"), str | int):
            usages[str(usage)] += 1
    return {
        "count": count,
        "bounds": bounds if count else None,
        "ranges": ranges,
        "categories": {"usage": [value for value, _ in usages.most_common(TOP_CATEGORIES)]},
    }


def tilejson(tiles_url: str, summary: dict[str, Any]) -> dict[str, Any]:
    """A TileJSON 3.0.0 document of the city's vector tiles, with the building summary under ``futago:buildings``."""
    bounds = summary["bounds"] or [-180.0, -MAX_LAT, 180.0, MAX_LAT]
    strings = {"id": "String", "model": "String", "name": "String"}
    numbers = {key: "Number" for key in summary["ranges"]}
    return {
        "tilejson": "3.0.0",
        "name": "futago city",
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": 0,
        "maxzoom": MAX_TILE_ZOOM,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 14],
        "vector_layers": [
            {
                "id": "buildings",
                "minzoom": BUILDING_MIN_ZOOM,
                "maxzoom": MAX_TILE_ZOOM,
                "fields": {**strings, "usage": "String", **numbers},
            },
            {"id": "flood_zones", "minzoom": 0, "maxzoom": MAX_TILE_ZOOM, "fields": strings},
            {"id": "roads", "minzoom": 0, "maxzoom": MAX_TILE_ZOOM, "fields": strings},
        ],
        "futago:buildings": summary,
    }
