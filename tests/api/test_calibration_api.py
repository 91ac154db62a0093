"""Calibrations over the REST API."""

from __future__ import annotations

from fastapi.testclient import TestClient

M = "dtmi:futago:demo:"


def test_calibration_api(client: TestClient) -> None:
    client.put("/twins/rs", json={"$metadata": {"$model": M + "RiverStation;1"}})
    body = {"kind": "linear", "gain": 1.5, "offset": 0, "validFrom": "2026-01-01T00:00:00Z", "why": "new sensor"}
    created = client.post("/twins/rs/telemetry/waterLevel/calibrations", json=body)
    assert created.status_code == 201, created.text
    cal_id = created.json()["after"]["id"]
    client.post("/twins/rs/telemetry", json=[{"name": "waterLevel", "ts": "2026-01-02T00:00:00Z", "value": 2.0}])
    points = client.get("/twins/rs/telemetry", params={"name": "waterLevel"}).json()["points"]
    assert points[0]["value"] == 3.0
    raw = client.get("/twins/rs/telemetry", params={"name": "waterLevel", "raw": "true"}).json()["points"]
    assert raw[0]["value"] == 2.0
    listed = client.get("/twins/rs/telemetry/waterLevel/calibrations").json()
    assert [c["id"] for c in listed["value"]] == [cal_id] and listed["changes"][0]["why"] == "new sensor"
    no_why = client.post("/twins/rs/telemetry/waterLevel/calibrations", json={**body, "why": ""})
    assert no_why.status_code == 422 and no_why.json()["pointer"] == "/why"
    bad_gain = client.post("/twins/rs/telemetry/waterLevel/calibrations", json={**body, "gain": "x"})
    assert bad_gain.status_code == 422 and bad_gain.json()["pointer"] == "/gain"
    retired = client.delete(f"/twins/rs/telemetry/waterLevel/calibrations/{cal_id}", params={"why": "wrong sensor"})
    assert retired.status_code == 200
    assert client.get("/twins/rs/telemetry", params={"name": "waterLevel"}).json()["points"][0]["value"] == 2.0
