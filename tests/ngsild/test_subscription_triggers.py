"""NGSI-LD notificationTrigger acted on (GS CIM 009 V1.8.1 clause 5.2.12), deletions notified with the NGSI-LD
Null and deletedAt, previous values of every attribute kind, pick/omit in the notification, and datasetId
filtering; notifications received by a real local HTTP server."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.app import App
from tests.ngsild.conftest import BASE
from tests.ngsild.notifications import Receiver, settle

NULL = "urn:ngsi-ld:null"
STATION = "urn:ngsi-ld:Building:tokyo-station-marunouchi"
OPERATOR = "urn:ngsi-ld:Organization:jr-east"
DATASET_JA = "urn:ngsi-ld:Dataset:mlit-plateau"
DATASET_EN = "urn:ngsi-ld:Dataset:osm"


def station() -> dict[str, Any]:
    """Tokyo Station's Marunouchi building (1914), as a Smart Data Models Building with one attribute of each kind."""
    return {
        "id": STATION,
        "type": "Building",
        "name": {"type": "Property", "value": "Tokyo Station Marunouchi Building"},
        "floorsAboveGround": {"type": "Property", "value": 3},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.7671, 35.6812]}},
        "description": {"type": "LanguageProperty", "languageMap": {"ja": "東京駅丸の内駅舎", "en": "Tokyo Station"}},
        "operator": {"type": "Relationship", "object": OPERATOR},
    }


def subscribe(lead: TestClient, url: str, triggers: list[str] | None = None, **notification: Any) -> str:
    body: dict[str, Any] = {
        "type": "Subscription",
        "entities": [{"type": "Building"}],
        "notification": {"endpoint": {"uri": url}, **notification},
    }
    if triggers is not None:
        body["notificationTrigger"] = triggers
    made = lead.post(f"{BASE}/subscriptions", json=body)
    assert made.status_code == 201, made.text
    return str(made.headers["Location"].rsplit("/", 1)[1])


def with_operator(lead: TestClient) -> None:
    operator = {"id": OPERATOR, "type": "Organization", "name": {"type": "Property", "value": "JR East"}}
    assert lead.post(f"{BASE}/entities", json=operator).status_code == 201


def test_entity_triggers_each_notify_their_own_change(app: App, lead: TestClient, receiver: Receiver) -> None:
    with_operator(lead)
    created = Receiver()
    try:
        subscribe(lead, created.url, ["entityCreated"])
        subscribe(lead, receiver.url, ["entityUpdated"])
        assert lead.post(f"{BASE}/entities", json=station()).status_code == 201
        settle(app)
        assert [b["data"][0]["id"] for b in created.bodies()] == [STATION]
        assert receiver.received == []  # a creation is no update
        patch = {"floorsAboveGround": {"type": "Property", "value": 4}}
        assert lead.patch(f"{BASE}/entities/{STATION}/attrs", json=patch).status_code == 204
        settle(app)
        assert [b["data"][0]["floorsAboveGround"]["value"] for b in receiver.bodies()] == [4]
        assert len(created.received) == 1  # an update is no creation
    finally:
        created.close()


def test_entity_deleted_is_notified_with_nulls_deleted_at_and_previous_values(
    app: App, lead: TestClient, receiver: Receiver
) -> None:
    with_operator(lead)
    plain = Receiver()
    try:
        subscribe(lead, receiver.url, ["entityDeleted"], showChanges=True)
        subscribe(lead, plain.url)  # the default triggers: attributeCreated, attributeUpdated
        assert lead.post(f"{BASE}/entities", json=station()).status_code == 201
        settle(app)
        assert receiver.received == []  # not deleted yet
        assert lead.delete(f"{BASE}/entities/{STATION}").status_code == 204
        settle(app)
        [body] = receiver.bodies()
        [entity] = body["data"]
        assert entity["id"] == STATION and entity["type"] == "Building" and entity["deletedAt"].endswith("Z")
        assert entity["name"] == {
            "type": "Property", "value": NULL, "previousValue": "Tokyo Station Marunouchi Building"
        }  # fmt: skip
        assert entity["operator"] == {"type": "Relationship", "object": NULL, "previousObject": OPERATOR}
        assert entity["location"]["value"] == NULL
        assert entity["location"]["previousValue"]["coordinates"] == [139.7671, 35.6812]
        assert entity["description"]["languageMap"] == {"@none": NULL}
        assert entity["description"]["previousLanguageMap"]["ja"] == "東京駅丸の内駅舎"
        assert len(plain.received) == 1  # only the creation: a deletion is not a default trigger
    finally:
        plain.close()


def test_deleting_an_entity_made_before_the_subscription_deletes_its_watched_attributes(
    app: App, lead: TestClient, receiver: Receiver
) -> None:
    assert lead.post(f"{BASE}/entities", json=station()).status_code == 201  # before any subscription
    body = {
        "type": "Subscription",
        "entities": [{"type": "Building"}],
        "watchedAttributes": ["floorsAboveGround"],
        "notificationTrigger": ["attributeDeleted"],
        "notification": {"endpoint": {"uri": receiver.url}, "sysAttrs": True},
    }
    assert lead.post(f"{BASE}/subscriptions", json=body).status_code == 201
    assert lead.delete(f"{BASE}/entities/{STATION}").status_code == 204
    settle(app)
    [entity] = [b["data"][0] for b in receiver.bodies()]
    assert entity["id"] == STATION and entity["createdAt"] <= entity["deletedAt"]
    assert set(entity) == {"id", "type", "createdAt", "modifiedAt", "deletedAt", "floorsAboveGround"}
    floors = entity["floorsAboveGround"]
    assert floors["value"] == NULL and floors["deletedAt"] == entity["deletedAt"] and "previousValue" not in floors


def test_attribute_deleted_shows_the_null_in_every_format(app: App, lead: TestClient, receiver: Receiver) -> None:
    assert lead.post(f"{BASE}/entities", json=station()).status_code == 201
    subscribe(lead, receiver.url, ["attributeDeleted"], format="keyValues")
    normalized = Receiver()
    try:
        subscribe(lead, normalized.url, ["attributeDeleted"], sysAttrs=True, showChanges=True)
        assert lead.patch(f"{BASE}/entities/{STATION}/attrs", json={"floorsAboveGround": 4}).status_code == 204
        settle(app)
        assert receiver.received == [] and normalized.received == []  # an update is no deletion
        assert lead.delete(f"{BASE}/entities/{STATION}/attrs/floorsAboveGround").status_code == 204
        settle(app)
        [kv] = [b["data"][0] for b in receiver.bodies()]
        assert kv["floorsAboveGround"] == NULL and kv["name"] == "Tokyo Station Marunouchi Building"
        [full] = [b["data"][0] for b in normalized.bodies()]
        gone = full["floorsAboveGround"]
        assert gone["value"] == NULL and gone["previousValue"] == 4 and gone["deletedAt"].endswith("Z")
        assert full["name"]["value"] == "Tokyo Station Marunouchi Building"
    finally:
        normalized.close()


def test_deleting_one_dataset_instance_shows_the_rest_and_its_null(
    app: App, lead: TestClient, receiver: Receiver
) -> None:
    entity = station()
    entity["height"] = [
        {"type": "Property", "value": 46.1, "unitCode": "MTR"},
        {"type": "Property", "value": 46.0, "unitCode": "MTR", "datasetId": DATASET_JA},
        {"type": "Property", "value": 45.9, "unitCode": "MTR", "datasetId": DATASET_EN},
    ]
    assert lead.post(f"{BASE}/entities", json=entity).status_code == 201
    subscribe(lead, receiver.url, ["attributeDeleted"])
    gone = lead.delete(f"{BASE}/entities/{STATION}/attrs/height", params={"datasetId": DATASET_EN})
    assert gone.status_code == 204, gone.text
    settle(app)
    [body] = receiver.bodies()
    shown = {i.get("datasetId"): i["value"] for i in body["data"][0]["height"]}
    assert shown == {None: 46.1, DATASET_JA: 46.0, DATASET_EN: NULL}


def test_dataset_id_member_filters_the_instances_notified(app: App, lead: TestClient, receiver: Receiver) -> None:
    entity = station()
    entity["name"] = [
        {"type": "Property", "value": "Tokyo Station Marunouchi Building"},
        {"type": "Property", "value": "東京駅丸の内駅舎", "datasetId": DATASET_JA},
    ]
    assert lead.post(f"{BASE}/entities", json=entity).status_code == 201
    body = {
        "type": "Subscription",
        "entities": [{"type": "Building"}],
        "datasetId": [DATASET_JA],
        "notification": {"endpoint": {"uri": receiver.url}},
    }
    assert lead.post(f"{BASE}/subscriptions", json=body).status_code == 201
    patch = {"name": {"type": "Property", "value": "東京駅 丸の内駅舎", "datasetId": DATASET_JA}}
    assert lead.patch(f"{BASE}/entities/{STATION}/attrs", json=patch).status_code == 204
    settle(app)
    [notified] = [b["data"][0] for b in receiver.bodies()]
    assert notified["name"] == {"type": "Property", "value": "東京駅 丸の内駅舎", "datasetId": DATASET_JA}
    assert set(notified) == {"id", "type", "name"}  # no other attribute has that dataset's instance


def test_pick_and_omit_shape_the_notified_entity(app: App, lead: TestClient, receiver: Receiver) -> None:
    assert lead.post(f"{BASE}/entities", json=station()).status_code == 201
    omitted = Receiver()
    try:
        subscribe(lead, receiver.url, pick=["id", "name"])
        subscribe(lead, omitted.url, omit=["type", "name"])
        assert lead.patch(f"{BASE}/entities/{STATION}/attrs", json={"name": "Tokyo Station"}).status_code == 204
        settle(app)
        [picked] = [b["data"][0] for b in receiver.bodies()]
        assert picked == {"id": STATION, "name": {"type": "Property", "value": "Tokyo Station"}}
        [rest] = [b["data"][0] for b in omitted.bodies()]
        assert "type" not in rest and "name" not in rest and rest["floorsAboveGround"]["value"] == 3
        got = lead.get(f"{BASE}/subscriptions").json()
        assert sorted(s["notification"].get("pick", []) for s in got) == [[], ["id", "name"]]
    finally:
        omitted.close()


@pytest.mark.parametrize(
    "notification",
    [
        {"pick": ["name"], "attributes": ["name"]},
        {"omit": ["name"], "attributes": ["name"]},
        {"pick": ["id"], "omit": ["id"]},
        {"pick": []},
        {"omit": "name"},
    ],
)
def test_bad_pick_and_omit_are_bad_request_data(lead: TestClient, notification: dict[str, Any]) -> None:
    body = {
        "type": "Subscription",
        "entities": [{"type": "Building"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}, **notification},
    }
    made = lead.post(f"{BASE}/subscriptions", json=body)
    assert made.status_code == 400 and made.json()["type"].endswith("/BadRequestData"), made.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "", {"description": NULL}),  # merge-patch: the NGSI-LD Null deletes
        ("PATCH", "/attrs", {"description": {"type": "LanguageProperty", "languageMap": {"@none": NULL}}}),
        ("PATCH", "/attrs/description", {"type": "LanguageProperty", "languageMap": {"@none": NULL}}),
    ],
)
def test_an_attribute_nulled_by_an_update_is_notified_deleted(
    app: App, lead: TestClient, receiver: Receiver, method: str, path: str, body: dict[str, Any]
) -> None:
    assert lead.post(f"{BASE}/entities", json=station()).status_code == 201
    subscribe(lead, receiver.url, ["attributeDeleted"], showChanges=True)
    answer = lead.request(method, f"{BASE}/entities/{STATION}{path}", json=body)
    assert answer.status_code == 204, answer.text
    settle(app)
    [entity] = [b["data"][0] for b in receiver.bodies()]
    assert entity["description"]["languageMap"] == {"@none": NULL}
    assert entity["description"]["previousLanguageMap"] == {"ja": "東京駅丸の内駅舎", "en": "Tokyo Station"}
    assert entity["name"]["value"] == "Tokyo Station Marunouchi Building"
