"""The simplified (keyValues) representation (GS CIM 009 4.5.4): a multi-attribute is one object whose `dataset`
member holds each instance's value by its datasetId (`@none` for the default instance), and `sysAttrs` adds the
entity's own createdAt/modifiedAt there as in the normalized form."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE

KIOSK = {
    "id": "urn:ngsi-ld:Kiosk:ueno-park",
    "type": "Kiosk",
    "name": [
        {"type": "Property", "value": "上野公園売店"},
        {"type": "Property", "value": "Ueno Park kiosk", "datasetId": "urn:ngsi-ld:Dataset:english"},
    ],
    "stock": {"type": "Property", "value": 42},
}


def test_multi_attribute_simplified_is_a_dataset_object(client: TestClient) -> None:
    assert client.post(f"{BASE}/entities", json=KIOSK).status_code == 201
    simple = client.get(f"{BASE}/entities/{KIOSK['id']}", params={"options": "keyValues"}).json()
    assert simple["name"] == {"dataset": {"@none": "上野公園売店", "urn:ngsi-ld:Dataset:english": "Ueno Park kiosk"}}
    assert simple["stock"] == 42  # a single default instance stays a bare value
    assert "createdAt" not in simple


def test_sys_attrs_in_simplified_give_the_entity_times(client: TestClient) -> None:
    assert client.post(f"{BASE}/entities", json=KIOSK).status_code == 201
    simple = client.get(f"{BASE}/entities/{KIOSK['id']}", params={"options": "keyValues,sysAttrs"}).json()
    normal = client.get(f"{BASE}/entities/{KIOSK['id']}", params={"options": "sysAttrs"}).json()
    assert simple["createdAt"] == normal["createdAt"] and simple["modifiedAt"] == normal["modifiedAt"]
    assert simple["stock"] == 42
