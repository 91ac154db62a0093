"""``futago bench web``: the dashboard in headless Chromium over a 10,000-building district.

- first_render_ms: from navigation start to the first frame in which the map has drawn every building tile in
  view (the page's own ``performance.now()``): the buildings come as vector tiles from ``/city/tiles``, found
  through ``/city/tiles.json``. The median of three fresh page loads (each in ``first_render_loads_ms``) once the
  server has encoded the district's first tiles, as it does in the background when it starts
  (``tiles_warmed_s``). ``tile_index_ms`` says when tiles.json had arrived; the rest is tiles arriving and
  MapLibre laying them out and drawing them. ``first_render_cold_ms`` is a load started with the server, its
  tiles not yet encoded: what the very first visitor after a start may see.
- sse_update_p50_ms / sse_update_p95_ms: from the page posting a reading (``POST /twins/{id}/telemetry``) to the
  frame in which that sensor's marker shows it, the reading having gone through ingest, the event bus and
  ``/events`` (SSE) back to the page; 40 readings.

Each figure is printed with its target (3,000 ms and 500 ms) and the ratio to it (below 1 meets it).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks.browser import BackgroundServer, chromium, open_dashboard
from futago.app import build
from futago.city.generator import DistrictSpec, generate_district
from futago.config import Settings
from futago.samples import demo_models
from futago.services.city_import import CityImporter

BUILDINGS = 10_000
READINGS = 40
LOADS = 3
SENSOR = "bench-station"
FIRST_RENDER_TARGET_MS = 3000.0
SSE_TARGET_MS = 500.0

#: Post one reading from the page and resolve with the ms until the marker's frame shows it.
MEASURE = """async ([twin, value]) => {
  const t0 = performance.now();
  const body = JSON.stringify({name: "waterLevel", ts: new Date().toISOString(), value});
  const headers = {"content-type": "application/json"};
  const response = await fetch(`/twins/${twin}/telemetry`, {method: "POST", headers, body});
  if (!response.ok) throw new Error(`POST ${response.status}`);
  for (;;) {
    const seen = window.futago.probe.markerUpdates[twin];
    if (seen && seen.value === value && seen.renderedAt !== null) return seen.renderedAt - t0;
    await new Promise((resolve) => setTimeout(resolve, 2));
    if (performance.now() - t0 > 10000) throw new Error("the marker did not update within 10 s");
  }
}"""


def _prepare(db: str, work: Path, buildings: int, console: Console) -> Any:
    app = build(Settings(db=db, artifacts_dir=str(work / "artifacts")))
    app.models.add_missing(demo_models())
    console.print(f"generating and importing a district of {buildings:,} buildings…")
    district = generate_district(DistrictSpec(buildings=buildings, seed=11), work / "district.zip")
    CityImporter(app.store, app.models, app.twins, app.bus).run([district.path], source="generated")
    lon, lat = district.river[len(district.river) // 2] if district.river else (138.864, 35.101)
    station = {"$metadata": {"$model": "dtmi:futago:demo:RiverStation;1"}, "serialNumber": "RS-B1",
               "geometry": {"type": "Point", "coordinates": [lon, lat]}}  # fmt: skip
    app.twins.put(SENSOR, station)
    return app


def run(db: str | None = None, progress: bool = True, buildings: int = BUILDINGS) -> dict[str, Any]:
    console = Console(stderr=True, quiet=not progress)
    work = Path(tempfile.mkdtemp(prefix="futago-bench-web-"))
    app = _prepare(db or str(work / "web.db"), work, buildings, console)
    errors: list[str] = []
    try:
        with BackgroundServer(app) as server, chromium() as context:
            console.print("opening the dashboard in headless Chromium…")
            cold = open_dashboard(context, server.url, errors)
            cold_render = float(cold.evaluate("window.futago.probe.firstRenderMs"))
            cold.close()
            warmed_s = server.wait_until_warm()
            renders, indexed = [], []
            for _ in range(LOADS):  # a fresh page each time
                page = open_dashboard(context, server.url, errors)
                renders.append(float(page.evaluate("window.futago.probe.firstRenderMs")))
                indexed.append(float(page.evaluate("window.futago.probe.tileIndexMs")))
                shown = int(page.evaluate("window.futago.renderedBuildings()"))
                if len(renders) < LOADS:
                    page.close()
            first_render = statistics.median(renders)
            latencies = [float(page.evaluate(MEASURE, [SENSOR, 1.0 + i / 100])) for i in range(READINGS)]
    finally:
        app.close()
    p95 = statistics.quantiles(latencies, n=20)[-1]
    return {
        "buildings": shown,
        "first_render_ms": round(first_render, 1),
        "first_render_loads_ms": [round(r, 1) for r in renders],
        "tile_index_ms": round(statistics.median(indexed), 1),
        "first_render_cold_ms": round(cold_render, 1),
        "tiles_warmed_s": round(warmed_s, 2),
        "first_render_target_ms": FIRST_RENDER_TARGET_MS,
        "first_render_ratio": round(first_render / FIRST_RENDER_TARGET_MS, 3),
        "sse_update_p50_ms": round(statistics.median(latencies), 1),
        "sse_update_p95_ms": round(p95, 1),
        "sse_update_target_ms": SSE_TARGET_MS,
        "sse_update_ratio": round(p95 / SSE_TARGET_MS, 3),
        "readings": len(latencies),
        "console_errors": len(errors),
        "browser": "Debian chromium, headless, SwiftShader WebGL",
    }
