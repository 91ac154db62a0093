"""The twin graph at scale: model + property queries over 100,000 twins, and HTTP bulk ingest."""

from __future__ import annotations

import gc
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

from futago.app import App, build
from futago.config import Settings

BENCH = "dtmi:futago:bench:"
KINDS = 10


def bench_models() -> list[dict[str, Any]]:
    base = {
        "@context": "dtmi:dtdl:context;3",
        "@id": BENCH + "Asset;1",
        "@type": "Interface",
        "contents": [
            {"@type": "Property", "name": "name", "schema": "string", "writable": True},
            {"@type": "Property", "name": "temperature", "schema": "double", "writable": True},
            {"@type": "Telemetry", "name": "value", "schema": "double"},
        ],
    }
    kinds = [
        {
            "@context": "dtmi:dtdl:context;3",
            "@id": f"{BENCH}Kind{k};1",
            "@type": "Interface",
            "extends": BENCH + "Asset;1",
        }
        for k in range(KINDS)
    ]
    return [base, *kinds]


def build_bench_app(db: str) -> App:
    app = build(Settings(db=db))
    if BENCH + "Asset;1" not in app.models.models:
        app.models.add(bench_models())
    return app


def create_twins(app: App, count: int, seed: int = 42) -> None:
    rng = random.Random(seed)
    for start in range(0, count, 10_000):
        docs = [
            (
                f"asset-{i:07d}",
                {
                    "$metadata": {"$model": f"{BENCH}Kind{i % KINDS};1"},
                    "name": f"asset {i}",
                    "temperature": round(rng.uniform(0.0, 50.0), 2),
                },
            )
            for i in range(start, min(count, start + 10_000))
        ]
        app.twins.import_twins(docs)


def graph_query(db: str | None = None, twins: int = 100_000, runs: int = 15) -> dict[str, float]:
    """p50 of a model + property filter over ``twins`` twins, every page of the result drained."""
    with tempfile.TemporaryDirectory() as tmp:
        app = build_bench_app(db or str(Path(tmp) / "graph.db"))
        try:
            if app.store.count_twins() < twins:
                create_twins(app, twins)
            text = f"SELECT T FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, '{BENCH}Kind3;1') AND T.temperature > 25"
            gc.freeze()  # as `futago serve` does after start-up
            timings = []
            rows = 0
            for _ in range(runs):
                started = time.perf_counter()
                rows, token = 0, None
                while True:
                    result = app.twins.query(text, continuation=token)
                    rows += len(result.items)
                    token = result.continuation
                    if not token:
                        break
                timings.append((time.perf_counter() - started) * 1000)
            expected = sum(
                1
                for t in app.twins.list_twins(model=f"{BENCH}Kind3;1", limit=twins)
                if t.properties["temperature"] > 25
            )
            if rows != expected:
                raise AssertionError(f"the bench query returned {rows} rows, expected {expected}")
        finally:
            app.close()
    return {"graph_query_p50_ms": round(statistics.median(timings), 2), "graph_query_rows": rows}


@contextmanager
def running_server(db: str) -> Iterator[str]:
    """``futago serve`` in its own process, as a user starts it."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "FUTAGO_API_TOKEN": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "futago.cli", "serve", "--db", db, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"futago serve did not start: {process.stderr.read() if process.stderr else ''}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def http_ingest(
    series: int = 1000, timestamps: int = 300, batch_rows: int = 50_000, db: str | None = None
) -> dict[str, float]:
    """NDJSON bulk POSTs to /telemetry through a running server; rows interleaved by time. ``db``: the server's
    store (an empty PostgreSQL database, say); by default a SQLite file in a temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        db = db or str(Path(tmp) / "http.db")
        app = build_bench_app(db)
        app.twins.import_twins(
            [(f"s-{i:04d}", {"$metadata": {"$model": f"{BENCH}Kind{i % KINDS};1"}}) for i in range(series)]
        )
        app.close()
        start_ms = 1_767_225_600_000
        lines = (
            orjson.dumps({"twinId": f"s-{s:04d}", "name": "value", "ts": start_ms + t * 1000, "value": s + t / 10})
            for t in range(timestamps)
            for s in range(series)
        )
        bodies: list[bytes] = []
        chunk: list[bytes] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) == batch_rows:
                bodies.append(b"\n".join(chunk))
                chunk = []
        if chunk:
            bodies.append(b"\n".join(chunk))
        total = series * timestamps
        with running_server(db) as url, httpx.Client(base_url=url, timeout=120) as client:
            started = time.perf_counter()
            accepted = 0
            for body in bodies:
                response = client.post("/telemetry", content=body, headers={"content-type": "application/x-ndjson"})
                response.raise_for_status()
                accepted += response.json()["accepted"]
            elapsed = time.perf_counter() - started
            check = client.get("/twins/s-0007/telemetry", params={"name": "value"}).json()["points"]
        if accepted != total or len(check) != timestamps:
            raise AssertionError(f"HTTP ingest stored {accepted} of {total} rows")
    return {"ingest_http_rows_per_s": round(total / elapsed)}
