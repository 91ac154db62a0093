"""Query and retrieval points of GS CIM 009 that an outside conformance run checks: ids that are not URIs, attrs
that are not attribute names, the projection language of pick/omit, datasetId filtering, GeoJSON answers (their
@context, geometryProperty, the batch query) and geo-queries on rings that cross themselves (valid GeoJSON)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE

GEO = {"Accept": "application/geo+json"}
BAD = "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
# Osaka Castle's keep, and a ring round the castle park whose first edge doubles back over its last one
KEEP = [135.5259, 34.6873]
PARK = [[[135.5205, 34.6920], [135.5212, 34.6920], [135.5225, 34.6830], [135.5320, 34.6815], [135.5330, 34.6900],
         [135.5205, 34.6920]]]  # fmt: skip


def _post(client: TestClient, entity: dict[str, Any]) -> None:
    answer = client.post(f"{BASE}/entities", json=entity)
    assert answer.status_code == 201, answer.text


def _landmark(client: TestClient, suffix: str, **attrs: Any) -> str:
    entity_id = f"urn:ngsi-ld:Landmark:osaka-{suffix}"
    _post(client, {"id": entity_id, "type": "Landmark", **attrs})
    return entity_id


def _bad(answer: Any, pointer: str | None = None) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == BAD
    if pointer is not None:
        assert answer.json()["pointer"] == pointer


def test_an_id_that_is_not_a_uri_is_a_bad_request_not_an_empty_answer(client: TestClient) -> None:
    _landmark(client, "keep")
    _bad(client.get(f"{BASE}/entities", params={"id": "osaka-keep,urn:ngsi-ld:Landmark:osaka-keep"}), "/id")
    body = {"type": "Query", "entities": [{"id": "castle keep", "type": "Landmark"}]}
    _bad(client.post(f"{BASE}/entityOperations/query", json=body))
    found = client.get(f"{BASE}/entities", params={"id": "urn:ngsi-ld:Landmark:osaka-keep", "type": "Landmark"})
    assert [e["id"] for e in found.json()] == ["urn:ngsi-ld:Landmark:osaka-keep"]


def test_id_and_type_are_not_attribute_names_in_attrs(client: TestClient) -> None:
    _landmark(client, "keep", height={"type": "Property", "value": 55})
    _bad(client.get(f"{BASE}/entities", params={"attrs": "id,type"}), "/attrs")
    assert client.get(f"{BASE}/entities", params={"attrs": "height"}).json()[0]["height"]["value"] == 55


@pytest.mark.parametrize(
    "pick", ["id;height", "id,height{name", "id,height{{name}", "id,,height", "id,height{,name}", "id,height{}", ""]
)
def test_a_malformed_projection_is_a_bad_request(client: TestClient, pick: str) -> None:
    _landmark(client, "keep", height={"type": "Property", "value": 55})
    _bad(client.get(f"{BASE}/entities", params={"type": "Landmark", "pick": pick}))


def test_pick_and_omit_are_not_combined_with_attrs_and_pick_skips_entities_without_the_member(
    client: TestClient,
) -> None:
    _landmark(client, "keep", height={"type": "Property", "value": 55})
    _landmark(client, "gate")
    for projection in ({"pick": "height"}, {"omit": "height"}):
        _bad(client.get(f"{BASE}/entities", params={"type": "Landmark", "attrs": "height", **projection}))
    picked = client.get(f"{BASE}/entities", params={"type": "Landmark", "pick": "height"}).json()
    assert picked == [{"height": {"type": "Property", "value": 55}}]
    # braces reach into a linked entity, which needs join (5.7.1.4, 5.7.2.4)
    _bad(client.get(f"{BASE}/entities", params={"type": "Landmark", "pick": "id,height{unitCode}"}))
    nested = client.get(
        f"{BASE}/entities", params={"type": "Landmark", "pick": "id,height{unitCode}", "join": "inline"}
    ).json()
    assert sorted(e["id"] for e in nested) == ["urn:ngsi-ld:Landmark:osaka-gate", "urn:ngsi-ld:Landmark:osaka-keep"]


def test_dataset_id_keeps_only_the_named_instances(client: TestClient) -> None:
    names = [
        {"type": "Property", "value": "Osaka Castle"},
        {"type": "Property", "value": "大阪城", "datasetId": "urn:ngsi-ld:Dataset:ja"},
        {"type": "Property", "value": "Château d'Osaka", "datasetId": "urn:ngsi-ld:Dataset:fr"},
    ]
    entity_id = _landmark(client, "keep", name=names, height={"type": "Property", "value": 55})

    def shown(**params: str) -> dict[str, Any]:
        entity: dict[str, Any] = client.get(f"{BASE}/entities/{entity_id}", params=params).json()
        return entity

    ja = shown(datasetId="urn:ngsi-ld:Dataset:ja")
    assert ja["name"]["value"] == "大阪城" and "height" not in ja
    assert shown(datasetId="@none") == {"id": entity_id, "type": "Landmark", "name": names[0],
                                        "height": {"type": "Property", "value": 55}}  # fmt: skip
    both = shown(datasetId="urn:ngsi-ld:Dataset:ja,urn:ngsi-ld:Dataset:fr", attrs="name")
    assert {i["value"] for i in both["name"]} == {"大阪城", "Château d'Osaka"}
    none = client.get(f"{BASE}/entities", params={"type": "Landmark", "attrs": "name", "datasetId": "urn:x:none"})
    assert none.json() == [{"id": entity_id, "type": "Landmark"}]


def test_geojson_answers_carry_their_context_and_the_chosen_geometry(client: TestClient) -> None:
    entrance = [135.5230, 34.6880]
    _landmark(client, "keep", location={"type": "GeoProperty", "value": {"type": "Point", "coordinates": KEEP}},
              entrance={"type": "GeoProperty", "value": {"type": "Point", "coordinates": entrance}})  # fmt: skip
    _landmark(client, "gate")
    query = client.get(f"{BASE}/entities", params={"type": "Landmark"}, headers=GEO).json()
    assert query["type"] == "FeatureCollection" and query["@context"].endswith("core-context-v1.8.jsonld")
    by_id = {f["id"]: f["geometry"] for f in query["features"]}
    assert by_id == {"urn:ngsi-ld:Landmark:osaka-keep": {"type": "Point", "coordinates": KEEP},
                     "urn:ngsi-ld:Landmark:osaka-gate": None}  # fmt: skip
    params = {"geometryProperty": "entrance"}
    one = client.get(f"{BASE}/entities/urn:ngsi-ld:Landmark:osaka-keep", params=params, headers=GEO).json()
    assert one["type"] == "Feature" and one["geometry"]["coordinates"] == entrance and "@context" in one
    body = {"type": "Query", "entities": [{"type": "Landmark"}], "geometryProperty": "entrance"}
    batch = client.post(f"{BASE}/entityOperations/query", json=body, headers=GEO)
    assert batch.headers["content-type"] == "application/geo+json"
    features = {f["id"]: f["geometry"] for f in batch.json()["features"]}
    assert features["urn:ngsi-ld:Landmark:osaka-keep"]["coordinates"] == entrance
    assert batch.json()["features"][0]["properties"]["type"] == "Landmark"


def test_a_ring_that_crosses_itself_is_still_a_geometry_to_query_with(client: TestClient) -> None:
    _landmark(client, "keep", location={"type": "GeoProperty", "value": {"type": "Point", "coordinates": KEEP}})
    _landmark(client, "park", location={"type": "GeoProperty", "value": {"type": "Polygon", "coordinates": PARK}})
    tower = {"type": "Point", "coordinates": [135.5063, 34.6525]}
    _landmark(client, "tower", location={"type": "GeoProperty", "value": tower})

    def count(georel: str) -> int:
        params = {
            "type": "Landmark",
            "georel": georel,
            "geometry": "Polygon",
            "coordinates": str(PARK),
            "count": "true",
        }
        answer = client.get(f"{BASE}/entities", params=params)
        assert answer.status_code == 200, answer.text
        return int(answer.headers["NGSILD-Results-Count"])

    assert count("equals") == 1  # the park itself, vertex for vertex
    assert count("within") == 2  # the keep and the park; Tsutenkaku tower is 4 km away
    assert count("disjoint") == 1
