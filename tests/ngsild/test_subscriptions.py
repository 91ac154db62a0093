"""NGSI-LD subscriptions: CRUD, and notifications received by a real local HTTP server and a real Mosquitto broker,
triggered through either door, with filters, throttling, periodic sending, pause/expiry, retries and dead letters."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App, build
from futago.config import Settings
from tests.conftest import Broker
from tests.ngsild.conftest import BASE, CORE
from tests.ngsild.notifications import Receiver, leading, settle
from tests.store.adapters import ADAPTERS, database_url

SENSOR = "urn:ngsi-ld:WaterObserved:sumida-1"


def subscription(url: str, **more: Any) -> dict[str, Any]:
    return {
        "type": "Subscription",
        "entities": [{"type": "WaterObserved"}],
        "notification": {"endpoint": {"uri": url}},
        **more,
    }


def observed(temperature: float = 15.0) -> dict[str, Any]:
    return {
        "id": SENSOR,
        "type": "WaterObserved",
        "temperature": {"type": "Property", "value": temperature, "unitCode": "CEL"},
        "flow": {"type": "Property", "value": 12.5},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.8, 35.71]}},
    }


def test_crud_with_location_list_count_patch_and_delete(lead: TestClient) -> None:
    url = "http://127.0.0.1:9/n"
    made = lead.post(f"{BASE}/subscriptions", json=subscription(url, id="urn:ngsi-ld:Subscription:a"))
    assert made.status_code == 201, made.text
    assert made.headers["Location"] == "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:a"
    second = lead.post(f"{BASE}/subscriptions", json=subscription(url, watchedAttributes=["temperature"]))
    assert second.status_code == 201
    generated = second.headers["Location"].rsplit("/", 1)[1]
    assert generated.startswith("urn:ngsi-ld:Subscription:")
    again = lead.post(f"{BASE}/subscriptions", json=subscription(url, id="urn:ngsi-ld:Subscription:a"))
    assert again.status_code == 409 and again.json()["type"].endswith("/AlreadyExists")
    got = lead.get(f"{BASE}/subscriptions/urn:ngsi-ld:Subscription:a").json()
    assert got["entities"] == [{"type": "WaterObserved"}]
    assert got["status"] == "active" and "isActive" not in got  # the default (true) is implied, not echoed
    assert got["notification"]["endpoint"] == {"uri": url, "accept": "application/json"}
    listed = lead.get(f"{BASE}/subscriptions", params={"count": "true", "limit": 1, "offset": 1})
    assert listed.headers["NGSILD-Results-Count"] == "2"
    assert [s["id"] for s in listed.json()] == [sorted(["urn:ngsi-ld:Subscription:a", generated])[1]]  # id order
    patched = lead.patch(f"{BASE}/subscriptions/urn:ngsi-ld:Subscription:a", json={"isActive": False})
    assert patched.status_code == 204
    assert lead.get(f"{BASE}/subscriptions/urn:ngsi-ld:Subscription:a").json()["status"] == "paused"
    assert lead.delete(f"{BASE}/subscriptions/urn:ngsi-ld:Subscription:a").status_code == 204
    gone = lead.get(f"{BASE}/subscriptions/urn:ngsi-ld:Subscription:a")
    assert gone.status_code == 404 and gone.json()["type"].endswith("/ResourceNotFound")


@pytest.mark.parametrize(
    "document, why",
    [
        ({"type": "Sub", "entities": [{"type": "T"}], "notification": {"endpoint": {"uri": "http://h/"}}}, "type"),
        ({"type": "Subscription", "entities": [{"type": "T"}]}, "notification"),
        (
            {"type": "Subscription", "entities": [{"type": "T"}], "notification": {"endpoint": {"uri": "ftp://h/x"}}},
            "uri",
        ),
        ({"type": "Subscription", "notification": {"endpoint": {"uri": "http://h/"}}}, "entities or watched"),
        (subscription("http://h/", watchedAttributes=["a"], timeInterval=5), "timeInterval"),
        (subscription("http://h/", q="temperature>>"), "q"),
        (subscription("http://h/", expiresAt="2001-01-01T00:00:00Z"), "past"),
        (subscription("http://h/", geoQ={"geometry": "Point", "coordinates": [1, 2], "georel": "near"}), "near"),
        (subscription("mqtt://h:1883/a/#"), "topic"),
    ],
)
def test_bad_subscriptions_are_bad_request_data(lead: TestClient, document: dict[str, Any], why: str) -> None:
    answer = lead.post(f"{BASE}/subscriptions", json=document)
    assert answer.status_code == 400, (why, answer.text)
    assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"


def test_watched_attributes_and_q_through_either_door(app: App, lead: TestClient, receiver: Receiver) -> None:
    sub = subscription(receiver.url, watchedAttributes=["temperature"], q="temperature>20")
    assert lead.post(f"{BASE}/subscriptions", json=sub).status_code == 201
    assert lead.post(f"{BASE}/entities", json=observed(15.0)).status_code == 201
    settle(app)
    assert receiver.received == []  # created, but q does not hold
    assert lead.patch(f"{BASE}/entities/{SENSOR}/attrs", json={"temperature": 25.0}).status_code == 204
    settle(app)
    assert lead.patch(f"{BASE}/entities/{SENSOR}/attrs", json={"flow": 30.0}).status_code == 204
    settle(app)  # flow is not watched
    twin_door = lead.patch(f"/twins/{SENSOR}", json=[{"op": "replace", "path": "/temperature", "value": 31.5}])
    assert twin_door.status_code in (200, 204), twin_door.text
    settle(app)
    bodies = receiver.bodies()
    assert [b["data"][0]["temperature"]["value"] for b in bodies] == [25.0, 31.5]
    first = bodies[0]
    assert first["type"] == "Notification" and first["subscriptionId"].startswith("urn:ngsi-ld:Subscription:")
    assert first["data"][0]["id"] == SENSOR and first["data"][0]["type"] == "WaterObserved"
    headers = receiver.received[0][0]
    assert headers["Content-Type"] == "application/json" and "ngsi-ld-core-context" in headers["Link"]
    got = lead.get(f"{BASE}/subscriptions/{first['subscriptionId']}").json()["notification"]
    assert got["timesSent"] == 2 and got["status"] == "ok" and got["lastSuccess"] == got["lastNotification"]


def test_key_values_attributes_receiver_info_and_show_changes(app: App, lead: TestClient, receiver: Receiver) -> None:
    assert lead.post(f"{BASE}/entities", json=observed(15.0)).status_code == 201
    notification = {
        "endpoint": {"uri": receiver.url, "accept": "application/ld+json",
                     "receiverInfo": [{"key": "X-Auth-Token", "value": "city-os-7"}]},
        "format": "keyValues",
        "attributes": ["temperature"],
    }  # fmt: skip
    sub = {"type": "Subscription", "entities": [{"type": "WaterObserved", "idPattern": "sumida"}]}
    assert lead.post(f"{BASE}/subscriptions", json={**sub, "notification": notification}).status_code == 201
    assert lead.patch(f"{BASE}/entities/{SENSOR}/attrs", json={"temperature": 18.0}).status_code == 204
    settle(app)
    headers, body = receiver.received[-1]
    assert headers["X-Auth-Token"] == "city-os-7" and headers["Content-Type"] == "application/ld+json"
    assert body["data"] == [{"id": SENSOR, "type": "WaterObserved", "temperature": 18.0, "@context": CORE}]
    assert "@context" in body
    shows = subscription(receiver.url, notification={"endpoint": {"uri": receiver.url}, "showChanges": True})
    assert lead.post(f"{BASE}/subscriptions", json=shows).status_code == 201
    receiver.received.clear()
    assert lead.patch(f"{BASE}/entities/{SENSOR}/attrs", json={"temperature": 19.5}).status_code == 204
    settle(app)
    normalized = next(b for b in receiver.bodies() if isinstance(b["data"][0]["temperature"], dict))
    assert normalized["data"][0]["temperature"]["previousValue"] == 18.0


def test_geo_q_selects_by_distance(app: App, lead: TestClient, receiver: Receiver) -> None:
    near = {"geometry": "Point", "coordinates": [139.801, 35.71], "georel": "near;maxDistance==500"}
    far = {"geometry": "Point", "coordinates": [135.5, 34.7], "georel": "near;maxDistance==500"}
    for geo_q in (near, far):
        assert lead.post(f"{BASE}/subscriptions", json=subscription(receiver.url, geoQ=geo_q)).status_code == 201
    assert lead.post(f"{BASE}/entities", json=observed()).status_code == 201
    settle(app)
    assert len(receiver.received) == 1  # only the subscription 90 m away


def test_throttling_and_time_interval(app: App, lead: TestClient, receiver: Receiver) -> None:
    assert lead.post(f"{BASE}/entities", json=observed()).status_code == 201
    throttled = subscription(receiver.url, throttling=60, id="urn:ngsi-ld:Subscription:throttled")
    assert lead.post(f"{BASE}/subscriptions", json=throttled).status_code == 201
    for value in (20.0, 21.0, 22.0):
        assert lead.patch(f"{BASE}/entities/{SENSOR}/attrs", json={"temperature": value}).status_code == 204
        settle(app)
    assert [b["data"][0]["temperature"]["value"] for b in receiver.bodies()] == [20.0]
    shown = lead.get(f"{BASE}/subscriptions/urn:ngsi-ld:Subscription:throttled").json()["notification"]
    assert shown["timesCoalesced"] == 2  # held for the window's end, not dropped (deleting drops them)
    assert lead.delete(f"{BASE}/subscriptions/urn:ngsi-ld:Subscription:throttled").status_code == 204
    receiver.received.clear()
    periodic = subscription(receiver.url, timeInterval=1, id="urn:ngsi-ld:Subscription:periodic")
    assert lead.post(f"{BASE}/subscriptions", json=periodic).status_code == 201
    time.sleep(2.6)
    settle(app)
    sent = receiver.bodies()
    assert 2 <= len(sent) <= 4  # at 0 s, 1 s and 2 s, without any change
    assert all(b["subscriptionId"] == "urn:ngsi-ld:Subscription:periodic" for b in sent)
    assert sent[0]["data"][0]["temperature"]["value"] == 22.0


def test_paused_and_expired_subscriptions_send_nothing(app: App, lead: TestClient, receiver: Receiver) -> None:
    assert lead.post(f"{BASE}/entities", json=observed()).status_code == 201
    sub = subscription(receiver.url, id="urn:ngsi-ld:Subscription:p", isActive=False)
    assert lead.post(f"{BASE}/subscriptions", json=sub).status_code == 201
    assert lead.patch(f"{BASE}/entities/{SENSOR}/attrs", json={"temperature": 16.0}).status_code == 204
    settle(app)
    assert receiver.received == []
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    body = {"isActive": True, "expiresAt": soon}
    assert lead.patch(f"{BASE}/subscriptions/urn:ngsi-ld:Subscription:p", json=body).status_code == 204
    assert lead.patch(f"{BASE}/entities/{SENSOR}/attrs", json={"temperature": 17.0}).status_code == 204
    settle(app)
    assert len(receiver.received) == 1
    time.sleep(2.2)
    assert lead.get(f"{BASE}/subscriptions/urn:ngsi-ld:Subscription:p").json()["status"] == "expired"
    assert lead.patch(f"{BASE}/entities/{SENSOR}/attrs", json={"temperature": 18.0}).status_code == 204
    settle(app)
    assert len(receiver.received) == 1


def test_failing_endpoint_is_retried_then_dead_lettered(app: App, lead: TestClient, receiver: Receiver) -> None:
    receiver.fail = True
    sub = subscription(receiver.url, id="urn:ngsi-ld:Subscription:failing")
    assert lead.post(f"{BASE}/subscriptions", json=sub).status_code == 201
    assert lead.post(f"{BASE}/entities", json=observed()).status_code == 201
    settle(app)
    assert len(receiver.received) == 3  # the retry policy's three attempts, the same notification each time
    assert len({h["X-Futago-Delivery"] for h, _ in receiver.received}) == 1
    letters = app.notifications.list_dead_letters()
    assert [(x["channelType"], x["attempts"]) for x in letters] == [("ngsild", 3)]
    status = lead.get(f"{BASE}/subscriptions/urn:ngsi-ld:Subscription:failing").json()["notification"]
    assert status["timesSent"] == 3 and status["timesFailed"] == 3 and status["status"] == "failed"
    assert "lastSuccess" not in status and status["lastFailure"] == status["lastNotification"]
    receiver.fail = False
    requeued = app.notifications.retry_dead_letters([letters[0]["id"]])
    assert requeued[0]["requeued"] is True
    settle(app)
    assert len(receiver.received) == 4


def test_mqtt_endpoint_receives_through_mosquitto(app: App, lead: TestClient, broker: Broker) -> None:
    import paho.mqtt.client as paho

    got: list[Any] = []
    listener = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    listener.on_message = lambda _c, _u, message: got.append((message.payload, message.properties))
    listener.connect(broker.host, broker.port)
    listener.subscribe("city/water", qos=1)
    listener.loop_start()
    try:
        time.sleep(0.3)
        endpoint = {
            "uri": f"mqtt://{broker.host}:{broker.port}/city/water",
            "receiverInfo": [{"key": "X-Source", "value": "futago"}],
            "notifierInfo": [{"key": "MQTT-QoS", "value": "1"}],
        }
        sub = subscription("", notification={"endpoint": endpoint, "format": "keyValues"})
        assert lead.post(f"{BASE}/subscriptions", json=sub).status_code == 201
        assert lead.post(f"{BASE}/entities", json=observed(21.5)).status_code == 201
        settle(app)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        listener.loop_stop()
        listener.disconnect()
    payload, properties = got[0]
    message = json.loads(payload)
    assert message["metadata"]["X-Source"] == "futago"
    assert message["body"]["data"][0]["temperature"] == 21.5
    assert ("X-Source", "futago") in properties.UserProperty


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_subscriptions_survive_a_restart_on_every_adapter(
    adapter: str, request: pytest.FixtureRequest, tmp_path: Path, receiver: Receiver
) -> None:
    url = database_url(adapter, request, tmp_path)
    first = build(Settings(db=url, data_root=str(tmp_path)))
    try:
        with TestClient(create_api(first), raise_server_exceptions=False) as client:
            sub = subscription(receiver.url, id="urn:ngsi-ld:Subscription:kept", watchedAttributes=["temperature"])
            assert client.post(f"{BASE}/subscriptions", json=sub).status_code == 201
            tenant = {"NGSILD-Tenant": "ward7"}
            assert client.post(f"{BASE}/subscriptions", json=sub, headers=tenant).status_code == 201
    finally:
        first.close()
    second = build(Settings(db=url, data_root=str(tmp_path)))
    try:
        leading(second)
        with TestClient(create_api(second), raise_server_exceptions=False) as client:
            got = client.get(f"{BASE}/subscriptions/urn:ngsi-ld:Subscription:kept")
            assert got.status_code == 200 and got.json()["watchedAttributes"] == ["temperature"]
            assert (
                client.post(f"{BASE}/entities", json=observed(14.0), headers={"NGSILD-Tenant": "ward7"}).status_code
                == 201
            )
            settle(second)
            assert len(receiver.received) == 1  # the tenant's subscription only
            assert receiver.received[0][0]["NGSILD-Tenant"] == "ward7"
            assert client.post(f"{BASE}/entities", json=observed(14.0)).status_code == 201
            settle(second)
            assert len(receiver.received) == 2
    finally:
        second.close()
