"""What-if impact: ``POST /behaviours/{name}/scenarios`` with ``impact`` says, for the baseline and each scenario,
whether the river reaches the warning stage and then which buildings and how many residents the flood reaches.

The district comes from the city generator and is imported as PLATEAU data would be; the buildings a flood should
reach are worked out here from the generator's own truth (the planned L1 bands and the buildings' footprint
centres), not from the twin graph the service reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

from futago.act.model import Alert
from futago.api.server import create_api
from futago.app import App, build
from futago.city.generator import DistrictSpec, GeneratedDistrict, generate_district
from futago.city.twins import BUILDING, FLOOD_ZONE
from futago.config import Settings
from futago.core.telemetry import Reading, format_timestamp, parse_timestamp
from futago.core.twins import TwinScan, now_iso
from futago.services.city_import import CityImporter
from tests.conftest import demo_models

M = "dtmi:futago:demo:"
STATION, LOW_STATION, GAUGE = "kano-station", "kano-low", "kano-rain"
LEVELS = {"standbyLevel": 2.5, "cautionLevel": 3.5, "evacuationLevel": 4.5, "dangerLevel": 5.5}
START = parse_timestamp("2026-07-01T00:00:00Z")
STEP = 600_000_000  # 10 minutes
STEPS = 72  # 12 h of light rain
END = START + STEPS * STEP
AT = format_timestamp(END)
BEHAVIOUR = {
    "model": "river_stage",
    "params": {"catchment_km2": 60.0, "rating_a": 12.0},
    "twins": [STATION, LOW_STATION],
    "inputs": {"rainfall": {"twin": GAUGE, "telemetry": "rainfall"}},
    "measured": "waterLevel",
    "step": "10m",
    "window": "12h",
    "horizon": "3h",
    "members": 200,
    "uncertainty": {"inputs": 0.3, "params": {"a11": 0.15, "b1": 0.15}},
}
SCENARIOS = [
    {"name": "rain x1.5", "inputs": {"rainfall": {"scale": 1.5}}},
    {"name": "rain x3", "inputs": {"rainfall": {"scale": 3}}},
]


class Setup:
    def __init__(self, app: App, client: TestClient, truth: GeneratedDistrict, homes: dict[str, str]) -> None:
        self.app, self.client, self.truth, self.homes = app, client, truth, homes

    def deep_buildings(self, min_depth: float) -> list[str]:
        """Buildings whose footprint centre lies in a planned (L1) band at least ``min_depth`` deep."""
        bands = [
            shapely.Polygon(ring)
            for zone in self.truth.flood_zones
            if zone.scale == "L1" and zone.depth_range[0] >= min_depth
            for ring in zone.polygons
        ]
        area = shapely.union_all(bands)
        found = []
        for twin in self.app.store.scan_twins(TwinScan(model_ids=frozenset({BUILDING}))):
            assert twin.geometry is not None
            if area.covers(shapely.geometry.shape(twin.geometry).centroid):
                found.append(twin.id)
        return sorted(found)

    def residents_of(self, buildings: list[str]) -> int:
        return sum(1 for home in self.homes.values() if home in set(buildings))

    def post(self, body: dict[str, Any]) -> Any:
        return self.client.post("/behaviours/flood-forecast/scenarios", json={"twin": STATION, "at": AT, **body})


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder: Path = tmp_path_factory.mktemp("impact")
    app = build(Settings(db=str(folder / "futago.db")))
    app.models.add(demo_models())
    truth = generate_district(DistrictSpec(buildings=150, seed=7, dem=False), folder / "district.zip")
    CityImporter(app.store, app.models, app.twins, app.bus).run([str(truth.path)])
    app.twins.put(STATION, {"$metadata": {"$model": M + "RiverStation;1"}, **LEVELS})
    # a station that declares no danger level: no probability of reaching it to judge a flood by
    app.twins.put(LOW_STATION, {"$metadata": {"$model": M + "RiverStation;1"}, "standbyLevel": 2.5})
    app.twins.put(GAUGE, {"$metadata": {"$model": M + "RainGauge;1"}})
    zones = app.store.scan_twins(TwinScan(model_ids=frozenset({FLOOD_ZONE})))
    planned = [z for z in zones if str(z.properties.get("scale", "")).startswith("L1")]
    assert planned and len(planned) < len(zones)  # only the planned-scale zones are the station's area
    for station in (STATION, LOW_STATION):
        for zone in planned:
            app.twins.put_relationship(station, f"zone-{zone.id}", {"$relationshipName": "floodZones",
                                                                    "$targetId": zone.id})  # fmt: skip
    # residents: one in every second building, two more in every fifth; one with a point, one with no place
    buildings = sorted(t.id for t in app.store.scan_twins(TwinScan(model_ids=frozenset({BUILDING}))))
    homes: dict[str, str] = {}
    for index, building in enumerate(buildings):
        living = 2 if index % 5 == 0 else 1 if index % 2 == 0 else 0
        for n in range(living):
            homes[f"resident-{index:03d}-{n}"] = building
    channel = [{"type": "dashboard", "name": "phone"}]
    for resident, home in homes.items():
        app.notifications.put_subscriber(resident, {"home": home, "channels": channel})
    lon, lat = truth.river[len(truth.river) // 2]
    app.notifications.put_subscriber("walker", {"point": [lon, lat], "channels": channel})
    app.notifications.put_subscriber("operator", {"rules": ["*"], "channels": channel})
    # 12 h of light rain and the river's answer to it, then a 10 mm/h nowcast for the 3-hour horizon
    rain = np.full(STEPS, 3.0)
    ts = START + np.arange(STEPS) * STEP
    level = 2.1 + np.random.default_rng(0).normal(0.0, 0.01, STEPS)
    app.telemetry.append([Reading(GAUGE, "rainfall", int(t), float(v)) for t, v in zip(ts, rain, strict=True)])
    app.telemetry.append([Reading(GAUGE, "rainfall_forecast", END + i * STEP, 10.0) for i in range(18)])
    for station in (STATION, LOW_STATION):
        app.telemetry.append([Reading(station, "waterLevel", int(t), float(v)) for t, v in zip(ts, level, strict=True)])
    app.behaviours.put("flood-forecast", BEHAVIOUR)
    with TestClient(create_api(app), raise_server_exceptions=False) as client:
        yield Setup(app, client, truth, homes)
    app.close()


def test_rain_x3_floods_the_deep_buildings_and_their_residents_the_baseline_none(setup: Setup) -> None:
    answer = setup.post({"scenarios": SCENARIOS, "impact": {}})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["impact"] == {"stage": "danger", "probability": 0.5, "relationship": "floodZones", "minDepth": 0.5}
    base, wetter, storm = result["baseline"], *result["scenarios"]
    expected = setup.deep_buildings(0.5)
    assert 0 < len(expected) < 150
    assert setup.residents_of(expected) > 0

    assert base["impact"]["probability"] == base["summary"]["exceedance"]["danger"] < 0.5
    assert base["impact"] == {"stage": "danger", "probability": base["impact"]["probability"], "flooded": False,
                              "buildings": [], "buildingCount": 0, "residents": 0}  # fmt: skip
    assert wetter["impact"]["flooded"] is False and wetter["impact"]["buildingCount"] == 0

    impact = storm["impact"]
    assert impact["probability"] == storm["summary"]["exceedance"]["danger"] >= 0.5
    assert impact["flooded"] is True
    assert impact["buildings"] == expected and impact["buildingCount"] == len(expected)
    assert impact["residents"] == setup.residents_of(expected)
    difference = storm["difference"]["impact"]
    assert difference["buildingCount"] == len(expected) and difference["residents"] == impact["residents"]
    assert difference["probability"] == pytest.approx(impact["probability"] - base["impact"]["probability"])
    assert storm["difference"]["peak"] == pytest.approx(storm["summary"]["peak"] - base["summary"]["peak"])


def test_the_residents_are_exactly_those_a_flood_alert_over_the_area_would_notify(setup: Setup) -> None:
    result = setup.post({"scenarios": SCENARIOS[1:], "impact": {"stage": "danger"}}).json()
    (storm,) = result["scenarios"]
    zones = [r.target_id for r in setup.app.store.list_relationships(STATION, "floodZones")]
    alert = Alert(id="a-1", rule="flood-danger", twin_id=STATION, severity="critical", state="raised",
                  raised_at=now_iso(), message={}, area={"zones": zones})  # fmt: skip
    notifications = setup.app.notifications
    told = notifications.targeting.recipients(alert, "raised", notifications.subscribers())
    homes = [r for r in told if r.why != "rule" and r.why != "point"]
    assert storm["impact"]["residents"] == len(homes)
    assert {r.subscriber.home for r in homes} <= set(storm["impact"]["buildings"])


@pytest.mark.parametrize("min_depth", [0.0, 2.0])
def test_min_depth_and_a_lower_stage_change_whom_a_flood_reaches(setup: Setup, min_depth: float) -> None:
    impact = {"stage": "caution", "probability": 0.4, "minDepth": min_depth}
    result = setup.post({"scenarios": SCENARIOS, "impact": impact}).json()
    expected = setup.deep_buildings(min_depth)
    for entry in (result["baseline"], *result["scenarios"]):
        probability = entry["summary"]["exceedance"]["caution"]
        assert entry["impact"]["probability"] == probability
        assert entry["impact"]["flooded"] is (probability >= 0.4)
        assert entry["impact"]["buildings"] == (expected if probability >= 0.4 else [])
        assert entry["impact"]["residents"] == (setup.residents_of(expected) if probability >= 0.4 else 0)
    assert result["scenarios"][1]["impact"]["flooded"] is True


def test_without_impact_the_answer_is_as_before(setup: Setup) -> None:
    result = setup.post({"scenarios": SCENARIOS}).json()
    assert "impact" not in result and "impact" not in result["baseline"]
    assert all("impact" not in s and "impact" not in s["difference"] for s in result["scenarios"])


@pytest.mark.parametrize(
    ("impact", "pointer"),
    [
        ("danger", "/impact"),
        ([], "/impact"),
        ({"stage": "flood"}, "/impact/stage"),
        ({"stage": 3}, "/impact/stage"),
        ({"probability": 1.5}, "/impact/probability"),
        ({"probability": True}, "/impact/probability"),
        ({"probability": "0.5"}, "/impact/probability"),
        ({"minDepth": -1}, "/impact/minDepth"),
        ({"minDepth": 1000}, "/impact/minDepth"),
        ({"relationship": ""}, "/impact/relationship"),
        ({"relationship": ["floodZones"]}, "/impact/relationship"),
        ({"relationship": "noSuchLink"}, "/impact/relationship"),
        ({"colour": "red"}, "/impact/colour"),
    ],
)
def test_a_bad_impact_is_a_problem_with_a_pointer(setup: Setup, impact: Any, pointer: str) -> None:
    answer = setup.post({"scenarios": SCENARIOS, "impact": impact})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert pointer in {e["pointer"] for e in answer.json()["errors"]}


def test_a_stage_the_twin_declares_no_level_for_is_a_problem(setup: Setup) -> None:
    body = {"twin": LOW_STATION, "at": AT, "scenarios": SCENARIOS, "impact": {"stage": "danger"}}
    answer = setup.client.post("/behaviours/flood-forecast/scenarios", json=body)
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["errors"]
    assert error["pointer"] == "/impact/stage" and "standby" in error["detail"]
    fine = setup.client.post("/behaviours/flood-forecast/scenarios", json={**body, "impact": {"stage": "standby"}})
    assert fine.status_code == 200, fine.text
