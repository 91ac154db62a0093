"""``futago bench core``: the foundation's figures, measured in one run.

- ingest_api_rows_per_s, floor_rows_per_s, ratio_api_to_floor, peak_rss_mb: 1,000 series ×
  5,000 timestamps interleaved by time, through ``TelemetryService.append`` (with model
  validation), against raw ``sqlite3.executemany`` of the same rows (benchmarks/telemetry.py).
  peak_rss_mb is the process's peak right after ingesting those 5 M readings.
- ingest_http_rows_per_s: NDJSON bulk POSTs to a running ``futago serve`` (benchmarks/graph.py).
- history_query_p50_ms: one day at 1-minute buckets from a 30-day, 1 Hz series.
- graph_query_p50_ms: IS_OF_MODEL + a property filter over 100,000 twins, every page drained.
"""

from __future__ import annotations

import resource
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks.graph import graph_query, http_ingest
from benchmarks.telemetry import history_query, ingest_api

KEYS = (
    "ingest_api_rows_per_s",
    "floor_rows_per_s",
    "ratio_api_to_floor",
    "ingest_http_rows_per_s",
    "history_query_p50_ms",
    "graph_query_p50_ms",
    "peak_rss_mb",
)


def run(db: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Every figure of the core bench. ``db`` names a folder for the SQLite files (default: a temp one)."""
    if db is not None and "://" in db and not db.startswith("sqlite"):
        raise SystemExit(f"bench core: only SQLite stores are supported in this version, not {db}")
    console = Console(stderr=True, quiet=not progress)
    with tempfile.TemporaryDirectory(dir=db if db and Path(db).is_dir() else None) as tmp:
        folder = Path(tmp)
        with console.status("ingest: 5 M readings through the Python API, and the executemany floor"):
            ingest = ingest_api(folder / "ingest.db")
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with console.status("ingest over HTTP (NDJSON bulk) into a running server"):
            http = http_ingest()
        with console.status("history: a day of 1-minute buckets from a 30-day 1 Hz series"):
            history = history_query(folder / "history.db")
        with console.status("graph: model + property query over 100,000 twins"):
            graph = graph_query(str(folder / "graph.db"))
    figures = {
        "ingest_api_rows_per_s": round(ingest["ingest_api_rows_per_s"]),
        "floor_rows_per_s": round(ingest["floor_rows_per_s"]),
        "ratio_api_to_floor": round(ingest["ratio_api_to_floor"], 3),
        "ingest_http_rows_per_s": http["ingest_http_rows_per_s"],
        "history_query_p50_ms": round(history["history_query_p50_ms"], 2),
        "graph_query_p50_ms": graph["graph_query_p50_ms"],
        "peak_rss_mb": round(peak_rss_mb, 1),
    }
    assert tuple(figures) == KEYS
    return figures
