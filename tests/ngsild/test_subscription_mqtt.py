"""NGSI-LD notifications over MQTT (GS CIM 009 5.8.6, the MQTT binding): user info in the endpoint URI, the
``MQTT-QoS`` and ``MQTT-Version`` notifierInfo, and the ``{metadata, body}`` payload, received through a real
Mosquitto started by the test (skipped where mosquitto is not installed)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.app import App
from tests.conftest import Broker
from tests.ngsild.conftest import BASE, CORE
from tests.ngsild.notifications import settle

STATION = "urn:ngsi-ld:AirQualityObserved:sapporo-kita"
TOPIC = "city/sapporo/air"
OPERATOR = ("sapporo-env", "Odori-1972")  # a user the authenticated broker knows


@pytest.fixture
def brokers(tmp_path: Path) -> Iterator[dict[str, Broker]]:
    """One broker open to anyone, one that asks for a user and password."""
    started: dict[str, Broker] = {}
    try:
        for name, users in (("open", None), ("closed", dict([OPERATOR]))):
            folder = tmp_path / name
            folder.mkdir()
            started[name] = Broker(folder, users)
            started[name].start()
        yield started
    finally:
        for broker in started.values():
            broker.stop()


def station(no2: float) -> dict[str, Any]:
    """Kita ward's air quality station in Sapporo, its NO2 in micrograms per cubic metre."""
    return {"id": STATION, "type": "AirQualityObserved", "NO2": {"type": "Property", "value": no2, "unitCode": "GQ"}}


def listen(broker: Broker, user: tuple[str, str] | None) -> tuple[Any, list[bytes]]:
    import paho.mqtt.client as paho

    got: list[bytes] = []
    listener = paho.Client(paho.CallbackAPIVersion.VERSION2)
    if user is not None:
        listener.username_pw_set(*user)
    listener.on_message = lambda _c, _u, message: got.append(bytes(message.payload))
    listener.connect(broker.host, broker.port)
    listener.subscribe(TOPIC, qos=1)
    listener.loop_start()
    time.sleep(0.3)
    return listener, got


@pytest.mark.parametrize(
    ("broker_name", "userinfo", "notifier"),
    [
        ("open", "", None),
        ("open", "observer@", None),  # a user without a password, to a broker that asks for none
        ("closed", f"{OPERATOR[0]}:{OPERATOR[1]}@", None),
        ("open", "", [{"key": "MQTT-QoS", "value": "2"}]),
        ("open", "", [{"key": "MQTT-QoS", "value": "0"}, {"key": "MQTT-Version", "value": "mqtt3.1.1"}]),
        ("open", "", [{"key": "MQTT-Version", "value": "mqtt5.0"}]),
    ],
)
def test_one_update_is_one_message_on_the_topic(
    app: App,
    lead: TestClient,
    brokers: dict[str, Broker],
    broker_name: str,
    userinfo: str,
    notifier: list[dict[str, str]] | None,
) -> None:
    broker = brokers[broker_name]
    listener, got = listen(broker, OPERATOR if broker_name == "closed" else None)
    try:
        assert lead.post(f"{BASE}/entities", json=station(18.0)).status_code == 201
        settle(app)
        endpoint: dict[str, Any] = {
            "uri": f"mqtt://{userinfo}{broker.host}:{broker.port}/{TOPIC}",
            "receiverInfo": [{"key": "X-Ward", "value": "kita"}],
        }
        if notifier is not None:
            endpoint["notifierInfo"] = notifier
        body = {"type": "Subscription", "entities": [{"type": "AirQualityObserved", "id": STATION}]}
        made = lead.post(f"{BASE}/subscriptions", json={**body, "notification": {"endpoint": endpoint}})
        assert made.status_code == 201, made.text
        assert lead.patch(f"{BASE}/entities/{STATION}/attrs", json={"NO2": station(23.5)["NO2"]}).status_code == 204
        settle(app)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # a second message, were one sent, would be here by now
    finally:
        listener.loop_stop()
        listener.disconnect()
    [payload] = got
    message = json.loads(payload)
    metadata, notification = message["metadata"], message["body"]
    assert metadata["Content-Type"] == "application/json"
    assert metadata["Link"].startswith(f"<{CORE}>")
    assert metadata["X-Ward"] == "kita"
    assert (
        notification["type"] == "Notification"
        and notification["subscriptionId"] == made.headers["Location"].rsplit("/", 1)[1]
    )
    [entity] = notification["data"]
    assert entity["id"] == STATION and entity["type"] == "AirQualityObserved"
    assert entity["NO2"] == {"type": "Property", "value": 23.5, "unitCode": "GQ"}
    status = lead.get(made.headers["Location"]).json()["notification"]
    assert status["timesSent"] == 1 and status["status"] == "ok"
