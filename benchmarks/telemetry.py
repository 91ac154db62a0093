"""Telemetry benchmarks that ``futago bench core`` runs; each returns figures, none prints.

ingest_api: 1,000 series × 5,000 timestamps, interleaved by time (every series at t0, then
every series at t1, ...), fed to ``TelemetryService.append`` in batches of 50,000 rows that
are generated on the fly, so the process never holds the 5 M readings as Python objects.
The floor is raw ``sqlite3.executemany`` of the same readings, in the same order and
batching, into a bare ``(series, ts)`` WITHOUT ROWID table, measured in the same run. Only
the calls are timed (generating a batch is not), for both. On PostgreSQL the floor is psycopg's
binary COPY of the same rows, in the same batches, into a bare table keyed by (series, ts), in a
database of its own on the same server.

history_query: a 30-day, 1 Hz series (2.59 M readings); one day at 1-minute buckets.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.graph import BENCH, KINDS, build_bench_app
from futago.core.telemetry import SeriesBatch
from futago.store.sqlite.db import SQLiteDatabase
from futago.store.url import POSTGRES_SCHEMES

POSTGRES = POSTGRES_SCHEMES

SERIES = 1_000
TIMESTAMPS = 5_000
BATCH = 50_000
T0_US = 1_700_000_000_000_000
STEP_US = 1_000_000


def _twin(i: int) -> str:
    return f"sensor-{i:04d}"


def _batches(series: int = SERIES, timestamps: int = TIMESTAMPS, batch: int = BATCH) -> Iterator[list[Any]]:
    """Interleaved rows (twin_id, name, ts_us, value, quality), ``batch`` at a time."""
    twins = [_twin(i) for i in range(series)]
    per_batch = max(1, batch // series)
    rng = np.random.default_rng(7)
    for t_first in range(0, timestamps, per_batch):
        steps = range(t_first, min(timestamps, t_first + per_batch))
        values = (20.0 + rng.standard_normal(len(steps) * series)).tolist()
        rows: list[Any] = []
        k = 0
        for step in steps:
            ts = T0_US + step * STEP_US
            for twin in twins:
                rows.append((twin, "value", ts, values[k], 1))
                k += 1
        yield rows


def _floor(db_path: Path) -> tuple[float, int]:
    """Raw executemany of the same readings into a bare (series, ts) table; rows/s and count."""
    db = SQLiteDatabase(db_path)
    try:
        with db.write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS floor (series INTEGER NOT NULL, ts INTEGER NOT NULL, "
                "value REAL, quality INTEGER, PRIMARY KEY (series, ts)) WITHOUT ROWID"
            )
        index = {_twin(i): i for i in range(SERIES)}
        elapsed, count = 0.0, 0
        for rows in _batches():
            params = [(index[twin], ts, value, q) for twin, _name, ts, value, q in rows]
            t = time.perf_counter()
            with db.write() as conn:
                conn.executemany("INSERT INTO floor VALUES (?, ?, ?, ?)", params)
            elapsed += time.perf_counter() - t
            count += len(params)
        return count / elapsed, count
    finally:
        db.close()


def _copy_floor(url: str) -> tuple[float, int]:
    """PostgreSQL's floor: binary COPY of the same readings, batch by batch (a transaction each), into a bare
    (series, ts) table in the empty database at ``url``; rows/s and count."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE floor (series INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE PRECISION, "
            "quality SMALLINT, PRIMARY KEY (series, ts))"
        )
        index = {_twin(i): i for i in range(SERIES)}
        elapsed, count = 0.0, 0
        for rows in _batches():
            params = [(index[twin], ts, value, q) for twin, _name, ts, value, q in rows]
            t = time.perf_counter()
            with conn.transaction(), conn.cursor().copy("COPY floor FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "int8", "float8", "int2"])
                for row in params:
                    copy.write_row(row)
            elapsed += time.perf_counter() - t
            count += len(params)
        return count / elapsed, count


def ingest_api(db_path: str | Path, floor_db: str | None = None) -> dict[str, float]:
    """Ingest 5 M interleaved readings through the service; compare with the raw floor.

    ``db_path`` is a SQLite file, or the URL of an empty PostgreSQL database; then the floor runs in
    ``floor_db``, another empty database on the same server (or in ``db_path`` itself, in a table of its own)."""
    if str(db_path).startswith(POSTGRES):
        floor_rate, _ = _copy_floor(floor_db or str(db_path))
        return _ingest(str(db_path), floor_rate)
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    floor_path = db_path.with_name(db_path.stem + "-floor.db")
    for p in (db_path, floor_path):
        for suffix in ("", "-wal", "-shm"):
            Path(str(p) + suffix).unlink(missing_ok=True)
    floor_rate, _ = _floor(floor_path)
    return _ingest(str(db_path), floor_rate)


def _ingest(db: str, floor_rate: float) -> dict[str, float]:
    app = build_bench_app(db)
    try:
        # Real twins of real models: every reading is checked against its twin's model.
        app.twins.import_twins(
            [(_twin(i), {"$metadata": {"$model": f"{BENCH}Kind{i % KINDS};1"}}) for i in range(SERIES)]
        )
        elapsed, count = 0.0, 0
        for rows in _batches():
            t = time.perf_counter()
            count += app.telemetry.append(rows)
            elapsed += time.perf_counter() - t
        expected = SERIES * TIMESTAMPS
        if count != expected:
            raise RuntimeError(f"ingest stored {count} readings, expected {expected}")
        stored = app.store.read_series(_twin(SERIES - 1), "value", None, None)
        if len(stored) != TIMESTAMPS:
            raise RuntimeError(f"series holds {len(stored)} readings, expected {TIMESTAMPS}")
    finally:
        app.close()
    api_rate = count / elapsed
    return {
        "ingest_api_rows_per_s": api_rate,
        "floor_rows_per_s": floor_rate,
        "ratio_api_to_floor": api_rate / floor_rate,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


DAY_US = 86_400 * 1_000_000


def history_query(db_path: str | Path, days: int = 30, queries: int = 40) -> dict[str, float]:
    """p50 of one-day, 1-minute-bucket queries (avg, then all aggregations) on a 30-day 1 Hz series; ``db_path``
    is a SQLite file or the URL of an empty PostgreSQL database."""
    if not str(db_path).startswith(POSTGRES):
        db_path = Path(db_path)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(db_path) + suffix).unlink(missing_ok=True)
    app = build_bench_app(str(db_path))
    try:
        app.twins.import_twins([("plant-1", {"$metadata": {"$model": f"{BENCH}Kind0;1"}})])
        store = app.store
        rng = np.random.default_rng(11)
        per_call = 3_600  # an hour per append, like a gateway flushing hourly
        for start in range(0, days * 86_400, per_call):
            ts = T0_US + (np.arange(start, start + per_call, dtype=np.int64) * 1_000_000)
            values = 20.0 + np.sin(ts / 3.6e9) + rng.standard_normal(per_call) * 0.1
            store.append_series([SeriesBatch("plant-1", "value", "f8", ts, values, np.ones(per_call, dtype=np.uint8))])
        timings: list[float] = []
        for q in range(queries):
            day = int(rng.integers(0, days))
            start_ms = (T0_US + day * DAY_US) // 1000
            aggs = ["avg"] if q % 2 == 0 else ["avg", "min", "max", "sum", "count", "first", "last"]
            t = time.perf_counter()
            end_ms = start_ms + 86_400_000
            result = app.telemetry.history("plant-1", "value", start_ms, end_ms, bucket="1m", aggs=aggs)
            timings.append((time.perf_counter() - t) * 1000)
            if len(result) not in (1440, 1441):
                raise RuntimeError(f"expected 1440 buckets, got {len(result)}")
    finally:
        app.close()
    return {"history_query_p50_ms": statistics.median(timings)}


if __name__ == "__main__":  # a quick manual run: python benchmarks/telemetry.py /tmp/bench
    import sys

    where = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/futago-bench")
    figures = {**ingest_api(where / "ingest.db"), **history_query(where / "history.db")}
    sys.stdout.write("".join(f"{k}: {v:,.2f}\n" for k, v in figures.items()))
