"""Temporal history follows its entity: deleted with it through every door, never shown to a later entity of the
same id; lastN counts readings and kept instances together in every representation; q selects entities, not
instances (issue 19, GS CIM 009 5.7.4, 6.18.3.1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App, build
from futago.config import Settings
from tests.ngsild.conftest import BASE
from tests.store.adapters import ADAPTERS, database_url

# A Kanagawa Chuo Kotsu bus on the 辻34 route: where it stops (kept instances) and its fuel level, read by the CAN
# gateway (plain readings) and once by a depot technician with an accuracy (a kept instance).
BUS = "urn:ngsi-ld:Vehicle:kanachu-tsuji34-0412"
T = f"{BASE}/temporal/entities"
TIMES = ["2024-09-12T07:10:00Z", "2024-09-12T07:20:00Z", "2024-09-12T07:30:00Z", "2024-09-12T07:40:00Z"]
STOPS = ["urn:ngsi-ld:BusStop:tsujido-eki-kitaguchi", "urn:ngsi-ld:BusStop:shonan-dai-eki-nishiguchi"]


def bus() -> dict[str, Any]:
    return {
        "id": BUS,
        "type": "Vehicle",
        "isParkedIn": [
            {"type": "Relationship", "object": s, "observedAt": t} for s, t in zip(STOPS, TIMES, strict=False)
        ],
        "fuelLevel": [
            {"type": "Property", "value": 0.71, "observedAt": TIMES[0]},
            {"type": "Property", "value": 0.69, "observedAt": TIMES[1]},
            {"type": "Property", "value": 0.66, "observedAt": TIMES[3]},
            {
                "type": "Property",
                "value": 0.68,
                "observedAt": TIMES[2],
                "accuracy": {"type": "Property", "value": 0.02},
            },
        ],
    }


@pytest.fixture(params=ADAPTERS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[App]:
    built = build(Settings(db=database_url(request.param, request, tmp_path), data_root=str(tmp_path)))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app), raise_server_exceptions=False) as client:
        response = client.post(T, json=bus())
        assert response.status_code == 201, response.text
        yield client


def history(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(f"{T}/{BUS}", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _through_entities(client: TestClient) -> None:
    assert client.delete(f"{BASE}/entities/{BUS}").status_code == 204


def _through_batch(client: TestClient) -> None:
    response = client.post(f"{BASE}/entityOperations/delete", json=[BUS])
    assert response.status_code in (200, 204), response.text
    assert not response.content or not response.json().get("errors")


def _through_twins(client: TestClient) -> None:
    assert client.delete(f"/twins/{BUS}").status_code == 204


@pytest.mark.parametrize("delete", [_through_entities, _through_batch, _through_twins])
def test_an_entity_deleted_through_any_door_takes_its_history(
    app: App, client: TestClient, delete: Callable[[TestClient], None]
) -> None:
    assert set(history(client)) == {"id", "type", "isParkedIn", "fuelLevel"}
    delete(client)
    twin_id = BUS  # the default tenant's twin id is the entity id
    assert app.store.temporal_instance_attrs(twin_id) == set()  # type: ignore[attr-defined]
    assert app.store.series_names(twin_id) == []
    # a new entity of the same id, made through the entity API, starts without history
    fresh = {"id": BUS, "type": "Vehicle", "isParkedIn": {"type": "Relationship", "object": STOPS[0]}}
    assert client.post(f"{BASE}/entities", json=fresh).status_code == 201
    assert set(history(client)) == {"id", "type"}
    assert client.get(f"{T}/{BUS}", params={"attrs": "isParkedIn"}).status_code == 404


def test_a_twin_and_its_history_go_together_or_not_at_all(
    app: App, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(twin_id: str, name: str | None = None) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(app.store, "delete_series", broken)
    with pytest.raises(OSError):
        app.twins.delete(BUS)
    monkeypatch.undo()
    # the transaction rolled back: the twin, its readings and its kept instances are all still there
    assert app.store.get_twin(BUS) is not None
    assert [i["value"] for i in history(client, attrs="fuelLevel")["fuelLevel"]] == [0.71, 0.69, 0.68, 0.66]
    assert [i["object"] for i in history(client, attrs="isParkedIn")["isParkedIn"]] == STOPS


def test_last_n_counts_readings_and_kept_instances_together(client: TestClient) -> None:
    normalized = history(client, attrs="fuelLevel", lastN=2)["fuelLevel"]
    assert [i["value"] for i in normalized] == [0.68, 0.66]
    values = history(client, attrs="fuelLevel", lastN=2, options="temporalValues")["fuelLevel"]
    assert values == {"type": "Property", "values": [[0.68, TIMES[2]], [0.66, TIMES[3]]]}
    three = history(client, attrs="fuelLevel", lastN=3, format="simplified")["fuelLevel"]["values"]
    assert [v for v, _ in three] == [0.69, 0.68, 0.66]
    aggregated = history(
        client, attrs="fuelLevel", lastN=2, options="aggregatedValues", aggrMethods="totalCount,min,max"
    )["fuelLevel"]
    assert aggregated["totalCount"][0][0] == 2
    assert (aggregated["min"][0][0], aggregated["max"][0][0]) == (0.66, 0.68)


def test_last_n_aggregates_the_newest_readings_of_telemetry_alone(client: TestClient) -> None:
    odometer = [{"value": 182_400 + 3 * i, "observedAt": t} for i, t in enumerate(TIMES)]
    assert client.post(f"{T}/{BUS}/attrs", json={"odometer": odometer}).status_code == 204
    got = history(client, attrs="odometer", lastN=3, options="aggregatedValues", aggrMethods="totalCount,min")
    assert (got["odometer"]["totalCount"][0][0], got["odometer"]["min"][0][0]) == (3, 182_403)
    whole = history(client, attrs="odometer", options="aggregatedValues", aggrMethods="totalCount")
    assert whole["odometer"]["totalCount"][0][0] == 4


def test_q_selects_entities_and_answers_every_instance_in_the_interval(client: TestClient) -> None:
    # the entity's fuelLevel now is its newest instance (0.66): q matches it, and the earlier instances that q
    # would not match are answered too
    found = client.get(T, params={"type": "Vehicle", "q": "fuelLevel<0.67", "attrs": "fuelLevel"})
    assert found.status_code == 200, found.text
    assert [[i["value"] for i in e["fuelLevel"]] for e in found.json()] == [[0.71, 0.69, 0.68, 0.66]]
    none = client.get(T, params={"type": "Vehicle", "q": "fuelLevel>0.70", "attrs": "fuelLevel"})
    assert none.status_code == 200 and none.json() == []
