"""LOD2/LOD3 boundary surfaces as the ``surfaces`` property of a building twin.

Exports read twins from the store, so a building's roof, wall, ground ... surfaces travel in the twin
itself, in a form DTDL allows (an Array of Objects) and that stays lean: every ring is one flat list
``[lon, lat, h, lon, lat, h, ...]`` without the closing position (rings are closed by definition),
longitudes and latitudes rounded to 1e-7 degrees (about 1 cm), heights to 1 mm. Openings (windows,
doors) keep their type and gml:id only; their geometry is the hole in the wall they belong to.

Heights stay as the file gives them (orthometric for PLATEAU); the 3D Tiles export makes them ellipsoidal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from futago.city.features import BoundarySurface, Polygon3, Ring

A, E2 = 6_378_137.0, 0.0066943799901413165  # the WGS84 ellipsoid: semi-major axis, first eccentricity²
DEGREE_DIGITS = 7  # 1e-7 degrees: about 1 cm, finer than PLATEAU's survey accuracy
HEIGHT_DIGITS = 3  # millimetres


def _flat_ring(ring: Ring) -> list[float] | None:
    """A ring as [lon, lat, h, ...] without the closing position; None when it has no area to draw."""
    points = [
        (round(float(p[0]), DEGREE_DIGITS), round(float(p[1]), DEGREE_DIGITS), round(float(p[2]), HEIGHT_DIGITS))
        for p in ring
        if len(p) >= 3 and all(math.isfinite(float(v)) for v in p[:3])
    ]
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    if len(points) < 3:
        return None
    return [v for point in points for v in point]


def _ring_vector_area(ring: Ring) -> np.ndarray:
    """Twice the vector area of a 3D ring (Newell), in square metres, in local east-north-up axes.

    Degrees become metres with the WGS84 radii of curvature at the ring's first vertex: over a
    building the tangent plane is exact to well under a millimetre.
    """
    points = np.asarray([p[:3] for p in ring], dtype=np.float64)
    lat = math.radians(points[0, 1])
    w = math.sqrt(1 - E2 * math.sin(lat) ** 2)
    east = math.radians(1) * A / w * math.cos(lat)  # metres per degree of longitude
    north = math.radians(1) * A * (1 - E2) / w**3  # metres per degree of latitude
    xyz = (points - points[0]) * (east, north, 1.0)
    return np.cross(xyz, np.roll(xyz, -1, axis=0)).sum(axis=0)


def polygon_area(polygon: Polygon3) -> float:
    """The area in m² of a planar 3D polygon: its exterior less its holes."""
    rings = [r for r in polygon if len(r) >= 3 and all(len(p) >= 3 for p in r)]
    if not rings:
        return 0.0
    outer = _ring_vector_area(rings[0])
    normal = outer / (np.linalg.norm(outer) or 1.0)
    # Holes wind the other way; projecting on the exterior's normal subtracts them whatever their winding.
    holes = sum(abs(float(_ring_vector_area(r) @ normal)) for r in rings[1:])
    return max(0.0, float(np.linalg.norm(outer)) - holes) / 2


def _polygons(polygons: Sequence[Polygon3]) -> list[list[list[float]]]:
    out = []
    for polygon in polygons:
        if not polygon:
            continue
        exterior = _flat_ring(polygon[0])
        if exterior is None:
            continue  # a degenerate exterior leaves nothing for its holes to cut
        holes = [flat for ring in polygon[1:] if (flat := _flat_ring(ring)) is not None]
        out.append([exterior, *holes])
    return out


def surface_document(surface: BoundarySurface) -> dict[str, Any] | None:
    """One surface as a twin value, or None when none of its polygons has an area."""
    polygons = _polygons(surface.polygons)
    if not polygons:
        return None
    doc: dict[str, Any] = {"type": surface.kind, "gmlId": surface.gml_id, "lod": surface.lod}
    doc["area"] = round(sum(polygon_area(p) for p in surface.polygons), 2)
    doc["polygons"] = polygons
    if surface.openings:
        doc["openings"] = [{"type": o.kind, "gmlId": o.gml_id} for o in surface.openings]
    return doc


def surfaces_document(surfaces: Sequence[BoundarySurface]) -> list[dict[str, Any]] | None:
    """The ``surfaces`` property of a building twin, or None when it has no surface with an area."""
    docs = [doc for s in surfaces if (doc := surface_document(s)) is not None]
    return docs or None
