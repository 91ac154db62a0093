"""One graph, two doors: what NGSI-LD writes the twin API, the query language and models see, and back."""

from __future__ import annotations

from fastapi.testclient import TestClient

from futago.app import App
from tests.ngsild.conftest import BASE

BUILDING = "dtmi:futago:demo:Building;1"
DISTRICT = "dtmi:futago:demo:District;1"


def test_an_entity_is_a_twin_the_twin_api_and_the_query_language_see(client: TestClient) -> None:
    entity = {
        "id": "urn:ngsi-ld:Gauge:g1",
        "type": "Gauge",
        "level": {"type": "Property", "value": 4.2, "unitCode": "MTR", "observedAt": "2024-05-01T10:00:00Z"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.8, 35.7]}},
    }
    assert client.post(f"{BASE}/entities", json=entity).status_code == 201
    twin = client.get("/twins/urn:ngsi-ld:Gauge:g1").json()
    assert twin["level"] == 4.2  # a plain value, as DTDL and the query language see it
    assert twin["geometry"] == {"type": "Point", "coordinates": [139.8, 35.7]}
    assert twin["$metadata"]["$model"] == "dtmi:ngsild:Gauge;1"
    model = client.get("/models/dtmi:ngsild:Gauge;1").json()
    assert "Gauge" in str(model)
    found = client.post("/query", json={"query": "SELECT * FROM DIGITALTWINS T WHERE T.level > 4"}).json()["value"]
    assert [t["$dtId"] for t in found] == ["urn:ngsi-ld:Gauge:g1"]
    # a change through the twin API is what NGSI-LD answers; the metadata stays
    patch = [{"op": "replace", "path": "/level", "value": 5.0}]
    assert client.patch("/twins/urn:ngsi-ld:Gauge:g1", json=patch).status_code == 200
    level = client.get(f"{BASE}/entities/urn:ngsi-ld:Gauge:g1").json()["level"]
    assert level == {"type": "Property", "value": 5.0, "unitCode": "MTR", "observedAt": "2024-05-01T10:00:00Z"}


def test_a_twin_is_an_entity_of_its_dtdl_model(client: TestClient) -> None:
    assert client.put("/twins/d1", json={"$metadata": {"$model": DISTRICT}, "name": "Sumida"}).status_code == 201
    building = {"$metadata": {"$model": BUILDING}, "name": "Tower", "height": 120.5}
    assert client.put("/twins/b1", json=building).status_code == 201
    rel = {"$relationshipName": "locatedIn", "$targetId": "d1"}
    assert client.put("/twins/b1/relationships/r1", json=rel).status_code == 201
    readings = [{"name": "energyUse", "ts": "2024-05-01T10:00:00Z", "value": 42.0}]
    assert client.post("/twins/b1/telemetry", json=readings).status_code == 202
    got = client.get(f"{BASE}/entities/b1").json()
    assert got["type"] == BUILDING
    assert got["height"] == {"type": "Property", "value": 120.5}
    assert got["locatedIn"] == {"type": "Relationship", "object": "d1"}
    assert got["energyUse"] == {"type": "Property", "value": 42.0, "observedAt": "2024-05-01T10:00:00.000Z"}
    listed = client.get(f"{BASE}/entities", params={"type": BUILDING, "options": "keyValues"}).json()
    assert listed == [{"id": "b1", "type": BUILDING, "name": "Tower", "height": 120.5, "locatedIn": "d1"}]


def test_a_type_with_a_dtdl_model_is_validated_by_it(client: TestClient) -> None:
    good = {"id": "urn:ngsi-ld:Building:1", "type": BUILDING, "height": {"type": "Property", "value": 30.0}}
    assert client.post(f"{BASE}/entities", json=good).status_code == 201
    wrong_value = {**good, "id": "urn:ngsi-ld:Building:2", "height": {"type": "Property", "value": "tall"}}
    response = client.post(f"{BASE}/entities", json=wrong_value)
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert response.json()["errors"][0]["pointer"] == "/height"
    unknown = {**good, "id": "urn:ngsi-ld:Building:3", "colour": {"type": "Property", "value": "red"}}
    assert client.post(f"{BASE}/entities", json=unknown).json()["type"].endswith("BadRequestData")
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:Building:2").status_code == 404  # nothing half-stored


def test_a_derived_model_evolves_when_new_attributes_arrive(app: App, client: TestClient) -> None:
    first = {"id": "urn:ngsi-ld:Tank:1", "type": "Tank", "volume": {"type": "Property", "value": 10}}
    second = {"id": "urn:ngsi-ld:Tank:2", "type": "Tank", "volume": {"type": "Property", "value": 12}}
    assert client.post(f"{BASE}/entities", json=first).status_code == 201
    assert client.post(f"{BASE}/entities", json=second).status_code == 201
    assert client.get("/twins/urn:ngsi-ld:Tank:2").json()["$metadata"]["$model"] == "dtmi:ngsild:Tank;1"
    added = {"material": {"type": "Property", "value": "steel"}}
    assert client.post(f"{BASE}/entities/urn:ngsi-ld:Tank:1/attrs", json=added).status_code == 204
    assert client.get("/twins/urn:ngsi-ld:Tank:1").json()["$metadata"]["$model"] == "dtmi:ngsild:Tank;2"
    assert client.get("/twins/urn:ngsi-ld:Tank:2").json()["$metadata"]["$model"] == "dtmi:ngsild:Tank;1"
    assert set(app.models.models["dtmi:ngsild:Tank;2"].properties) == {"volume", "material"}
    retyped = {"volume": {"type": "Property", "value": {"amount": 3, "unit": "m3"}}}
    assert client.patch(f"{BASE}/entities/urn:ngsi-ld:Tank:2/attrs", json=retyped).status_code == 204
    assert client.get("/twins/urn:ngsi-ld:Tank:2").json()["$metadata"]["$model"] == "dtmi:ngsild:Tank;3"
    both = client.get(f"{BASE}/entities", params={"type": "Tank", "options": "keyValues"}).json()
    assert [e["volume"] for e in both] == [10, {"amount": 3, "unit": "m3"}]
    # a value DTDL cannot type is kept for NGSI-LD, and left out of the twin
    mixed = {"tags": {"type": "Property", "value": [1, "two", None]}}
    assert client.post(f"{BASE}/entities/urn:ngsi-ld:Tank:1/attrs", json=mixed).status_code == 204
    assert "tags" not in client.get("/twins/urn:ngsi-ld:Tank:1").json()
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:Tank:1").json()["tags"]["value"] == [1, "two", None]
