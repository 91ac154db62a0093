"""What an NGSI-LD notification looks like on the wire (GS CIM 009 V1.8.1 clauses 5.3 and 7.2): the Link header of a
JSON notification names the subscription's own @context, each entity of a JSON-LD notification carries its @context,
an entityDeleted notification without showChanges is the entity's id, type and deletedAt only, and a subscription's
``q`` written with URL percent-escapes matches as it would in a query URL; received on a real local HTTP server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App, build
from futago.config import Settings
from tests.ngsild.conftest import BASE, LD
from tests.ngsild.notifications import Receiver, leading, settle

CITY = "https://city.example.jp/contexts/kawa.jsonld"  # served from an offline copy: no network in tests
GAUGE = "urn:ngsi-ld:WaterLevelGauge:arakawa-iwabuchi"


@pytest.fixture
def city_app(tmp_path: Path) -> Iterator[App]:
    terms = {"WaterLevelGauge": "https://city.example.jp/vocab#WaterLevelGauge", "level": "https://city.example.jp/vocab#level",
             "river": "https://city.example.jp/vocab#river"}  # fmt: skip
    copy = tmp_path / "kawa.jsonld"
    copy.write_text(json.dumps({"@context": terms}))
    application = build(
        Settings(db=str(tmp_path / "f.db"), data_root=str(tmp_path), ngsild={"offline_contexts": {CITY: str(copy)}})
    )
    leading(application)
    yield application
    application.close()


@pytest.fixture
def lead(city_app: App) -> Iterator[TestClient]:
    with TestClient(create_api(city_app), raise_server_exceptions=False) as client:
        yield client


def gauge(level: float = 3.12) -> dict[str, Any]:
    """The Iwabuchi water-level gauge on the Arakawa (Kita, Tokyo), in the city's own vocabulary."""
    return {
        "id": GAUGE,
        "type": "WaterLevelGauge",
        "level": {"type": "Property", "value": level, "unitCode": "MTR"},
        "river": {"type": "Property", "value": "Arakawa River"},
        "@context": [CITY],
    }


def subscribe(lead: TestClient, url: str, accept: str = "application/json", **more: Any) -> None:
    body = {
        "type": "Subscription",
        "entities": [{"type": "WaterLevelGauge"}],
        "notification": {"endpoint": {"uri": url, "accept": accept}},
        "@context": [CITY],
        **more,
    }
    made = lead.post(f"{BASE}/subscriptions", json=body, headers=LD)
    assert made.status_code == 201, made.text


def rise(lead: TestClient, level: float) -> None:
    patch = {"level": {"type": "Property", "value": level, "unitCode": "MTR"}, "@context": [CITY]}
    assert lead.patch(f"{BASE}/entities/{GAUGE}/attrs", json=patch, headers=LD).status_code == 204


def test_json_notification_links_the_subscriptions_context(city_app: App, lead: TestClient, receiver: Receiver) -> None:
    assert lead.post(f"{BASE}/entities", json=gauge(), headers=LD).status_code == 201
    settle(city_app)
    subscribe(lead, receiver.url)
    rise(lead, 4.05)
    settle(city_app)
    [(headers, body)] = receiver.received
    assert headers["Content-Type"] == "application/json"
    assert headers["Link"].startswith(f"<{CITY}>;")  # the terms the entity is written in, not the core context
    [entity] = body["data"]
    assert entity["level"]["value"] == 4.05 and "@context" not in entity and "@context" not in body


def test_json_ld_notification_gives_each_entity_its_context(
    city_app: App, lead: TestClient, receiver: Receiver
) -> None:
    assert lead.post(f"{BASE}/entities", json=gauge(), headers=LD).status_code == 201
    settle(city_app)
    subscribe(lead, receiver.url, accept="application/ld+json")
    rise(lead, 4.4)
    settle(city_app)
    [(headers, body)] = receiver.received
    assert headers["Content-Type"] == "application/ld+json" and "Link" not in headers
    assert body["@context"] == [CITY]
    [entity] = body["data"]
    assert entity["@context"] == CITY and entity["level"]["value"] == 4.4


def test_entity_deleted_without_show_changes_is_id_type_and_deleted_at(
    city_app: App, lead: TestClient, receiver: Receiver
) -> None:
    assert lead.post(f"{BASE}/entities", json=gauge(), headers=LD).status_code == 201
    settle(city_app)
    with_sys = Receiver()
    try:
        subscribe(lead, receiver.url, notificationTrigger=["entityDeleted"])
        body = {
            "type": "Subscription",
            "entities": [{"type": "WaterLevelGauge"}],
            "notificationTrigger": ["entityDeleted"],
            "notification": {"endpoint": {"uri": with_sys.url}, "sysAttrs": True},
            "@context": [CITY],
        }
        assert lead.post(f"{BASE}/subscriptions", json=body, headers=LD).status_code == 201
        assert lead.delete(f"{BASE}/entities/{GAUGE}").status_code == 204
        settle(city_app)
        [plain] = receiver.bodies()[0]["data"]
        assert set(plain) == {"id", "type", "deletedAt"} and plain["id"] == GAUGE
        [timed] = with_sys.bodies()[0]["data"]
        assert set(timed) == {"id", "type", "createdAt", "modifiedAt", "deletedAt"}
        assert timed["createdAt"] <= timed["deletedAt"]
    finally:
        with_sys.close()


def test_q_with_percent_escapes_matches_as_in_a_query_url(city_app: App, lead: TestClient, receiver: Receiver) -> None:
    assert lead.post(f"{BASE}/entities", json=gauge(), headers=LD).status_code == 201
    settle(city_app)
    subscribe(lead, receiver.url, q='river=="Arakawa%20River"', watchedAttributes=["level"])
    other = Receiver()
    try:
        subscribe(lead, other.url, q='river=="Sumida%20River"')
        rise(lead, 5.2)
        settle(city_app)
        [body] = receiver.bodies()
        assert body["data"][0]["level"]["value"] == 5.2
        assert other.received == []  # the decoded q still tells the rivers apart
    finally:
        other.close()
