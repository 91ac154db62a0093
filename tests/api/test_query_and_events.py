"""The query endpoint, the SSE event stream, health, and authentication once a token is set."""

from __future__ import annotations

import threading
import time

import httpx
import orjson
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App
from tests.api.conftest import M, building
from tests.conftest import LiveServer


def test_query_endpoint_with_continuation(client: TestClient) -> None:
    for i in range(25):
        assert client.put(f"/twins/b{i:02d}", json=building(float(i))).status_code == 201
    text = f"SELECT T FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, '{M}Building;1') AND T.height >= 5"
    first = client.post("/query", json={"query": text}, headers={"max-items-per-page": "10"}).json()
    assert len(first["value"]) == 10 and first["continuationToken"]
    seen = [row["T"]["$dtId"] for row in first["value"]]
    token = first["continuationToken"]
    while token:
        page = client.post(
            "/query", json={"query": text, "continuationToken": token}, headers={"max-items-per-page": "10"}
        ).json()
        seen += [row["T"]["$dtId"] for row in page["value"]]
        token = page["continuationToken"]
    assert seen == [f"b{i:02d}" for i in range(5, 25)]
    bad = client.post("/query", json={"query": "SELEC T FROM"})
    assert bad.status_code == 422 and bad.json()["pointer"] == "/query"
    empty = client.post("/query", json={})
    assert empty.status_code == 422 and empty.json()["pointer"] == "/query"


def test_health(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["models"] >= 6


def test_events_stream_filters_by_twin_and_type(app: App) -> None:
    received: list[dict] = []  # type: ignore[type-arg]

    with LiveServer(app) as server:
        ready = threading.Event()

        def listen() -> None:
            with httpx.stream(
                "GET", f"{server.url}/events", params={"twinId": "b1", "type": "twin"}, timeout=10
            ) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        ready.set()
                    if line.startswith("data:"):
                        received.append(orjson.loads(line[5:]))
                        if len(received) == 2:
                            return

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        assert ready.wait(5)
        with httpx.Client(base_url=server.url) as http:
            http.put("/twins/b2", json=building())  # another twin: filtered out
            http.put("/twins/b1", json=building(1.0))
            http.post("/twins/b1/telemetry", json=[{"name": "energyUse", "ts": 0, "value": 1.0}])  # other type
            http.patch("/twins/b1", json=[{"op": "replace", "path": "/height", "value": 2.0}])
        thread.join(5)
    assert [(e["type"], e["twinId"]) for e in received] == [("twin.created", "b1"), ("twin.updated", "b1")]
    assert received[1]["data"]["patch"] == [{"op": "replace", "path": "/height", "value": 2.0}]


def test_token_is_required_when_configured(app: App) -> None:
    app.settings = app.settings.with_overrides(api_token="s3cret")
    with TestClient(create_api(app)) as client:
        refused = client.get("/twins")
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert client.get("/twins", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/twins", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_sse_disconnect_unsubscribes(app: App) -> None:
    unserved = len(app.bus._handlers)
    with LiveServer(app) as server:
        server.wait_until_warm()  # its city cache follows the bus too, from then on
        before = len(app.bus._handlers)
        assert before == unserved + 1
        with httpx.stream("GET", f"{server.url}/events", timeout=5) as response:
            lines = response.iter_lines()  # keep it referenced: a collected iterator closes the stream
            first = next(lines)
            assert response.status_code == 200, first
            deadline = time.monotonic() + 5
            while len(app.bus._handlers) != before + 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(app.bus._handlers) == before + 1
        app.twins.put("bx", building())  # wakes the stream so it notices the disconnect
        deadline = time.monotonic() + 20
        while len(app.bus._handlers) > before and time.monotonic() < deadline:
            time.sleep(0.1)
            app.twins.patch("bx", [{"op": "replace", "path": "/height", "value": time.time()}])
        assert len(app.bus._handlers) == before
    assert len(app.bus._handlers) == unserved  # and the server's city cache has let go when it stopped


def test_retention_policy_drops_old_readings(app: App) -> None:
    app.twins.put("rs", {"$metadata": {"$model": M + "RiverStation;1"}})
    day_ms = 86_400_000
    now_ms = 1_800_000_000_000
    app.telemetry.append([("rs", "waterLevel", (now_ms - d * day_ms) * 1000, float(d), 2) for d in range(10)])
    assert app.apply_retention(now_ms * 1000) == 0  # no policy configured: keep for ever
    app.settings = app.settings.with_overrides(retention_days=3.5)
    assert app.apply_retention(now_ms * 1000) == 6
    kept = app.telemetry.history("rs", "waterLevel")
    assert sorted(kept.columns["value"].tolist()) == [0.0, 1.0, 2.0, 3.0]
