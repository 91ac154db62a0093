"""City features as twin documents of futago's city models (``futago/city/models.json``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import shapely

from futago.city.features import BuildingFeature, CityFeature, Polygon3, RoadFeature, WaterBodyFeature
from futago.city.generic import generic_json, split_attributes
from futago.city.surfaces import surfaces_document

CITY = "dtmi:futago:city:"
BUILDING = CITY + "Building;1"
BUILDING_PART = CITY + "BuildingPart;1"
FLOOD_ZONE = CITY + "FloodZone;1"
ROAD = CITY + "Road;1"
DISTRICT = CITY + "District;1"
CITY_MODEL = CITY + "City;1"


def geojson(polygons: list[Polygon3]) -> dict[str, Any] | None:
    """A GeoJSON Polygon or MultiPolygon in (longitude, latitude); heights dropped."""
    rings = [[[[p[0], p[1]] for p in ring] for ring in polygon] for polygon in polygons if polygon and polygon[0]]
    if not rings:
        return None
    if len(rings) == 1:
        return {"type": "Polygon", "coordinates": rings[0]}
    return {"type": "MultiPolygon", "coordinates": rings}


def _set(doc: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value != [] and value != {}:
        doc[key] = value


def building_document(feature: BuildingFeature) -> dict[str, Any]:
    doc: dict[str, Any] = {"$metadata": {"$model": BUILDING if feature.kind == "Building" else BUILDING_PART}}
    _set(doc, "name", feature.name)
    _set(doc, "gmlId", feature.gml_id)
    _set(doc, "buildingId", feature.building_id)
    _set(doc, "measuredHeight", feature.measured_height)
    _set(doc, "groundElevation", feature.ground_elevation)
    _set(doc, "storeysAboveGround", feature.storeys_above_ground)
    _set(doc, "storeysBelowGround", feature.storeys_below_ground)
    _set(doc, "usage", feature.usage)
    _set(doc, "usageCode", feature.usage_code)
    _set(doc, "buildingClass", feature.building_class)
    _set(doc, "yearOfConstruction", feature.year_of_construction)
    _set(doc, "lods", sorted(feature.lods))
    attributes, moved = split_attributes(feature.attributes)  # a Japanese key is no DTDL map key
    _set(doc, "attributes", attributes)
    _set(doc, "genericAttributes", [generic_json(a) for a in feature.generic] + moved)
    _set(doc, "risks", [r.to_json() for r in feature.risks])
    depths = [r.depth for r in feature.risks if r.kind == "river_flooding" and r.depth is not None]
    _set(doc, "floodDepthMax", max(depths) if depths else None)
    _set(doc, "surfaces", surfaces_document(feature.surfaces))
    _set(doc, "geometry", geojson(feature.footprint))
    return doc


def flood_zone_document(feature: WaterBodyFeature) -> dict[str, Any]:
    doc: dict[str, Any] = {"$metadata": {"$model": FLOOD_ZONE}, "gmlId": feature.gml_id, "hazard": feature.hazard}
    _set(doc, "name", feature.name)
    if feature.risks:
        risk = feature.risks[0]
        _set(doc, "description", risk.description)
        _set(doc, "rank", risk.rank)
        _set(doc, "rankOrg", risk.rank_org)
        _set(doc, "scale", risk.scale)
        _set(doc, "adminType", risk.admin_type)
        _set(doc, "depth", risk.depth)
    _set(doc, "geometry", geojson(feature.polygons))
    return doc


def road_document(feature: RoadFeature) -> dict[str, Any]:
    doc: dict[str, Any] = {"$metadata": {"$model": ROAD}, "gmlId": feature.gml_id}
    _set(doc, "function", feature.function)
    _set(doc, "roadClass", feature.road_class)
    _set(doc, "geometry", geojson(feature.polygons))
    return doc


class BuildingRecord(NamedTuple):
    """What an import keeps of a building: its twin document and the few figures around it, made where the
    building was read (a reading worker), so that the feature itself never crosses to the importer."""

    gml_id: str
    kind: str  # Building or BuildingPart
    parent_id: str | None
    source: str  # file:line
    document: dict[str, Any]
    flood_risk: bool  # a river-flooding risk entry
    bounds: tuple[float, float, float, float] | None  # of the footprint, as shapely gives them
    centre: tuple[float, float] | None  # the footprint's centroid: where zones are joined
    ground_at: tuple[float, float] | None  # the mean of the first ring: where the relief's height is taken


def building_records(features: Sequence[CityFeature]) -> list[Any]:
    """A chunk of features with each building as its BuildingRecord (the others as they are).

    The footprints of a chunk become shapely polygons in one call (``from_ragged_array``), the same polygons
    ``shapely.geometry.shape`` makes of the documents' GeoJSON, so bounds and centres are the same numbers."""
    buildings = [(i, f) for i, f in enumerate(features) if isinstance(f, BuildingFeature)]
    shapes = _footprint_shapes([f.footprint for _, f in buildings])
    out: list[Any] = list(features)
    bounds = shapely.bounds(shapes).tolist() if len(shapes) else []
    centres = shapely.centroid(shapes) if len(shapes) else []
    for (i, feature), shape, box, centre in zip(buildings, shapes, bounds, centres, strict=True):
        ring = feature.footprint[0][0] if feature.footprint else None
        out[i] = BuildingRecord(
            feature.gml_id,
            feature.kind,
            feature.parent_id,
            feature.source,
            building_document(feature),
            any(r.kind == "river_flooding" for r in feature.risks),
            None if shape is None else (box[0], box[1], box[2], box[3]),
            None if shape is None else (shapely.get_x(centre), shapely.get_y(centre)),
            None if not ring else (sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring)),
        )
    return out


def _footprint_shapes(footprints: list[list[Polygon3]]) -> np.ndarray:
    """The footprint of each building as a shapely geometry (None without one): the single closed polygons in
    one ragged array, any other (several polygons, a ring left open or too short) through its GeoJSON."""
    out = np.full(len(footprints), None, dtype=object)
    simple: list[int] = []
    coords: list[Any] = []
    ring_ends: list[int] = [0]
    polygon_ends: list[int] = [0]
    for n, footprint in enumerate(footprints):
        polygons = [poly for poly in footprint if poly and poly[0]]
        if not polygons:
            continue
        if len(polygons) == 1 and all(len(r) >= 4 and r[0][:2] == r[-1][:2] for r in polygons[0]):
            simple.append(n)
            for ring in polygons[0]:
                coords.extend(ring)
                ring_ends.append(ring_ends[-1] + len(ring))
            polygon_ends.append(len(ring_ends) - 1)
        else:
            out[n] = shapely.geometry.shape(geojson(footprint))
    if simple:
        xy = np.array([(p[0], p[1]) for p in coords], dtype=float)
        offsets = (np.array(ring_ends, dtype=np.int64), np.array(polygon_ends, dtype=np.int64))
        out[simple] = shapely.from_ragged_array(shapely.GeometryType.POLYGON, xy, offsets)
    return out


def with_ground_elevation(document: dict[str, Any], value: float) -> dict[str, Any]:
    """The document with ``groundElevation`` set, in the place ``building_document`` gives it."""
    if "groundElevation" in document:
        document["groundElevation"] = value
        return document
    before = ("$metadata", "name", "gmlId", "buildingId", "measuredHeight")
    out = {k: v for k, v in document.items() if k in before}
    out["groundElevation"] = value
    out.update((k, v) for k, v in document.items() if k not in before)
    return out
