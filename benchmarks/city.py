"""``futago bench city``: CityGML import speed against plateaukit, and the city at a million buildings.

- futago_buildings_per_s / plateaukit_buildings_per_s / ratio: the same generated district
  (PLATEAU zip layout, 10,000 buildings) read into GeoJSON building footprints by each, in
  the same run (benchmarks/city_peer.py drives plateaukit); the best of three rounds of each, taken in turn.
- import_1m_s, peak_rss_mb: ``futago city import`` of 1,000,000 generated buildings into a
  fresh store, in a child process whose peak memory is reported.
- bbox_query_p50_ms: ``ST_WITHIN`` over those 1,000,000 building twins, for 500 m boxes.
"""

from __future__ import annotations

import multiprocessing
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks.city_peer import plateaukit_buildings_per_s
from futago.city.footprints import write_feature_collection
from futago.city.generator import DistrictSpec, generate_district

PEER_BUILDINGS = 10_000
PEER_ROUNDS = 3
BIG_BUILDINGS = 1_000_000


def futago_to_geojson(zip_path: Path, out: Path) -> dict[str, float]:
    """Read the zip's buildings into a GeoJSON FeatureCollection of footprints, as plateaukit does.

    Like plateaukit's ``to_geojson(types=["bldg"])`` (split over the CPUs), futago reads the building files
    only, on every core: the code of `futago city footprints`."""
    started = time.perf_counter()
    count = write_feature_collection([zip_path], out)  # what `futago city footprints` runs
    seconds = time.perf_counter() - started
    return {"futago_buildings_per_s": count / seconds, "futago_buildings": count}


def peer_rounds(zip_path: Path, folder: Path, console: Console) -> tuple[dict[str, float], dict[str, Any]]:
    """The best of ``PEER_ROUNDS`` runs of each, taken in turn: on a machine shared with other work, one run of
    each compares two different moments of load; alternating rounds give both the same quiet moments."""
    ours: list[dict[str, float]] = []
    peer: list[dict[str, Any]] = []
    for n in range(1, PEER_ROUNDS + 1):
        with console.status(f"futago: CityGML → GeoJSON footprints ({n}/{PEER_ROUNDS})"):
            ours.append(futago_to_geojson(zip_path, folder / "futago.geojson"))
        with console.status(f"plateaukit: CityGML → GeoJSON footprints ({n}/{PEER_ROUNDS})"):
            peer.append(plateaukit_buildings_per_s(zip_path, folder / "plateaukit"))
    return (
        max(ours, key=lambda r: r["futago_buildings_per_s"]),
        max(peer, key=lambda r: float(r["plateaukit_buildings_per_s"])),
    )


def _import(zip_path: str, db: str, result: Any) -> None:
    from futago.app import build
    from futago.config import Settings
    from futago.services.city_import import CityImporter

    app = build(Settings(db=db))
    try:
        started = time.perf_counter()
        summary = CityImporter(app.store, app.models, app.twins, app.bus).run([zip_path])
        result.put(
            {
                "seconds": time.perf_counter() - started,
                "buildings": summary.buildings,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    finally:
        app.close()


def bbox_queries(db: str, bbox: list[float], runs: int = 25) -> float:
    from futago.app import build
    from futago.config import Settings

    app = build(Settings(db=db))
    rng = random.Random(5)
    timings = []
    d_lon, d_lat = 0.0055, 0.0045  # about 500 m × 500 m at 35° N
    try:
        for _ in range(runs):
            lon = rng.uniform(bbox[0], bbox[2] - d_lon)
            lat = rng.uniform(bbox[1], bbox[3] - d_lat)
            box = f"[{lon}, {lat}, {lon + d_lon}, {lat + d_lat}]"
            text = f"SELECT T.$dtId FROM DIGITALTWINS T WHERE ST_WITHIN(T.geometry, {box})"
            started = time.perf_counter()
            token = None
            while True:
                page = app.twins.query(text, continuation=token)
                token = page.continuation
                if not token:
                    break
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        app.close()
    return statistics.median(timings)


def run(db: str | None = None, progress: bool = True) -> dict[str, Any]:
    console = Console(stderr=True, quiet=not progress)
    with tempfile.TemporaryDirectory(dir=db if db and Path(db).is_dir() else None) as tmp:
        folder = Path(tmp)
        with console.status(f"generating a {PEER_BUILDINGS:,}-building district"):
            small = generate_district(DistrictSpec(buildings=PEER_BUILDINGS, seed=1), folder / "district.zip")
        ours, peer = peer_rounds(small.path, folder, console)
        if ours["futago_buildings"] != small.building_count:
            raise AssertionError(f"futago read {ours['futago_buildings']} of {small.building_count} buildings")
        with console.status(f"generating {BIG_BUILDINGS:,} buildings"):
            big = generate_district(DistrictSpec(buildings=BIG_BUILDINGS, seed=2, dem=False), folder / "big.zip")
        with console.status(f"importing {BIG_BUILDINGS:,} buildings into a fresh store"):
            queue: Any = multiprocessing.get_context("spawn").Queue()
            child = multiprocessing.get_context("spawn").Process(
                target=_import, args=(str(big.path), str(folder / "big.db"), queue)
            )
            child.start()
            imported = queue.get()
            child.join()
        with console.status("bbox queries over a million buildings"):
            bbox_ms = bbox_queries(str(folder / "big.db"), list(big.bbox_wgs84))
    return {
        "futago_buildings_per_s": round(ours["futago_buildings_per_s"]),
        "plateaukit_buildings_per_s": round(peer["plateaukit_buildings_per_s"]),
        "ratio": round(ours["futago_buildings_per_s"] / peer["plateaukit_buildings_per_s"], 2),
        "peak_rss_mb": round(imported["peak_rss_mb"], 1),
        "bbox_query_p50_ms": round(bbox_ms, 2),
        "import_1m_s": round(imported["seconds"], 1),
    }
