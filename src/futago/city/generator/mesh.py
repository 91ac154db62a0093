"""JIS X 0410 regional mesh codes, from integer cell indices so that float noise cannot move a
point across a cell edge differently in different places."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# Cell sizes in degrees.
THIRD_DLAT, THIRD_DLON = 30.0 / 3600.0, 45.0 / 3600.0
SECOND_DLAT, SECOND_DLON = 5.0 / 60.0, 7.5 / 60.0


def third_index(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(row, col) of the 3rd-level (≈1 km) cell: 120 rows per degree of latitude, 80 cols per degree of longitude."""
    iy = np.floor(np.asarray(lat, dtype=np.float64) * 120.0).astype(np.int64)
    ix = np.floor((np.asarray(lon, dtype=np.float64) - 100.0) * 80.0).astype(np.int64)
    return iy, ix


def third_code(iy: int, ix: int) -> str:
    """The 8-digit code of a 3rd-level cell index."""
    return f"{iy // 80:02d}{ix // 80:02d}{(iy % 80) // 10}{(ix % 80) // 10}{iy % 10}{ix % 10}"


def second_code(iy: int, ix: int) -> str:
    """The 6-digit code of the 2nd-level (≈10 km) cell holding a 3rd-level cell index."""
    return third_code(iy, ix)[:6]


def third_bounds(iy: int, ix: int) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of a 3rd-level cell."""
    return (100.0 + ix / 80.0, iy / 120.0, 100.0 + (ix + 1) / 80.0, (iy + 1) / 120.0)


def code_center(code: str) -> tuple[float, float]:
    """(lon, lat) of the centre of a 6- or 8-digit mesh cell."""
    p, u, q, v = int(code[0:2]), int(code[2:4]), int(code[4]), int(code[5])
    lat = p / 1.5 + q * SECOND_DLAT
    lon = 100.0 + u + v * SECOND_DLON
    if len(code) == 8:
        r, w = int(code[6]), int(code[7])
        return lon + (w + 0.5) * THIRD_DLON, lat + (r + 0.5) * THIRD_DLAT
    return lon + SECOND_DLON / 2, lat + SECOND_DLAT / 2
