"""WGS84 geodetic ↔ ECEF ↔ local East-North-Up frames, for placing 3D Tiles content on the globe.

3D Tiles positions are Earth-centred (ECEF, metres). Storing them directly in float32 glTF would
lose centimetres, so each tile keeps small ENU coordinates and a ``transform`` to ECEF.
The closed-form formulas are short enough that pyproj is not needed here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

A = 6_378_137.0
F = 1 / 298.257223563
E2 = F * (2 - F)


def to_ecef(lon_deg: ArrayLike, lat_deg: ArrayLike, height: ArrayLike) -> NDArray[np.float64]:
    """(N, 3) ECEF metres of ellipsoidal (lon, lat, height) positions."""
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    h = np.asarray(height, dtype=np.float64)
    n = A / np.sqrt(1 - E2 * np.sin(lat) ** 2)
    return np.column_stack(
        np.broadcast_arrays(
            (n + h) * np.cos(lat) * np.cos(lon), (n + h) * np.cos(lat) * np.sin(lon), (n * (1 - E2) + h) * np.sin(lat)
        )
    )


class EnuFrame:
    """A local tangent frame at (lon, lat, height): x east, y north, z up, in metres."""

    def __init__(self, lon_deg: float, lat_deg: float, height: float = 0.0) -> None:
        lon, lat = np.radians(lon_deg), np.radians(lat_deg)
        self.origin = to_ecef(lon_deg, lat_deg, height)[0]
        east = np.array([-np.sin(lon), np.cos(lon), 0.0])
        north = np.array([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)])
        up = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
        self.rotation = np.vstack((east, north, up))  # rows: ECEF → ENU

    def from_geodetic(self, lon_deg: ArrayLike, lat_deg: ArrayLike, height: ArrayLike) -> NDArray[np.float64]:
        """(N, 3) ENU metres of geodetic positions."""
        return (to_ecef(lon_deg, lat_deg, height) - self.origin) @ self.rotation.T

    def to_ecef_matrix(self) -> list[float]:
        """The 4×4 ENU → ECEF matrix, column-major as 3D Tiles' ``transform`` wants it."""
        matrix = np.eye(4)
        matrix[:3, :3] = self.rotation.T
        matrix[:3, 3] = self.origin
        return [float(v) for v in matrix.T.ravel()]
