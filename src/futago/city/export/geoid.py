"""Geoid heights, to turn PLATEAU's orthometric heights into the ellipsoidal ones 3D Tiles expect.

PLATEAU heights are above mean sea level (T.P., the JGD2011 vertical datum); a 3D Tiles region or
position is above the WGS84 ellipsoid. The difference is the geoid height N (about 37 m in Tokyo),
and h = H + N. The best model for Japan is GSI's GSIGEO2011 (PROJ grid ``jp_gsi_gsigeo2011.tif``,
not bundled with pyproj: ``projsync --file jp_gsi_gsigeo2011.tif`` or PROJ_NETWORK=ON fetches it);
without it, EGM96 (``egm96_15.gtx``, Debian's proj-data) is within about a metre in Japan; without
either, heights stay orthometric and the tileset says so. The choice is logged once per process.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer
from pyproj.exceptions import ProjError

log = logging.getLogger(__name__)

#: (model name, PROJ grid file, a point it covers), best first.
MODELS = (
    ("GSIGEO2011", "jp_gsi_gsigeo2011.tif", (139.7671, 35.6812)),
    ("EGM96", "egm96_15.gtx", (0.0, 0.0)),
)
#: Where system packages put PROJ grids; pyproj's own PROJ searches only PROJ_DATA, its data dir and the user cache.
SYSTEM_GRID_DIRS = ("/usr/share/proj", "/usr/local/share/proj")
ELLIPSOIDAL = "WGS84 ellipsoid"
ORTHOMETRIC = "orthometric (as in the source: no geoid grid found or covering it)"


def _transformer(grid: str) -> Transformer:
    """Adds the grid's geoid height to the height of (lon, lat) degrees."""
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=vgridshift +grids={grid} +multiplier=1 "
        "+step +proj=unitconvert +xy_in=rad +xy_out=deg"
    )


def _candidates(grid: str) -> list[str]:
    """The bare name first (PROJ's own search path, and the CDN when PROJ_NETWORK=ON), then system copies."""
    extra = [d for d in os.environ.get("FUTAGO_GEOID_DIRS", "").split(os.pathsep) if d]
    return [grid, *(str(Path(d) / grid) for d in (*extra, *SYSTEM_GRID_DIRS) if (Path(d) / grid).is_file())]


def _open(grid: str, probe: tuple[float, float]) -> Transformer | None:
    for name in _candidates(grid):
        try:
            transformer = _transformer(name)
            _, _, n = transformer.transform([probe[0]], [probe[1]], [0.0], errcheck=False)
        except ProjError:
            continue
        if np.isfinite(n[0]):
            return transformer
    return None


@dataclass(slots=True)
class Geoid:
    """The geoid models found, best first; ``undulation`` takes each point from the best model covering it."""

    models: list[tuple[str, Transformer]] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        return self.models[0][0] if self.models else None

    def undulation(self, lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], list[str]]:
        """(N in metres for every point, the models used); N is 0 where no model covers a point."""
        lons = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        lats = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        result = np.full(lons.shape, np.nan)
        used: list[str] = []
        for name, transformer in self.models:
            todo = np.isnan(result)
            if not todo.any():
                break
            _, _, n = transformer.transform(lons[todo], lats[todo], np.zeros(int(todo.sum())), errcheck=False)
            n = np.asarray(n, dtype=np.float64)
            good = np.isfinite(n) & (np.abs(n) < 200)  # a grid answers inf (or its nodata) outside its area
            if good.any():
                used.append(name)
                result[np.flatnonzero(todo)[good]] = n[good]
        return np.nan_to_num(result, nan=0.0), used


_lock = threading.Lock()
_found: Geoid | None = None


def find_geoid() -> Geoid:
    """The geoid models available here, looked up once per process (and logged once)."""
    global _found
    with _lock:
        if _found is None:
            _found = Geoid([(name, t) for name, grid, probe in MODELS if (t := _open(grid, probe)) is not None])
            _log_choice(_found)
        return _found


def reset() -> None:
    """Forget the models found (tests, or after installing a grid in a running process)."""
    global _found
    with _lock:
        _found = None


def _log_choice(geoid: Geoid) -> None:
    if geoid.name == MODELS[0][0]:
        log.info("3D Tiles heights: orthometric + GSIGEO2011 geoid = ellipsoidal (WGS84)")
    elif geoid.name is not None:
        log.warning(
            "3D Tiles heights: the GSIGEO2011 grid (jp_gsi_gsigeo2011.tif) is not available, using %s "
            "(about 1 m off in Japan); get it with `projsync --file jp_gsi_gsigeo2011.tif` or PROJ_NETWORK=ON",
            geoid.name,
        )
    else:
        log.warning(
            "3D Tiles heights stay orthometric (tens of metres below the terrain of a globe): no geoid grid found; "
            "get GSIGEO2011 with `projsync --file jp_gsi_gsigeo2011.tif` or PROJ_NETWORK=ON, or EGM96 with proj-data"
        )


def height_reference(used: list[str]) -> dict[str, str]:
    """What the tileset's heights are, for ``asset.extras``."""
    if not used:
        return {"heightReference": ORTHOMETRIC, "geoidModel": "none"}
    return {"heightReference": ELLIPSOIDAL, "geoidModel": " + ".join(used)}
