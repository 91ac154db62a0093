"""Ground height under a building, from the city's relief (dem) TINs.

Linear interpolation over the Delaunay triangulation of the TINs' vertices, as scipy's
LinearNDInterpolator computes it, with one difference that matters for speed: scipy works out the
barycentric transform of every triangle one LAPACK call at a time, which took longer (seconds for a
tile of 30,000 triangles) than reading the tile. Here the transforms of all triangles are one
vectorised 2×2 inverse, handed to the triangulation before its first point location, and buildings
are interpolated a batch at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from futago.city.features import BuildingFeature, CityFeature, ReliefFeature


def barycentric_transforms(points: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """scipy's ``Delaunay.transform`` for 2D: per triangle, the inverse of [v0 - v2, v1 - v2] and v2.

    A degenerate triangle (zero area) gets NaN, as in scipy, so no point is ever located in it."""
    corners = points[simplices]  # (triangles, 3, 2)
    last = corners[:, 2, :]
    a, c = corners[:, 0, 0] - last[:, 0], corners[:, 0, 1] - last[:, 1]  # first column: v0 - v2
    b, d = corners[:, 1, 0] - last[:, 0], corners[:, 1, 1] - last[:, 1]  # second column: v1 - v2
    det = a * d - b * c
    scale = np.maximum(np.abs(a) + np.abs(b), np.abs(c) + np.abs(d)) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = np.stack([np.stack([d, -b], axis=1), np.stack([-c, a], axis=1)], axis=1) / det[:, None, None]
    inverse[np.abs(det) <= np.finfo(float).eps * scale] = np.nan
    return np.concatenate([inverse, last[:, None, :]], axis=1)


class Ground:
    """Ground height anywhere in the relief's TINs, by linear interpolation over their vertices."""

    def __init__(self) -> None:
        self._points: list[tuple[float, float]] = []
        self._heights: list[float] = []
        self._tri: Any = None
        self._values: np.ndarray | None = None

    def add(self, relief: ReliefFeature) -> None:
        for triangle in relief.triangles:
            for p in triangle:
                if len(p) >= 3:
                    self._points.append((p[0], p[1]))
                    self._heights.append(p[2])

    def ready(self) -> bool:
        if self._tri is None and len(self._points) >= 3:
            from scipy.spatial import Delaunay

            points, index = np.unique(np.asarray(self._points), axis=0, return_index=True)
            if len(points) < 3:
                return False
            tri = Delaunay(points)
            if getattr(tri, "_transform", 0) is None:  # scipy computes it lazily; a scipy without the slot does
                tri._transform = barycentric_transforms(tri.points, tri.simplices)
            self._tri, self._values = tri, np.asarray(self._heights)[index]
        return self._tri is not None

    def heights(self, lon_lat: np.ndarray) -> np.ndarray:
        """Heights at (n, 2) points; NaN outside the relief."""
        tri, values = self._tri, self._values
        assert tri is not None and values is not None
        simplex = tri.find_simplex(lon_lat)
        inside = simplex >= 0
        out = np.full(len(lon_lat), np.nan)
        s = simplex[inside]
        transform = tri.transform[s]
        delta = lon_lat[inside] - transform[:, 2, :]
        c0 = transform[:, 0, 0] * delta[:, 0] + transform[:, 0, 1] * delta[:, 1]
        c1 = transform[:, 1, 0] * delta[:, 0] + transform[:, 1, 1] * delta[:, 1]
        c2 = 1.0 - c0 - c1
        corners = values[tri.simplices[s]]
        out[inside] = c0 * corners[:, 0] + c1 * corners[:, 1] + c2 * corners[:, 2]
        return out

    def at(self, lon: float, lat: float) -> float | None:
        value = float(self.heights(np.array([[lon, lat]]))[0])
        return round(value, 3) if np.isfinite(value) else None

    def fill(self, features: Sequence[CityFeature]) -> None:
        """Each building's ground elevation at its footprint's first ring's mean, where the relief has one.

        One call for many buildings: locating points costs mostly per call, not per point."""
        todo = [f for f in features if isinstance(f, BuildingFeature) and f.footprint]
        if not todo or not self.ready():
            return
        centres = np.empty((len(todo), 2))
        for row, feature in enumerate(todo):
            ring = feature.footprint[0][0]
            centres[row] = (sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))
        for feature, value in zip(todo, self.heights(centres).tolist(), strict=True):
            if np.isfinite(value) and round(value, 3):  # 0.0 and outside the relief keep the file's own
                feature.ground_elevation = round(value, 3)
