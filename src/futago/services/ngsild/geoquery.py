"""NGSI-LD geo-queries (GS CIM 009 clause 4.10): georel, geometry, coordinates and geoproperty.

Geometries are WGS84 longitude/latitude. ``near`` measures great-circle metres from a Point (to the nearest point
of the entity's geometry); the other relations are the planar Simple Features predicates of shapely on degrees,
as NGSI-LD brokers compute them. A query on ``location`` narrows the store's scan by a bounding box where the
relation allows it (everything but ``disjoint`` and ``near;minDistance``), and is then decided exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep

from futago.core.query import spatial
from futago.core.twins import BBox
from futago.services.ngsild.attributes import LOCATION, Instance
from futago.services.ngsild.qlang import problem

RELATIONS = ("near", "within", "contains", "intersects", "equals", "disjoint", "overlaps")
GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
MAX_COORDINATES = 100_000  # characters of a coordinates parameter


@dataclass(frozen=True, slots=True)
class GeoQuery:
    relation: str
    geometry: dict[str, Any]  # GeoJSON
    geoproperty: str = LOCATION  # the expanded IRI of the GeoProperty tested
    max_distance: float | None = None
    min_distance: float | None = None

    def bbox(self) -> BBox | None:
        """A box every matching geometry meets, or None where none bounds the answer."""
        if self.relation == "disjoint" or (self.relation == "near" and self.max_distance is None):
            return None
        if self.relation == "near":
            lon, lat = self.geometry["coordinates"][:2]
            return spatial.circle_bbox(float(lon), float(lat), float(self.max_distance or 0.0))
        min_lon, min_lat, max_lon, max_lat = shape(self.geometry).bounds
        return (min_lon, min_lat, max_lon, max_lat)

    def test(self) -> Callable[[Any], bool]:
        """The exact test of an entity's GeoJSON value."""
        if self.relation == "near":
            distance = spatial.distance_function(self.geometry)
            low, high = self.min_distance, self.max_distance

            def near(value: Any) -> bool:
                metres = distance(value)
                return metres is not None and (high is None or metres <= high) and (low is None or metres >= low)

            return near
        reference = shape(self.geometry)
        predicate = _PREDICATES[self.relation]
        if self.relation == "equals":  # the geometry as given, so that an unrepaired ring still equals itself
            return lambda value: _equal(_geometry(value), reference)
        reference = _repaired(reference)
        prepared = prep(reference)

        def relate(value: Any) -> bool:
            geometry = _geometry(value)
            return geometry is not None and predicate(_repaired(geometry), reference, prepared)

        return relate


_PREDICATES: dict[str, Callable[[BaseGeometry, BaseGeometry, Any], bool]] = {
    "within": lambda g, r, p: bool(p.covers(g)),  # edges included, as ST_WITHIN of the query language
    "contains": lambda g, r, p: bool(g.contains(r)),
    "intersects": lambda g, r, p: bool(p.intersects(g)),
    "equals": lambda g, r, p: bool(g.equals(r)),
    "disjoint": lambda g, r, p: bool(p.disjoint(g)),
    "overlaps": lambda g, r, p: bool(g.overlaps(r)),
}


def _repaired(geometry: BaseGeometry) -> BaseGeometry:
    """A geometry the Simple Features predicates are defined on: GeoJSON (RFC 7946) lets a polygon's ring cross
    itself, GEOS does not, so such a ring is read as the area it encloses (shapely's make_valid)."""
    return geometry if geometry.is_valid else shapely.make_valid(geometry)


def _equal(geometry: BaseGeometry | None, reference: BaseGeometry) -> bool:
    if geometry is None:
        return False
    if geometry.is_valid and reference.is_valid:
        return bool(geometry.equals(reference))
    # topological equality is undefined on a ring that crosses itself: the same vertices, from any start, are equal
    return bool(shapely.normalize(geometry).equals_exact(shapely.normalize(reference), 1e-9))


def _geometry(value: Any) -> BaseGeometry | None:
    if not isinstance(value, dict):
        return None
    try:
        geometry = shape(value)
    except Exception:  # a stored value that is not GeoJSON matches nothing
        return None
    return None if geometry.is_empty else geometry


def parse_geo(
    georel: str | None, geometry: str | None, coordinates: str | None, geoproperty: str | None
) -> GeoQuery | None:
    """The geo-query of a request's parameters (``geoproperty`` already expanded), None when it has none; a
    malformed one is a BadRequestData pointing at the parameter at fault."""
    if georel is None:
        if geometry is not None or coordinates is not None:
            raise problem("geometry and coordinates need a georel", "georel")
        return None
    relation, _, rest = georel.partition(";")
    if relation not in RELATIONS:
        raise problem(f"{relation!r} is not one of {', '.join(RELATIONS)}", "georel")
    max_distance, min_distance = _distances(relation, rest)
    if geometry is None:
        raise problem("a geo-query needs a geometry (Point, Polygon, ...)", "geometry")
    if geometry not in GEOMETRIES:
        raise problem(f"{geometry!r} is not one of {', '.join(GEOMETRIES)}", "geometry")
    if relation == "near" and geometry != "Point":
        raise problem("near measures from a Point", "geometry")
    document = {"type": geometry, "coordinates": _coordinates(coordinates)}
    try:
        built = shape(document)
        valid = not built.is_empty and _in_range(built)  # a self-crossing ring is still GeoJSON (RFC 7946)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise problem(f"not valid {geometry} coordinates ({exc})", "coordinates") from None
    if not valid:
        raise problem(f"not a valid {geometry} in longitude/latitude (WGS84)", "coordinates")
    return GeoQuery(relation, document, geoproperty or LOCATION, max_distance, min_distance)


def _distances(relation: str, rest: str) -> tuple[float | None, float | None]:
    if relation != "near":
        if rest:
            raise problem(f"{relation} takes no modifier", "georel")
        return None, None
    found: dict[str, float] = {}
    for part in filter(None, rest.split(";")):
        name, equals, number = part.partition("==")
        if name not in ("maxDistance", "minDistance") or not equals:
            raise problem("near takes maxDistance==<metres> and/or minDistance==<metres>", "georel")
        try:
            metres = float(number)
        except ValueError:
            raise problem(f"{number!r} is not a distance in metres", "georel") from None
        if not math.isfinite(metres) or metres <= 0:  # 4.10: a PositiveNumber, zero excluded
            raise problem("a distance is a positive number of metres", "georel")
        found[name] = metres
    if not found:
        raise problem("near needs maxDistance==<metres> or minDistance==<metres>", "georel")
    return found.get("maxDistance"), found.get("minDistance")


def _coordinates(text: str | None) -> Any:
    if text is None:
        raise problem("a geo-query needs coordinates (a JSON array)", "coordinates")
    if len(text) > MAX_COORDINATES:
        raise problem(f"at most {MAX_COORDINATES} characters", "coordinates")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise problem("coordinates are a JSON array, e.g. [139.77,35.68]", "coordinates") from None
    if not isinstance(value, list):
        raise problem("coordinates are a JSON array, e.g. [139.77,35.68]", "coordinates")
    return value


def _in_range(geometry: BaseGeometry) -> bool:
    coords = shapely.get_coordinates(geometry)
    return bool(len(coords) and (abs(coords[:, 0]) <= 180).all() and (abs(coords[:, 1]) <= 90).all())


def geo_value(attrs: dict[str, list[Instance]], geoproperty: str) -> Any:
    """The GeoJSON of an entity's GeoProperty (its default instance), or None."""
    instances = attrs.get(geoproperty) or []
    default = next((i for i in instances if "datasetId" not in i), None)
    return default.get("value") if default is not None else None
