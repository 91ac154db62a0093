"""Entities and attributes through /ngsi-ld/v1: every attribute kind round-trips, in every answer format."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE, CORE, LD

ID = "urn:ngsi-ld:Sensor:river-1"


def every_kind() -> dict[str, Any]:
    """One attribute of each NGSI-LD kind, with the metadata members they may carry."""
    return {
        "id": ID,
        "type": "Sensor",
        "temperature": {
            "type": "Property",
            "value": 17.25,
            "unitCode": "CEL",
            "observedAt": "2024-05-01T10:00:00Z",
            "accuracy": {"type": "Property", "value": 0.1},
        },
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.767, 35.681]}},
        "catchment": {
            "type": "GeoProperty",
            "value": {"type": "Polygon", "coordinates": [[[139.7, 35.6], [139.8, 35.6], [139.8, 35.7], [139.7, 35.6]]]},
        },
        "label": {"type": "LanguageProperty", "languageMap": {"en": "River gauge", "ja": "水位計"}},
        "config": {"type": "JsonProperty", "json": {"sample-rate": 60, "channels": [1, 2]}},
        "history": {"type": "ListProperty", "valueList": [1.5, 1.7, 1.6]},
        "category": {"type": "VocabProperty", "vocab": "hydrology"},
        "level": [
            {"type": "Property", "value": 2.1, "datasetId": "urn:ngsi-ld:dataset:radar"},
            {"type": "Property", "value": 2.3, "datasetId": "urn:ngsi-ld:dataset:float"},
            {"type": "Property", "value": 2.2},
        ],
    }


def create(client: TestClient, entity: dict[str, Any]) -> None:
    response = client.post(f"{BASE}/entities", json=entity)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"{BASE}/entities/{entity['id']}"


def test_every_attribute_kind_round_trips_in_normalized_form(client: TestClient) -> None:
    sent = every_kind()
    create(client, sent)
    response = client.get(f"{BASE}/entities/{ID}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert CORE in response.headers["link"]
    got = response.json()
    for name in ("temperature", "location", "catchment", "label", "config", "history", "category"):
        assert got[name] == sent[name], name
    assert sorted(got["level"], key=lambda i: i.get("datasetId", "")) == sorted(
        sent["level"], key=lambda i: i.get("datasetId", "")
    )
    assert got["id"] == ID and got["type"] == "Sensor"


def test_formats_concise_keyvalues_and_sysattrs(client: TestClient) -> None:
    create(client, every_kind())
    concise = client.get(f"{BASE}/entities/{ID}", params={"format": "concise"}).json()
    assert concise["temperature"]["value"] == 17.25 and "type" not in concise["temperature"]
    assert concise["temperature"]["accuracy"] == 0.1
    assert concise["label"] == {"languageMap": {"en": "River gauge", "ja": "水位計"}}
    simple = client.get(f"{BASE}/entities/{ID}", params={"options": "keyValues"}).json()
    assert simple["temperature"] == 17.25
    assert simple["location"] == {"type": "Point", "coordinates": [139.767, 35.681]}
    assert simple["config"] == {"json": {"sample-rate": 60, "channels": [1, 2]}}  # 4.5.4: the member kept
    timed = client.get(f"{BASE}/entities/{ID}", params={"options": "sysAttrs"}).json()
    assert timed["createdAt"].endswith("Z") and timed["modifiedAt"] >= timed["createdAt"]
    assert timed["temperature"]["createdAt"] == timed["createdAt"]
    # concise input is read as the normalized form it abbreviates
    client.post(f"{BASE}/entities", json={"id": "urn:ngsi-ld:Sensor:c", "type": "Sensor", "depth": {"value": 3}})
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:Sensor:c").json()["depth"] == {"type": "Property", "value": 3}


def test_language_maps_answer_one_language_with_lang(client: TestClient) -> None:
    create(client, every_kind())
    got = client.get(f"{BASE}/entities/{ID}", params={"lang": "ja"}).json()
    assert got["label"] == {"type": "Property", "value": "水位計", "lang": "ja"}
    assert (
        client.get(f"{BASE}/entities/{ID}", params={"lang": "fr,en", "options": "keyValues"}).json()["label"]
        == "River gauge"
    )


def test_pick_omit_and_attrs(client: TestClient) -> None:
    create(client, every_kind())
    picked = client.get(f"{BASE}/entities/{ID}", params={"pick": "id,temperature"}).json()
    assert set(picked) == {"id", "temperature"}
    omitted = client.get(f"{BASE}/entities/{ID}", params={"omit": "type,level,label"}).json()
    assert "type" not in omitted and "level" not in omitted and "temperature" in omitted
    assert set(client.get(f"{BASE}/entities/{ID}", params={"attrs": "history"}).json()) == {"id", "type", "history"}


def test_json_ld_answers_carry_the_context_and_geojson_is_a_feature(client: TestClient) -> None:
    create(client, every_kind())
    ld = client.get(f"{BASE}/entities/{ID}", headers={"Accept": "application/ld+json"})
    assert ld.headers["content-type"] == "application/ld+json" and ld.json()["@context"] == CORE
    feature = client.get(f"{BASE}/entities/{ID}", headers={"Accept": "application/geo+json"}).json()
    assert feature["type"] == "Feature" and feature["geometry"]["coordinates"] == [139.767, 35.681]
    assert feature["properties"]["temperature"]["value"] == 17.25
    body = {"@context": CORE, **every_kind(), "id": "urn:ngsi-ld:Sensor:ld"}
    assert client.post(f"{BASE}/entities", json=body, headers=LD).status_code == 201
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:Sensor:ld").json()["history"]["valueList"] == [1.5, 1.7, 1.6]


def test_replace_merge_and_delete_an_entity(client: TestClient) -> None:
    create(client, every_kind())
    replaced = {"type": "Sensor", "temperature": {"type": "Property", "value": 5.0}}
    assert client.put(f"{BASE}/entities/{ID}", json=replaced).status_code == 204
    got = client.get(f"{BASE}/entities/{ID}").json()
    assert set(got) == {"id", "type", "temperature"} and got["temperature"]["value"] == 5.0
    merge = {"temperature": {"type": "Property", "value": 6.0}, "depth": {"type": "Property", "value": 1.2}}
    assert client.patch(f"{BASE}/entities/{ID}", json=merge).status_code == 204
    got = client.get(f"{BASE}/entities/{ID}").json()
    assert got["temperature"]["value"] == 6.0 and got["depth"]["value"] == 1.2
    assert client.patch(f"{BASE}/entities/{ID}", json={"depth": "urn:ngsi-ld:null"}).status_code == 204
    assert "depth" not in client.get(f"{BASE}/entities/{ID}").json()
    assert client.delete(f"{BASE}/entities/{ID}").status_code == 204
    assert client.get(f"{BASE}/entities/{ID}").status_code == 404
    assert client.get(f"/twins/{ID}").status_code == 404


def test_attribute_operations(client: TestClient) -> None:
    create(client, every_kind())
    url = f"{BASE}/entities/{ID}/attrs"
    assert client.post(url, json={"depth": {"type": "Property", "value": 1.0}}).status_code == 204
    kept = client.post(url, params={"options": "noOverwrite"}, json={"depth": {"type": "Property", "value": 9.0}})
    assert kept.status_code == 207
    assert kept.json()["notUpdated"][0]["attributeName"] == "depth"
    assert client.get(f"{BASE}/entities/{ID}").json()["depth"]["value"] == 1.0
    partly = client.patch(url, json={"depth": {"type": "Property", "value": 1.5}, "nothere": {"value": 1}})
    assert partly.status_code == 207
    assert partly.json()["updated"] == ["depth"]
    assert partly.json()["notUpdated"][0]["attributeName"] == "nothere"
    assert client.patch(f"{url}/temperature", json={"value": 18.0}).status_code == 204
    temperature = client.get(f"{BASE}/entities/{ID}").json()["temperature"]
    assert temperature["value"] == 18.0 and temperature["unitCode"] == "CEL"  # partial: the rest kept
    assert client.put(f"{url}/temperature", json={"type": "Property", "value": 19.0}).status_code == 204
    assert client.get(f"{BASE}/entities/{ID}").json()["temperature"] == {"type": "Property", "value": 19.0}
    assert client.patch(f"{url}/absent", json={"value": 1}).status_code == 404
    gone = client.delete(f"{url}/level", params={"datasetId": "urn:ngsi-ld:dataset:radar"})
    assert gone.status_code == 204
    left = client.get(f"{BASE}/entities/{ID}").json()["level"]
    assert {i.get("datasetId") for i in left} == {None, "urn:ngsi-ld:dataset:float"}
    assert client.delete(f"{url}/level", params={"deleteAll": "true"}).status_code == 204
    assert "level" not in client.get(f"{BASE}/entities/{ID}").json()
    assert client.delete(f"{url}/level").status_code == 404


def test_relationships_are_twin_relationships(client: TestClient) -> None:
    station = {"id": "urn:ngsi-ld:Station:s1", "type": "Station", "name": "Sumida"}
    create(client, station)
    sensor = {
        "id": ID,
        "type": "Sensor",
        "partOf": {"type": "Relationship", "object": "urn:ngsi-ld:Station:s1", "since": {"value": "2020"}},
        "reportsTo": {"type": "Relationship", "object": "urn:ngsi-ld:Centre:absent"},
    }
    create(client, sensor)
    rels = client.get(f"/twins/{ID}/relationships").json()["value"]
    assert [(r["$relationshipName"], r["$targetId"]) for r in rels] == [("partOf", "urn:ngsi-ld:Station:s1")]
    got = client.get(f"{BASE}/entities/{ID}").json()
    assert got["partOf"] == {"type": "Relationship", "object": "urn:ngsi-ld:Station:s1", "since": {
        "type": "Property", "value": "2020"}}  # fmt: skip
    assert got["reportsTo"]["object"] == "urn:ngsi-ld:Centre:absent"  # kept though no such entity exists
    # a relationship made through the twin API is an NGSI-LD Relationship
    client.delete(f"/twins/{ID}/relationships/partOf")
    assert "partOf" not in client.get(f"{BASE}/entities/{ID}").json()
    # deleting the target removes the relationships to it (the twin graph keeps no dangling edges)
    client.patch(f"{BASE}/entities/{ID}/attrs", json={"reportsTo": {"type": "Relationship", "object": station["id"]}})
    assert client.delete(f"{BASE}/entities/{station['id']}").status_code == 204
    assert client.get(f"/twins/{ID}/relationships").json()["value"] == []


def test_query_by_type_id_pattern_attrs_and_pages(client: TestClient) -> None:
    for i in range(5):
        create(client, {"id": f"urn:ngsi-ld:Gauge:{i}", "type": "Gauge", "level": {"type": "Property", "value": i}})
    create(client, {"id": "urn:ngsi-ld:Pump:1", "type": "Pump", "rpm": {"type": "Property", "value": 900}})
    listed = client.get(f"{BASE}/entities", params={"type": "Gauge", "limit": 2, "offset": 1, "count": "true"})
    assert [e["id"] for e in listed.json()] == ["urn:ngsi-ld:Gauge:1", "urn:ngsi-ld:Gauge:2"]
    assert listed.headers["ngsild-results-count"] == "5"
    both = client.get(f"{BASE}/entities", params={"type": "Gauge,Pump", "idPattern": ":(3|1)$"}).json()
    assert sorted(e["id"] for e in both) == ["urn:ngsi-ld:Gauge:1", "urn:ngsi-ld:Gauge:3", "urn:ngsi-ld:Pump:1"]
    by_attr = client.get(f"{BASE}/entities", params={"attrs": "rpm"}).json()
    assert [e["id"] for e in by_attr] == ["urn:ngsi-ld:Pump:1"] and set(by_attr[0]) == {"id", "type", "rpm"}
    by_id = client.get(f"{BASE}/entities", params={"id": "urn:ngsi-ld:Gauge:4", "options": "keyValues"}).json()
    assert by_id == [{"id": "urn:ngsi-ld:Gauge:4", "type": "Gauge", "level": 4}]
    geo = client.get(f"{BASE}/entities", params={"type": "Gauge"}, headers={"Accept": "application/geo+json"})
    assert geo.json()["type"] == "FeatureCollection" and len(geo.json()["features"]) == 5
