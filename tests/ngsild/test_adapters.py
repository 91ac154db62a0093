"""The NGSI-LD door on each storage adapter: the same entities, the same answers, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE
from tests.ngsild.test_entities import ID, every_kind


def test_entities_round_trip_on_every_adapter(adapter_client: TestClient) -> None:
    client = adapter_client
    sent = every_kind()
    assert client.post(f"{BASE}/entities", json=sent).status_code == 201
    station = {"id": "urn:ngsi-ld:Station:s1", "type": "Station", "name": "Sumida"}
    assert client.post(f"{BASE}/entities", json=station).status_code == 201
    link = {"partOf": {"type": "Relationship", "object": station["id"]}}
    assert client.post(f"{BASE}/entities/{ID}/attrs", json=link).status_code == 204
    got = client.get(f"{BASE}/entities/{ID}").json()
    for name in ("temperature", "location", "catchment", "label", "config", "history", "category"):
        assert got[name] == sent[name], name
    assert got["partOf"]["object"] == station["id"]
    assert client.get(f"/twins/{ID}/relationships").json()["value"][0]["$targetId"] == station["id"]
    query = {"query": "SELECT T.$dtId FROM DIGITALTWINS T WHERE T.temperature > 17"}
    assert client.post("/query", json=query).json()["value"] == [{"$dtId": ID}]
    tenant = {"NGSILD-Tenant": "t1"}
    assert client.post(f"{BASE}/entities", json=sent, headers=tenant).status_code == 201
    assert [e["id"] for e in client.get(f"{BASE}/entities", params={"type": "Sensor"}, headers=tenant).json()] == [ID]
    assert client.delete(f"{BASE}/entities/{ID}").status_code == 204
    assert client.get(f"{BASE}/entities/{ID}", headers=tenant).status_code == 200
    assert client.get(f"{BASE}/entities/{ID}").status_code == 404
