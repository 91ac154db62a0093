"""Temporal API edges of GS CIM 009 (5.6.11, 5.7.3, 5.7.4, 5.2.21): how instances are written back, which ids and
parameters are refused, and a Query body's temporalQ carrying the aggregation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE

T = f"{BASE}/temporal/entities"
JSON = {"Content-Type": "application/json"}
BAD = "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
MISSING = "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"
TANK = "urn:ngsi-ld:WaterTank:kanda-3"
# A rooftop tank's fill level (%) over a morning: whole numbers at whole seconds, one reading at a fraction.
LEVELS = [(71, "2024-09-02T06:00:00Z"), (64, "2024-09-02T06:30:00Z"), (58, "2024-09-02T07:00:00Z")]


def tank(client: TestClient) -> None:
    body: dict[str, Any] = {
        "id": TANK,
        "type": "WaterTank",
        "fillingLevel": [{"type": "Property", "value": v, "observedAt": t} for v, t in LEVELS],
        "temperature": [{"type": "Property", "value": 18.5, "observedAt": "2024-09-02T06:00:00.250Z"}],
    }
    assert client.post(T, json=body, headers=JSON).status_code == 201


def test_instances_come_back_as_they_were_written(client: TestClient) -> None:
    tank(client)
    got = client.get(f"{T}/{TANK}").json()
    # integers stay integers (the store's float64 is an implementation detail) and whole seconds carry no fraction
    assert [(i["value"], i["observedAt"]) for i in got["fillingLevel"]] == LEVELS
    assert all(isinstance(i["value"], int) for i in got["fillingLevel"])
    assert got["temperature"][0]["observedAt"] == "2024-09-02T06:00:00.250Z"
    values = client.get(f"{T}/{TANK}", params={"options": "temporalValues", "attrs": "fillingLevel"}).json()
    assert values["fillingLevel"]["values"] == [[v, t] for v, t in LEVELS]
    shape = {
        "options": "aggregatedValues",
        "aggrMethods": "max,avg",
        "aggrPeriodDuration": "PT1H",
        "attrs": "fillingLevel",
    }
    aggregated = client.get(f"{T}/{TANK}", params=shape).json()["fillingLevel"]
    assert aggregated["max"] == [
        [71, "2024-09-02T06:00:00Z", "2024-09-02T07:00:00Z"],
        [58, "2024-09-02T07:00:00Z", "2024-09-02T08:00:00Z"],  # a whole PT1H, though its one reading is at 07:00
    ]
    assert aggregated["avg"][0][0] == 67.5


def test_unknown_attributes_and_ids_that_are_no_uri(client: TestClient) -> None:
    tank(client)
    missing = client.get(f"{T}/{TANK}", params={"attrs": "pressure"})
    assert missing.status_code == 404 and missing.json()["type"] == MISSING
    for answer in (client.get(f"{T}/notAUri"), client.delete(f"{T}/notAUri")):
        assert answer.status_code == 400 and answer.json()["type"] == BAD
    assert client.get(f"{T}/urn:ngsi-ld:WaterTank:none").status_code == 404
    bad_instance = client.delete(f"{T}/{TANK}/attrs/fillingLevel/reading-1")
    assert bad_instance.status_code == 400 and bad_instance.json()["type"] == BAD


def test_an_instance_is_changed_from_an_array_of_one(client: TestClient) -> None:
    tank(client)
    first = client.get(f"{T}/{TANK}", params={"attrs": "fillingLevel"}).json()["fillingLevel"][0]
    change = {"fillingLevel": [{"type": "Property", "value": 70, "observedAt": LEVELS[0][1]}]}
    url = f"{T}/{TANK}/attrs/fillingLevel/{first['instanceId']}"
    assert client.patch(url, json=change, headers=JSON).status_code == 204
    got = client.get(f"{T}/{TANK}", params={"attrs": "fillingLevel"}).json()["fillingLevel"]
    assert [i["value"] for i in got] == [70, 64, 58]


def test_a_query_body_carries_lastn_and_the_aggregation(client: TestClient) -> None:
    tank(client)
    url = f"{BASE}/temporal/entityOperations/query"

    def post(temporal: dict[str, Any]) -> Any:
        when = {"timerel": "after", "timeAt": "2024-09-01T00:00:00Z"}
        body = {
            "type": "Query",
            "entities": [{"type": "WaterTank"}],
            "attrs": ["fillingLevel"],
            "temporalQ": when | temporal,
        }
        return client.post(url, json=body, headers=JSON)

    for spelling in (["avg", "min"], "avg,min"):
        answer = post({"aggrMethods": spelling, "aggrPeriodDuration": "PT2H"})
        assert answer.status_code == 200, answer.text
        level = answer.json()[0]["fillingLevel"]
        assert level["min"] == [[58, "2024-09-02T06:00:00Z", "2024-09-02T08:00:00Z"]]  # one whole PT2H period
        assert level["avg"][0][0] == pytest.approx(193 / 3)
        assert "instanceId" not in answer.text
    assert post({"aggrPeriodDuration": "soon", "aggrMethods": ["avg"]}).json()["type"] == BAD
    assert post({"lastN": 1.5}).status_code == 400
    assert [i["value"] for i in post({"lastN": 2}).json()[0]["fillingLevel"]] == [64, 58]


def test_pick_and_omit_project_the_temporal_representation(client: TestClient) -> None:
    tank(client)
    picked = client.get(f"{T}/{TANK}", params={"pick": "id,fillingLevel"}).json()
    assert set(picked) == {"id", "fillingLevel"} and len(picked["fillingLevel"]) == 3
    omitted = client.get(f"{T}/{TANK}", params={"omit": "type,temperature"}).json()
    assert set(omitted) == {"id", "fillingLevel"}
    listed = client.get(T, params={"type": "WaterTank", "pick": "temperature"}).json()
    assert listed == [
        {
            "temperature": [
                {
                    "type": "Property",
                    "value": 18.5,
                    "observedAt": "2024-09-02T06:00:00.250Z",
                    "instanceId": listed[0]["temperature"][0]["instanceId"],
                }
            ]
        }
    ]
    both = client.get(f"{T}/{TANK}", params={"pick": "id", "omit": "type"})
    assert both.status_code == 400 and both.json()["type"] == BAD
    assert client.get(f"{T}/{TANK}", params={"pick": "id{"}).status_code == 400
