"""The temporal API keeps every attribute kind: Relationship, GeoProperty, LanguageProperty, JsonProperty,
VocabProperty, ListProperty, and Property instances with a datasetId, a unitCode or sub-attributes (issue 19)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import build
from futago.config import Settings
from futago.services.ngsild import temporal_instances as ti
from tests.ngsild.conftest import BASE
from tests.store.adapters import ADAPTERS, database_url

BUS = "urn:ngsi-ld:Vehicle:toei-bus-to01-3021"
T = f"{BASE}/temporal/entities"
TIMES = ["2024-06-03T08:00:00Z", "2024-06-03T08:05:00Z", "2024-06-03T08:10:00Z"]
GPS, CAN = "urn:ngsi-ld:Dataset:gps", "urn:ngsi-ld:Dataset:canbus"
# A Toei bus on route 都01 leaving Shibuya: stops it is parked at, where it is, its speed from two sources.
STOPS = ["urn:ngsi-ld:BusStop:shibuya-eki", "urn:ngsi-ld:BusStop:shibuya-2chome", "urn:ngsi-ld:BusStop:aoyama-gakuin"]
PLACES = [[139.7016, 35.6580], [139.7064, 35.6595], [139.7098, 35.6607]]


def bus() -> dict[str, Any]:
    return {
        "id": BUS,
        "type": "Vehicle",
        "isParkedIn": [
            {"type": "Relationship", "object": s, "observedAt": t} for s, t in zip(STOPS, TIMES, strict=True)
        ],
        "location": [
            {"type": "GeoProperty", "value": {"type": "Point", "coordinates": p}, "observedAt": t}
            for p, t in zip(PLACES, TIMES, strict=True)
        ],
        "destination": [
            {
                "type": "LanguageProperty",
                "languageMap": {"ja": "新橋駅前", "en": "Shimbashi Sta."},
                "observedAt": TIMES[0],
            }
        ],
        "speed": [
            {"type": "Property", "value": 18.0, "unitCode": "KMH", "datasetId": GPS, "observedAt": TIMES[0]},
            {"type": "Property", "value": 24.5, "unitCode": "KMH", "datasetId": GPS, "observedAt": TIMES[1]},
            {"type": "Property", "value": 17.9, "unitCode": "KMH", "datasetId": CAN, "observedAt": TIMES[0]},
        ],
        "diagnostics": [
            {"type": "JsonProperty", "json": {"dtc": ["P0420"], "odometer": 182311}, "observedAt": TIMES[2]}
        ],
        "serviceStatus": [{"type": "VocabProperty", "vocab": "inService", "observedAt": TIMES[1]}],
        "fuelLevel": [
            {
                "type": "Property",
                "value": 0.62,
                "observedAt": TIMES[2],
                "accuracy": {"type": "Property", "value": 0.05},
            }
        ],
    }


@pytest.fixture(params=ADAPTERS)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    app = build(Settings(db=database_url(request.param, request, tmp_path), data_root=str(tmp_path)))
    try:
        with TestClient(create_api(app), raise_server_exceptions=False) as client:
            response = client.post(T, json=bus())
            assert response.status_code == 201, response.text
            yield client
    finally:
        app.close()


def history(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(f"{T}/{BUS}", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_every_kind_is_kept_and_answered_normalized(client: TestClient) -> None:
    got = history(client)
    assert [i["object"] for i in got["isParkedIn"]] == STOPS
    assert all(
        i["type"] == "Relationship" and i["instanceId"].startswith("urn:ngsi-ld:Instance:") for i in got["isParkedIn"]
    )
    assert [i["value"]["coordinates"] for i in got["location"]] == PLACES
    assert got["destination"][0]["languageMap"] == {"ja": "新橋駅前", "en": "Shimbashi Sta."}
    assert got["diagnostics"][0]["json"] == {"dtc": ["P0420"], "odometer": 182311}
    assert got["serviceStatus"][0]["vocab"] == "inService"
    speeds = {(i.get("datasetId"), i["value"], i["unitCode"]) for i in got["speed"]}
    assert speeds == {(GPS, 18.0, "KMH"), (GPS, 24.5, "KMH"), (CAN, 17.9, "KMH")}
    assert got["fuelLevel"][0]["accuracy"] == {"type": "Property", "value": 0.05}
    # the entity holds the newest instance of each datasetId
    entity = client.get(f"{BASE}/entities/{BUS}").json()
    assert entity["isParkedIn"]["object"] == STOPS[-1]
    assert {s["datasetId"]: s["value"] for s in entity["speed"]} == {GPS: 24.5, CAN: 17.9}


def test_temporal_values_name_each_kinds_member(client: TestClient) -> None:
    got = history(client, options="temporalValues")
    assert got["isParkedIn"] == {"type": "Relationship", "objects": [[s, t] for s, t in zip(STOPS, TIMES, strict=True)]}
    assert got["destination"]["languageMaps"] == [
        [{"languageMap": {"ja": "新橋駅前", "en": "Shimbashi Sta."}}, TIMES[0]]
    ]
    assert got["diagnostics"]["jsons"][0][0] == {"json": {"dtc": ["P0420"], "odometer": 182311}}
    assert got["serviceStatus"] == {"type": "VocabProperty", "vocabs": [[{"vocab": "inService"}, TIMES[1]]]}
    by_dataset = {s["datasetId"]: s["values"] for s in got["speed"]}
    assert by_dataset == {GPS: [[18.0, TIMES[0]], [24.5, TIMES[1]]], CAN: [[17.9, TIMES[0]]]}


def test_aggregation_per_dataset_and_counts_for_other_kinds(client: TestClient) -> None:
    got = history(
        client, options="aggregatedValues", aggrMethods="avg,totalCount,distinctCount", attrs="speed,isParkedIn"
    )
    avg = {s["datasetId"]: s["avg"][0][0] for s in got["speed"]}
    assert avg == {GPS: pytest.approx(21.25), CAN: pytest.approx(17.9)}
    assert got["isParkedIn"]["totalCount"][0][0] == 3 and got["isParkedIn"]["avg"][0][0] is None


def test_time_filters_last_n_and_timeproperty(client: TestClient) -> None:
    after = history(client, timerel="after", timeAt=TIMES[1], attrs="isParkedIn")
    assert [i["object"] for i in after["isParkedIn"]] == STOPS[1:]  # TIMES[1] itself included (4.11)
    assert [i["object"] for i in history(client, lastN=1, attrs="isParkedIn")["isParkedIn"]] == STOPS[-1:]
    # createdAt: every instance was written now, none before 2024
    assert "isParkedIn" not in history(client, timerel="before", timeAt=TIMES[0], timeproperty="createdAt")
    shown = history(client, timerel="after", timeAt=TIMES[0], timeproperty="createdAt", options="sysAttrs")
    assert len(shown["isParkedIn"]) == 3 and "createdAt" in shown["isParkedIn"][0]
    # deletedAt: futago deletes instances, it does not keep them as deleted
    assert set(history(client, timeproperty="deletedAt")) == {"id", "type"}


def test_patch_and_delete_one_instance(client: TestClient) -> None:
    first = history(client, attrs="isParkedIn")["isParkedIn"][0]["instanceId"]
    fix = {"isParkedIn": {"type": "Relationship", "object": "urn:ngsi-ld:BusStop:shibuya-eki-mae"}}
    assert client.patch(f"{T}/{BUS}/attrs/isParkedIn/{first}", json=fix).status_code == 204
    now = history(client, attrs="isParkedIn")["isParkedIn"]
    assert now[0]["object"] == "urn:ngsi-ld:BusStop:shibuya-eki-mae" and now[0]["instanceId"] == first
    assert now[0]["observedAt"] == TIMES[0]  # members not sent are kept
    assert client.delete(f"{T}/{BUS}/attrs/isParkedIn/{first}").status_code == 204
    assert [i["object"] for i in history(client, attrs="isParkedIn")["isParkedIn"]] == STOPS[1:]
    assert client.delete(f"{T}/{BUS}/attrs/isParkedIn/{first}").status_code == 404


def test_delete_an_attributes_instances_by_dataset_and_all(client: TestClient) -> None:
    assert client.delete(f"{T}/{BUS}/attrs/speed", params={"datasetId": CAN}).status_code == 204
    assert {i["datasetId"] for i in history(client, attrs="speed")["speed"]} == {GPS}
    assert client.delete(f"{T}/{BUS}/attrs/speed").status_code == 404  # no default instance
    bad = client.delete(f"{T}/{BUS}/attrs/speed", params={"deleteAll": "true", "datasetId": GPS})
    assert bad.status_code == 400
    every = client.delete(f"{T}/{BUS}/attrs/speed", params={"deleteAll": "true", "datasetId": ""})
    assert every.status_code == 204, every.text
    assert client.get(f"{T}/{BUS}", params={"attrs": "speed"}).status_code == 404


def test_deleting_the_entity_deletes_its_instances(client: TestClient) -> None:
    assert client.delete(f"{T}/{BUS}").status_code == 204
    again = {"id": BUS, "type": "Vehicle", "odometer": [{"value": 182400, "observedAt": TIMES[2]}]}
    assert client.post(T, json=again).status_code == 201
    assert set(history(client)) == {"id", "type", "odometer"}


def test_a_reading_and_kept_instances_of_one_attribute_join(client: TestClient) -> None:
    more = {"fuelLevel": [{"value": 0.64, "observedAt": TIMES[0]}, {"value": 0.63, "observedAt": TIMES[1]}]}
    assert client.post(f"{T}/{BUS}/attrs", json=more).status_code == 204
    assert [i["value"] for i in history(client, attrs="fuelLevel")["fuelLevel"]] == [0.64, 0.63, 0.62]
    values = history(client, attrs="fuelLevel", options="temporalValues")["fuelLevel"]["values"]
    assert values == [[0.64, TIMES[0]], [0.63, TIMES[1]], [0.62, TIMES[2]]]


def test_kept_instances_are_bounded_and_a_refused_write_stores_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ti, "MAX_PER_ATTRIBUTE", 4)
    two = [{"object": STOPS[0], "observedAt": f"2024-06-03T09:0{m}:00Z"} for m in (0, 5)]
    refused = client.post(f"{T}/{BUS}/attrs", json={"isParkedIn": two})
    assert refused.status_code == 400 and "at most 4" in refused.json()["detail"]
    assert len(history(client, attrs="isParkedIn")["isParkedIn"]) == 3
    monkeypatch.setattr(ti, "MAX_WRITE", 1)
    assert "at most 1" in client.post(f"{T}/{BUS}/attrs", json={"isParkedIn": two}).json()["detail"]
