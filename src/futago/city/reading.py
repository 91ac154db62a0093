"""Reading a whole city: every source in order, relief first, ground elevations from the DEM.

Yields each feature with the district it belongs to (the 3rd-level JIS X 0410 mesh in PLATEAU
file names, e.g. ``53394611_bldg_6697_op.gml``) and the file's CRS.
"""

from __future__ import annotations

import itertools
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from futago.city.citygml import iter_sources
from futago.city.features import ReadTally, ReliefFeature
from futago.city.ground import Ground
from futago.city.parallel import read_local, read_parallel, workers_for
from futago.city.twins import BuildingRecord, building_records, with_ground_elevation

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


def iter_city(
    paths: Sequence[str | Path],
    progress: Progress | None = None,
    tally: ReadTally | None = None,
    *,
    records: bool = False,
) -> Iterator[tuple[Any, str | None, str]]:
    """(feature, district, input CRS) for every city object of every source; ``tally`` counts them all.

    ``records``: each building comes as its ``BuildingRecord`` (twin document made where it was read, the
    relief's ground height set here), read with ``geometry="twin"``: what an import needs, at a fraction of the
    cost of carrying whole features between processes."""
    sources = list(iter_sources(paths))
    sizes = [_size(name) for name, _, _ in sources]
    total = max(1, sum(sizes))
    order = sorted(range(len(sources)), key=lambda i: not _is_relief(sources[i][0]))  # relief first
    ground = Ground()
    relief = [i for i in order if _is_relief(sources[i][0])]
    rest = order[len(relief) :]
    workers = workers_for([sizes[i] for i in rest])
    transform = building_records if records else None
    geometry = "twin" if records else "full"
    chunks = itertools.chain(
        read_local(sources, relief, tally),  # the parent reads the relief while the workers parse the rest
        read_parallel(paths, rest, workers, tally, transform, geometry)
        if workers
        else read_local(sources, rest, tally, geometry, transform),
    )
    done, current = 0, order[0] if order else -1
    for i, crs, chunk, position in chunks:
        if i != current:
            done += sizes[current]
            current = i
        district = district_of(sources[i][0])
        if records:
            chunk = _fill_records(ground, chunk)
        else:
            ground.fill(chunk)
        for feature in chunk:
            if isinstance(feature, ReliefFeature):
                ground.add(feature)
            yield feature, district, crs
        if progress is not None:
            progress(min(1.0, (done + position) / total))
    if progress is not None:
        progress(1.0)


def _fill_records(ground: Ground, chunk: list[Any]) -> list[Any]:
    """``Ground.fill`` for building records: the relief's height at each footprint's first ring's mean, where
    it has one (0.0 and outside the relief keep the file's own)."""
    todo = [n for n, r in enumerate(chunk) if isinstance(r, BuildingRecord) and r.ground_at is not None]
    if not todo or not ground.ready():
        return chunk
    heights = ground.heights(np.array([chunk[n].ground_at for n in todo], dtype=float)).tolist()
    for n, value in zip(todo, heights, strict=True):
        if np.isfinite(value) and round(value, 3):
            record = chunk[n]
            chunk[n] = record._replace(document=with_ground_elevation(record.document, round(value, 3)))
    return chunk
