"""The MQTT command transport: a request with a correlated answer.

**MQTT** (``{"type": "mqtt", "connection": ..., "topic": ..., "response_topic": ..., "timeout": "10s", "qos": 1}``).
futago publishes the request on ``topic`` and waits ``timeout`` for the device's answer on ``response_topic``
(default ``<topic>/response``); both may name ``{twin}`` and ``{command}``. The correlation id is the command's id,
carried two ways so that MQTT 5 and MQTT 3.1.1 devices both work:

- in the JSON body, always::

    request  {"correlationId": "<id>", "twinId": "gate-1", "command": "closeGate", "payload": <request>,
              "responseTopic": "gates/gate-1/closeGate/response"}
    answer   {"correlationId": "<id>", "status": "ok" | "error", "response": <DTDL response>,
              "state": {...the device's state after acting...}, "message": "why, when it failed"}

- and, on a connection with ``protocol = "5"`` (the default), as the standard MQTT 5 ``ResponseTopic`` and
  ``CorrelationData`` (the id in UTF-8) properties of the request. An answer's ``CorrelationData`` wins over its
  JSON field, so an MQTT 5 device may echo the property and leave the body alone.

An answer whose ``status`` is ``ok``, ``completed`` or ``success`` (or absent) completes the command; any other
status, or no answer in time, fails it with the reason. futago's request client is a session of its own
(client id ``<connection client id>-commands``, clean start), so it never disturbs the ingest session.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson

from futago.act.transport import Connections, OnSent, Outcome, OutgoingCommand, TransportsClosed, spec_checker
from futago.core.errors import InvalidInput
from futago.core.paths import NO_FILES, DataRoot
from futago.core.telemetry import parse_duration
from futago.core.validation import Checker
from futago.protocols.mqtt.settings import MqttOptions

if TYPE_CHECKING:
    import paho.mqtt.client as paho

log = logging.getLogger(__name__)

_OK = frozenset({"ok", "completed", "success"})
_DEFAULT_TIMEOUT_S = 10.0
_MAX_TIMEOUT_S = 600.0
_MAX_TOPIC_BYTES = 32_768  # MQTT allows 65,535; the rest is room for the twin id and command name
_KEYS = {"type", "connection", "topic", "response_topic", "timeout", "qos"}


@dataclass(frozen=True)
class MqttTransport:
    """A binding's MQTT transport: where the request goes, where its answer comes, and how long to wait."""

    connection: str
    topic: str
    response_topic: str
    timeout_s: float = _DEFAULT_TIMEOUT_S
    qos: int = 1
    type: Literal["mqtt"] = "mqtt"


def parse_mqtt_transport(config: Mapping[str, Any], pointer: str) -> MqttTransport:
    """A binding's ``{"type": "mqtt", ...}`` transport; InvalidInput names every mistake at once."""
    check, connection = spec_checker(config, pointer, _KEYS)
    topic = check.text(config, "topic", required=True, max_length=None) or ""
    response = check.text(config, "response_topic", max_length=None) or f"{topic}/response"
    for key, value in (("topic", topic), ("response_topic", response)):
        if "+" in value or "#" in value or "\x00" in value:
            check.add(f"{pointer}/{key}", "a command topic names one topic: no '+', '#' or NUL")
        elif len(value.encode()) > _MAX_TOPIC_BYTES:  # leaves room for a twin id in {twin}
            check.add(f"{pointer}/{key}", f"a topic is at most {_MAX_TOPIC_BYTES} bytes")
    qos = config.get("qos", 1)
    if qos not in (0, 1, 2) or isinstance(qos, bool):
        check.add(f"{pointer}/qos", "qos is 0, 1 or 2")
    timeout_s = _timeout(config.get("timeout", "10s"), f"{pointer}/timeout", check)
    check.raise_if_any()
    return MqttTransport(connection, topic, response, timeout_s, int(qos))


def _timeout(value: Any, pointer: str, check: Checker) -> float:
    try:
        seconds = parse_duration(value) / 1e6
    except (InvalidInput, TypeError, ValueError, AttributeError):
        seconds = -1.0
    if not 0 < seconds <= _MAX_TIMEOUT_S:
        check.add(pointer, f"timeout is a duration up to {_MAX_TIMEOUT_S:g} s, e.g. '10s'")
        return _DEFAULT_TIMEOUT_S
    return seconds


class MqttCommandTransport:
    """Sends commands through MQTT connections; one request client per connection. ``files``: the data root a
    connection's TLS files lie in (the one its connector was checked against)."""

    type = "mqtt"
    parse_spec = staticmethod(parse_mqtt_transport)

    def __init__(self, connections: Connections, files: DataRoot = NO_FILES) -> None:
        self.connections = connections
        self.files = files
        self._mqtt: dict[str, tuple[dict[str, Any], _MqttRequester]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def send(self, spec: MqttTransport, command: OutgoingCommand, on_sent: OnSent) -> Outcome:
        return self._requester(spec.connection).request(spec, command, on_sent)

    def _requester(self, name: str) -> _MqttRequester:
        options = dict(self.connections.spec(name).options)
        with self._lock:
            if self._closed:
                raise TransportsClosed("futago is stopping; the command was not sent")
            known = self._mqtt.get(name)
            if known is not None and known[0] == options:
                return known[1]
            if known is not None:  # the connection was redefined: a new client with its new settings
                known[1].close()
            requester = _MqttRequester(name, MqttOptions.parse_connection(name, options, self.files))
            self._mqtt[name] = (options, requester)
            return requester

    def close(self) -> None:
        with self._lock:
            self._closed = True
            requesters, self._mqtt = [r for _, r in self._mqtt.values()], {}
        for requester in requesters:
            requester.close()


@dataclass
class _Waiter:
    done: threading.Event = field(default_factory=threading.Event)
    answer: Any = None
    error: str | None = None


def _topic(template: str, command: OutgoingCommand) -> str:
    # Plain replacement rather than str.format: a topic may hold other braces, and nothing else is expanded.
    return template.replace("{twin}", command.twin_id).replace("{command}", command.command)


class _MqttRequester:
    """One MQTT client that publishes requests and matches answers to them by correlation id."""

    def __init__(self, name: str, options: MqttOptions) -> None:
        from futago.protocols.mqtt.client import connect_client  # paho, only where an MQTT command is sent

        self.name = name
        self.options = options
        self.v5 = options.protocol == "5"
        client = connect_client(options, f"{options.client_id}-commands", clean=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self.client = client
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._topics: set[str] = set()  # response topics subscribed to (again after every reconnect)
        self._subscriptions: dict[int, tuple[threading.Event, list[bool]]] = {}
        self._waiting: dict[str, _Waiter] = {}
        if self.v5:
            client.connect_async(options.host, options.port, options.keepalive, clean_start=True)
        else:
            client.connect_async(options.host, options.port, options.keepalive)
        client.loop_start()

    def close(self) -> None:
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for waiter in waiting.values():
            waiter.error = "futago closed the command transport before the device answered"
            waiter.done.set()
        self.client.disconnect()
        self.client.loop_stop()

    # -- paho's network thread --------------------------------------------------------------------

    def _on_connect(self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT commands %s: the broker refused the connection: %s", self.name, reason)
            return
        with self._lock:
            # A clean session forgot the subscriptions: the next request on each topic subscribes again and waits
            # for the SUBACK, so that no answer can come before the subscription does.
            self._topics.clear()
        self._connected.set()

    def _on_disconnect(self, _client: paho.Client, _userdata: Any, _flags: Any, _reason: Any, _props: Any) -> None:
        self._connected.clear()

    def _on_subscribe(self, _client: paho.Client, _userdata: Any, mid: int, reasons: list[Any], _props: Any) -> None:
        with self._lock:
            pending = self._subscriptions.pop(mid, None)
        if pending is not None:
            pending[1].append(not any(r.is_failure for r in reasons))
            pending[0].set()

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        answer: Any
        try:
            answer = orjson.loads(message.payload)
        except orjson.JSONDecodeError:
            answer = None
        correlation = getattr(getattr(message, "properties", None), "CorrelationData", None)
        if isinstance(correlation, bytes | bytearray):
            correlation_id: Any = correlation.decode(errors="replace")
        else:
            correlation_id = answer.get("correlationId") if isinstance(answer, dict) else None
        with self._lock:
            waiter = self._waiting.pop(correlation_id, None) if isinstance(correlation_id, str) else None
        if waiter is None:
            log.info("MQTT commands %s: an answer on %s matches no waiting command", self.name, message.topic)
            return
        if isinstance(answer, dict):
            waiter.answer = answer
        else:
            waiter.error = f"the device's answer on {message.topic} is not a JSON object"
        waiter.done.set()

    # -- the caller's thread ----------------------------------------------------------------------

    def request(self, spec: MqttTransport, command: OutgoingCommand, on_sent: OnSent) -> Outcome:
        deadline = time.monotonic() + spec.timeout_s
        broker = f"{self.options.host}:{self.options.port}"
        if not self._connected.wait(spec.timeout_s):
            return Outcome(False, error=f"cannot reach the broker of connection '{self.name}' ({broker})")
        topic, response_topic = _topic(spec.topic, command), _topic(spec.response_topic, command)
        if any(c in topic + response_topic for c in "+#"):  # a twin id may hold them; a topic may not
            return Outcome(False, error=f"the twin id makes '{topic}' an MQTT wildcard, which cannot be published to")
        if not self._subscribe(response_topic, deadline):
            return Outcome(False, error=f"the broker did not let futago subscribe to {response_topic}")
        message = {
            "correlationId": command.id,
            "twinId": command.twin_id,
            "command": command.command,
            "payload": command.payload,
            "responseTopic": response_topic,
        }
        waiter = _Waiter()
        with self._lock:
            self._waiting[command.id] = waiter
        try:
            info = self.client.publish(topic, orjson.dumps(message), qos=spec.qos, properties=self._properties(message))
            if info.rc != 0:
                return Outcome(False, error=f"publishing on {topic} failed (paho error {info.rc})")
            on_sent(
                {
                    "transport": "mqtt",
                    "connection": self.name,
                    "topic": topic,
                    "qos": spec.qos,
                    "correlationId": command.id,
                    "message": message,
                }
            )
            if not waiter.done.wait(max(0.0, deadline - time.monotonic())):
                acked = "the broker acknowledged it" if info.is_published() else "the broker did not acknowledge it"
                return Outcome(False, error=f"no answer on {response_topic} within {spec.timeout_s:g} s ({acked})")
        finally:
            with self._lock:
                self._waiting.pop(command.id, None)
        return _judge(waiter)

    def _properties(self, message: Mapping[str, Any]) -> Any:
        if not self.v5:
            return None
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        properties = Properties(PacketTypes.PUBLISH)
        properties.ResponseTopic = message["responseTopic"]
        properties.CorrelationData = str(message["correlationId"]).encode()
        return properties

    def _subscribe(self, topic: str, deadline: float) -> bool:
        """Subscribe to a response topic once, before the first request on it, and wait for the SUBACK."""
        with self._lock:
            if topic in self._topics:
                return True
            done, granted = threading.Event(), list[bool]()
            # Under the lock, so the SUBACK callback cannot look for the packet id before it is registered.
            rc, mid = self.client.subscribe(topic, qos=1)
            if rc != 0 or mid is None:
                return False
            self._subscriptions[mid] = (done, granted)
        if not done.wait(max(0.0, deadline - time.monotonic())) or not granted[0]:
            return False
        with self._lock:
            self._topics.add(topic)
        return True


def _judge(waiter: _Waiter) -> Outcome:
    if waiter.error is not None:
        return Outcome(False, error=waiter.error)
    answer: dict[str, Any] = waiter.answer
    status, state = answer.get("status", "ok"), answer.get("state")
    if isinstance(status, str) and status.lower() in _OK:
        return Outcome(True, answer, state)
    why = answer.get("message")
    return Outcome(False, answer, state, f"the device answered {status!r}" + (f": {why}" if why else ""))
