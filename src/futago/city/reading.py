"""Reading a whole city: every source in order, relief first, ground elevations from the DEM.

Yields each feature with the district it belongs to (the 3rd-level JIS X 0410 mesh in PLATEAU
file names, e.g. ``53394611_bldg_6697_op.gml``) and the file's CRS.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from futago.city.citygml import iter_features, iter_sources
from futago.city.features import BuildingFeature, CityFeature, ReliefFeature

Progress = Callable[[float], None]  # the fraction of the input read, 0 to 1
_MESH = re.compile(r"(?:^|[/!\\])(\d{6,10})_[a-z]+_")


def district_of(name: str) -> str | None:
    found = _MESH.search(name)
    return f"district-{found.group(1)}" if found else None


def _is_relief(name: str) -> bool:
    return "/dem/" in name.replace("\\", "/") or "_dem_" in name


def _size(name: str) -> int:
    if "!" in name:
        archive, member = name.split("!", 1)
        with zipfile.ZipFile(archive) as zf:
            return zf.getinfo(member).file_size
    return Path(name).stat().st_size


class Ground:
    """Ground height anywhere in the relief's TINs, by linear interpolation over their vertices."""

    def __init__(self) -> None:
        self._points: list[tuple[float, float]] = []
        self._heights: list[float] = []
        self._interpolate: Any = None

    def add(self, relief: ReliefFeature) -> None:
        for triangle in relief.triangles:
            for p in triangle:
                if len(p) >= 3:
                    self._points.append((p[0], p[1]))
                    self._heights.append(p[2])

    def ready(self) -> bool:
        if self._interpolate is None and len(self._points) >= 3:
            from scipy.interpolate import LinearNDInterpolator

            points, index = np.unique(np.asarray(self._points), axis=0, return_index=True)
            self._interpolate = LinearNDInterpolator(points, np.asarray(self._heights)[index])
        return self._interpolate is not None

    def at(self, lon: float, lat: float) -> float | None:
        value = float(self._interpolate(lon, lat))
        return round(value, 3) if np.isfinite(value) else None


def iter_city(
    paths: Sequence[str | Path], progress: Progress | None = None
) -> Iterator[tuple[CityFeature, str | None, str]]:
    sources = list(iter_sources(paths))
    sizes = [_size(name) for name, _, _ in sources]
    total = max(1, sum(sizes))
    order = sorted(range(len(sources)), key=lambda i: not _is_relief(sources[i][0]))  # relief first
    ground = Ground()
    done = 0
    for i in order:
        name, opener, codelists = sources[i]
        with opener() as stream:
            reader = iter_features(stream, codelists=codelists, name=name)
            position: Callable[[], int] = getattr(stream, "tell", lambda: 0)  # zip members cannot tell
            for count, feature in enumerate(reader):
                if isinstance(feature, ReliefFeature):
                    ground.add(feature)
                elif isinstance(feature, BuildingFeature) and feature.footprint and ground.ready():
                    ring = feature.footprint[0][0]
                    lon = sum(p[0] for p in ring) / len(ring)
                    lat = sum(p[1] for p in ring) / len(ring)
                    feature.ground_elevation = ground.at(lon, lat) or feature.ground_elevation
                yield feature, district_of(name), reader.crs
                if progress is not None and count % 1000 == 0:
                    progress(min(1.0, (done + position()) / total))
        done += sizes[i]
        if progress is not None:
            progress(min(1.0, done / total))
