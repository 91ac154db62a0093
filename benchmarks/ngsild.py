"""``futago bench ngsild``: the NGSI-LD figures of issue 19, through the HTTP API of a running ``futago serve``.

- batch_upsert_entities_per_s: ``POST /entityOperations/upsert`` of 1,000-entity batches of a 10-attribute type
  (WeatherObserved-like: nine Properties and a location), first creating every entity, then replacing the first
  tenth of them again; entities over the time of all batches. Floor: the store's own bulk write
  (``TwinStore.put_twins``) of the same twins, 1,000 per call, in a fresh store of the same kind. Peer: the about
  3,500 updates/s a C++ broker (Orion-LD) publishes on 2 CPUs (issue 19), a published figure, not run here.
- query_p50_ms: ``GET /entities`` with type + q + georel=near over those entities (100,000 by default), first page
  of 100.
- temporal_p50_ms: one attribute of one entity, one day at 1-minute aggregation (``aggrMethods=avg``,
  ``aggrPeriodDuration=PT1M``) over a day of readings every 10 s written through ``/temporal/entities``.
- notification_p99_ms / lost_notifications: a subscription on one attribute, notifying a local HTTP server;
  updates (``PATCH /entities/{id}/attrs``) at 200/s; from the update sent to its notification received.

A figure whose feature the server does not answer yet is null, with why under ``reasons``; the measuring code is
written against the HTTP API so that it counts the moment the feature lands.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console

from benchmarks.core import _working_in, fresh_databases
from benchmarks.graph import running_server
from futago.app import build
from futago.config import Settings
from futago.core.twins import TwinScan
from futago.store.url import POSTGRES_SCHEMES

BASE = "/ngsi-ld/v1"
TYPE = "WeatherObserved"
PEER_UPDATES_PER_S = 3_500  # Orion-LD on 2 CPUs, as issue 19 quotes it
TARGETS = {
    "batch_upsert_entities_per_s": 5_000,
    "query_p50_ms": 50,
    "temporal_p50_ms": 50,
    "notification_p99_ms": 200,
    "lost_notifications": 0,
}
CENTRE = (139.70, 35.68)  # the stations lie on a grid around Tokyo, 100 per row, about 110 m apart
DAY0 = datetime(2026, 1, 1, tzinfo=UTC)


def entity_id(i: int) -> str:
    return f"urn:ngsi-ld:{TYPE}:{i:07d}"


def weather_entity(i: int, round_: int = 0) -> dict[str, Any]:
    """A station's observation: ten attributes, values varying by station (and by round, so updates change)."""
    lon = CENTRE[0] + (i % 100 - 50) * 0.001
    lat = CENTRE[1] + ((i // 100) % 100 - 50) * 0.001
    return {
        "id": entity_id(i),
        "type": TYPE,
        "name": {"type": "Property", "value": f"station {i}"},
        "temperature": {
            "type": "Property",
            "value": round(5.0 + (i * 7 % 300) / 10 + round_ * 0.1, 2),
            "unitCode": "CEL",
            "observedAt": "2026-01-01T00:00:00Z",
        },
        "relativeHumidity": {"type": "Property", "value": round((i % 100) / 100, 2)},
        "atmosphericPressure": {"type": "Property", "value": 1000.0 + i % 30},
        "windSpeed": {"type": "Property", "value": round((i % 200) / 10, 1), "unitCode": "MTS"},
        "windDirection": {"type": "Property", "value": float(i * 13 % 360)},
        "precipitation": {"type": "Property", "value": float(i % 5)},
        "illuminance": {"type": "Property", "value": float(1000 + i % 5000)},
        "dataProvider": {"type": "Property", "value": "futago bench"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}},
    }


def upsert_entities(client: httpx.Client, count: int, updates: int, batch: int) -> dict[str, float]:
    """Create ``count`` entities by batch upsert, then upsert the first ``updates`` again (existing entities)."""
    timed = 0.0
    created = updated = 0
    plan = [(start, 0) for start in range(0, count, batch)] + [(start, 1) for start in range(0, updates, batch)]
    for start, round_ in plan:
        end = min(start + batch, count if round_ == 0 else updates)
        body = orjson.dumps([weather_entity(i, round_) for i in range(start, end)])
        started = time.perf_counter()
        response = client.post(
            f"{BASE}/entityOperations/upsert", content=body, headers={"content-type": "application/json"}
        )
        timed += time.perf_counter() - started
        if response.status_code not in (201, 204):
            raise RuntimeError(f"batch upsert answered {response.status_code}: {response.text[:500]}")
        if round_ == 0:
            created += end - start
        else:
            updated += end - start
    return {"entities": created + updated, "seconds": timed}


def floor_per_s(server_db: str, count: int, batch: int, db: str) -> float:
    """The store's bulk write of the bench's twins (as the server stored them), ``batch`` per call, into ``db``."""
    source = build(Settings(db=server_db))
    try:
        twins = source.store.scan_twins(TwinScan(limit=count))
    finally:
        source.close()
    target = build(Settings(db=db))
    try:
        started = time.perf_counter()
        for start in range(0, len(twins), batch):
            target.store.put_twins(twins[start : start + batch])
        seconds = time.perf_counter() - started
    finally:
        target.close()
    return len(twins) / seconds


def _unsupported(response: httpx.Response, what: str) -> str | None:
    """Why a feature is not measured (its route is missing or refuses the request), or None when it answered."""
    if response.status_code < 300:
        return None
    try:
        detail = response.json().get("detail", "")
    except ValueError:
        detail = response.text[:200]
    return f"{what}: HTTP {response.status_code} {detail}".strip()


def query_p50(client: httpx.Client, runs: int, entities: int) -> tuple[float | None, str | None, int]:
    """Stations within 2 km of the middle of the grid, warm and not too wet, first page of 100."""
    centre = weather_entity(min(entities, 10_000) // 2)["location"]["value"]["coordinates"]
    params = {
        "type": TYPE,
        "q": "temperature>20;relativeHumidity<0.8",
        "georel": "near;maxDistance==2000",
        "geometry": "Point",
        "coordinates": f"[{centre[0]},{centre[1]}]",
        "limit": "100",
    }
    first = client.get(f"{BASE}/entities", params=params)
    why = _unsupported(first, "type + q + georel=near query")
    if why is not None:
        return None, why, 0
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(f"{BASE}/entities", params=params)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return statistics.median(timings), None, len(first.json())


def temporal_p50(client: httpx.Client, runs: int, step_s: int = 10) -> tuple[float | None, str | None]:
    """A day of temperature readings every ``step_s`` seconds, written as temporal instances; then the day at
    1-minute averages."""
    target = "urn:ngsi-ld:WeatherObserved:temporal-bench"
    per_post = 1440
    stamps = [DAY0 + timedelta(seconds=s) for s in range(0, 86_400, step_s)]
    for start in range(0, len(stamps), per_post):
        instances = [
            {"type": "Property", "value": 10.0 + (k % 600) / 60, "observedAt": t.isoformat().replace("+00:00", "Z")}
            for k, t in enumerate(stamps[start : start + per_post], start)
        ]
        body = {"id": target, "type": TYPE, "temperature": instances}
        response = client.post(
            f"{BASE}/temporal/entities", content=orjson.dumps(body), headers={"content-type": "application/json"}
        )
        why = _unsupported(response, "writing temporal instances (POST /temporal/entities)")
        if why is not None:
            return None, why
    params = {
        "attrs": "temperature",
        "timerel": "between",
        "timeAt": DAY0.isoformat().replace("+00:00", "Z"),
        "endTimeAt": (DAY0 + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
        "options": "aggregatedValues",
        "aggrMethods": "avg",
        "aggrPeriodDuration": "PT1M",
    }
    first = client.get(f"{BASE}/temporal/entities/{target}", params=params)
    why = _unsupported(first, "aggregated temporal query")
    if why is not None:
        return None, why
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(f"{BASE}/temporal/entities/{target}", params=params).raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), None


class _Receiver(BaseHTTPRequestHandler):
    """A notification endpoint: records each notification's arrival with the temperature values it carries."""

    arrivals: list[tuple[float, float]]

    def do_POST(self) -> None:
        arrived = time.perf_counter()
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(204)
        self.end_headers()
        try:
            data = orjson.loads(body).get("data", [])
        except (orjson.JSONDecodeError, AttributeError):
            return
        for entity in data if isinstance(data, list) else ():
            value = entity.get("temperature") if isinstance(entity, dict) else None
            if isinstance(value, dict):
                value = value.get("value")
            if isinstance(value, int | float):
                self.arrivals.append((float(value), arrived))

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the bench prints figures only
        return


@contextmanager
def receiver() -> Iterator[tuple[str, list[tuple[float, float]]]]:
    arrivals: list[tuple[float, float]] = []
    handler = type("Receiver", (_Receiver,), {"arrivals": arrivals})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/notify", arrivals
    finally:
        server.shutdown()
        server.server_close()


def _update(client: httpx.Client, target: str, value: float) -> None:
    client.patch(
        f"{BASE}/entities/{target}/attrs",
        content=orjson.dumps({"temperature": {"type": "Property", "value": value}}),
        headers={"content-type": "application/json"},
    ).raise_for_status()


def _arrived(arrivals: list[tuple[float, float]], value: float, timeout_s: float) -> bool:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if any(v == value for v, _ in list(arrivals)):
            return True
        time.sleep(0.05)
    return False


def notifications(
    client: httpx.Client, updates: int, rate: float = 200.0, grace_s: float = 5.0
) -> tuple[float | None, int | None, str | None]:
    """p99 from an update sent to the notification carrying its value, and how many updates no notification
    answered, at ``rate`` updates per second. A probe update first waits out what the server still has to match
    from earlier writes (the batches), so that only this phase is timed."""
    target = entity_id(0)
    with receiver() as (url, arrivals):
        subscription = {
            "type": "Subscription",
            "entities": [{"type": TYPE, "id": target}],
            "watchedAttributes": ["temperature"],
            "notification": {
                "attributes": ["temperature"],
                "format": "keyValues",
                "endpoint": {"uri": url, "accept": "application/json"},
            },
        }
        response = client.post(
            f"{BASE}/subscriptions", content=orjson.dumps(subscription), headers={"content-type": "application/json"}
        )
        why = _unsupported(response, "subscriptions (POST /subscriptions)")
        if why is not None:
            return None, None, why
        _update(client, target, -1.0)
        if not _arrived(arrivals, -1.0, timeout_s=600):
            return None, None, "the probe update was never notified"
        arrivals.clear()
        sent: dict[float, float] = {}
        started = time.perf_counter()
        for k in range(updates):
            pause = started + k / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            value = 1_000_000.0 + k
            sent[value] = time.perf_counter()
            _update(client, target, value)
        _arrived(arrivals, 1_000_000.0 + updates - 1, grace_s)
        received = [(v, t) for v, t in list(arrivals) if v in sent]
    latencies = sorted((t - sent[v]) * 1000 for v, t in received)
    lost = max(0, updates - len(received))  # one notification per update is owed
    if not latencies:
        return None, lost, "no notification arrived"
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return p99, lost, None


def run(
    db: str | None = None,
    progress: bool = True,
    entities: int = 100_000,
    updates: int = 10_000,
    batch: int = 1_000,
    query_runs: int = 20,
    notification_updates: int = 2_000,
) -> dict[str, Any]:
    """Every NGSI-LD figure. ``db``: a folder for the SQLite files (default: a temporary one), or a PostgreSQL
    server (``postgresql://...``) on which the bench makes its databases."""
    console = Console(stderr=True, quiet=not progress)
    with tempfile.TemporaryDirectory() as tmp, _working_in(Path(tmp)):
        if db is not None and db.startswith(POSTGRES_SCHEMES):
            with fresh_databases(db) as fresh:
                return _measure(fresh("ngsild"), fresh("floor"), console, entities, updates, batch, query_runs,
                                notification_updates)  # fmt: skip
        folder = Path(db) if db else Path(tmp)
        return _measure(str(folder / "ngsild.db"), str(folder / "floor.db"), console, entities, updates, batch,
                        query_runs, notification_updates)  # fmt: skip


def _measure(
    server_db: str,
    floor_db: str,
    console: Console,
    entities: int,
    updates: int,
    batch: int,
    query_runs: int,
    notification_updates: int,
) -> dict[str, Any]:
    reasons: dict[str, str] = {}
    with running_server(server_db) as url, httpx.Client(base_url=url, timeout=300) as client:
        with console.status(f"batch upsert: {entities:,} entities, then {updates:,} again, {batch:,} a batch"):
            upsert = upsert_entities(client, entities, updates, batch)
        with console.status(f"query: type + q + georel=near over {entities:,} entities"):
            query_ms, why, found = query_p50(client, query_runs, entities)
        if why:
            reasons["query_p50_ms"] = why
        with console.status("temporal: a day of readings at 1-minute averages"):
            temporal_ms, why = temporal_p50(client, query_runs)
        if why:
            reasons["temporal_p50_ms"] = why
        with console.status(f"notifications: {notification_updates:,} updates at 200/s"):
            p99, lost, why = notifications(client, notification_updates)
        if why:
            reasons["notification_p99_ms"] = why
    with console.status("floor: the store's bulk write of the same twins"):
        floor = floor_per_s(server_db, entities, batch, floor_db)
    rate = upsert["entities"] / upsert["seconds"]
    return {
        "batch_upsert_entities_per_s": round(rate),
        "batch_upsert_target_per_s": TARGETS["batch_upsert_entities_per_s"],
        "batch_upsert_floor_per_s": round(floor),
        "batch_upsert_ratio_to_floor": round(rate / floor, 3),
        "batch_upsert_peer_per_s": PEER_UPDATES_PER_S,
        "batch_upsert_ratio_to_peer": round(rate / PEER_UPDATES_PER_S, 2),
        "query_p50_ms": _rounded(query_ms),
        "query_target_ms": TARGETS["query_p50_ms"],
        "query_entities": entities,
        "query_first_page": found,
        "temporal_p50_ms": _rounded(temporal_ms),
        "temporal_target_ms": TARGETS["temporal_p50_ms"],
        "notification_p99_ms": _rounded(p99),
        "notification_target_ms": TARGETS["notification_p99_ms"],
        "lost_notifications": lost,
        "lost_notifications_target": TARGETS["lost_notifications"],
        "reasons": reasons,
    }


def _rounded(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None
