"""The dashboard at / (built assets, or a page that says how to build them) and /alerts/{id}/impact."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from futago.api import dashboard
from futago.api.server import create_api
from futago.app import App

D = "dtmi:futago:demo:"


def test_the_built_dashboard_is_served_offline(app: App) -> None:
    if not (dashboard.dist_folder() / "index.html").is_file():
        pytest.fail("the dashboard is not built: run `make web` (make test does it)")
    with TestClient(create_api(app)) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/static/app.js">' in page.text
        assert "http://" not in page.text and "https://" not in page.text  # no CDN, no remote tiles
        script = client.get("/static/app.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert client.get("/static/maplibre-gl-worker.mjs").status_code == 200


def test_an_unbuilt_dashboard_says_how_to_build_it(app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard, "dist_folder", lambda: tmp_path / "nowhere")
    with TestClient(create_api(app)) as client:
        page = client.get("/")
    assert page.status_code == 503 and "make install" in page.text and "/docs" in page.text


def test_an_alert_names_the_buildings_and_residents_of_its_area(app: App) -> None:
    square = {"type": "Polygon", "coordinates": [[[138.86, 35.10], [138.861, 35.10], [138.861, 35.101],
                                                   [138.86, 35.101], [138.86, 35.10]]]}  # fmt: skip
    for building in ("b-1", "b-2", "b-3"):
        app.twins.put(building, {"$metadata": {"$model": D + "Building;1"}, "geometry": square})
    app.twins.put("gauge", {"$metadata": {"$model": D + "RiverStation;1"}})
    app.notifications.put_subscriber("someone", {"home": "b-2", "channels": [{"type": "dashboard"}]})
    app.notifications.put_subscriber("elsewhere", {"home": "b-3", "channels": [{"type": "dashboard"}]})
    app.alerts.start()
    rule = {"twins": ["gauge"], "when": {"threshold": {"telemetry": "waterLevel", "above": 1.0}},
            "area": {"twins": ["b-1", "b-2"]}}  # fmt: skip
    with TestClient(create_api(app)) as client:
        assert client.put("/rules/high", json=rule).status_code == 201
        reading = {"name": "waterLevel", "ts": "2026-07-01T00:00:00Z", "value": 2.0}
        assert client.post("/twins/gauge/telemetry", json=reading).status_code in (200, 202)
        deadline = time.monotonic() + 5
        while not (alerts := client.get("/alerts").json()["value"]) and time.monotonic() < deadline:
            time.sleep(0.02)
        (alert,) = alerts
        impact = client.get(f"/alerts/{alert['id']}/impact").json()
        assert impact["buildings"] == ["b-1", "b-2"] and impact["residents"] == 1
        missing = client.get("/alerts/no-such-alert/impact")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
