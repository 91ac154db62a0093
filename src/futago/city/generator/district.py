"""generate_district: plan the district, then stream its files out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import numpy as np

from futago.city.generator.buildings import Tally, write_buildings
from futago.city.generator.codelists import CODELISTS, dictionary
from futago.city.generator.geo import LocalFrame
from futago.city.generator.hazards import write_zones, zone_span, zones
from futago.city.generator.mesh import code_center
from futago.city.generator.model import DistrictSpec, GeneratedDistrict
from futago.city.generator.plan import RIVER_NAME, River, choose_plots, estimate_radius, make_river
from futago.city.generator.sink import Sink


def generate_district(spec: DistrictSpec, out: Path, *, layout: Literal["zip", "dir"] = "zip") -> GeneratedDistrict:
    """Write a PLATEAU-shaped dataset to ``out`` (a .zip file or a folder) and return its true content."""
    started = time.perf_counter()
    out = Path(out)
    lon0, lat0 = code_center(spec.mesh_code) if spec.mesh_code else spec.origin
    frame = LocalFrame(lon0, lat0)
    rng = np.random.default_rng(spec.seed)
    radius = estimate_radius(spec.buildings)
    river: River | None = make_river(rng, radius) if spec.river else None
    plots = choose_plots(rng, spec.buildings, river, radius)
    result = GeneratedDistrict(path=out, layout=layout)
    tally = Tally()
    if plots.x.size:
        margin = 300.0
        extent = (
            float(plots.x.min()) - margin, float(plots.y.min()) - margin,
            float(plots.x.max()) + margin, float(plots.y.max()) + margin,
        )  # fmt: skip
    else:
        extent = (-300.0, -300.0, 300.0, 300.0)
    with Sink(out, layout) as sink:
        for name, entries in CODELISTS.items():
            sink.write(f"codelists/{name}.xml", [dictionary(name, entries)])
        write_buildings(sink, spec, frame, plots, river, tally)
        if river is not None:
            keep = (river.ys >= extent[1]) & (river.ys <= extent[3])
            lon, lat = frame.to_lonlat(river.xs[keep], river.ys[keep])
            result.river = list(zip(np.round(lon, 10).tolist(), np.round(lat, 10).tolist(), strict=True))
            result.river_name = RIVER_NAME
            if spec.flood_zones and plots.x.size:
                result.flood_zones = zones(frame, river, *zone_span(plots.y))
                write_zones(sink, frame, river, result.flood_zones, spec.uro_version)
        if spec.dem:
            from futago.city.generator.terrain import write_dem

            write_dem(sink, frame, river, extent, spec.uro_version)
        result.files = list(sink.files)
    result.building_count = tally.buildings
    result.building_part_count = tally.parts
    result.measured_heights = tally.measured
    result.height_sum = round(tally.height_sum, 6)
    result.height_max = tally.height_max
    result.flood_risk_buildings = tally.flood_buildings
    result.flood_risk_entries = tally.flood_entries
    result.lod2_buildings = tally.lod2
    if tally.buildings:
        result.bbox_wgs84 = (tally.bbox[0], tally.bbox[1], tally.bbox[2], tally.bbox[3])
    result.mesh_codes = tally.meshes
    result.seconds = time.perf_counter() - started
    return result
