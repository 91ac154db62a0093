"""Multi-typed entities found by every type they have, and scopes (4.18) stored and queried with scopeQ (4.19),
on each storage adapter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import build
from futago.config import Settings
from futago.services.ngsild.errors import BadRequestData
from futago.services.ngsild.scopeq import parse_scope_q, scope_matches
from futago.services.ngsild.subscriptions import in_scope
from tests.ngsild.conftest import BASE
from tests.store.adapters import ADAPTERS, database_url

# A fire station that is also a vehicle depot, a plain office, and a ladder truck (Smart Data Models style).
STATION = {
    "id": "urn:ngsi-ld:Building:kojimachi-fire-station",
    "type": ["Building", "VehicleDepot"],
    "name": {"type": "Property", "value": "Kojimachi Fire Station"},
    "floorsAboveGround": {"type": "Property", "value": 5},
    "scope": ["/Tokyo/Chiyoda/Kojimachi", "/TFD/FirstDivision"],
}
OFFICE = {
    "id": "urn:ngsi-ld:Building:chiyoda-ward-office",
    "type": "Building",
    "name": {"type": "Property", "value": "Chiyoda Ward Office"},
    "floorsAboveGround": {"type": "Property", "value": 23},
    "scope": "/Tokyo/Chiyoda",
}
TRUCK = {
    "id": "urn:ngsi-ld:VehicleDepot:ladder-1",
    "type": "VehicleDepot",
    "capacity": {"type": "Property", "value": 2},
    "scope": "/TFD/SecondDivision",
}


@pytest.fixture(params=ADAPTERS)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    app = build(Settings(db=database_url(request.param, request, tmp_path), data_root=str(tmp_path)))
    try:
        with TestClient(create_api(app), raise_server_exceptions=False) as test_client:
            for entity in (STATION, OFFICE, TRUCK):
                assert test_client.post(f"{BASE}/entities", json=entity).status_code == 201
            yield test_client
    finally:
        app.close()


def _ids(client: TestClient, **params: str) -> list[str]:
    response = client.get(f"{BASE}/entities", params=params)
    assert response.status_code == 200, response.text
    return sorted(e["id"].rsplit(":", 1)[1] for e in response.json())


def test_every_type_of_an_entity_finds_it(client: TestClient) -> None:
    both = ["kojimachi-fire-station", "ladder-1"]
    assert _ids(client, type="VehicleDepot") == both
    assert _ids(client, type="Building") == ["chiyoda-ward-office", "kojimachi-fire-station"]
    assert _ids(client, type="Building;VehicleDepot") == ["kojimachi-fire-station"]
    assert _ids(client, type="(Building;VehicleDepot)|Car") == ["kojimachi-fire-station"]
    assert _ids(client, type="Car,VehicleDepot") == both
    assert _ids(client, type="VehicleDepot", q="floorsAboveGround>=5") == ["kojimachi-fire-station"]
    assert _ids(client, type="Car") == []
    counted = client.get(f"{BASE}/entities", params={"type": "VehicleDepot", "count": "true", "limit": "1"})
    assert counted.headers["NGSILD-Results-Count"] == "2" and len(counted.json()) == 1
    info = client.get(f"{BASE}/types/VehicleDepot").json()
    assert info["entityCount"] == 2
    assert {a["attributeName"] for a in info["attributeDetails"]} == {"name", "floorsAboveGround", "capacity"}
    assert client.get(f"{BASE}/types").json()["typeList"] == ["Building", "VehicleDepot"]
    query = {"type": "Query", "entities": [{"type": "VehicleDepot"}]}
    found = client.post(f"{BASE}/entityOperations/query", json=query)
    assert sorted(e["id"].rsplit(":", 1)[1] for e in found.json()) == both


def test_types_added_by_merge_and_append_and_removed_by_replace(client: TestClient) -> None:
    office = f"{BASE}/entities/{OFFICE['id']}"
    assert client.patch(office, json={"type": ["Building", "EvacuationShelter"]}).status_code == 204
    assert _ids(client, type="EvacuationShelter") == ["chiyoda-ward-office"]
    assert client.post(f"{office}/attrs", json={"type": "PollingStation"}).status_code == 204
    assert client.get(office).json()["type"] == ["Building", "EvacuationShelter", "PollingStation"]
    assert _ids(client, type="PollingStation;EvacuationShelter") == ["chiyoda-ward-office"]
    batch = [{"id": TRUCK["id"], "type": ["VehicleDepot", "EvacuationShelter"]}]
    assert client.post(f"{BASE}/entityOperations/merge", json=batch).status_code == 204
    assert _ids(client, type="EvacuationShelter") == ["chiyoda-ward-office", "ladder-1"]
    replaced = {"type": "Building", "name": {"type": "Property", "value": "Chiyoda Ward Office"}}
    assert client.put(office, json=replaced).status_code == 204
    assert _ids(client, type="EvacuationShelter") == ["ladder-1"]
    assert _ids(client, type="PollingStation") == []
    assert client.get(office).json()["type"] == "Building"


def test_scopes_are_stored_and_answered(client: TestClient) -> None:
    station = f"{BASE}/entities/{STATION['id']}"
    assert client.get(station).json()["scope"] == STATION["scope"]
    assert client.get(station, params={"options": "keyValues"}).json()["scope"] == STATION["scope"]
    assert client.get(station, params={"options": "sysAttrs"}).json()["scope"] == STATION["scope"]
    office = f"{BASE}/entities/{OFFICE['id']}"
    assert client.get(office).json()["scope"] == "/Tokyo/Chiyoda"
    assert client.post(f"{office}/attrs", json={"scope": "/Tokyo/Shelters"}).status_code == 204  # appended
    assert client.get(office).json()["scope"] == ["/Tokyo/Chiyoda", "/Tokyo/Shelters"]
    assert client.patch(office, json={"scope": "/Tokyo/Wards"}).status_code == 204  # merged: replaced
    assert client.get(office).json()["scope"] == "/Tokyo/Wards"
    assert client.patch(office, json={"scope": "urn:ngsi-ld:null"}).status_code == 204
    assert "scope" not in client.get(office).json()
    truck = f"{BASE}/entities/{TRUCK['id']}"
    assert client.put(truck, json={"type": "VehicleDepot"}).status_code == 204  # replaced: gone
    assert "scope" not in client.get(truck).json()
    assert client.post(f"{office}/attrs", json={"scope": "Tokyo//x"}).status_code == 400


def test_scope_q_selects(client: TestClient) -> None:
    everything = {"type": "Building,VehicleDepot"}
    assert _ids(client, scopeQ="/Tokyo/Chiyoda", **everything) == ["chiyoda-ward-office"]
    assert _ids(client, scopeQ="/Tokyo/Chiyoda/#", **everything) == ["chiyoda-ward-office", "kojimachi-fire-station"]
    assert _ids(client, scopeQ="/TFD/+", **everything) == ["kojimachi-fire-station", "ladder-1"]
    assert _ids(client, scopeQ="/TFD/+;/Tokyo/#", **everything) == ["kojimachi-fire-station"]
    assert _ids(client, scopeQ="/TFD/SecondDivision,/Tokyo/Chiyoda", **everything) == [
        "chiyoda-ward-office", "ladder-1"
    ]  # fmt: skip
    assert _ids(client, scopeQ="/#", type="Building") == ["chiyoda-ward-office", "kojimachi-fire-station"]
    query = {"type": "Query", "entities": [{"type": "VehicleDepot"}], "scopeQ": "/TFD/FirstDivision"}
    found = client.post(f"{BASE}/entityOperations/query", json=query)
    assert [e["id"] for e in found.json()] == [STATION["id"]]
    for bad in ("Tokyo", "/Tokyo/#/Chiyoda", "/Tokyo;", "(/Tokyo", "/Tokyo//Chiyoda", "/1st"):
        response = client.get(f"{BASE}/entities", params={"type": "Building", "scopeQ": bad})
        assert response.status_code == 400, bad
        problem = response.json()
        assert problem["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
        assert problem["errors"][0]["pointer"] == "/scopeQ"
    bad_body = {"type": "Query", "entities": [{"type": "Building"}], "scopeQ": "Tokyo"}
    assert client.post(f"{BASE}/entityOperations/query", json=bad_body).status_code == 400


def test_subscription_keeps_its_scope_q(client: TestClient) -> None:
    subscription: dict[str, Any] = {
        "type": "Subscription",
        "entities": [{"type": "VehicleDepot"}],
        "scopeQ": "/TFD/#",
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}},
    }
    created = client.post(f"{BASE}/subscriptions", json=subscription)
    assert created.status_code == 201, created.text
    assert client.get(created.headers["Location"]).json()["scopeQ"] == "/TFD/#"
    refused = client.post(f"{BASE}/subscriptions", json={**subscription, "scopeQ": "/TFD/#/x"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["pointer"] == "/scopeQ"


def test_scope_q_language() -> None:
    assert scope_matches(parse_scope_q("/a/b"), ["/a/b"])
    assert not scope_matches(parse_scope_q("/a/b"), ["/a/b/c", "/a"])
    assert scope_matches(parse_scope_q("/a/#"), ["/a"]) and scope_matches(parse_scope_q("/a/#"), ["/a/b/c"])
    assert not scope_matches(parse_scope_q("/a/#"), ["/ab"])
    assert scope_matches(parse_scope_q("/+/b"), ["/x/b"]) and not scope_matches(parse_scope_q("/+/b"), ["/x/y/b"])
    assert scope_matches(parse_scope_q("(/a,/b);/c"), ["/b", "/c"])
    assert not scope_matches(parse_scope_q("/a;/c"), ["/a"])
    assert not scope_matches(parse_scope_q("/#"), [])
    with pytest.raises(BadRequestData):
        parse_scope_q("/a,,/b")
    subscription = {"id": "urn:ngsi-ld:Subscription:s", "scopeQ": "/TFD/#"}  # what the notifier asks of a change
    assert in_scope(subscription, ["/TFD/FirstDivision"]) and not in_scope(subscription, ["/Tokyo"])
    assert in_scope({"id": "urn:ngsi-ld:Subscription:t"}, [])
