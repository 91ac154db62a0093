"""Footprints to closed prisms: the LOD1 form of a building from its 2D outline and height.

Roofs and floors come from a constrained Delaunay triangulation (shapely ≥ 2.1, GEOS 3.10+),
which respects holes (courtyards) without an extra dependency.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.polygon import orient

from futago.city.export.geodesy import EnuFrame


def _ccw_triangles(polygon: shapely.Polygon) -> NDArray[np.float64]:
    """(T, 3, 2) triangles of the polygon, each counter-clockwise seen from above."""
    pieces = shapely.get_parts(shapely.constrained_delaunay_triangles(polygon))
    if len(pieces) == 0:
        return np.empty((0, 3, 2))
    tris = np.stack([np.asarray(p.exterior.coords)[:3, :2] for p in pieces])
    d1, d2 = tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]
    clockwise = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0] < 0
    tris[clockwise] = tris[clockwise][:, ::-1]
    return tris


def _walls(polygon: shapely.Polygon) -> NDArray[np.float64]:
    """(E, 2, 2) edges (start, end) with the solid on their left: exterior CCW, holes CW."""
    rings = (polygon.exterior, *polygon.interiors)
    edges = [np.stack((c[:-1], c[1:]), axis=1) for c in (np.asarray(r.coords)[:, :2] for r in rings)]
    return np.concatenate(edges) if edges else np.empty((0, 2, 2))


def prism(polygon: shapely.Polygon, base: float, top: float, frame: EnuFrame) -> NDArray[np.float64]:
    """(T, 3, 3) ENU triangles of a lon/lat polygon extruded from ``base`` to ``top`` metres.

    Triangles wind counter-clockwise seen from outside, so that their normals point outwards.
    """
    polygon = orient(polygon, sign=1.0)
    roof2d = _ccw_triangles(polygon)
    edges = _walls(polygon)
    parts: list[NDArray[np.float64]] = []
    if len(roof2d):
        roof = np.concatenate((roof2d, np.full((*roof2d.shape[:2], 1), top)), axis=2)
        floor = np.concatenate((roof2d[:, ::-1], np.full((*roof2d.shape[:2], 1), base)), axis=2)
        parts += (roof, floor)
    if len(edges):
        p, q = edges[:, 0], edges[:, 1]
        lo, hi = np.full((len(p), 1), base), np.full((len(p), 1), top)
        p0, q0 = np.hstack((p, lo)), np.hstack((q, lo))
        p1, q1 = np.hstack((p, hi)), np.hstack((q, hi))
        parts += (np.stack((p0, q0, q1), axis=1), np.stack((p0, q1, p1), axis=1))
    if not parts:
        return np.empty((0, 3, 3))
    geodetic = np.concatenate(parts).reshape(-1, 3)
    enu = frame.from_geodetic(geodetic[:, 0], geodetic[:, 1], geodetic[:, 2])
    return enu.reshape(-1, 3, 3)


def footprint_polygons(geometry: shapely.Geometry) -> list[shapely.Polygon]:
    """The valid polygons of a footprint; lines and points have no area to extrude."""
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    return [g for g in shapely.get_parts(geometry) if isinstance(g, shapely.Polygon) and not g.is_empty]


def flat_normals(triangles: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """(unit normals, mask of triangles that have one): zero-area triangles have no normal."""
    normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    length = np.linalg.norm(normals, axis=1)
    keep = length > 1e-6
    return normals / np.where(keep, length, 1.0)[:, None], keep


def _plane_basis(ring: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """(unit normal, 2×3 in-plane axes with e1 × e2 = normal) of a 3D ring, by Newell's method; None if flat."""
    relative = ring - ring[0]
    normal = np.cross(relative, np.roll(relative, -1, axis=0)).sum(axis=0)
    length = float(np.linalg.norm(normal))
    if length < 1e-9:
        return None
    normal /= length
    helper = np.eye(3)[int(np.argmin(np.abs(normal)))]  # the axis least along the normal: never parallel
    e1 = np.cross(helper, normal)
    e1 /= np.linalg.norm(e1)
    return normal, np.vstack((e1, np.cross(normal, e1)))


def surface_triangles(rings: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    """(T, 3, 3) triangles of a planar 3D polygon (exterior, then holes; (N, 3) metric positions each).

    The polygon is triangulated in its own plane, so that roofs of any pitch and walls keep their holes
    (windows, courtyards), and the triangles wind like the exterior: outwards, as CityGML orients it.
    """
    rings = [r for r in rings if len(r) >= 3]
    basis = _plane_basis(rings[0]) if rings else None
    if basis is None:
        return np.empty((0, 3, 3))
    normal, axes = basis
    origin = rings[0][0]
    planar = [(r - origin) @ axes.T for r in rings]
    try:
        polygon = shapely.Polygon(planar[0], planar[1:])
        parts = footprint_polygons(polygon)
    except (shapely.errors.ShapelyError, ValueError):
        return np.empty((0, 3, 3))
    tris2d = [t for part in parts if len(t := _ccw_triangles(orient(part, sign=1.0)))]
    if not tris2d:
        return np.empty((0, 3, 3))
    flat = np.concatenate(tris2d).reshape(-1, 2)
    # Triangulation keeps the input vertices: look each one up to keep its exact height (PLATEAU roofs are
    # not perfectly planar); a vertex that repairing the polygon created lies on the mean plane.
    exact = {
        (float(u), float(v)): p
        for ring, uv in zip(rings, planar, strict=True)
        for (u, v), p in zip(uv, ring, strict=True)
    }
    offset = float(np.mean(np.concatenate([r - origin for r in rings]) @ normal))
    points = [exact.get((float(u), float(v))) for u, v in flat]
    out = np.array(
        [
            p if p is not None else origin + u * axes[0] + v * axes[1] + offset * normal
            for p, (u, v) in zip(points, flat, strict=True)
        ]
    )
    return out.reshape(-1, 3, 3)
