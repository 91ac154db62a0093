"""How a command reaches its device: an MQTT request with a correlated answer, or an OPC UA write or method call.

Both go through a connection of the ingest stage (``[connections.<name>]``), so the broker or server, its
credentials and TLS are configured once.

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

**OPC UA** (``{"type": "opcua", "connection": ..., "write": "<node>"}`` or ``{..., "object": "<node>", "method":
"<node>"}``). A write sends the payload (or its ``field``) as the node's value, typed as the node declares (or as
``variant_type``); a method call passes the payload (a scalar), or the object payload's ``arguments`` in order. A
method whose only output is ``false`` refused the command. Afterwards ``read_back`` (by default the written node) is
read, and that value is the resulting state recorded with the command.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import orjson

from futago.core.errors import FutagoError, InvalidInput
from futago.core.paths import NO_FILES, DataRoot
from futago.core.problems import Problem
from futago.core.telemetry import parse_duration

if TYPE_CHECKING:
    import paho.mqtt.client as paho

    from futago.ingest.mqtt import MqttOptions

log = logging.getLogger(__name__)

_OK = frozenset({"ok", "completed", "success"})
_DEFAULT_TIMEOUT_S = 10.0
_MAX_TIMEOUT_S = 600.0
_MAX_TOPIC_BYTES = 32_768  # MQTT allows 65,535; the rest is room for the twin id and command name


# ---------------------------------------------------------------------------------------------
# Specifications
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MqttTransport:
    connection: str
    topic: str
    response_topic: str
    timeout_s: float = _DEFAULT_TIMEOUT_S
    qos: int = 1
    type: Literal["mqtt"] = "mqtt"


@dataclass(frozen=True)
class OpcUaTransport:
    connection: str
    write: str | None = None  # a node to write the value to ...
    object: str | None = None  # ... or a method (and the object it belongs to) to call
    method: str | None = None
    variant_type: str | None = None
    read_back: str | None = None
    field: str | None = None  # the payload field written, when the payload is an object
    arguments: tuple[str, ...] = ()  # the payload fields passed to the method, in order
    type: Literal["opcua"] = "opcua"


TransportSpec = MqttTransport | OpcUaTransport
_MQTT_KEYS = {"type", "connection", "topic", "response_topic", "timeout", "qos"}
_OPCUA_KEYS = {"type", "connection", "write", "object", "method", "variant_type", "read_back", "field", "arguments"}


def parse_transport(config: Any, pointer: str = "/transport") -> TransportSpec:
    """A transport from its configuration; InvalidInput names every mistake at once."""
    if not isinstance(config, dict):
        raise InvalidInput([Problem(pointer, "a transport is an object: {type: 'mqtt' | 'opcua', connection, ...}")])
    kind = config.get("type")
    if kind not in ("mqtt", "opcua"):
        raise InvalidInput([Problem(f"{pointer}/type", "type is 'mqtt' or 'opcua'")])
    known = _MQTT_KEYS if kind == "mqtt" else _OPCUA_KEYS
    problems = [
        Problem(f"{pointer}/{key}", f"unknown key for an {kind} transport; use {sorted(known)}")
        for key in config
        if key not in known
    ]

    def text(key: str, required: bool = False) -> str | None:
        value = config.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem(f"{pointer}/{key}", f"'{key}' is a non-empty string"))
            return None
        return value

    connection = text("connection", required=True) or ""
    if kind == "mqtt":
        topic = text("topic", required=True) or ""
        response = text("response_topic") or f"{topic}/response"
        for key, value in (("topic", topic), ("response_topic", response)):
            if "+" in value or "#" in value or "\x00" in value:
                problems.append(Problem(f"{pointer}/{key}", "a command topic names one topic: no '+', '#' or NUL"))
            elif len(value.encode()) > _MAX_TOPIC_BYTES:  # leaves room for a twin id in {twin}
                problems.append(Problem(f"{pointer}/{key}", f"a topic is at most {_MAX_TOPIC_BYTES} bytes"))
        qos = config.get("qos", 1)
        if qos not in (0, 1, 2) or isinstance(qos, bool):
            problems.append(Problem(f"{pointer}/qos", "qos is 0, 1 or 2"))
        timeout_s = _timeout(config.get("timeout", "10s"), f"{pointer}/timeout", problems)
        if problems:
            raise InvalidInput(problems)
        return MqttTransport(connection, topic, response, timeout_s, int(qos))
    write, obj, method = text("write"), text("object"), text("method")
    if (write is None) == (method is None):
        problems.append(Problem(pointer, "give either 'write' (a node) or 'object' and 'method' (a method call)"))
    if method is not None and obj is None:
        problems.append(Problem(f"{pointer}/object", "a method call needs the 'object' node the method belongs to"))
    arguments = config.get("arguments", [])
    if not isinstance(arguments, list) or not all(isinstance(a, str) and a for a in arguments):
        problems.append(Problem(f"{pointer}/arguments", "arguments is a list of payload field names"))
        arguments = []
    variant_type = text("variant_type")
    if variant_type is not None:
        from asyncua import ua  # the OPC UA library, only where an OPC UA transport is configured

        if variant_type not in ua.VariantType.__members__:
            problems.append(Problem(f"{pointer}/variant_type", "an OPC UA variant type, e.g. Double, Float, Int32"))
    read_back, field_name = text("read_back"), text("field")
    if problems:
        raise InvalidInput(problems)
    return OpcUaTransport(connection, write, obj, method, variant_type, read_back, field_name, tuple(arguments))


def _timeout(value: Any, pointer: str, problems: list[Problem]) -> float:
    try:
        seconds = parse_duration(value) / 1e6
    except (InvalidInput, TypeError, ValueError, AttributeError):
        seconds = -1.0
    if not 0 < seconds <= _MAX_TIMEOUT_S:
        problems.append(Problem(pointer, f"timeout is a duration up to {_MAX_TIMEOUT_S:g} s, e.g. '10s'"))
        return _DEFAULT_TIMEOUT_S
    return seconds


# ---------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingCommand:
    id: str  # also the correlation id
    twin_id: str
    command: str
    payload: Any


@dataclass(frozen=True)
class Outcome:
    """What came back: ``ok`` completes the command, otherwise ``error`` says why it failed."""

    ok: bool
    response: Any = None  # the device's answer
    state: Any = None  # the resulting state: the node read back, or the state the device reports
    error: str | None = None


# Called once the request has left futago, with a description of exactly what was sent.
OnSent = Callable[[dict[str, Any]], None]


class Connections(Protocol):
    """The part of the ingest stage's ConnectionManager that transports use."""

    def spec(self, name: str) -> Any: ...  # has .type and .options
    def connector(self, name: str) -> Any: ...


class TransportsClosed(FutagoError):
    status = 503
    title = "Command transports closed"


class CommandTransports:
    """Sends commands through the connections of a ConnectionManager; one MQTT request client per connection.
    ``files``: the data root a connection's TLS files lie in (the one its connector was checked against)."""

    def __init__(self, connections: Connections, files: DataRoot = NO_FILES) -> None:
        self.connections = connections
        self.files = files
        self._mqtt: dict[str, tuple[dict[str, Any], _MqttRequester]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def check(self, spec: TransportSpec, pointer: str = "/transport") -> list[Problem]:
        """Problems with the connection a transport names (it must exist and be of the transport's type)."""
        try:
            connection = self.connections.spec(spec.connection)
        except FutagoError:
            return [
                Problem(
                    f"{pointer}/connection",
                    f"connection '{spec.connection}' does not exist; create it first (PUT /connections/{{name}})",
                )
            ]
        if connection.type != spec.type:
            return [
                Problem(
                    f"{pointer}/connection",
                    f"connection '{spec.connection}' is an {connection.type} connection, not {spec.type}",
                )
            ]
        return []

    def send(self, spec: TransportSpec, command: OutgoingCommand, on_sent: OnSent) -> Outcome:
        """Send and wait for the outcome; never raises for a failure of the device or the network."""
        problems = self.check(spec)
        if problems:
            return Outcome(False, error=problems[0].message)
        try:
            if isinstance(spec, MqttTransport):
                return self._requester(spec.connection).request(spec, command, on_sent)
            return _send_opcua(self.connections.connector(spec.connection), spec, command, on_sent)
        except FutagoError as exc:
            return Outcome(False, error=exc.detail)
        except Exception as exc:  # a library's error: the command failed, futago goes on
            log.exception("sending command %s failed", command.id)
            return Outcome(False, error=f"sending failed: {type(exc).__name__}: {exc}")

    def _requester(self, name: str) -> _MqttRequester:
        from futago.ingest.mqtt import MqttOptions

        options = dict(self.connections.spec(name).options)
        with self._lock:
            if self._closed:
                raise TransportsClosed("futago is stopping; the command was not sent")
            known = self._mqtt.get(name)
            if known is not None and known[0] == options:
                return known[1]
            if known is not None:  # the connection was redefined: a new client with its new settings
                known[1].close()
            requester = _MqttRequester(name, MqttOptions.parse(name, options, self.files))
            self._mqtt[name] = (options, requester)
            return requester

    def close(self) -> None:
        with self._lock:
            self._closed = True
            requesters, self._mqtt = [r for _, r in self._mqtt.values()], {}
        for requester in requesters:
            requester.close()


# ---------------------------------------------------------------------------------------------
# MQTT
# ---------------------------------------------------------------------------------------------


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
        import ssl

        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.name = name
        self.options = options
        self.v5 = options.protocol == "5"
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{options.client_id}-commands",
            clean_session=None if self.v5 else True,
            protocol=paho.MQTTv5 if self.v5 else paho.MQTTv311,
        )
        if options.username is not None:
            password = options.password.reveal() if options.password is not None else None
            client.username_pw_set(options.username, password)
        if options.tls is not None:
            tls = options.tls
            client.tls_set(ca_certs=tls.ca, certfile=tls.cert, keyfile=tls.key, cert_reqs=ssl.CERT_REQUIRED)
            client.tls_insecure_set(tls.insecure)
        client.reconnect_delay_set(1, options.reconnect_max_s)
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


# ---------------------------------------------------------------------------------------------
# OPC UA
# ---------------------------------------------------------------------------------------------


def _send_opcua(connector: Any, spec: OpcUaTransport, command: OutgoingCommand, on_sent: OnSent) -> Outcome:
    from futago.ingest.opcua import OpcUaConnector

    if not isinstance(connector, OpcUaConnector):
        return Outcome(False, error=f"connection '{spec.connection}' has no OPC UA connector")
    state = connector.status()["state"]
    if state != "running":  # not sent at all: say so before anything is recorded as sent
        return Outcome(False, error=f"OPC UA connection '{spec.connection}' is {state}; retry when it runs")
    payload = command.payload
    sent: dict[str, Any] = {"transport": "opcua", "connection": spec.connection}
    if spec.write is not None:
        value = payload.get(spec.field) if spec.field is not None and isinstance(payload, dict) else payload
        on_sent({**sent, "operation": "write", "node": spec.write, "value": value, "variantType": spec.variant_type})
        connector.write(spec.write, value, spec.variant_type)
        response: dict[str, Any] = {"written": value}
        ok, error = True, None
    else:
        assert spec.object is not None and spec.method is not None
        if isinstance(payload, dict):
            args = [payload.get(name) for name in spec.arguments] if spec.arguments else list(payload.values())
        else:
            args = [] if payload is None else [payload]
        on_sent({**sent, "operation": "call", "object": spec.object, "method": spec.method, "arguments": args})
        outputs = _jsonable(connector.call(spec.object, spec.method, *args))
        response = {"outputs": outputs}
        ok = outputs != [False]
        error = None if ok else f"the method {spec.method} answered false: the device refused the command"
    return Outcome(ok, response, _read_back(connector, spec.read_back or spec.write), error)


def _read_back(connector: Any, node: str | None) -> Any:
    if node is None:
        return None
    try:
        return {"node": node, "value": _jsonable(connector.read(node))}
    except FutagoError as exc:  # the command went through; only the confirmation is missing
        return {"node": node, "error": exc.detail}


def _jsonable(value: Any) -> Any:
    """OPC UA values (datetimes, byte strings, structures) as JSON the record can keep."""
    return orjson.loads(orjson.dumps(value, default=str))
