"""What a created entity's values may be (GS CIM 009 V1.8 4.5.5, 4.6.3, 4.6.5, 4.7, 5.2.32, 5.5.7) and deleting
the scope as an attribute (5.6.5)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE, LD

BAD = "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
GAUGE = "urn:ngsi-ld:WaterObserved:Tama-Ishihara"
NULL = "urn:ngsi-ld:null"


def _create(client: TestClient, **attrs: Any) -> Any:
    return client.post(f"{BASE}/entities", json={"id": GAUGE, "type": "WaterObserved", **attrs})


def _refused(client: TestClient, **attrs: Any) -> None:
    response = _create(client, **attrs)
    assert response.status_code == 400 and response.json()["type"] == BAD, response.text
    assert client.get(f"{BASE}/entities/{GAUGE}").status_code == 404


def test_a_datasetid_of_none_is_the_default_instance(client: TestClient) -> None:
    flow = [
        {"type": "Property", "value": 4.2, "datasetId": "@none"},
        {"type": "Property", "value": 4.5, "datasetId": "urn:ngsi-ld:Dataset:radar"},
    ]
    assert _create(client, flow=flow).status_code == 201
    got = client.get(f"{BASE}/entities/{GAUGE}").json()["flow"]
    assert sorted((i.get("datasetId"), i["value"]) for i in got if "datasetId" in i) == [
        ("urn:ngsi-ld:Dataset:radar", 4.5)
    ]
    assert [i["value"] for i in got if "datasetId" not in i] == [4.2]


def test_two_default_instances_are_refused(client: TestClient) -> None:
    _refused(
        client, flow=[{"type": "Property", "value": 4.2}, {"type": "Property", "value": 4.4, "datasetId": "@none"}]
    )


@pytest.mark.parametrize(
    "location",
    [
        {
            "type": "GeoProperty",
            "value": {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [139.3, 35.66]}]},
        },
        {"type": "GeoProperty", "value": "a weir on the Tama"},
        {"type": "Property", "value": "Hino"},
        "Hino",
    ],
)
def test_location_is_a_geojson_geometry_other_than_a_collection(client: TestClient, location: Any) -> None:
    _refused(client, location=location)


def test_a_geometry_sent_as_json_text_is_kept_as_the_geometry(client: TestClient) -> None:
    point = {"type": "Point", "coordinates": [139.3847, 35.6628]}
    assert _create(client, location={"type": "GeoProperty", "value": json.dumps(point)}).status_code == 201
    assert client.get(f"{BASE}/entities/{GAUGE}").json()["location"]["value"] == point


@pytest.mark.parametrize(
    "label",
    [
        {"type": "LanguageProperty", "languageMap": {"ja": "石原"}, "valueType": "xsd:string"},
        {"type": "LanguageProperty", "languageMap": {"ja": ["石原", 3]}},
        {"type": "LanguageProperty", "languageMap": {"": "Ishihara"}},
    ],
)
def test_a_language_map_holds_tagged_strings_only(client: TestClient, label: dict[str, Any]) -> None:
    _refused(client, label=label)


def test_a_language_property_may_say_langstring(client: TestClient) -> None:
    label = {
        "type": "LanguageProperty",
        "languageMap": {"ja": ["石原", "いしはら"], "en": "Ishihara"},
        "valueType": "langString",
    }
    assert _create(client, label=label).status_code == 201
    assert client.get(f"{BASE}/entities/{GAUGE}").json()["label"]["languageMap"] == label["languageMap"]


def test_a_scoped_context_is_refused(client: TestClient) -> None:
    scoped = {
        "WaterObserved": {"@id": "https://example.org/WaterObserved", "@context": {"flow": "https://example.org/f"}}
    }
    body = {"id": GAUGE, "type": "WaterObserved", "@context": [scoped]}
    response = client.post(f"{BASE}/entities", json=body, headers=LD)
    assert response.status_code == 400 and response.json()["type"] == BAD, response.text


def test_the_scope_is_deleted_as_an_attribute(adapter_client: TestClient) -> None:
    client = adapter_client
    assert _create(client, scope="/Tokyo/Hino", flow={"type": "Property", "value": 4.2}).status_code == 201
    assert client.delete(f"{BASE}/entities/{GAUGE}/attrs/scope").status_code == 204
    got = client.get(f"{BASE}/entities/{GAUGE}").json()
    assert "scope" not in got and got["flow"]["value"] == 4.2
    assert client.delete(f"{BASE}/entities/{GAUGE}/attrs/scope").status_code == 404
    assert (
        client.post(f"{BASE}/entities", json={"id": GAUGE + "x", "type": "WaterObserved", "scope": NULL}).status_code
        == 400
    )
