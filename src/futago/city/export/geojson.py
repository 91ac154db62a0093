"""GeoJSON FeatureCollections of city twins by bounding box, streamed in chunks.

A map client extrudes buildings itself (MapLibre's fill-extrusion, deck.gl), so every feature
carries ``height`` and ``base`` next to its footprint. The collection is produced as a
generator of byte chunks so that a whole city can be served without building it in memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import shapely
from shapely.geometry import box, shape

from futago.city.export.scan import BUILDING, CHUNK, model_family, scan_with_geometry
from futago.core.dtdl.model_set import ModelSet
from futago.core.errors import InvalidInput
from futago.core.ports import TwinStore
from futago.core.problems import Problem
from futago.core.twins import BBox, Twin

MEDIA_TYPE = "application/geo+json"
ANY_MODEL = "*"  # every twin with a geometry: what a map shows (buildings, zones, roads, sensors)


def parse_bbox(text: str | None, pointer: str = "/bbox") -> BBox:
    """``minLon,minLat,maxLon,maxLat`` in WGS84, checked so that a typo is a 422, not an empty map."""
    expected = "give bbox=minLon,minLat,maxLon,maxLat in WGS84 degrees"
    if not text:
        raise InvalidInput([Problem(pointer, f"the bounding box is missing; {expected}")])
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidInput([Problem(pointer, f"'{text}' is not four numbers; {expected}")]) from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput([Problem(pointer, f"'{text}' is not four finite numbers; {expected}")])
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise InvalidInput(
            [
                Problem(
                    pointer,
                    f"'{text}' is not a box: need -180 <= minLon <= maxLon <= 180, -90 <= minLat <= maxLat <= 90",
                )
            ]
        )
    return (min_lon, min_lat, max_lon, max_lat)


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def feature_properties(twin: Twin) -> dict[str, Any]:
    """The flat properties a renderer styles by; a missing height stays null, never 0."""
    props = twin.properties
    depth = props.get("floodDepthMax", props.get("depth"))
    return {
        "id": twin.id,
        "model": twin.model,
        "name": props.get("name"),
        "height": number(props.get("measuredHeight", props.get("height"))),
        "base": number(props.get("groundElevation")) or 0.0,
        "usage": props.get("usage"),
        "floodDepth": number(depth),
    }


def scalar_properties(twin: Twin) -> dict[str, Any]:
    """Every scalar property of the twin, with its id and model."""
    scalars = {k: v for k, v in twin.properties.items() if isinstance(v, str | int | float | bool)}
    return {"id": twin.id, "model": twin.model, **scalars}


#: Properties that reach a map under a styled name already (height, base, floodDepth).
_STYLED_SOURCES = ("measuredHeight", "groundElevation", "floodDepthMax", "depth", "gmlId")


def map_properties(twin: Twin, numbers_only: bool = False) -> dict[str, Any]:
    """The styled properties over every other scalar one (or every other number), so that a map can colour
    by any property without asking twin by twin. Vector tiles of buildings keep the numbers only, to stay
    small; 3D Tiles keep only the styled ones."""
    extra = scalar_properties(twin)
    for name in _STYLED_SOURCES:
        extra.pop(name, None)
    if numbers_only:
        extra = {k: v for k, v in extra.items() if number(v) is not None}
    return {**extra, **feature_properties(twin)}


def feature(twin: Twin) -> dict[str, Any]:
    """A GeoJSON feature with every scalar property of its twin."""
    return {"type": "Feature", "id": twin.id, "geometry": twin.geometry, "properties": map_properties(twin)}


def coordinate_bounds(coordinates: Any) -> tuple[float, float, float, float]:
    """The bounds of nested GeoJSON coordinates, without building a shapely geometry."""
    if isinstance(coordinates[0], int | float):
        x, y = float(coordinates[0]), float(coordinates[1])
        return x, y, x, y
    parts = [coordinate_bounds(c) for c in coordinates]
    return min(b[0] for b in parts), min(b[1] for b in parts), max(b[2] for b in parts), max(b[3] for b in parts)


def _meets(twin: Twin, area: shapely.Geometry, bbox: BBox) -> bool:
    try:
        # Most twins lie wholly inside the box: their bounds say so, and the exact test is only for the rest.
        coordinates = twin.geometry.get("coordinates") if twin.geometry else None
        if not coordinates:  # a GeometryCollection, or nothing: shapely decides
            return bool(shape(twin.geometry).intersects(area))
        min_x, min_y, max_x, max_y = coordinate_bounds(coordinates)
        if bbox[0] <= min_x and bbox[1] <= min_y and max_x <= bbox[2] and max_y <= bbox[3]:
            return True
        return bool(shape(twin.geometry).intersects(area))
    except (shapely.errors.ShapelyError, ValueError, TypeError, AttributeError, KeyError, IndexError):
        return False  # a malformed geometry cannot be placed on a map; leave it out


def features_in_bbox(
    store: TwinStore,
    models: ModelSet,
    bbox: BBox,
    model: str = BUILDING,
    chunk: int = CHUNK,
    exclude: str | None = None,
) -> Iterator[Twin]:
    """Twins of ``model`` (and its sub-models; ``*`` for any), less those of ``exclude`` and its sub-models,
    whose geometry really intersects the box."""
    area = box(*bbox)
    shapely.prepare(area)
    family = None if model == ANY_MODEL else model_family(models, model)
    if exclude:  # the store leaves them out: a district's buildings are most of its twins
        left_out = model_family(models, exclude)
        family = frozenset(m for m in (models if family is None else family) if m not in left_out)
    for twin in scan_with_geometry(store, family, bbox, chunk):
        if _meets(twin, area, bbox):
            yield twin


def feature_collection(twins: Iterable[Twin], bbox: BBox, chunk: int = CHUNK) -> Iterator[bytes]:
    """The FeatureCollection of ``twins`` (``features_in_bbox``) as byte chunks: one per ``chunk`` features,
    plus head and tail."""
    yield b'{"type":"FeatureCollection","bbox":' + orjson.dumps(list(bbox)) + b',"features":['
    buffer: list[bytes] = []
    first = True
    for twin in twins:
        buffer.append(orjson.dumps(feature(twin)))
        if len(buffer) >= chunk:
            yield (b"" if first else b",") + b",".join(buffer)
            first, buffer = False, []
    if buffer:
        yield (b"" if first else b",") + b",".join(buffer)
    yield b"]}"
