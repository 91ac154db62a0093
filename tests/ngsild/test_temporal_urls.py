"""What the temporal API's URLs and projections refuse (GS CIM 009 5.6.12-5.6.15, 5.7.3, 4.21), and the length of
an aggregation's last period (4.5.19): a bike-share dock's free bikes through an evening."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE

T = f"{BASE}/temporal/entities"
JSON = {"Content-Type": "application/json"}
BAD = "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
MISSING = "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"
DOCK = "urn:ngsi-ld:BikeDock:shibuya-12"
STAFF = "urn:ngsi-ld:Dataset:staff"
FREE = [(9, "2024-05-10T18:00:00Z"), (4, "2024-05-10T18:40:00Z"), (2, "2024-05-10T19:10:00Z")]


@pytest.fixture
def dock(client: TestClient) -> str:
    body: dict[str, Any] = {
        "id": DOCK,
        "type": "BikeDock",
        "freeBikes": [{"type": "Property", "value": v, "observedAt": t} for v, t in FREE],
        # an operator's count, kept apart from the sensor's readings by its datasetId
        "docked": [
            {
                "type": "Property",
                "value": 11,
                "observedAt": "2024-05-10T18:05:00Z",
                "datasetId": "urn:ngsi-ld:Dataset:staff",
            }
        ],
    }
    assert client.post(T, json=body, headers=JSON).status_code == 201
    return client.get(f"{T}/{DOCK}").json()["freeBikes"][0]["instanceId"]


def _problem(answer: Any, status: int, kind: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["type"] == kind and answer.json()["title"]


@pytest.mark.parametrize("name", ["free(bikes", "%2e%2e", "%252e%252e", "%2e"])
def test_a_name_no_attribute_can_have_is_refused_and_deletes_nothing(client: TestClient, dock: str, name: str) -> None:
    _problem(client.delete(f"{T}/{DOCK}/attrs/{name}"), 400, BAD)
    _problem(client.delete(f"{T}/{DOCK}/attrs/{name}/{dock}"), 400, BAD)
    patch = {"type": "Property", "value": 8, "observedAt": FREE[0][1]}
    _problem(client.patch(f"{T}/{DOCK}/attrs/{name}/{dock}", json=patch, headers=JSON), 400, BAD)
    kept = client.get(f"{T}/{DOCK}")  # ".." must not have reached the entity's own URL
    assert kept.status_code == 200 and [i["value"] for i in kept.json()["freeBikes"]] == [9, 4, 2]


def test_an_empty_id_or_name_in_the_url_is_bad_request_data(client: TestClient, dock: str) -> None:
    fragment = {"freeBikes": [{"type": "Property", "value": 1, "observedAt": "2024-05-10T20:00:00Z"}]}
    _problem(client.post(f"{T}//attrs", json=fragment, headers=JSON), 400, BAD)
    _problem(client.delete(f"{T}//attrs/freeBikes"), 400, BAD)
    _problem(client.delete(f"{T}//attrs/freeBikes/{dock}"), 400, BAD)
    _problem(client.delete(f"{T}/{DOCK}/attrs//{dock}"), 400, BAD)
    _problem(client.patch(f"{T}/{DOCK}/attrs//{dock}", json=fragment["freeBikes"][0], headers=JSON), 400, BAD)
    # an id that is no URI is a 400 when adding instances too, a URI nothing has a 404
    _problem(client.post(f"{T}/shibuya-12/attrs", json=fragment, headers=JSON), 400, BAD)
    _problem(client.post(f"{T}/urn:ngsi-ld:BikeDock:gone/attrs", json=fragment, headers=JSON), 404, MISSING)
    assert len(client.get(f"{T}/{DOCK}").json()["freeBikes"]) == 3


def test_pick_and_omit_replace_attrs_and_must_leave_something(client: TestClient, dock: str) -> None:
    for projection in ({"pick": "freeBikes"}, {"omit": "docked"}):
        _problem(client.get(f"{T}/{DOCK}", params={**projection, "attrs": "freeBikes"}), 400, BAD)
        _problem(client.get(T, params={**projection, "attrs": "freeBikes", "type": "BikeDock"}), 400, BAD)
    _problem(client.get(f"{T}/{DOCK}", params={"pick": "emptySlots"}), 404, MISSING)
    _problem(client.get(f"{T}/{DOCK}", params={"omit": "id,type,freeBikes,docked"}), 404, MISSING)
    assert client.get(f"{T}/{DOCK}", params={"pick": "id,docked"}).json().keys() == {"id", "docked"}


def test_every_aggregation_period_is_as_long_as_asked(client: TestClient, dock: str) -> None:
    shape = {"options": "aggregatedValues", "aggrMethods": "min,totalCount", "aggrPeriodDuration": "PT1H"}
    got = client.get(f"{T}/{DOCK}", params=shape).json()
    # an open interval: the last period runs its full hour, not only up to the last reading (19:10)
    assert got["freeBikes"]["min"] == [
        [4, "2024-05-10T18:00:00Z", "2024-05-10T19:00:00Z"],
        [2, "2024-05-10T19:00:00Z", "2024-05-10T20:00:00Z"],
    ]
    assert got["docked"]["totalCount"] == [[1, "2024-05-10T18:05:00Z", "2024-05-10T19:05:00Z"]]
    closed = {**shape, "timerel": "between", "timeAt": "2024-05-10T18:00:00Z", "endTimeAt": "2024-05-10T19:30:00Z"}
    last = client.get(f"{T}/{DOCK}", params=closed).json()["freeBikes"]["min"][-1]
    assert last == [2, "2024-05-10T19:00:00Z", "2024-05-10T19:30:00Z"]  # a closed interval still bounds it
