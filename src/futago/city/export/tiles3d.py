"""3D Tiles 1.1 of the building twins: an explicit quadtree of GLB tiles over the district.

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

from futago.city.export.extrude import flat_normals, footprint_polygons, prism
from futago.city.export.geodesy import EnuFrame, to_ecef
from futago.city.export.geojson import feature_properties
from futago.city.export.gltf import BuildingRow, write_glb
from futago.city.export.scan import BUILDING, model_family, scan_with_geometry
from futago.core.dtdl.model_set import ModelSet
from futago.core.ports import TwinStore

DEFAULT_HEIGHT = 3.0  # metres drawn for a building without measuredHeight (its metadata stays noData)
MEDIA_TYPE_JSON = "application/json"
MEDIA_TYPE_GLB = "model/gltf-binary"


@dataclass(slots=True)
class Footprint:
    row: BuildingRow
    polygons: list[shapely.Polygon]
    bounds: tuple[float, float, float, float]  # lon/lat
    top: float

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
        yield Footprint(row, polygons, (west, south, east, north), top)


def _region(items: list[Footprint]) -> list[float]:
    """boundingVolume.region: west, south, east, north in radians, then min and max height."""
    west = min(f.bounds[0] for f in items)
    south = min(f.bounds[1] for f in items)
    east = max(f.bounds[2] for f in items)
    north = max(f.bounds[3] for f in items)
    low = min(f.row.base for f in items)
    high = max(f.top for f in items)
    return [*np.radians([west, south, east, north]).tolist(), low, max(high, low + 0.01)]


def _size(region: list[float]) -> float:
    """The diagonal of a region in metres: an inner tile's geometric error."""
    corners = to_ecef(np.degrees([region[0], region[2]]), np.degrees([region[1], region[3]]), [region[4], region[5]])
    return float(np.linalg.norm(corners[1] - corners[0]))


def _leaf_glb(items: list[Footprint], frame: EnuFrame) -> bytes:
    solids = [(index, prism(p, f.row.base, f.top, frame)) for index, f in enumerate(items) for p in f.polygons]
    triangles = np.concatenate([solid for _, solid in solids])
    feature_ids = np.concatenate([np.full(len(solid), index) for index, solid in solids])
    normals, keep = flat_normals(triangles)
    return write_glb(triangles[keep], normals[keep], feature_ids[keep], [f.row for f in items])


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


def build_tileset(store: TwinStore, models: ModelSet, max_per_tile: int = 200, max_depth: int = 10) -> Tileset | None:
    """The district's tileset, or None when there is no building with a footprint to show."""
    items = list(load_footprints(store, models))
    if not items:
        return None
    builder = _Builder(max_per_tile, max_depth)
    root = builder.tile(items, "0", 0)
    document = {
        "asset": {"version": "1.1", "generator": "futago"},
        "geometricError": max(_size(root["boundingVolume"]["region"]), 1.0),
        "root": root,
    }
    return Tileset(orjson.dumps(document), builder.contents)
