"""``futago bench core``: the foundation's figures, measured in one run.

- ingest_api_rows_per_s, floor_rows_per_s, ratio_api_to_floor, peak_rss_mb: 1,000 series ×
  5,000 timestamps interleaved by time, through ``TelemetryService.append`` (with model
  validation), against raw ``sqlite3.executemany`` of the same rows (benchmarks/telemetry.py).
  peak_rss_mb is the process's peak right after ingesting those 5 M readings.
- ingest_http_rows_per_s: NDJSON bulk POSTs to a running ``futago serve`` (benchmarks/graph.py).
- history_query_p50_ms: one day at 1-minute buckets from a 30-day, 1 Hz series.
- graph_query_p50_ms: IS_OF_MODEL + a property filter over 100,000 twins, every page drained.

``--db postgresql://...`` runs every part against that server instead, each in a fresh database of its own
(created there and dropped afterwards); the floor is then a binary COPY of the same rows into a bare table.
"""

from __future__ import annotations

import os
import resource
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console

from benchmarks.graph import graph_query, http_ingest
from benchmarks.telemetry import POSTGRES, history_query, ingest_api

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
    """Every figure of the core bench. ``db`` names a folder for the SQLite files (default: a temp one), or a
    PostgreSQL server (``postgresql://...``) to make the part's databases on."""
    console = Console(stderr=True, quiet=not progress)
    if db is not None and db.startswith(POSTGRES):
        return _run_on_postgres(db, console)
    if db is not None and "://" in db and not db.startswith("sqlite"):
        raise SystemExit(f"bench core: give a folder for SQLite files or a postgresql:// URL, not {db}")
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
    return _figures(ingest, http, history, graph, peak_rss_mb)


def _run_on_postgres(server: str, console: Console) -> dict[str, Any]:
    # A server's store keeps its audit key and personal-data vault in ./futago-data (the serve process too):
    # in a temporary folder, not wherever the bench was started.
    with tempfile.TemporaryDirectory() as tmp, _working_in(Path(tmp)), fresh_databases(server) as fresh:
        with console.status("ingest: 5 M readings through the Python API, and the COPY floor"):
            ingest = ingest_api(fresh("ingest"), floor_db=fresh("floor"))
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with console.status("ingest over HTTP (NDJSON bulk) into a running server"):
            http = http_ingest(db=fresh("http"))
        with console.status("history: a day of 1-minute buckets from a 30-day 1 Hz series"):
            history = history_query(fresh("history"))
        with console.status("graph: model + property query over 100,000 twins"):
            graph = graph_query(fresh("graph"))
    return _figures(ingest, http, history, graph, peak_rss_mb)


def _figures(
    ingest: dict[str, Any], http: dict[str, Any], history: dict[str, Any], graph: dict[str, Any], peak_rss_mb: float
) -> dict[str, Any]:
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


@contextmanager
def _working_in(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@contextmanager
def fresh_databases(server: str) -> Iterator[Callable[[str], str]]:
    """``fresh(part)`` makes an empty database on the server of the URL ``server`` and returns its URL; every one
    made is dropped at the end (connections and all)."""
    import psycopg

    parts = urlsplit(server)
    admin = urlunsplit(parts._replace(path="/postgres"))
    made: list[str] = []

    def fresh(part: str) -> str:
        name = f"futago_bench_{part}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        made.append(name)
        return urlunsplit(parts._replace(path=f"/{name}"))

    try:
        yield fresh
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in made:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
