"""City features as twin documents of futago's city models (``futago/city/models.json``)."""

from __future__ import annotations

from typing import Any

from futago.city.features import BuildingFeature, Polygon3, RoadFeature, WaterBodyFeature
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
