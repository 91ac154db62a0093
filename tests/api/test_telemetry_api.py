"""Telemetry through the REST API: bulk JSON and NDJSON in, raw and bucketed history out."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient

from tests.api.conftest import M


def _station(client: TestClient) -> None:
    assert client.put("/twins/rs", json={"$metadata": {"$model": M + "RiverStation;1"}}).status_code == 201


def test_bulk_json_then_history_and_latest(client: TestClient) -> None:
    _station(client)
    rows = [{"name": "waterLevel", "ts": f"2026-01-01T00:{m:02d}:00Z", "value": float(m)} for m in range(60)]
    response = client.post("/twins/rs/telemetry", json=rows)
    assert response.status_code == 202 and response.json() == {"accepted": 60}
    raw = client.get(
        "/twins/rs/telemetry",
        params={"name": "waterLevel", "from": "2026-01-01T00:10:00Z", "to": "2026-01-01T00:20:00Z"},
    ).json()
    assert [i["value"] for i in raw["points"]] == [float(m) for m in range(10, 20)]
    assert raw["points"][0]["ts"] == "2026-01-01T00:10:00.000Z"
    buckets = client.get(
        "/twins/rs/telemetry", params={"name": "waterLevel", "bucket": "15m", "agg": "avg,min,max,count"}
    ).json()["points"]
    assert [b["count"] for b in buckets] == [15, 15, 15, 15]
    assert buckets[1]["min"] == 15.0 and buckets[1]["max"] == 29.0 and buckets[1]["avg"] == 22.0
    twin = client.get("/twins/rs").json()
    assert twin["$telemetry"]["waterLevel"]["value"] == 59.0
    assert twin["$telemetry"]["waterLevel"]["ts"] == "2026-01-01T00:59:00.000Z"


def test_ndjson_multi_twin_and_redelivery_is_idempotent(client: TestClient) -> None:
    _station(client)
    client.put("/twins/rg", json={"$metadata": {"$model": M + "RainGauge;1"}})
    lines = [
        {"twinId": "rs", "name": "waterLevel", "ts": 1_767_225_600_000 + i * 1000, "value": 1.0 + i} for i in range(100)
    ]
    lines += [{"twinId": "rg", "ts": 1_767_225_600_000 + i * 1000, "values": {"rainfall": 0.5 * i}} for i in range(100)]
    body = b"\n".join(orjson.dumps(line) for line in lines)
    headers = {"content-type": "application/x-ndjson"}
    assert client.post("/telemetry", content=body, headers=headers).json() == {"accepted": 200}
    assert client.post("/telemetry", content=body, headers=headers).status_code == 202  # redelivered
    raw = client.get("/twins/rs/telemetry", params={"name": "waterLevel"}).json()["points"]
    assert len(raw) == 100 and raw[5]["value"] == 6.0
    rain = client.get("/twins/rg/telemetry", params={"name": "rainfall", "bucket": "1h", "agg": "sum,count"})
    assert rain.json()["points"] == [{"ts": "2026-01-01T00:00:00.000Z", "sum": 0.5 * sum(range(100)), "count": 100}]


def test_bad_readings_are_problems_and_store_nothing(client: TestClient) -> None:
    _station(client)
    bad_value = [
        {"name": "waterLevel", "ts": "2026-01-01T00:00:00Z", "value": 1.0},
        {"name": "waterLevel", "ts": "2026-01-01T00:01:00Z", "value": "high"},
    ]
    response = client.post("/twins/rs/telemetry", json=bad_value)
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"].startswith("/1")
    unknown = client.post("/twins/rs/telemetry", json=[{"name": "speed", "ts": "2026-01-01T00:00:00Z", "value": 1}])
    assert unknown.status_code == 422
    bad_ts = client.post("/twins/rs/telemetry", json=[{"name": "waterLevel", "ts": "yesterday", "value": 1}])
    assert bad_ts.status_code == 422 and bad_ts.json()["pointer"] == "/0/ts"
    no_twin = client.post("/twins/none/telemetry", json=[{"name": "waterLevel", "ts": 0, "value": 1}])
    assert no_twin.status_code == 404
    bad_line = client.post(
        "/telemetry",
        content=b'{"twinId": "rs", "name": "waterLevel", "ts": 0, "value": 1}\n{oops',
        headers={"content-type": "application/x-ndjson"},
    )
    assert bad_line.status_code == 422 and bad_line.json()["pointer"] == "/1"
    assert client.get("/twins/rs/telemetry", params={"name": "waterLevel"}).json()["points"] == []
    bad_bucket = client.get("/twins/rs/telemetry", params={"name": "waterLevel", "bucket": "fortnight"})
    assert bad_bucket.status_code == 422 and bad_bucket.json()["pointer"] == "/bucket"


def test_body_size_limit(client: TestClient) -> None:
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    response = client.post("/telemetry", content=b" " * (limit + 1), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


def test_gap_filling_marks_interpolated_points_and_keeps_raw(client: TestClient) -> None:
    _station(client)
    rows = [{"name": "waterLevel", "ts": f"2026-01-01T00:{m:02d}:00Z", "value": float(m)} for m in (0, 1, 4, 5)]
    client.post("/twins/rs/telemetry", json=rows)
    filled = client.get(
        "/twins/rs/telemetry", params={"name": "waterLevel", "fill": "linear", "interval": "1m"}
    ).json()["points"]
    assert [p["value"] for p in filled] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert [p["interpolated"] for p in filled] == [False, False, True, True, False, False]
    held = client.get(
        "/twins/rs/telemetry", params={"name": "waterLevel", "fill": "ffill", "interval": "1m", "maxGap": "2m"}
    ).json()["points"]
    assert [p["interpolated"] for p in held] == [False, False, False, False, False, False]  # the gap is too long
    assert client.get("/twins/rs/telemetry", params={"name": "waterLevel"}).json()["points"][2]["value"] == 4.0
    bad = client.get("/twins/rs/telemetry", params={"name": "waterLevel", "fill": "spline", "interval": "1m"})
    assert bad.status_code == 422 and bad.json()["pointer"] == "/fill"
