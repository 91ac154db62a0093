"""2D shapes of 3D city objects: the ground outline of a bench, a bridge or a tree, for maps and joins.

A LOD2/LOD3 object is a bag of faces: walls project to nothing, roofs and floors project onto the same
ground twice. The outline is the union of the projected faces that have an area, done in bulk with
shapely (one array of points, one union per object). A closed surface projects onto the ground twice,
once through the faces that look up and once through those that look down (counter-clockwise and
clockwise seen from above), so only the larger of the two sets is united: half the work, the same
outline. Where the faces are not a closed surface that half may miss something; a half whose outline
does not reach the bounds of all faces is then replaced by the union of all. Kawasaki's 11 MB of
furniture (23,054 faces in 28 objects) costs about 0.25 s. A union that GEOS cannot make falls back to
the convex hull of all points.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from futago.city.features import Polygon3

# Faces whose projection is smaller than this (square degrees, about 1 cm² in Japan) are walls seen from
# above or rounding noise: they would only make the union slower and spikier.
MIN_FACE_AREA = 1e-14


def outline(polygons: list[Polygon3]) -> list[Polygon3]:
    """The 2D (lon, lat) ground outline of 3D faces: one polygon per separate piece, holes kept."""
    import numpy as np
    import shapely
    from shapely.errors import GEOSException

    rings = [poly[0] for poly in polygons if poly and len(poly[0]) >= 4]
    if not rings:
        return []
    points = np.array([(p[0], p[1]) for ring in rings for p in ring], dtype=float)
    index = np.repeat(np.arange(len(rings)), [len(ring) for ring in rings])
    try:
        shells = shapely.linearrings(points, indices=index)
        faces = shapely.polygons(shells)
        areas = shapely.area(faces)
        keep = areas > MIN_FACE_AREA
        faces, areas, up = faces[keep], areas[keep], shapely.is_ccw(shells[keep])
        invalid = ~shapely.is_valid(faces)
        if invalid.any():
            faces[invalid] = shapely.make_valid(faces[invalid])
        shape = _union(faces, areas, up) if len(faces) else None
    except (GEOSException, ValueError):
        shape = None
    if shape is None or shape.is_empty:
        shape = shapely.convex_hull(shapely.multipoints(points))
    return _polygons_of(shape)


def _union(faces: Any, areas: Any, up: Any) -> Any:
    import numpy as np
    import shapely

    half = up if areas[up].sum() >= areas[~up].sum() else ~up
    if half.all():
        return shapely.union_all(faces)
    shape = shapely.union_all(faces[half])
    bounds = shapely.total_bounds(faces)
    if shape.is_empty or not np.allclose(shape.bounds, bounds, rtol=0.0, atol=1e-9):
        shape = shapely.union_all(faces)
    return shape


def _polygons_of(shape: Any) -> list[Polygon3]:
    kind = shape.geom_type
    if kind == "Polygon":
        if shape.is_empty:
            return []
        return [[_ring(shape.exterior), *(_ring(r) for r in shape.interiors)]]
    if kind in ("MultiPolygon", "GeometryCollection"):
        return [poly for part in shape.geoms for poly in _polygons_of(part)]
    return []  # a point or a line: nothing with an area


def _ring(ring: Any) -> list[tuple[float, ...]]:
    return [(float(x), float(y)) for x, y in ring.coords]


def has_wall(polygons: list[Polygon3]) -> bool:
    """Whether a face of these 3D polygons stands upright (spans heights, projects to no area).

    A flat area (a zone, a land-use parcel, a road on the terrain) has none; a surface that has one
    bounds a volume, as CityGML allows a volume's faces to come as a MultiSurface (a LOD1 block of a
    generic object, for instance), and then its 2D shape is the outline, not the faces.
    """
    for poly in polygons:
        ring = poly[0] if poly else []
        if len(ring) < 4 or len(ring[0]) < 3:
            continue
        zs = [p[2] for p in ring]
        if max(zs) - min(zs) <= 0.0:
            continue
        x0, y0 = ring[0][0], ring[0][1]  # relative to the first point: lon x lat products would swamp the area
        xy = [(p[0] - x0, p[1] - y0) for p in ring]
        twice = sum(a[0] * b[1] - b[0] * a[1] for a, b in pairwise(xy))
        if abs(twice) / 2.0 <= MIN_FACE_AREA:
            return True
    return False


def z_range(polygons: list[Polygon3]) -> tuple[float, float] | None:
    """(lowest, highest) height of 3D faces; None when they are 2D."""
    low = high = None
    for poly in polygons:
        for ring in poly:
            zs = [p[2] for p in ring if len(p) > 2]
            if zs:
                lo, hi = min(zs), max(zs)
                low = lo if low is None or lo < low else low
                high = hi if high is None or hi > high else high
    if low is None or high is None:
        return None
    return low, high
