"""Discovery (/types, /attributes) and the /jsonldContexts API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from futago.app import App
from futago.services.ngsild.context import ContextResolver, ContextSettings
from tests.ngsild.conftest import BASE
from tests.ngsild.test_query import GAUGES, gauge

DEFAULT = "https://uri.etsi.org/ngsi-ld/default-context/"


def _load(client: TestClient, headers: dict[str, str] | None = None) -> None:
    for row in GAUGES[:3]:
        assert client.post(f"{BASE}/entities", json=gauge(*row), headers=headers).status_code == 201
    building = {"id": "urn:ngsi-ld:Building:b1", "type": "Building", "name": {"type": "Property", "value": "Skytree"}}
    assert client.post(f"{BASE}/entities", json=building, headers=headers).status_code == 201


def test_types_and_their_details(client: TestClient) -> None:
    _load(client)
    listed = client.get(f"{BASE}/types").json()
    assert listed["type"] == "EntityTypeList"
    assert listed["typeList"] == ["Building", "WaterObserved"]
    detailed = {t["typeName"]: t for t in client.get(f"{BASE}/types", params={"details": "true"}).json()}
    assert detailed["WaterObserved"]["id"] == DEFAULT + "WaterObserved"
    assert detailed["WaterObserved"]["attributeNames"] == [
        "address", "height", "label", "location", "name", "refRiver", "tags"
    ]  # fmt: skip
    info = client.get(f"{BASE}/types/WaterObserved").json()
    assert info["type"] == "EntityTypeInfo" and info["entityCount"] == 3
    kinds = {a["attributeName"]: a["attributeTypes"] for a in info["attributeDetails"]}
    assert kinds["refRiver"] == ["Relationship"] and kinds["location"] == ["GeoProperty"]
    assert kinds["label"] == ["LanguageProperty"] and kinds["height"] == ["Property"]
    missing = client.get(f"{BASE}/types/Bridge")
    assert missing.status_code == 404 and missing.json()["type"].endswith("/ResourceNotFound")


def test_attributes_and_their_details(client: TestClient) -> None:
    _load(client)
    names = client.get(f"{BASE}/attributes").json()
    assert names["type"] == "AttributeList"
    assert names["attributeList"] == ["address", "height", "label", "location", "name", "refRiver", "tags"]
    name = client.get(f"{BASE}/attributes/name").json()
    assert name == {
        "id": DEFAULT + "name",
        "type": "Attribute",
        "attributeName": "name",
        "attributeCount": 4,
        "attributeTypes": ["Property"],
        "typeNames": ["Building", "WaterObserved"],
    }
    details = client.get(f"{BASE}/attributes", params={"details": "true"}).json()
    assert {d["attributeName"]: d["typeNames"] for d in details}["refRiver"] == ["WaterObserved"]
    assert client.get(f"{BASE}/attributes/depth").status_code == 404


def test_discovery_is_per_tenant(client: TestClient) -> None:
    _load(client, {"NGSILD-Tenant": "tokyo"})
    assert client.get(f"{BASE}/types").json()["typeList"] == []
    tenant = client.get(f"{BASE}/types", headers={"NGSILD-Tenant": "tokyo"}).json()
    assert tenant["typeList"] == ["Building", "WaterObserved"]
    assert client.get(f"{BASE}/types", headers={"NGSILD-Tenant": "osaka"}).status_code == 404


SDM = "https://smartdatamodels.org/context.jsonld"
SDM_CONTEXT = {"@context": {"WaterObserved": "https://smartdatamodels.org/dataModel.Environment/WaterObserved",
                            "height": "https://smartdatamodels.org/dataModel.Environment/height"}}  # fmt: skip


def test_hosted_contexts_are_served_and_used(client: TestClient) -> None:
    created = client.post(f"{BASE}/jsonldContexts", json=SDM_CONTEXT)
    assert created.status_code == 201
    location = created.headers["Location"]
    local_id = location.rsplit("/", 1)[1]
    assert client.get(location).json() == SDM_CONTEXT
    url = f"http://testserver{location}"
    link = {"Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}
    entity = {"id": "urn:ngsi-ld:WaterObserved:w1", "type": "WaterObserved", "height": 1.5}
    assert client.post(f"{BASE}/entities", json=entity, headers=link).status_code == 201
    core = client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:w1").json()
    assert core["type"] == SDM_CONTEXT["@context"]["WaterObserved"]  # expanded through the hosted context
    assert client.get(f"{BASE}/entities", params={"type": "WaterObserved", "q": "height==1.5"}, headers=link).json()
    info = client.get(f"{BASE}/jsonldContexts/{local_id}", params={"details": "true"}).json()
    assert info["kind"] == "Hosted" and info["localId"] == local_id and info["numberOfHits"] >= 1
    assert client.get(f"{BASE}/jsonldContexts").json() == [url]
    assert client.get(f"{BASE}/jsonldContexts", params={"kind": "Cached"}).json() == []
    assert client.delete(f"{BASE}/jsonldContexts/{local_id}").status_code == 204
    assert client.get(location).status_code == 404
    assert client.delete(f"{BASE}/jsonldContexts/{local_id}").status_code == 404


def test_cached_contexts_are_listed_and_dropped(app: App, client: TestClient) -> None:
    fetched: list[str] = []

    def fetch(url: str, timeout_s: float, max_bytes: int) -> bytes:
        fetched.append(url)
        return b'{"@context": {"height": "https://smartdatamodels.org/dataModel.Environment/height"}}'

    assert app.ngsild is not None
    app.ngsild.contexts = ContextResolver(ContextSettings(), fetch)
    link = {"Link": f'<{SDM}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}
    assert client.get(f"{BASE}/types", headers=link).status_code == 200
    assert client.get(f"{BASE}/jsonldContexts", params={"kind": "Cached"}).json() == [SDM]
    info = client.get(f"{BASE}/jsonldContexts/{SDM}", params={"details": "true"}).json()
    assert info["kind"] == "Cached" and info["url"] == SDM
    assert client.delete(f"{BASE}/jsonldContexts/{SDM}", params={"reload": "true"}).status_code == 204
    assert fetched == [SDM, SDM]
    assert client.delete(f"{BASE}/jsonldContexts/{SDM}").status_code == 204
    assert client.get(f"{BASE}/jsonldContexts").json() == []


def test_bad_context_requests(client: TestClient) -> None:
    assert client.post(f"{BASE}/jsonldContexts", json={"name": "x"}).json()["type"].endswith("/BadRequestData")
    bad = client.post(f"{BASE}/jsonldContexts", content=b"{", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["type"].endswith("/InvalidRequest")
    assert client.get(f"{BASE}/jsonldContexts", params={"kind": "Other"}).status_code == 400
