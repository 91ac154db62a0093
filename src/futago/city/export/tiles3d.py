"""3D Tiles 1.1 of the building twins: an explicit quadtree of GLB tiles over the district.

A building with LOD2/LOD3 boundary surfaces (its ``surfaces`` property) is drawn from them, each
triangle tagged with its surface; any other building is its footprint extruded to its height.
Heights become ellipsoidal with the best geoid model found (``geoid``), and ``asset.extras`` says which.

Each building lands in exactly one leaf (by the centre of its footprint's bounds), and leaves
are split until they hold at most ``max_per_tile`` buildings, so a viewer streams only the
leaves in view. Inner tiles carry no content and refine with ``ADD``; their geometric error is
the size of their region, so that a viewer loads the leaves as soon as a tile fills a screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry import shape

from futago.city.export.extrude import flat_normals, footprint_polygons, prism, surface_triangles
from futago.city.export.geodesy import EnuFrame, to_ecef
from futago.city.export.geoid import find_geoid, height_reference
from futago.city.export.geojson import feature_properties
from futago.city.export.gltf import NULL_FEATURE_ID, BuildingRow, SurfaceRow, write_glb
from futago.city.export.scan import BUILDING, model_family, scan_with_geometry
from futago.core.dtdl.model_set import ModelSet
from futago.core.ports import TwinStore
from futago.core.twins import Twin

DEFAULT_HEIGHT = 3.0  # metres drawn for a building without measuredHeight (its metadata stays noData)
MEDIA_TYPE_JSON = "application/json"
MEDIA_TYPE_GLB = "model/gltf-binary"


#: The outer shell of a building; interior surfaces (LOD4) would be hidden inside it.
EXTERIOR = frozenset(
    ("RoofSurface", "WallSurface", "GroundSurface", "ClosureSurface", "OuterCeilingSurface", "OuterFloorSurface")
)


@dataclass(slots=True)
class Surface:
    row: SurfaceRow
    polygons: list[list[np.ndarray]]  # rings of (N, 3) lon, lat, orthometric h


@dataclass(slots=True)
class Footprint:
    row: BuildingRow
    polygons: list[shapely.Polygon]
    bounds: tuple[float, float, float, float]  # lon/lat
    top: float  # orthometric, like every height here until ``offset`` (the geoid height) is added
    low: float
    surfaces: list[Surface] = field(default_factory=list)  # drawn instead of the extruded footprint
    offset: float = 0.0

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.bounds[0] + self.bounds[2]) / 2, (self.bounds[1] + self.bounds[3]) / 2)


@dataclass(slots=True)
class Tileset:
    """tileset.json and the GLB of every leaf, by path relative to tileset.json."""

    json: bytes
    contents: dict[str, bytes] = field(default_factory=dict)


def load_footprints(store: TwinStore, models: ModelSet) -> Iterator[Footprint]:
    for twin in scan_with_geometry(store, model_family(models, BUILDING), None):
        try:
            polygons = footprint_polygons(shape(twin.geometry))
        except (shapely.errors.ShapelyError, ValueError, TypeError, AttributeError, KeyError):
            continue  # a malformed footprint cannot be extruded; the rest of the district can
        if not polygons:
            continue
        props = feature_properties(twin)
        usage = props["usage"]
        row = BuildingRow(
            twin.id, props["height"], props["base"], usage if isinstance(usage, str) else None, props["floodDepth"]
        )
        west, south, east, north = (float(v) for v in shapely.MultiPolygon(polygons).bounds)
        top = row.base + (row.height if row.height is not None else DEFAULT_HEIGHT)
        surfaces = shell(twin)
        if surfaces:
            points = np.concatenate([ring for s in surfaces for polygon in s.polygons for ring in polygon])
            west, south = min(west, float(points[:, 0].min())), min(south, float(points[:, 1].min()))
            east, north = max(east, float(points[:, 0].max())), max(north, float(points[:, 1].max()))
            yield Footprint(
                row,
                polygons,
                (west, south, east, north),
                float(points[:, 2].max()),
                float(points[:, 2].min()),
                surfaces,
            )
        else:
            yield Footprint(row, polygons, (west, south, east, north), top, row.base)


def ring_positions(flat: Any) -> np.ndarray:
    """(N, 3) positions of a flat ``[lon, lat, h, ...]`` ring of a twin's ``surfaces`` (``futago.city.surfaces``)."""
    values = np.asarray(flat, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError("a ring is a flat list of numbers")
    return values[: len(values) // 3 * 3].reshape(-1, 3)


def _surface(value: Any) -> Surface | None:
    """One element of a twin's ``surfaces``, or None when it is not the form ``futago.city.surfaces`` writes."""
    if not isinstance(value, dict) or not isinstance(kind := value.get("type"), str):
        return None
    lod, gml_id = value.get("lod"), value.get("gmlId")
    try:
        polygons = [[ring_positions(ring) for ring in polygon] for polygon in value.get("polygons") or []]
    except (TypeError, ValueError):
        return None  # not numbers: the surface cannot be drawn, the building still can
    polygons = [p for p in polygons if p and len(p[0]) >= 3 and all(np.isfinite(r).all() for r in p)]
    if not polygons or not isinstance(lod, int):
        return None
    return Surface(SurfaceRow(kind, gml_id if isinstance(gml_id, str) else "", lod), polygons)


def shell(twin: Twin) -> list[Surface]:
    """The exterior boundary surfaces of the highest LOD a building has, when they include a roof or a wall
    (a ground surface alone is no shape: the extruded footprint says more); otherwise none."""
    values = twin.properties.get("surfaces")
    if not isinstance(values, list):
        return []
    surfaces = [s for v in values if (s := _surface(v)) is not None and s.row.kind in EXTERIOR]
    if not surfaces:
        return []
    lod = max(s.row.lod for s in surfaces)
    chosen = [s for s in surfaces if s.row.lod == lod]
    return chosen if any(s.row.kind in ("RoofSurface", "WallSurface") for s in chosen) else []


def _region(items: list[Footprint]) -> list[float]:
    """boundingVolume.region: west, south, east, north in radians, then min and max height."""
    west = min(f.bounds[0] for f in items)
    south = min(f.bounds[1] for f in items)
    east = max(f.bounds[2] for f in items)
    north = max(f.bounds[3] for f in items)
    low = min(f.low + f.offset for f in items)
    high = max(f.top + f.offset for f in items)
    return [*np.radians([west, south, east, north]).tolist(), low, max(high, low + 0.01)]


def _size(region: list[float]) -> float:
    """The diagonal of a region in metres: an inner tile's geometric error."""
    corners = to_ecef(np.degrees([region[0], region[2]]), np.degrees([region[1], region[3]]), [region[4], region[5]])
    return float(np.linalg.norm(corners[1] - corners[0]))


def _surface_solid(surface: Surface, offset: float, frame: EnuFrame) -> np.ndarray:
    parts = [
        surface_triangles([frame.from_geodetic(r[:, 0], r[:, 1], r[:, 2] + offset) for r in polygon])
        for polygon in surface.polygons
    ]
    return np.concatenate(parts) if parts else np.empty((0, 3, 3))


def _leaf_glb(items: list[Footprint], frame: EnuFrame) -> bytes:
    """Every building of a leaf: (triangles, building index, surface index or NULL) per solid, then one GLB."""
    solids: list[tuple[np.ndarray, int, int]] = []
    surface_rows: list[SurfaceRow] = []
    for index, f in enumerate(items):
        if f.surfaces:
            for surface in f.surfaces:
                solids.append((_surface_solid(surface, f.offset, frame), index, len(surface_rows)))
                surface_rows.append(surface.row)
        else:
            base, top = f.row.base + f.offset, f.top + f.offset
            solids += [(prism(p, base, top, frame), index, NULL_FEATURE_ID) for p in f.polygons]
    triangles = np.concatenate([solid for solid, _, _ in solids])
    feature_ids = np.concatenate([np.full(len(solid), index) for solid, index, _ in solids])
    surface_ids = np.concatenate([np.full(len(solid), surface) for solid, _, surface in solids])
    normals, keep = flat_normals(triangles)
    rows = [f.row for f in items]
    if not surface_rows:
        return write_glb(triangles[keep], normals[keep], feature_ids[keep], rows)
    return write_glb(triangles[keep], normals[keep], feature_ids[keep], rows, surface_ids[keep], surface_rows)


def _quadrants(items: list[Footprint]) -> list[list[Footprint]]:
    """Split at the middle of the centres' extent; empty quadrants are dropped."""
    xs = [f.centre[0] for f in items]
    ys = [f.centre[1] for f in items]
    mid_x, mid_y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    quads: list[list[Footprint]] = [[], [], [], []]
    for item in items:
        x, y = item.centre
        quads[(x > mid_x) + 2 * (y > mid_y)].append(item)
    return [q for q in quads if q]


class _Builder:
    def __init__(self, max_per_tile: int, max_depth: int) -> None:
        self.max_per_tile = max_per_tile
        self.max_depth = max_depth
        self.contents: dict[str, bytes] = {}

    def tile(self, items: list[Footprint], key: str, depth: int) -> dict[str, Any]:
        region = _region(items)
        quads = _quadrants(items) if len(items) > self.max_per_tile and depth < self.max_depth else [items]
        if len(quads) > 1:
            return {
                "boundingVolume": {"region": region},
                "geometricError": _size(region),
                "refine": "ADD",
                "children": [self.tile(q, f"{key}-{i}", depth + 1) for i, q in enumerate(quads)],
            }
        west, south, east, north = np.degrees(region[:4])
        frame = EnuFrame((west + east) / 2, (south + north) / 2, 0.0)
        path = f"tiles/{key}.glb"
        self.contents[path] = _leaf_glb(items, frame)
        return {
            "boundingVolume": {"region": region},
            "geometricError": 0.0,
            "refine": "ADD",
            "transform": frame.to_ecef_matrix(),
            "content": {"uri": path},
        }


def _add_geoid(items: list[Footprint]) -> list[str]:
    """Makes every building's heights ellipsoidal by the geoid height at its centre (a building is too small
    for the geoid to tilt it: a few millimetres per 100 m); returns the models used."""
    centres = np.array([f.centre for f in items])
    offsets, used = find_geoid().undulation(centres[:, 0], centres[:, 1])
    for item, offset in zip(items, offsets.tolist(), strict=True):
        item.offset = offset
    return used


def build_tileset(store: TwinStore, models: ModelSet, max_per_tile: int = 200, max_depth: int = 10) -> Tileset | None:
    """The district's tileset, or None when there is no building with a footprint to show."""
    items = list(load_footprints(store, models))
    if not items:
        return None
    used = _add_geoid(items)
    builder = _Builder(max_per_tile, max_depth)
    root = builder.tile(items, "0", 0)
    document = {
        "asset": {"version": "1.1", "generator": "futago", "extras": height_reference(used)},
        "geometricError": max(_size(root["boundingVolume"]["region"]), 1.0),
        "root": root,
    }
    return Tileset(orjson.dumps(document), builder.contents)
