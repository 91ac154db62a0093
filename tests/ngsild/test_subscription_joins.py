"""Linked entities in notifications (GS CIM 009 V1.8.1 5.2.14 ``join``/``joinLevel``, 4.5.23), received by a real
local HTTP server; and one notification for an update that links a Relationship whose target was created after it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.app import App
from tests.ngsild.conftest import BASE
from tests.ngsild.notifications import Receiver, settle

HALL = "urn:ngsi-ld:Building:sapporo-clock-tower"
CITY = "urn:ngsi-ld:City:sapporo"
PREFECTURE = "urn:ngsi-ld:AdministrativeArea:hokkaido"


def hall() -> dict[str, Any]:
    """Sapporo Clock Tower (1878), located in a city that is created after it."""
    return {"id": HALL, "type": "Building", "locatedAt": {"type": "Relationship", "object": CITY}}


def city() -> dict[str, Any]:
    return {
        "id": CITY,
        "type": "City",
        "name": {"type": "Property", "value": "Sapporo"},
        "population": {"type": "Property", "value": 1_973_000},
        "isInArea": {"type": "Relationship", "object": PREFECTURE},
    }


def prefecture() -> dict[str, Any]:
    return {"id": PREFECTURE, "type": "AdministrativeArea", "name": {"type": "Property", "value": "Hokkaido"}}


def setup(lead: TestClient, receiver: Receiver, **notification: Any) -> None:
    for entity in (hall(), city(), prefecture()):
        assert lead.post(f"{BASE}/entities", json=entity).status_code == 201
    body = {
        "type": "Subscription",
        "entities": [{"type": "Building"}],
        "notification": {"endpoint": {"uri": receiver.url}, **notification},
    }
    made = lead.post(f"{BASE}/subscriptions", json=body)
    assert made.status_code == 201, made.text


def rename(app: App, lead: TestClient, receiver: Receiver) -> list[Any]:
    """Adds the hall's name: the update that also links ``locatedAt`` now that the city exists."""
    name = {"name": {"type": "Property", "value": "Sapporo Clock Tower"}}
    assert lead.post(f"{BASE}/entities/{HALL}/attrs", json=name).status_code == 204
    settle(app)
    return receiver.bodies()


def test_flat_join_sends_each_linked_entity_once_after_the_notified_ones(
    app: App, lead: TestClient, receiver: Receiver
) -> None:
    setup(lead, receiver, join="flat", joinLevel=2, format="keyValues")
    [body] = rename(app, lead, receiver)  # one notification: the relationship linked with the update, not after it
    assert body["data"] == [
        {"id": HALL, "type": "Building", "locatedAt": CITY, "name": "Sapporo Clock Tower"},
        {"id": CITY, "type": "City", "name": "Sapporo", "population": 1_973_000, "isInArea": PREFECTURE},
        {"id": PREFECTURE, "type": "AdministrativeArea", "name": "Hokkaido"},
    ]


def test_inline_join_puts_the_whole_linked_entity_in_the_relationship(
    app: App, lead: TestClient, receiver: Receiver
) -> None:
    setup(lead, receiver, join="inline", attributes=["locatedAt"], sysAttrs=True)
    [body] = rename(app, lead, receiver)
    [entity] = body["data"]
    assert set(entity) == {"id", "type", "createdAt", "modifiedAt", "locatedAt"}  # attributes: the hall's only
    linked = entity["locatedAt"]["entity"]
    assert entity["locatedAt"]["object"] == CITY and linked["id"] == CITY
    assert linked["population"]["value"] == 1_973_000 and "createdAt" in linked and "modifiedAt" in linked
    assert (
        linked["isInArea"]["object"] == PREFECTURE and "entity" not in linked["isInArea"]
    )  # joinLevel 1 (the default): the prefecture is not joined into the city


def test_without_join_and_with_none_the_data_is_the_notified_entity_only(
    app: App, lead: TestClient, receiver: Receiver
) -> None:
    setup(lead, receiver, join="@none")
    [body] = rename(app, lead, receiver)
    assert [e["id"] for e in body["data"]] == [HALL]
    assert body["data"][0]["locatedAt"] == {"type": "Relationship", "object": CITY}


@pytest.mark.parametrize(
    "notification",
    [{"join": "nested"}, {"join": "flat", "joinLevel": 0}, {"join": "inline", "joinLevel": "2"}, {"joinLevel": 17}],
)
def test_bad_join_parameters_are_refused(lead: TestClient, notification: dict[str, Any]) -> None:
    body = {
        "type": "Subscription",
        "entities": [{"type": "Building"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}, **notification},
    }
    answer = lead.post(f"{BASE}/subscriptions", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"


def test_join_is_echoed_and_can_be_changed(lead: TestClient) -> None:
    body = {
        "id": "urn:ngsi-ld:Subscription:sapporo-joins",
        "type": "Subscription",
        "entities": [{"type": "Building"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}, "join": "flat", "joinLevel": 3},
    }
    assert lead.post(f"{BASE}/subscriptions", json=body).status_code == 201
    got = lead.get(f"{BASE}/subscriptions/{body['id']}").json()["notification"]
    assert got["join"] == "flat" and got["joinLevel"] == 3
    changed = {"notification": {"join": "inline"}}
    assert lead.patch(f"{BASE}/subscriptions/{body['id']}", json=changed).status_code == 204
    got = lead.get(f"{BASE}/subscriptions/{body['id']}").json()["notification"]
    assert got["join"] == "inline" and got["joinLevel"] == 3
