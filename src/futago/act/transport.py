"""How a command reaches its device: the transport specification a command binding names, and the
``CommandTransport`` interface each protocol implements (``futago.protocols.mqtt``, ``futago.protocols.opcua``).

Every transport goes through a connection of the ingest stage (``[connections.<name>]``), so the broker or
server, its credentials and TLS are configured once. The composition root (``futago.app``) registers one
transport per type name; ``CommandTransports`` checks that a binding's connection exists and is of the
transport's type, and hands the command to the transport of that type.

**MQTT** (``{"type": "mqtt", "connection": ..., "topic": ..., "response_topic": ..., "timeout": "10s", "qos": 1}``):
a request published on ``topic``, answered on ``response_topic`` (default ``<topic>/response``); both may name
``{twin}`` and ``{command}`` (see ``futago.protocols.mqtt.transport``).

**OPC UA** (``{"type": "opcua", "connection": ..., "write": "<node>"}`` or ``{..., "object": "<node>", "method":
"<node>"}``): a write or a method call, then ``read_back`` (see ``futago.protocols.opcua.transport``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from futago.core.errors import FutagoError, InvalidInput
from futago.core.problems import Problem
from futago.core.telemetry import parse_duration

log = logging.getLogger(__name__)

_DEFAULT_TIMEOUT_S = 10.0
_MAX_TIMEOUT_S = 600.0
_MAX_TOPIC_BYTES = 32_768  # MQTT allows 65,535; the rest is room for the twin id and command name
#: The OPC UA built-in types a value may be written as (OPC 10000-6, 5.1.2), as asyncua's VariantType names them.
OPCUA_VARIANT_TYPES = frozenset(
    {
        "Null", "Boolean", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Float",
        "Double", "String", "DateTime", "Guid", "ByteString", "XmlElement", "NodeId", "ExpandedNodeId",
        "StatusCode", "QualifiedName", "LocalizedText", "ExtensionObject", "DataValue", "Variant", "DiagnosticInfo",
    }
)  # fmt: skip


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
    if variant_type is not None and variant_type not in OPCUA_VARIANT_TYPES:
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


class CommandTransport(Protocol):
    """One protocol's way of sending commands (registered by type name in the composition root)."""

    type: str

    def send(self, spec: Any, command: OutgoingCommand, on_sent: OnSent) -> Outcome:
        """Send and wait for the outcome; may raise FutagoError (the reason is the command's error)."""
        ...

    def close(self) -> None:
        """Stop: wake every command waiting for an answer, and release the clients."""
        ...


class TransportsClosed(FutagoError):
    """A transport was asked to send while futago stops."""

    status = 503
    title = "Command transports closed"


class CommandTransports:
    """Sends each command through the registered transport of its type, over a connection of a
    ConnectionManager."""

    def __init__(self, connections: Connections, transports: Mapping[str, CommandTransport]) -> None:
        self.connections = connections
        self.transports = dict(transports)

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
        if spec.type not in self.transports:
            return [Problem(f"{pointer}/type", f"no {spec.type} command transport here")]
        return []

    def send(self, spec: TransportSpec, command: OutgoingCommand, on_sent: OnSent) -> Outcome:
        """Send and wait for the outcome; never raises for a failure of the device or the network."""
        problems = self.check(spec)
        if problems:
            return Outcome(False, error=problems[0].message)
        try:
            return self.transports[spec.type].send(spec, command, on_sent)
        except FutagoError as exc:
            return Outcome(False, error=exc.detail)
        except Exception as exc:  # a library's error: the command failed, futago goes on
            log.exception("sending command %s failed", command.id)
            return Outcome(False, error=f"sending failed: {type(exc).__name__}: {exc}")

    def close(self) -> None:
        for transport in self.transports.values():
            transport.close()
