"""GS CIM 009 common behaviours and creation rules: Accept negotiation (6.3.4), GeoJSON @context placement (6.3.6),
411 without Content-Length, unknown URI parameters (6.3.20), the tenant echoed on errors (6.3.14), the source
identity (5.15), and what a created entity may not hold (4.5, 4.6.2, 4.18)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE, CORE, LD

WATER = "urn:ngsi-ld:WaterObserved:Sagami-Weir-3"
TERMS = {
    "WaterObserved": "https://smartdatamodels.org/dataModel.WaterQuality/WaterObserved",
    "flow": "https://smartdatamodels.org/dataModel.WaterQuality/flow",
    "refDevice": "https://smartdatamodels.org/dataModel.Device/refDevice",
    "gauges": "https://smartdatamodels.org/gauges",
    "sensorTable": "https://smartdatamodels.org/sensorTable",
}


def _entity(entity_id: str = WATER, **attrs: Any) -> dict[str, Any]:
    return {"id": entity_id, "type": "WaterObserved", "@context": [TERMS, CORE], **attrs}


@pytest.fixture
def water(client: TestClient) -> TestClient:
    """One gauge in the core context (plain JSON, no Link), so that queries without a context find it."""
    body = {
        "id": WATER,
        "type": "WaterObserved",
        "flow": {"type": "Property", "value": 12.6, "unitCode": "G51"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.35, 35.6]}},
    }
    assert client.post(f"{BASE}/entities", json=body).status_code == 201
    return client


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("application/ld+json, application/json", "application/json"),  # a tie: the specification's order
        ("application/geo+json, application/json", "application/json"),
        ("application/json;q=0.2, application/ld+json;q=0.7", "application/ld+json"),
        ("application/json;q=0, */*", "application/ld+json"),  # the exact range outranks the wildcard
        ("*/*;q=0.9, application/ld+json;q=0.8", "application/json"),
        ("application/ld+json;q=oops", "application/ld+json"),  # a malformed weight keeps the default
        ("*/*", "application/json"),
    ],
)
def test_accept_picks_by_weight_then_specification_order(water: TestClient, accept: str, chosen: str) -> None:
    answer = water.get(f"{BASE}/entities/{WATER}", headers={"Accept": accept})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(chosen)


def test_accept_refusing_everything_is_406(water: TestClient) -> None:
    assert water.get(f"{BASE}/entities/{WATER}", headers={"Accept": "text/csv"}).status_code == 406
    refused = water.get(f"{BASE}/entities/{WATER}", headers={"Accept": "application/json;q=0, application/ld+json;q=0"})
    assert refused.status_code == 406


def test_geojson_carries_its_context_unless_body_json_is_preferred(water: TestClient) -> None:
    inside = water.get(
        f"{BASE}/entities",
        params={"type": "WaterObserved"},
        headers={"Accept": "application/geo+json", "Link": f'<{CORE}>; rel="http://www.w3.org/ns/json-ld#context"'},
    )
    assert inside.json()["type"] == "FeatureCollection" and inside.json()["@context"] == CORE
    linked = water.get(
        f"{BASE}/entities",
        params={"type": "WaterObserved"},
        headers={"Accept": "application/geo+json", "Prefer": "body=json"},
    )
    assert "@context" not in linked.json() and CORE in linked.headers["link"]
    assert linked.json()["features"][0]["geometry"]["coordinates"] == [139.35, 35.6]


def _chunks() -> Iterator[bytes]:
    yield b'{"id": "urn:ngsi-ld:WaterObserved:chunked", "type": "WaterObserved"}'


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/entities"), ("PATCH", f"/entities/{WATER}/attrs"), ("PUT", f"/entities/{WATER}")]
)
def test_a_write_without_content_length_is_a_bare_411(water: TestClient, method: str, path: str) -> None:
    answer = water.request(
        method,
        BASE + path,
        content=_chunks(),
        headers={"Content-Type": "application/json", "NGSILD-Tenant": "nobody-yet"},
    )
    assert (answer.status_code, answer.content) == (411, b"")
    assert water.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:chunked").status_code == 404


def test_an_unknown_query_parameter_is_invalid_request(water: TestClient) -> None:
    answer = water.get(f"{BASE}/entities", params={"type": "WaterObserved", "colour": "blue"})
    assert answer.status_code == 400
    assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest"
    assert "colour" in answer.json()["detail"]
    # parameters the specification defines stay accepted, even where a route ignores them
    assert water.get(f"{BASE}/entities/{WATER}", params={"local": "true"}).status_code == 200


def test_errors_echo_the_tenant(client: TestClient) -> None:
    answer = client.get(f"{BASE}/entities", params={"type": "WaterObserved"}, headers={"NGSILD-Tenant": "kawasaki"})
    assert answer.status_code == 404 and answer.json()["type"].endswith("/NonexistentTenant")
    assert answer.headers["NGSILD-Tenant"] == "kawasaki"


def test_source_identity_names_each_tenant(client: TestClient) -> None:
    default = client.get(f"{BASE}/info/sourceIdentity").json()
    assert default["type"] == "ContextSourceIdentity" and default["id"].startswith("urn:")
    assert default["contextSourceUptime"].startswith("PT") and default["contextSourceTimeAt"].endswith("Z")
    first = client.get(f"{BASE}/info/sourceIdentity", headers={"NGSILD-Tenant": "yokohama"}).json()
    again = client.get(f"{BASE}/info/sourceIdentity", headers={"NGSILD-Tenant": "yokohama"}).json()
    other = client.get(f"{BASE}/info/sourceIdentity", headers={"NGSILD-Tenant": "sendai"}).json()
    assert first["contextSourceAlias"] == again["contextSourceAlias"]
    assert len({default["contextSourceAlias"], first["contextSourceAlias"], other["contextSourceAlias"]}) == 3


@pytest.mark.parametrize(
    "attrs",
    [
        {"flow": {"type": "Property", "value": 3, "object": "urn:ngsi-ld:Device:1"}},
        {"flow": {"type": "Property", "value": 3, "previousValue": 2}},
        {"flow": {"type": "Property", "value": 3, "@context": {"flow": "https://elsewhere.example/flow"}}},
        {"flow": {"type": "Property", "value": 3, "observedAt": "2024-06-01T09:00:00+09:00"}},
        {"flow": {"type": "Property", "value": 3, "entityIdSealed": WATER}},
        {"refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:1", "unitCode": "MTR"}},
        {"refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:1", "value": 1}},
        {"sensorTable": {"type": "JsonProperty", "json": 7}},
        {"sensorTable": {"type": "JsonProperty", "json": {"a": 1}, "unitCode": "MTR"}},
        {"gauges": {"type": "ListRelationship", "objectList": ["gauge one"]}},
        {"gauges": {"type": "ListProperty", "valueList": [1.5], "value": 1.5}},
        {"instanceId": {"type": "Property", "value": "x"}},
        {"water level": {"type": "Property", "value": 1}},
        {"ngsildproof": {"type": "Property", "value": "signed"}},
        {"scope": "/Kanagawa//Sagami"},
        {"scope": ["/Kanagawa", "3rd"]},
    ],
)
def test_content_the_meta_model_forbids_is_bad_request_data(client: TestClient, attrs: dict[str, Any]) -> None:
    answer = client.post(f"{BASE}/entities", json=_entity(**attrs), headers=LD)
    assert answer.status_code == 400, attrs
    assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert client.get(f"{BASE}/entities/{WATER}").status_code == 404


@pytest.mark.parametrize(
    "entity_id",
    [
        "urn:ngsi-ld:WaterObserved:A\u200bB",
        "urn:ngsi-ld:WaterObserved:A\u202eB",
        "urn:ngsi-ld:WaterObserved:A\ufe0fB",
        "urn:ngsi-ld:WaterObserved:A\u3164B",
        "urn:ngsi-ld:null",
    ],
)
def test_ids_that_do_not_read_as_themselves_are_refused(client: TestClient, entity_id: str) -> None:
    assert client.post(f"{BASE}/entities", json=_entity(entity_id), headers=LD).status_code == 400


def test_accepted_forms_round_trip_normalized(client: TestClient) -> None:
    body = _entity(
        "urn:ngsi-ld:WaterObserved:Tama-\u00e9",
        scope="/Tokyo/Tama_River",
        gauges={
            "type": "ListRelationship",
            "objectList": ["urn:ngsi-ld:Device:g1", {"object": "urn:ngsi-ld:Device:g2"}],
        },
        sensorTable={"json": {"flow": 1, "type": "raw"}},
        flow={"value": {"type": "Point", "coordinates": [139.4, 35.65]}},
        ngsildproof={
            "type": "Property",
            "entityIdSealed": "urn:ngsi-ld:WaterObserved:Tama-\u00e9",
            "entityTypeSealed": "WaterObserved",
            "value": {"type": "DataIntegrityProof", "proofValue": "z3F"},
        },
    )
    assert client.post(f"{BASE}/entities", json=body, headers=LD).status_code == 201
    shown = client.get(
        f"{BASE}/entities/urn:ngsi-ld:WaterObserved:Tama-\u00e9", headers={"Accept": "application/ld+json"}
    ).json()
    iri = TERMS
    assert shown[iri["gauges"]]["objectList"] == [
        {"object": "urn:ngsi-ld:Device:g1"},
        {"object": "urn:ngsi-ld:Device:g2"},
    ]
    assert shown[iri["sensorTable"]] == {"type": "JsonProperty", "json": {"flow": 1, "type": "raw"}}
    assert shown[iri["flow"]]["type"] == "GeoProperty"
    proof = shown[next(k for k in shown if k.endswith("ngsildproof"))]
    assert (
        proof["entityIdSealed"] == "urn:ngsi-ld:WaterObserved:Tama-\u00e9"
        and proof["entityTypeSealed"] == "WaterObserved"
    )
