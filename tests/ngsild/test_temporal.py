"""The temporal API (/ngsi-ld/v1/temporal): an attribute's history is a telemetry series, on every adapter."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App
from futago.security.policy import PolicyEntry
from futago.services.ngsild.temporal import MAX_INSTANCES
from tests.ngsild.conftest import BASE
from tests.ngsild.test_tenants_and_security import key

GAUGE = "urn:ngsi-ld:WaterObserved:sumida-ryogoku"
T = f"{BASE}/temporal/entities"
# A river gauge's water level (m) every ten minutes as a flood wave arrives: what the temporal API stores.
LEVELS = [1.20, 1.25, 1.31, 1.38, 1.52, 1.49]
TIMES = [f"2024-06-01T00:{m:02d}:00Z" for m in range(0, 60, 10)]
BAD = "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"


def gauge() -> dict[str, Any]:
    return {
        "id": GAUGE,
        "type": "WaterObserved",
        "height": [{"type": "Property", "value": v, "observedAt": t} for v, t in zip(LEVELS, TIMES, strict=True)],
        "flowStatus": [
            {"type": "Property", "value": "normal", "observedAt": TIMES[0]},
            {"type": "Property", "value": "rising", "observedAt": TIMES[3]},
        ],
    }


def created(client: TestClient) -> None:
    response = client.post(T, json=gauge())
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"{T}/{GAUGE}"


def values(client: TestClient, **params: Any) -> list[float]:
    response = client.get(f"{T}/{GAUGE}", params={"attrs": "height", **params})
    assert response.status_code == 200, response.text
    return [i["value"] for i in response.json().get("height", [])]


def test_create_then_read_the_history_on_every_adapter(adapter_client: TestClient) -> None:
    client = adapter_client
    created(client)
    got = client.get(f"{T}/{GAUGE}").json()
    assert got["id"] == GAUGE and got["type"] == "WaterObserved"
    assert [i["value"] for i in got["height"]] == LEVELS
    assert [i["observedAt"] for i in got["height"]] == TIMES  # whole seconds: the form the client sent
    assert all(i["type"] == "Property" and i["instanceId"].startswith("urn:futago:reading:") for i in got["height"])
    assert [i["value"] for i in got["flowStatus"]] == ["normal", "rising"]
    # the entity itself holds each attribute's newest instance
    entity = client.get(f"{BASE}/entities/{GAUGE}").json()
    assert entity["height"]["value"] == 1.49 and entity["flowStatus"]["value"] == "rising"
    # instance ids are stable: the same reading has the same id on every read
    again = client.get(f"{T}/{GAUGE}").json()
    assert [i["instanceId"] for i in again["height"]] == [i["instanceId"] for i in got["height"]]
    aggregated = client.get(
        f"{T}/{GAUGE}", params={"attrs": "height", "options": "aggregatedValues", "aggrMethods": "max,totalCount"}
    ).json()
    assert aggregated["height"]["max"] == [[1.52, "2024-06-01T00:00:00Z", "2024-06-01T00:50:00Z"]]
    assert aggregated["height"]["totalCount"][0][0] == 6


def test_each_timerel(client: TestClient) -> None:
    created(client)
    assert values(client, timerel="before", timeAt=TIMES[2]) == LEVELS[:2]  # strictly before
    # 4.11: after's timeAt is an inclusive bound (after is between without an end), before's an exclusive one
    assert values(client, timerel="after", timeAt=TIMES[3]) == LEVELS[3:]
    assert values(client, timerel="after", timeAt="2024-06-01T00:30:00.000Z") == LEVELS[3:]
    assert values(client, timerel="after", timeAt="2024-06-01T00:30:00.000001Z") == LEVELS[4:]
    between = {"timerel": "between", "timeAt": TIMES[1], "endTimeAt": TIMES[4]}
    assert values(client, **between) == LEVELS[1:4]  # timeAt included, endTimeAt not
    assert values(client, timerel="after", timeAt="2024-06-02T00:00:00Z") == []
    assert values(client, timerel="before", timeAt=TIMES[2], timeproperty="observedAt") == LEVELS[:2]


def test_last_n_keeps_the_newest_instances_in_time_order(client: TestClient) -> None:
    created(client)
    assert values(client, lastN=2) == [1.52, 1.49]
    assert values(client, lastN=3, timerel="before", timeAt=TIMES[4]) == [1.25, 1.31, 1.38]
    assert values(client, lastN=100) == LEVELS


def test_temporal_values_is_the_simplified_representation(client: TestClient) -> None:
    created(client)
    for params in ({"options": "temporalValues"}, {"format": "simplified"}):
        got = client.get(f"{T}/{GAUGE}", params={"attrs": "height,flowStatus", **params}).json()
        assert got["height"] == {
            "type": "Property",
            "values": [[v, t] for v, t in zip(LEVELS, TIMES, strict=True)],
        }
        assert got["flowStatus"]["values"][1] == ["rising", "2024-06-01T00:30:00Z"]


def test_appending_and_changing_instances(client: TestClient) -> None:
    created(client)
    more = {"height": [{"type": "Property", "value": 1.44, "observedAt": "2024-06-01T01:00:00Z"}]}
    assert client.post(f"{T}/{GAUGE}/attrs", json=more).status_code == 204
    assert values(client) == [*LEVELS, 1.44]
    instances = client.get(f"{T}/{GAUGE}", params={"attrs": "height"}).json()["height"]
    fourth = instances[3]["instanceId"]
    patched = client.patch(f"{T}/{GAUGE}/attrs/height/{fourth}", json={"height": {"value": 1.40}})
    assert patched.status_code == 204, patched.text
    assert values(client) == [1.20, 1.25, 1.31, 1.40, 1.52, 1.49, 1.44]
    moved = {"value": 1.39, "observedAt": "2024-06-01T00:35:00Z"}
    assert client.patch(f"{T}/{GAUGE}/attrs/height/{fourth}", json=moved).status_code == 204
    got = client.get(f"{T}/{GAUGE}", params={"attrs": "height"}).json()["height"]
    assert [(i["value"], i["observedAt"][11:19]) for i in got][3:5] == [(1.39, "00:35:00"), (1.52, "00:40:00")]
    first = got[0]["instanceId"]
    assert client.delete(f"{T}/{GAUGE}/attrs/height/{first}").status_code == 204
    assert values(client) == [1.25, 1.31, 1.39, 1.52, 1.49, 1.44]
    gone = client.delete(f"{T}/{GAUGE}/attrs/height/{first}")
    assert gone.status_code == 404 and gone.json()["type"].endswith("/ResourceNotFound")
    assert client.delete(f"{T}/{GAUGE}/attrs/height").status_code == 204
    assert "height" not in client.get(f"{T}/{GAUGE}").json()
    assert client.delete(f"{T}/{GAUGE}").status_code == 204
    assert client.get(f"{T}/{GAUGE}").status_code == 404
    assert client.get(f"{BASE}/entities/{GAUGE}").status_code == 404


def test_telemetry_of_a_twin_is_its_temporal_evolution(client: TestClient) -> None:
    twin = {"$metadata": {"$model": "dtmi:futago:demo:Building;1"}, "name": "Tower", "height": 120.5}
    assert client.put("/twins/b1", json=twin).status_code == 201
    readings = [{"name": "energyUse", "ts": f"2024-05-01T{h:02d}:00:00Z", "value": 40.0 + h} for h in range(6)]
    assert client.post("/twins/b1/telemetry", json=readings).status_code == 202
    got = client.get(f"{T}/b1", params={"timerel": "after", "timeAt": "2024-05-01T02:00:00Z"}).json()
    assert [i["value"] for i in got["energyUse"]] == [42.0, 43.0, 44.0, 45.0]  # 02:00 itself included (4.11)
    # a temporal write to declared telemetry goes through the model's kind: a string is refused
    wrong = {"energyUse": [{"type": "Property", "value": "high", "observedAt": "2024-05-01T07:00:00Z"}]}
    refused = client.post(f"{T}/b1/attrs", json=wrong)
    assert refused.status_code == 400 and refused.json()["type"] == BAD
    good = {"energyUse": [{"type": "Property", "value": 47.5, "observedAt": "2024-05-01T07:00:00Z"}]}
    assert client.post(f"{T}/b1/attrs", json=good).status_code == 204
    history = client.get("/twins/b1/telemetry", params={"name": "energyUse"}).json()["points"]
    assert history[-1]["value"] == 47.5


def test_query_and_entity_operations_query(client: TestClient) -> None:
    created(client)
    other = {**gauge(), "id": "urn:ngsi-ld:WaterObserved:arakawa-iwabuchi"}
    assert client.post(T, json=other).status_code == 201
    params = {"type": "WaterObserved", "attrs": "height", "lastN": 1, "count": "true"}
    response = client.get(T, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["NGSILD-Results-Count"] == "2"
    assert [(e["id"], [i["value"] for i in e["height"]]) for e in response.json()] == [
        ("urn:ngsi-ld:WaterObserved:arakawa-iwabuchi", [1.49]),
        (GAUGE, [1.49]),
    ]
    assert all("flowStatus" not in e for e in response.json())
    body = {
        "type": "Query",
        "entities": [{"id": GAUGE, "type": "WaterObserved"}],
        "attrs": ["height"],
        "temporalQ": {"timerel": "between", "timeAt": TIMES[0], "endTimeAt": TIMES[2]},
    }
    found = client.post(f"{BASE}/temporal/entityOperations/query", json=body)
    assert found.status_code == 200, found.text
    assert [[i["value"] for i in e["height"]] for e in found.json()] == [[1.20, 1.25]]
    page = client.get(T, params={"type": "WaterObserved", "limit": 1, "offset": 1}).json()
    assert [e["id"] for e in page] == [GAUGE]
    # q selects on the entities as they are now (the newest instance): only the rising gauge
    rising = {**gauge(), "id": "urn:ngsi-ld:WaterObserved:edogawa-shinozaki"}
    rising["height"] = [{**i, "value": round(i["value"] + 1, 2)} for i in rising["height"]]
    assert client.post(T, json=rising).status_code == 201
    high = client.get(T, params={"type": "WaterObserved", "q": "height>2", "attrs": "height", "lastN": 2})
    assert high.status_code == 200, high.text
    assert [(e["id"], [i["value"] for i in e["height"]]) for e in high.json()] == [
        ("urn:ngsi-ld:WaterObserved:edogawa-shinozaki", [2.52, 2.49])
    ]
    by_body = {"type": "Query", "q": "height>2", "temporalQ": {"lastN": 1}}
    assert [e["id"] for e in client.post(f"{BASE}/temporal/entityOperations/query", json=by_body).json()] == [
        "urn:ngsi-ld:WaterObserved:edogawa-shinozaki"
    ]


def test_a_second_create_adds_instances_to_the_same_entity(client: TestClient) -> None:
    created(client)
    later = {"id": GAUGE, "type": "WaterObserved", "height": {"value": 1.60, "observedAt": "2024-06-01T01:10:00Z"}}
    assert client.post(T, json=later).status_code == 204
    assert values(client, lastN=2) == [1.49, 1.60]


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"timerel": "during", "timeAt": TIMES[0]}, "timerel"),
        ({"timerel": "before"}, "timeAt"),
        ({"timerel": "between", "timeAt": TIMES[2]}, "endTimeAt"),
        ({"timerel": "between", "timeAt": TIMES[2], "endTimeAt": TIMES[1]}, "after timeAt"),
        ({"timerel": "before", "timeAt": "yesterday"}, "ISO 8601"),
        ({"timeAt": TIMES[0]}, "need timerel"),
        ({"lastN": "0"}, "lastN"),
        ({"lastN": "many"}, "lastN"),
        ({"timeproperty": "publishedAt"}, "timeproperty"),
        ({"options": "aggregatedValues"}, "aggrMethods"),
        ({"options": "aggregatedValues", "aggrMethods": "median"}, "median"),
        ({"options": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "1 hour"}, "ISO 8601"),
        ({"options": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "P1M"}, "months"),
        ({"options": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "PT0S"}, "longer"),
        ({"aggrMethods": "avg"}, "aggregatedValues"),
    ],
)
def test_bad_parameters_are_bad_request_data(client: TestClient, params: dict[str, Any], why: str) -> None:
    created(client)
    response = client.get(f"{T}/{GAUGE}", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["type"] == BAD
    assert why in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"id": GAUGE, "type": "WaterObserved", "height": [{"type": "Property", "value": 1.2}]}, "observedAt"),
        (
            {"id": GAUGE, "type": "WaterObserved", "height": [{"value": 1.2, "observedAt": "soon"}]},
            "observedAt",
        ),
        (
            {"id": GAUGE, "type": "WaterObserved", "up": [{"object": "urn:ngsi-ld:X:1"}]},
            "observedAt",
        ),
        (
            {
                "id": GAUGE,
                "type": "WaterObserved",
                "height": [{"value": 1, "observedAt": TIMES[0], "datasetId": 5}],
            },
            "datasetId",
        ),
        ({"id": GAUGE, "height": [{"value": 1.2, "observedAt": TIMES[0]}]}, "type"),
        ({"id": "not a uri", "type": "WaterObserved"}, "URI"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_temporal_entities_store_nothing(client: TestClient, body: Any, why: str) -> None:
    response = client.post(T, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["type"] == BAD and why in response.json()["detail"]
    assert client.get(f"{BASE}/entities/{GAUGE}").status_code == 404


def test_missing_things_are_not_found_and_queries_need_a_selector(client: TestClient) -> None:
    assert client.get(f"{T}/urn:ngsi-ld:WaterObserved:none").status_code == 404
    more = {"height": [{"value": 1.0, "observedAt": TIMES[0]}]}
    missing = client.post(f"{T}/urn:ngsi-ld:WaterObserved:none/attrs", json=more)
    assert missing.status_code == 404 and missing.json()["type"].endswith("/ResourceNotFound")
    created(client)
    assert client.delete(f"{T}/{GAUGE}/attrs/salinity").status_code == 404
    odd = client.delete(f"{T}/{GAUGE}/attrs/height/urn:futago:reading:0000:1")
    assert odd.status_code == 404
    assert client.get(T).json()["type"] == BAD
    assert client.get(T, params={"type": "WaterObserved", "q": "height>>1"}).json()["type"] == BAD
    no_body = client.post(f"{BASE}/temporal/entityOperations/query", json={"type": "Query"})
    assert no_body.status_code == 400 and no_body.json()["type"] == BAD
    assert client.get(T, params={"type": "WaterObserved", "limit": 5000}).status_code == 400


def test_a_series_takes_other_values_as_json_from_then_on(client: TestClient) -> None:
    created(client)
    odd = {"height": [{"type": "Property", "value": "gauge frozen", "observedAt": "2024-06-01T01:00:00Z"}]}
    assert client.post(f"{T}/{GAUGE}/attrs", json=odd).status_code == 204
    assert values(client) == [*LEVELS, "gauge frozen"]  # the numbers before it stay numbers


def test_long_histories_are_answered_in_pages(app: App, client: TestClient) -> None:
    created(client)
    start = 1_717_200_000_000_000 + 3_600_000_000  # 2024-06-01T01:00:00Z, after the gauge's six readings
    rows = [(GAUGE, "height", start + i * 1_000_000, 1.5 + i / 1e5, 2) for i in range(MAX_INSTANCES)]
    app.telemetry.append(rows, kind_of=lambda twin, name: "f8")
    response = client.get(f"{T}/{GAUGE}", params={"attrs": "height"})
    assert response.status_code == 206, response.text
    got = response.json()["height"]
    assert len(got) == MAX_INSTANCES and got[0]["value"] == 1.20
    last = got[-1]["observedAt"]
    assert response.headers["content-range"] == f"date-time 2024-06-01T00:00:00Z-{last}/*"
    rest = client.get(f"{T}/{GAUGE}", params={"attrs": "height", "timerel": "after", "timeAt": last})
    # after is an inclusive bound (4.11): the next page starts with the last instance of this one
    assert rest.status_code == 200 and len(rest.json()["height"]) == len(LEVELS) + 1
    assert rest.json()["height"][0]["observedAt"] == last
    assert client.get(f"{T}/{GAUGE}", params={"lastN": 3}).status_code == 200


def test_tenants_and_policies_apply(app: App) -> None:
    app.settings = app.settings.with_overrides(require_auth=True)
    with TestClient(create_api(app), raise_server_exceptions=False) as client:
        admin = key(app, "user:root", ("*", ["ADMIN"]))
        osaka = {**admin, "NGSILD-Tenant": "osaka"}
        assert client.post(T, json=gauge(), headers=osaka).status_code == 201
        assert client.get(f"{T}/{GAUGE}", headers=admin).status_code == 404  # not in the default tenant
        assert values_of(client.get(f"{T}/{GAUGE}", headers=osaka)) == LEVELS
        twin = f"~osaka~{GAUGE}"
        entity_only = key(app, "user:viewer", ("query", ["READ"]), (f"twins/{twin}", ["READ"]))
        app.security.grant(PolicyEntry("user:viewer", f"twins/{twin}/telemetry", frozenset({"READ"}), "revoke"))
        both = key(app, "user:analyst", ("query", ["READ"]), ("twins/*", ["READ"]))
        plain = client.get(f"{T}/{GAUGE}", headers={**entity_only, "NGSILD-Tenant": "osaka"})
        assert plain.status_code == 200 and "height" not in plain.json()  # no READ on its telemetry
        assert values_of(client.get(f"{T}/{GAUGE}", headers={**both, "NGSILD-Tenant": "osaka"})) == LEVELS
        listed = client.get(T, params={"type": "WaterObserved"}, headers={**entity_only, "NGSILD-Tenant": "osaka"})
        assert [("height" in e) for e in listed.json()] == [False]
        more = {"height": [{"value": 2.0, "observedAt": "2024-06-01T02:00:00Z"}]}
        refused = client.post(f"{T}/{GAUGE}/attrs", json=more, headers={**both, "NGSILD-Tenant": "osaka"})
        assert refused.status_code == 403
        nobody = client.get(f"{T}/{GAUGE}", headers={"NGSILD-Tenant": "osaka"})
        assert nobody.status_code == 401


def values_of(response: Any) -> list[Any]:
    assert response.status_code == 200, response.text
    return [i["value"] for i in response.json()["height"]]
