"""Roll-ups over the event stream (issue 20): ``GET /events?rollup=<type>`` on a scaled-out server streams the per-type
roll-ups every process publishes, read here by a real HTTP client from a server in a thread while another process
(a relay on the same NATS, as a worker is) stores readings; a caller sees them only with READ on rollups/<type>,
and a server alone answers 409."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from futago.app import App, build
from futago.config import Settings
from futago.core.events import TELEMETRY_APPENDED, TWIN_UPDATED, Event
from futago.core.policies import PolicyEntry
from futago.core.twins import now_iso
from futago.scale.relay import STRUCTURE_EVENTS
from tests.conftest import LiveServer
from tests.scale.test_events_routing import Process, reading


@pytest.fixture
def server(nats_url: str, tmp_path: Path) -> Iterator[tuple[App, str]]:
    app = build(Settings(db=str(tmp_path / "futago.db"), data_root=str(tmp_path), nats=nats_url))
    try:
        with LiveServer(app) as live:
            yield app, live.url
    finally:
        app.close()


def key(app: App, subject: str, *resources: str) -> dict[str, str]:
    for resource in resources:
        app.security.grant(PolicyEntry(subject, resource, frozenset({"READ"})))
    _, secret = app.security.create_key(subject, subject, scopes=["READ"])
    return {"Authorization": f"Bearer {secret}"}


def collect(url: str, headers: dict[str, str], found: list[tuple[str, dict]], ready: threading.Event) -> None:
    """Read the SSE stream line by line as a dashboard's EventSource would."""
    kind = ""
    with httpx.Client(timeout=30) as client, client.stream("GET", url, headers=headers) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith(": connected"):
                ready.set()
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                found.append((kind, orjson.loads(line[6:])))


def test_a_dashboard_reads_rollups_over_sse_and_a_caller_without_the_grant_none(
    server: tuple[App, str], nats_url: str
) -> None:
    app, base = server
    app.settings = app.settings.with_overrides(require_auth=True)
    dashboard = key(app, "user:dashboard", "events", "rollups/*")
    station = key(app, "user:station", "events", "twins/*")  # every twin, but not the city-wide counts
    streams: dict[str, list[tuple[str, dict]]] = {"dashboard": [], "station": []}
    readers = []
    for name, headers in (("dashboard", dashboard), ("station", station)):
        ready = threading.Event()
        url = f"{base}/events?rollup={TELEMETRY_APPENDED}"
        reader = threading.Thread(target=collect, args=(url, headers, streams[name], ready), daemon=True)
        reader.start()
        assert ready.wait(10)
        readers.append(reader)
    worker = Process(nats_url, "worker", STRUCTURE_EVENTS)
    try:
        time.sleep(0.3)  # the stream's NATS subscription is in place (it was made before the stream answered)
        for i in range(60):  # 60 readings of 12 gauges, and a twin change that no telemetry roll-up counts
            worker.bus.publish(reading(f"gauge-{i % 12}", float(i)))
        worker.bus.publish(Event(TWIN_UPDATED, now_iso(), twin_id="gauge-1", data={"x": 1}))
        deadline = time.monotonic() + 10
        while sum(d["count"] for _, d in streams["dashboard"]) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # another roll-up second for the station's stream, had it been let through
    finally:
        worker.close()
    got = streams["dashboard"]
    assert {kind for kind, _ in got} == {"rollup"}
    assert {d["type"] for _, d in got} == {TELEMETRY_APPENDED}
    assert sum(d["count"] for _, d in got) == 60 and max(d["twins"] for _, d in got) == 12
    assert all(d["origin"] == worker.relay.origin and d["seconds"] == 1.0 for _, d in got)
    assert streams["station"] == []  # the visibility rule: a roll-up is about rollups/<type>


def test_a_server_alone_has_no_rollups(tmp_path: Path) -> None:
    app = build(Settings(db=str(tmp_path / "futago.db"), data_root=str(tmp_path)))
    try:
        with LiveServer(app) as live:
            answer = httpx.get(f"{live.url}/events?rollup=telemetry", timeout=10)
        assert answer.status_code == 409 and "scaled-out" in answer.json()["detail"]
    finally:
        app.close()
