"""The MQTT connector against a real Mosquitto, wired as the app wires it.

Every wait polls with a deadline. The no-loss tests publish at QoS 1 with a separate client
while futago's connector is away (or the broker restarts), then count what was stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from futago.app import App
from futago.core.errors import InvalidInput, NotFound
from futago.ingest.connections import ConnectionManager, ConnectionSpec
from futago.ingest.mapping import RawMessage
from futago.ingest.pipeline import IngestPipeline, IngestResult
from futago.protocols.mqtt.connector import MqttConnector, mqtt_connector
from tests.conftest import Broker

RIVER = "dtmi:futago:demo:RiverStation;1"
T0_MS = 1_700_000_000_000


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def publish(
    broker: Broker, messages: Sequence[tuple[str, bytes]], qos: int = 1, auth: tuple[str, str] | None = None
) -> None:
    """Publish with a separate client and return once the broker has acknowledged every message."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="", protocol=paho.MQTTv311)
    if auth:
        client.username_pw_set(*auth)
    client.max_inflight_messages_set(1000)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=qos) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout=10)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def levels(station: str, count: int, start: int = 0) -> list[tuple[str, bytes]]:
    return [
        (f"city/river/{station}/level", orjson.dumps({"reading": {"level": i / 10, "time": T0_MS + i}}))
        for i in range(start, start + count)
    ]


def stored(app: App, twin: str, name: str = "waterLevel") -> int:
    try:
        return len(app.telemetry.history(twin, name))
    except NotFound:  # not provisioned yet
        return 0


def river_connection(broker: Broker, **options: Any) -> dict[str, Any]:
    return {
        "type": "mqtt",
        "options": {
            "host": broker.host,
            "port": broker.port,
            "batch_ms": 10,
            "reconnect_max_s": 1,
            **options,
        },
        "mappings": [
            {
                "source": "city/river/{station}/level",
                "twin": "river-{station}",
                "telemetry": "waterLevel",
                "value": "reading.level",
                "timestamp": "reading.time",
            }
        ],
    }


@pytest.fixture
def manager(app: App) -> Iterator[ConnectionManager]:
    """The app's pipeline (units, provisioning) behind a manager that knows only MQTT."""
    connections = ConnectionManager(app.ingest, app.store, {"mqtt": mqtt_connector})
    yield connections
    connections.close()


def river(app: App, *stations: str) -> None:
    for station in stations:
        app.twins.put(f"river-{station}", {"$metadata": {"$model": RIVER}})


def running(manager: ConnectionManager, name: str) -> bool:
    return bool(manager.describe(name)["status"]["state"] == "running")


# -- mapping of payloads -----------------------------------------------------------------------
def test_json_with_jmespath_value_and_timestamp(app: App, broker: Broker, manager: ConnectionManager) -> None:
    river(app, "a1")
    manager.put("river", river_connection(broker, protocol="5"))
    wait_until(lambda: running(manager, "river"), what="the connector to connect")
    publish(broker, levels("a1", 3))
    wait_until(lambda: stored(app, "river-a1") == 3, what="3 readings")
    history = app.telemetry.history("river-a1", "waterLevel").to_json()
    assert [p["value"] for p in history["points"]] == [0.0, 0.1, 0.2]
    assert history["points"][0]["ts"] == "2023-11-14T22:13:20.000Z"
    status = manager.describe("river")["status"]
    assert status["connected_since"] and status["last_error"] is None


def test_bare_number_and_senml_pack(app: App, broker: Broker, manager: ConnectionManager) -> None:
    river(app, "n1", "s1")
    config = {
        "type": "mqtt",
        "options": {"host": broker.host, "port": broker.port, "batch_ms": 10},
        "mappings": [
            {
                "source": "num/{station}",
                "twin": "river-{station}",
                "telemetry": "waterLevel",
                "format": "number",
            },
            {"source": "senml/{station}", "twin": "river-{station}", "telemetry": "{n}", "format": "senml"},
        ],
    }
    manager.put("mixed", config)
    wait_until(lambda: running(manager, "mixed"))
    pack = [
        {"bn": "s1", "bt": T0_MS / 1000, "n": "waterLevel", "v": 1.5},
        {"n": "waterLevel", "t": 1, "v": 1.75},
        {"n": "waterLevel", "t": 2, "v": 2.0},
    ]
    publish(broker, [("num/n1", b" 2.25 "), ("senml/s1", orjson.dumps(pack))])
    wait_until(lambda: stored(app, "river-n1") == 1 and stored(app, "river-s1") == 3)
    assert app.telemetry.latest("river-n1")["waterLevel"].value == 2.25
    values = app.telemetry.history("river-s1", "waterLevel").columns["value"].tolist()
    assert values == [1.5, 1.75, 2.0]


def test_bad_payloads_become_dead_letters_and_the_connector_keeps_running(
    app: App, broker: Broker, manager: ConnectionManager
) -> None:
    river(app, "b1")
    manager.put("river", river_connection(broker))
    wait_until(lambda: running(manager, "river"))
    topic = "city/river/b1/level"
    bad = [
        (topic, b"not json {"),
        (topic, b'{"reading": {"other": 1}}'),
        (topic, b'{"reading": {"level": "high", "time": 1700000000000}}'),
        (topic, b'{"reading": {"level": 1, "time": "yesterday"}}'),
        ("city/river/nobody/level", b'{"reading": {"level": 1, "time": 1700000000000}}'),  # unknown twin
    ]
    publish(broker, [*bad, *levels("b1", 1)])
    wait_until(lambda: stored(app, "river-b1") == 1)
    wait_until(lambda: len(app.store.list_dead_letters("river")) == 5, what="5 dead letters")
    letters = {bytes(d.payload): d for d in app.store.list_dead_letters("river")}
    assert "not valid JSON" in letters[b"not json {"].reason
    assert letters[b'{"reading": {"other": 1}}'].pointer == "/reading/level"
    assert "river-nobody" in letters[bad[4][1]].reason
    assert all(d.source.startswith("city/river/") for d in letters.values())
    status = manager.describe("river")
    assert status["status"]["state"] == "running"
    assert status["counters"]["deadLetters"] == 5


def test_unknown_devices_are_provisioned_from_the_template_model(
    app: App, broker: Broker, manager: ConnectionManager
) -> None:
    manager.put("river", {**river_connection(broker), "provision": {"model": RIVER}})
    wait_until(lambda: running(manager, "river"))
    publish(broker, levels("new1", 2) + levels("new2", 1))
    wait_until(lambda: stored(app, "river-new1") == 2 and stored(app, "river-new2") == 1)
    assert app.twins.get("river-new1").model == RIVER


# -- reliability -------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_no_loss_while_futago_is_away(app: App, broker: Broker, manager: ConnectionManager, protocol: str) -> None:
    """The broker keeps the persistent session; a new connector with the same client id drains it."""
    river(app, "r1")
    manager.put("river", river_connection(broker, protocol=protocol, client_id=f"futago-away-{protocol}"))
    wait_until(lambda: running(manager, "river"))
    publish(broker, levels("r1", 50))
    wait_until(lambda: stored(app, "river-r1") == 50)
    manager.stop("river")
    publish(broker, levels("r1", 300, start=50))  # nobody is connected: the broker queues them
    manager.start("river")
    wait_until(lambda: stored(app, "river-r1") == 350, what="all 350 readings")


def test_no_loss_across_a_broker_restart(app: App, broker: Broker, manager: ConnectionManager) -> None:
    river(app, "r2")
    manager.put("river", river_connection(broker, client_id="futago-restart"))
    wait_until(lambda: running(manager, "river"))
    manager.stop("river")
    publish(broker, levels("r2", 200))  # queued for the stopped session...
    broker.restart()  # ...and kept across the restart (persistence)
    manager.start("river")
    wait_until(lambda: stored(app, "river-r2") == 200, what="the queued readings")

    # Mid-stream: the broker goes away while readings flow, and comes back.
    publish(broker, levels("r2", 300, start=200))
    broker.restart()
    wait_until(lambda: running(manager, "river"), timeout=15, what="the reconnection")
    publish(broker, levels("r2", 100, start=500))
    wait_until(lambda: stored(app, "river-r2") == 600, timeout=15, what="all 600 readings")
    status = manager.describe("river")["status"]
    assert status["reconnects"] >= 1


def test_a_failing_store_is_retried_in_order_and_acknowledged_only_after(app: App, broker: Broker) -> None:
    river(app, "f1")
    pipeline = IngestPipeline(app.telemetry, app.store)
    spec = ConnectionSpec.from_config("flaky", river_connection(broker, client_id="futago-flaky"), ["mqtt"])
    failures = 2
    seen: list[float] = []
    lock = threading.Lock()

    def sink(messages: Sequence[RawMessage]) -> IngestResult:
        nonlocal failures
        with lock:
            if failures:
                failures -= 1
                raise OSError("disk I/O error")
            seen.extend(orjson.loads(m.payload)["reading"]["level"] for m in messages)
        return pipeline.ingest("flaky", spec.mapper, messages)

    connector = mqtt_connector(spec, sink)
    connector.start()
    try:
        wait_until(lambda: connector.status()["state"] == "running")
        publish(broker, levels("f1", 20))
        wait_until(lambda: stored(app, "river-f1") == 20)
        status = connector.status()
        assert status["failed_batches"] == 2 and "disk I/O error" in status["last_error"]
        assert seen == sorted(seen)
        wait_until(lambda: connector.status()["acknowledged"] == 20)
    finally:
        connector.stop()
    assert connector.status()["state"] == "stopped"


def test_shared_subscription_splits_the_stream(app: App, broker: Broker) -> None:
    river(app, "g1")
    manager = ConnectionManager(app.ingest, app.store, {"mqtt": mqtt_connector})
    try:
        for i in range(2):
            manager.put(f"share{i}", river_connection(broker, shared_group="futago", protocol="5"))
        wait_until(lambda: running(manager, "share0") and running(manager, "share1"))
        publish(broker, levels("g1", 100))
        wait_until(lambda: stored(app, "river-g1") == 100)
        counts = [manager.describe(f"share{i}")["counters"]["messages"] for i in range(2)]
        assert sum(counts) == 100
    finally:
        manager.close()


# -- credentials and options -------------------------------------------------------------------
def test_username_and_password(app: App, secured_broker: Broker, manager: ConnectionManager) -> None:
    river(app, "p1")
    manager.put("good", river_connection(secured_broker, username="futago", password="s3cret"))
    manager.put("bad", river_connection(secured_broker, username="futago", password="wrong", client_id="x"))
    wait_until(lambda: running(manager, "good"))
    wait_until(lambda: manager.describe("bad")["status"]["last_error"] is not None, what="the refusal")
    publish(secured_broker, levels("p1", 2), auth=("futago", "s3cret"))
    wait_until(lambda: stored(app, "river-p1") == 2)
    bad = manager.describe("bad")["status"]
    assert bad["state"] in ("connecting", "reconnecting")
    assert "refused" in bad["last_error"]
    manager.stop("bad")  # stops cleanly although it never connected


def test_a_broker_that_is_not_there_is_reported(app: App, manager: ConnectionManager) -> None:
    from tests.conftest import free_port

    config = {
        "type": "mqtt",
        "options": {"host": "127.0.0.1", "port": free_port()},
        "mappings": [{"source": "a/{x}", "twin": "{x}", "telemetry": "t"}],
    }
    manager.put("nowhere", config)
    wait_until(lambda: manager.describe("nowhere")["status"]["last_error"] is not None)
    assert "cannot reach" in manager.describe("nowhere")["status"]["last_error"]
    assert manager.describe("nowhere")["status"]["state"] == "connecting"


@pytest.mark.parametrize(
    ("options", "pointer"),
    [
        ({"port": 0}, "/options/port"),
        ({"port": "1883"}, "/options/port"),
        ({"protocol": "4"}, "/options/protocol"),
        ({"qos": 3}, "/options/qos"),
        ({"batch_ms": -1}, "/options/batch_ms"),
        ({"tls": {"ca": "/no/such/ca.pem"}}, "/options/tls/ca"),
        ({"shared_group": "a/b"}, "/options/shared_group"),
        ({"password": "x"}, "/options/username"),
        ({"hots": "x"}, "/options/hots"),
    ],
)
def test_options_are_validated(options: dict[str, Any], pointer: str) -> None:
    config = {
        "type": "mqtt",
        "options": options,
        "mappings": [{"source": "a", "twin": "t", "telemetry": "x"}],
    }
    spec = ConnectionSpec.from_config("c", config, ["mqtt"])
    with pytest.raises(InvalidInput) as caught:
        mqtt_connector(spec, lambda messages: IngestResult(0))
    assert pointer in [p.pointer for p in caught.value.problems]


def test_defaults() -> None:
    config = {"type": "mqtt", "mappings": [{"source": "plant/{s}/temp", "twin": "{s}", "telemetry": "x"}]}
    connector = mqtt_connector(ConnectionSpec.from_config("plant", config, ["mqtt"]), lambda m: IngestResult(0))
    assert isinstance(connector, MqttConnector)
    assert connector.options.client_id == "futago-plant"
    assert (connector.options.port, connector.options.qos) == (1883, 1)
    assert connector.filters == ["plant/+/temp"]
    assert connector.status()["state"] == "stopped"


# -- the connector's PUBLISH fast path ---------------------------------------------------------
def _publish_packet(topic: bytes, payload: bytes, mid: int, qos: int = 1, properties: bytes | None = None) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + (mid.to_bytes(2, "big") if qos else b"")
    if properties is not None:  # MQTT 5: property length (one byte here) and the properties
        body += bytes([len(properties)]) + properties
    body += payload
    length = bytearray()
    size = len(body)
    while True:
        byte, size = size % 128, size // 128
        length.append(byte | (0x80 if size else 0))
        if not size:
            break
    return bytes([0x30 | qos << 1]) + bytes(length) + body


def test_fast_path_takes_complete_publishes_and_leaves_the_rest_to_paho() -> None:
    from futago.protocols.mqtt.client import _take_publishes

    big = b"x" * 300  # a two-byte remaining length
    data = _publish_packet(b"a/b", b"1", 7) + _publish_packet(b"a/c", big, 8) + _publish_packet(b"q0", b"z", 0, qos=0)
    pingresp = b"\xd0\x00"
    taken, pos = _take_publishes(data + pingresp, 0, v5=False)
    assert [(p.topic, p.payload, p.mid, p.qos) for p in taken] == [
        ("a/b", b"1", 7, 1),
        ("a/c", big, 8, 1),
        ("q0", b"z", 0, 0),
    ]
    assert pos == len(data)  # the PINGRESP is paho's
    cut = _publish_packet(b"a/d", b"2", 9)
    taken, pos = _take_publishes(data + cut[:-1], 0, v5=False)  # the last packet is incomplete
    assert len(taken) == 3 and pos == len(data)
    qos2 = _publish_packet(b"a/e", b"3", 10, qos=2)
    assert _take_publishes(qos2, 0, v5=False) == ([], 0)  # QoS 2 keeps paho's state machine
    assert _take_publishes(_publish_packet(b"", b"4", 11), 0, v5=False) == ([], 0)  # malformed in 3.1.1: paho's error


def test_fast_path_skips_mqtt5_properties() -> None:
    from futago.protocols.mqtt.client import _take_publishes

    props = b"\x01\x01" + b"\x03\x00\x04json"  # payload format indicator, content type
    data = _publish_packet(b"a/b", b'{"v":1}', 3, properties=props) + _publish_packet(b"a/c", b"2", 4, properties=b"")
    taken, pos = _take_publishes(data, 0, v5=True)
    assert [(p.topic, p.payload, p.mid) for p in taken] == [("a/b", b'{"v":1}', 3), ("a/c", b"2", 4)]
    assert pos == len(data)
    overlong = b"\x32\x09\x00\x03a/b\x00\x05\x09\x01"  # a property length past the packet's end
    assert _take_publishes(overlong, 0, v5=True) == ([], 0)


def test_a_large_backlog_is_stored_and_acknowledged_in_bulk(app: App, broker: Broker) -> None:
    """Thousands of messages per read exercise the bulk read, split packets and one-write acks."""
    river(app, "k1")
    pipeline = IngestPipeline(app.telemetry, app.store)
    spec = ConnectionSpec.from_config("bulk", river_connection(broker, client_id="futago-bulk"), ["mqtt"])
    connector = mqtt_connector(spec, lambda messages: pipeline.ingest("bulk", spec.mapper, messages))
    connector.start()
    try:
        wait_until(lambda: connector.status()["state"] == "running")
        connector.stop()  # the broker queues for the persistent session
        publish(broker, levels("k1", 5000))
        connector.start()
        wait_until(lambda: stored(app, "river-k1") == 5000, timeout=30, what="5000 readings")
        wait_until(lambda: connector.status()["acknowledged"] == 5000, what="every acknowledgement")
    finally:
        connector.stop()
