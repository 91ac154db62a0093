"""The simulated field devices of the scenarios: an MQTT floodgate that obeys commands.

The device subscribes to ``gates/+/cmd/+`` on a real broker and answers each request on its response topic with the
correlation id: the MQTT 5 ``CorrelationData`` property where the request had one (``echo="property"``), or the JSON
``correlationId`` field (``echo="json"``, and always on MQTT 3.1.1). ``silent`` makes it drop requests (to test the
timeout), ``refuse`` makes it answer ``status: "error"``. ``publish_flow`` sends the ``flow`` telemetry that an
ingest connection maps onto the gate's twin, which is what interlocks read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

FLOODGATE = "dtmi:futago:demo:Floodgate;1"  # in futago/samples/demo_models.json
REQUESTS = "gates/+/cmd/+"


def gate_connection(host: str, port: int, protocol: str = "5") -> dict[str, Any]:
    """An ingest connection to the gates' broker: flow telemetry in, and the connection commands go out through."""
    return {
        "type": "mqtt",
        "options": {"host": host, "port": port, "protocol": protocol, "batch_ms": 5, "reconnect_max_s": 1},
        "mappings": [{"source": "gates/{gate}/flow", "twin": "{gate}", "telemetry": "flow", "value": "value"}],
    }


class GateDevice:
    def __init__(self, host: str, port: int, protocol: Literal["3.1.1", "5"] = "5") -> None:
        self.v5 = protocol == "5"
        self.echo: Literal["property", "json"] = "property" if self.v5 else "json"
        self.silent = False
        self.refuse = False
        self.position: dict[str, float] = {}  # gate -> percent open
        self.requests: list[dict[str, Any]] = []
        self.properties: list[dict[str, Any]] = []  # the MQTT 5 properties each request came with
        self._subscribed = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id="",
            protocol=paho.MQTTv5 if self.v5 else paho.MQTTv311,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message
        self.host, self.port = host, port

    def start(self) -> None:
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("the gate device could not subscribe")

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish_flow(self, gate: str, value: float) -> None:
        self.client.publish(f"gates/{gate}/flow", orjson.dumps({"value": value}), qos=1).wait_for_publish(10)

    def _on_connect(self, client: paho.Client, *_: Any) -> None:
        client.subscribe(REQUESTS, qos=1)

    def _on_message(self, client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        request = orjson.loads(message.payload)
        props = getattr(message, "properties", None)
        correlation = getattr(props, "CorrelationData", None)
        response_topic = getattr(props, "ResponseTopic", None)
        self.requests.append(request)
        self.properties.append({"CorrelationData": correlation, "ResponseTopic": response_topic})
        if self.silent:
            return
        gate = message.topic.split("/")[1]
        if request["command"] == "closeGate":
            self.position[gate] = 0.0
        elif request["command"] == "setOpening":
            self.position[gate] = float(request["payload"]["percent"])
        answer: dict[str, Any] = (
            {"status": "error", "message": "the gate is jammed"} if self.refuse else {"status": "ok"}
        )
        answer |= {"response": self.position.get(gate), "state": {"position": self.position.get(gate)}}
        properties = None
        if self.echo == "property" and correlation is not None:
            properties = Properties(PacketTypes.PUBLISH)
            properties.CorrelationData = correlation
        else:
            answer["correlationId"] = request["correlationId"]
        client.publish(response_topic or request["responseTopic"], orjson.dumps(answer), qos=1, properties=properties)


@contextmanager
def running_gate(host: str, port: int, protocol: Literal["3.1.1", "5"] = "5") -> Iterator[GateDevice]:
    device = GateDevice(host, port, protocol)
    device.start()
    try:
        yield device
    finally:
        device.stop()
