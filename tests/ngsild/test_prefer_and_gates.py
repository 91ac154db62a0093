"""NGSI-LD answers as /openapi.json describes them: 204 by default, 200 with the representation under RFC 7240
``Prefer: return=representation``; a batch write refused (403) before its body is read for a caller that may write
no twin; a batch delete of ids or of entities naming them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from futago.app import App
from tests.ngsild import test_tenants_and_security
from tests.ngsild.conftest import BASE
from tests.ngsild.test_batch import OPS, water
from tests.ngsild.test_tenants_and_security import key

secured = test_tenants_and_security.secured
REPRESENTATION = {"Prefer": "return=representation"}
ONE = "urn:ngsi-ld:WaterObserved:001"


def test_writes_answer_204_and_the_entity_when_asked(client: TestClient) -> None:
    assert client.post(f"{BASE}/entities", json=water(1)).status_code == 201
    merge = {"flow": {"type": "Property", "value": 3.25}}
    plain = client.patch(f"{BASE}/entities/{ONE}", json=merge)
    assert plain.status_code == 204 and not plain.content  # what NGSI-LD clients expect
    merge["flow"]["value"] = 4.5
    asked = client.patch(f"{BASE}/entities/{ONE}", json=merge, headers=REPRESENTATION)
    assert asked.status_code == 200 and asked.headers["Preference-Applied"] == "return=representation"
    assert asked.json()["flow"]["value"] == 4.5 and asked.json()["height"]["value"] == 1.0
    assert asked.json() == client.get(f"{BASE}/entities/{ONE}").json()
    height = {"type": "Property", "value": 1.75, "unitCode": "MTR"}
    replaced = client.put(f"{BASE}/entities/{ONE}/attrs/height", json=height, headers=REPRESENTATION)
    assert replaced.status_code == 200 and replaced.json()["height"]["value"] == 1.75
    before = client.get(f"{BASE}/entities/{ONE}").json()
    deleted = client.delete(f"{BASE}/entities/{ONE}", headers=REPRESENTATION)
    assert deleted.status_code == 200 and deleted.json() == before  # what was deleted, as GET showed it
    assert client.get(f"{BASE}/entities/{ONE}").status_code == 404
    minimal = client.delete(f"{BASE}/entities/{ONE}", headers={"Prefer": "return=minimal"})
    assert minimal.status_code == 404  # gone: the preference changes the answer, never the operation


def test_prefer_shows_no_more_than_get(app: App, secured: TestClient) -> None:
    admin = key(app, "user:root", ("*", ["ADMIN"]))
    assert secured.post(f"{BASE}/entities", json=water(1), headers=admin).status_code == 201
    blind = key(app, "user:blind", ("twins/urn:ngsi-ld:WaterObserved:*", ["WRITE"]))  # may write, not read
    change = {"flow": {"type": "Property", "value": 9.0}}
    answer = secured.patch(f"{BASE}/entities/{ONE}", json=change, headers={**blind, **REPRESENTATION})
    assert answer.status_code == 204 and "Preference-Applied" not in answer.headers
    assert secured.get(f"{BASE}/entities/{ONE}", headers=admin).json()["flow"]["value"] == 9.0


def test_subscription_update_and_delete_answer_it_when_asked(lead: TestClient) -> None:
    sub = {"id": "urn:ngsi-ld:Subscription:w", "type": "Subscription", "entities": [{"type": "WaterObserved"}],
           "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}}}  # fmt: skip
    assert lead.post(f"{BASE}/subscriptions", json=sub).status_code == 201
    url = f"{BASE}/subscriptions/{sub['id']}"
    assert lead.patch(url, json={"isActive": False}).status_code == 204
    patched = lead.patch(url, json={"description": "river flow"}, headers=REPRESENTATION)
    assert patched.status_code == 200 and patched.json()["description"] == "river flow"
    assert patched.json()["status"] == "paused" and patched.json() == lead.get(url).json()
    deleted = lead.delete(url, headers=REPRESENTATION)
    assert deleted.status_code == 200 and deleted.json()["id"] == sub["id"]
    assert lead.get(url).status_code == 404


def test_a_batch_write_is_refused_before_its_body_for_a_caller_that_may_write_no_twin(
    app: App, secured: TestClient
) -> None:
    reader = key(app, "user:reader", ("*", ["READ"]), ("models/*", ["WRITE"]))  # WRITE, but on no twin
    for operation in ("create", "upsert", "update", "merge", "delete"):
        for body in ({}, [water(1)], "not json"):
            answer = secured.post(f"{OPS}/{operation}", json=body, headers=reader)
            assert answer.status_code == 403, (operation, body, answer.text)
    one = key(app, "user:one", ("twins/urn:ngsi-ld:WaterObserved:001", ["WRITE"]))
    bad = secured.post(f"{OPS}/create", json={}, headers=one)
    assert bad.status_code == 400  # may write a twin: it learns what is wrong with its body
    partial = secured.post(f"{OPS}/create", json=[water(1), water(2)], headers=one)
    assert partial.status_code == 207 and partial.json()["success"] == [ONE]  # and each entity is still checked
    assert [e["entityId"] for e in partial.json()["errors"]] == ["urn:ngsi-ld:WaterObserved:002"]


def test_batch_delete_takes_ids_or_entities(client: TestClient) -> None:
    created = client.post(f"{OPS}/create", json=[water(1), water(2), water(3)])
    assert created.status_code == 201 and len(created.json()) == 3
    deleted = client.post(f"{OPS}/delete", json=[ONE, {"id": "urn:ngsi-ld:WaterObserved:002", "type": "WaterObserved"}])
    assert deleted.status_code == 204
    left = client.get(f"{BASE}/entities", params={"type": "WaterObserved"}).json()
    assert [e["id"] for e in left] == ["urn:ngsi-ld:WaterObserved:003"]
    nameless = client.post(f"{OPS}/delete", json=[{"type": "WaterObserved"}])
    assert nameless.status_code == 207 and nameless.json()["success"] == []
