"""Building footprints straight from CityGML files to GeoJSON Feature lines, on every core.

What ``futago bench city`` times against plateaukit's ``to_geojson(types=["bldg"])``, and a quick way to
look at a city's buildings in any GIS without importing it. Like plateaukit, only the building files are
read (no relief, so the file's own heights stand); each worker parses its files and makes the lines
itself, so only text crosses between processes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson

from futago.city.citygml import iter_sources
from futago.city.features import BuildingFeature, CityFeature
from futago.city.parallel import read_local, read_parallel, workers_for
from futago.city.reading import _size
from futago.city.twins import geojson

_TYPE_IN_NAME = re.compile(r"(?:^|[/!\\])\d{6,10}_([a-z]+)_")


def feature_type(name: str) -> str | None:
    """The PLATEAU feature type of a source: its udx folder (``udx/bldg/...``) or its file name's
    (``53394611_bldg_6697_op.gml``); None when neither says."""
    parts = name.replace("\\", "/").replace("!", "/").split("/")
    if "udx" in parts[:-1]:
        return parts[len(parts) - 1 - parts[::-1].index("udx") + 1]
    found = _TYPE_IN_NAME.search(name)
    return found.group(1) if found else None


def footprint_line(feature: CityFeature) -> str | None:
    """A building's GeoJSON Feature (footprint, id, measured height, usage) as one line; None for others."""
    if not isinstance(feature, BuildingFeature) or feature.kind != "Building":
        return None
    properties = {"id": feature.gml_id, "height": feature.measured_height, "usage": feature.usage}
    line = {"type": "Feature", "geometry": geojson(feature.footprint), "properties": properties}
    return orjson.dumps(line).decode()


def footprint_chunk(features: list[CityFeature]) -> list[str]:
    """The GeoJSON lines of a chunk's buildings (what a reading worker sends)."""
    return [line for line in map(footprint_line, features) if line is not None]


def footprint_lines(paths: Sequence[str | Path]) -> Iterator[str]:
    """The GeoJSON line of every building in the given files, folders and zips, in file order.

    Sources whose type is known and is not ``bldg`` are not opened. Raises CityGmlError for bad input."""
    sources = list(iter_sources(paths))
    wanted = [i for i, (name, _, _) in enumerate(sources) if feature_type(name) in ("bldg", None)]
    workers = workers_for([_size(sources[i][0]) for i in wanted])
    # "footprint": no attributes, parts or solids where LOD0 gives the footprint (the same lines, half the parsing)
    if workers:
        chunks = read_parallel(paths, wanted, workers, None, footprint_chunk, "footprint")
    else:
        chunks = read_local(sources, wanted, None, "footprint", footprint_chunk)
    for _, _, lines, _ in chunks:
        yield from lines


def write_feature_collection(paths: Sequence[str | Path], out: Path) -> int:
    """Write every building's footprint of ``paths`` as one GeoJSON FeatureCollection to ``out``; returns the count.

    Written line by line (one Feature per line), so a city of any size streams through in constant memory."""
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        handle.write('{"type": "FeatureCollection", "features": [\n')
        for line in footprint_lines(paths):
            handle.write(("," if count else "") + line + "\n")
            count += 1
        handle.write("]}\n")
    return count
