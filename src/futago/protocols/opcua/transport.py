"""The OPC UA command transport: a write or a method call through the connection's running connector.

**OPC UA** (``{"type": "opcua", "connection": ..., "write": "<node>"}`` or ``{..., "object": "<node>", "method":
"<node>"}``). A write sends the payload (or its ``field``) as the node's value, typed as the node declares (or as
``variant_type``); a method call passes the payload (a scalar), or the object payload's ``arguments`` in order. A
method whose only output is ``false`` refused the command. Afterwards ``read_back`` (by default the written node) is
read, and that value is the resulting state recorded with the command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from futago.act.transport import Connections, OnSent, Outcome, OutgoingCommand, spec_checker
from futago.core.errors import FutagoError
from futago.core.paths import NO_FILES, DataRoot

#: The OPC UA built-in types a value may be written as (OPC 10000-6, 5.1.2), as asyncua's VariantType names them.
OPCUA_VARIANT_TYPES = frozenset(
    {
        "Null", "Boolean", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Float",
        "Double", "String", "DateTime", "Guid", "ByteString", "XmlElement", "NodeId", "ExpandedNodeId",
        "StatusCode", "QualifiedName", "LocalizedText", "ExtensionObject", "DataValue", "Variant", "DiagnosticInfo",
    }
)  # fmt: skip
_KEYS = {"type", "connection", "write", "object", "method", "variant_type", "read_back", "field", "arguments"}


@dataclass(frozen=True)
class OpcUaTransport:
    """A binding's OPC UA transport: a node to write, or a method to call, and the node read back afterwards."""

    connection: str
    write: str | None = None  # a node to write the value to ...
    object: str | None = None  # ... or a method (and the object it belongs to) to call
    method: str | None = None
    variant_type: str | None = None
    read_back: str | None = None
    field: str | None = None  # the payload field written, when the payload is an object
    arguments: tuple[str, ...] = ()  # the payload fields passed to the method, in order
    type: Literal["opcua"] = "opcua"


def parse_opcua_transport(config: Mapping[str, Any], pointer: str) -> OpcUaTransport:
    """A binding's ``{"type": "opcua", ...}`` transport; InvalidInput names every mistake at once."""
    check, connection = spec_checker(config, pointer, _KEYS)
    write, obj, method = (check.text(config, key, max_length=None) for key in ("write", "object", "method"))
    if (write is None) == (method is None):
        check.add(pointer, "give either 'write' (a node) or 'object' and 'method' (a method call)")
    if method is not None and obj is None:
        check.add(f"{pointer}/object", "a method call needs the 'object' node the method belongs to")
    arguments = config.get("arguments", [])
    if not isinstance(arguments, list) or not all(isinstance(a, str) and a for a in arguments):
        check.add(f"{pointer}/arguments", "arguments is a list of payload field names")
        arguments = []
    variant_type = check.text(config, "variant_type", max_length=None)
    if variant_type is not None and variant_type not in OPCUA_VARIANT_TYPES:
        check.add(f"{pointer}/variant_type", "an OPC UA variant type, e.g. Double, Float, Int32")
    read_back = check.text(config, "read_back", max_length=None)
    field_name = check.text(config, "field", max_length=None)
    check.raise_if_any()
    return OpcUaTransport(connection, write, obj, method, variant_type, read_back, field_name, tuple(arguments))


class OpcUaCommandTransport:
    """Sends commands through the running connector of an OPC UA connection (its session, its security)."""

    type = "opcua"
    parse_spec = staticmethod(parse_opcua_transport)

    def __init__(self, connections: Connections, files: DataRoot = NO_FILES) -> None:
        # ``files`` is not needed: the connector holds the session, checked with its security files already.
        self.connections = connections

    def send(self, spec: OpcUaTransport, command: OutgoingCommand, on_sent: OnSent) -> Outcome:
        return _send(self.connections.connector(spec.connection), spec, command, on_sent)

    def close(self) -> None:
        return None  # the connector's session is the connection's, closed with it


def _send(connector: Any, spec: OpcUaTransport, command: OutgoingCommand, on_sent: OnSent) -> Outcome:
    from futago.protocols.opcua.connector import OpcUaConnector  # asyncua, only where an OPC UA command is sent

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
