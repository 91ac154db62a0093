"""How a command reaches its device: the transport specification a command binding names, and the
``CommandTransport`` interface each protocol implements (``futago.protocols.mqtt``, ``futago.protocols.opcua``).

Every transport goes through a connection of the ingest stage (``[connections.<name>]``), so the broker or
server, its credentials and TLS are configured once. The composition root (``futago.app``) registers each
transport type by name: its class reads the ``transport`` object of a binding (``parse_spec``, checked here
only for what every transport shares: an object, a registered ``type`` and a ``connection``) and, built over
the connections, sends. ``CommandTransports`` checks that a binding's connection exists and is of the
transport's type, and hands the command to the transport of that type.

**MQTT** (``{"type": "mqtt", "connection": ..., "topic": ..., "response_topic": ..., "timeout": "10s", "qos": 1}``):
a request published on ``topic``, answered on ``response_topic`` (default ``<topic>/response``); both may name
``{twin}`` and ``{command}`` (see ``futago.protocols.mqtt.transport``).

**OPC UA** (``{"type": "opcua", "connection": ..., "write": "<node>"}`` or ``{..., "object": "<node>", "method":
"<node>"}``): a write or a method call, then ``read_back`` (see ``futago.protocols.opcua.transport``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from futago.core.errors import FutagoError, InvalidInput
from futago.core.paths import DataRoot
from futago.core.problems import Problem
from futago.core.validation import Checker

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Specifications
# ---------------------------------------------------------------------------------------------


class TransportSpec(Protocol):
    """A binding's transport as its protocol read it. Every one names its type (the name its transport is
    registered by) and the connection it goes through; the rest is the protocol's own."""

    @property
    def type(self) -> str: ...

    @property
    def connection(self) -> str: ...


#: Reads one type's specification (an object whose 'type' names it); InvalidInput names every mistake at once.
SpecParser = Callable[[Mapping[str, Any], str], TransportSpec]


class TransportSpecs:
    """The transport types a command binding may name, each read by its own protocol's parser."""

    def __init__(self) -> None:
        self._parsers: dict[str, SpecParser] = {}

    def register(self, *types: CommandTransportType) -> None:
        for transport in types:
            self._parsers[transport.type] = transport.parse_spec

    def parse(self, config: Any, pointer: str = "/transport") -> TransportSpec:
        """A transport from its configuration: its type first, then every mistake its parser finds, at once."""
        quoted = [f"'{name}'" for name in sorted(self._parsers)]
        if not isinstance(config, dict):
            said = f"a transport is an object: {{type: {' | '.join(quoted)}, connection, ...}}"
            raise InvalidInput([Problem(pointer, said)])
        kind = config.get("type")
        parser = self._parsers.get(kind) if isinstance(kind, str) else None
        if parser is None:
            raise InvalidInput([Problem(f"{pointer}/type", f"type is {_alternatives(quoted)}")])
        return parser(config, pointer)


def _alternatives(quoted: list[str]) -> str:
    """'a', 'b' or 'c', as a sentence names the registered types."""
    if not quoted:
        return "a registered transport type, and none is registered"
    return ", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else quoted[0]


#: The transport types of this process, which every command binding is read against: the composition root
#: (``futago.app``) registers each protocol's transport class in it when it is imported.
TRANSPORT_SPECS = TransportSpecs()


def parse_transport(config: Any, pointer: str = "/transport") -> TransportSpec:
    """A binding's transport, read against the registered types (``TRANSPORT_SPECS``)."""
    return TRANSPORT_SPECS.parse(config, pointer)


def spec_checker(config: Mapping[str, Any], pointer: str, known: Collection[str]) -> tuple[Checker, str]:
    """Where each protocol's parser starts: a checker in the transports' wording that has already named every
    unknown key, and the connection every transport goes through."""
    check = Checker(pointer, quote_keys=True)
    keys = sorted(known)
    check.keys(config, keys, message=f"unknown key for an {config.get('type')} transport; use {keys}")
    connection = check.text(config, "connection", required=True, max_length=None) or ""
    return check, connection


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


class CommandTransportType(Protocol):
    """A command transport class as the composition root registers it: its type name, the reader of its
    bindings' specifications, and its constructor over the connections (``files``: the data root a connection's
    files lie in)."""

    @property
    def type(self) -> str: ...

    def parse_spec(self, config: Mapping[str, Any], pointer: str) -> TransportSpec: ...

    def __call__(self, connections: Connections, files: DataRoot) -> CommandTransport: ...


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
