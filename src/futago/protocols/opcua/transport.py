"""The OPC UA command transport: a write or a method call through the connection's running connector.

**OPC UA** (``{"type": "opcua", "connection": ..., "write": "<node>"}`` or ``{..., "object": "<node>", "method":
"<node>"}``). A write sends the payload (or its ``field``) as the node's value, typed as the node declares (or as
``variant_type``); a method call passes the payload (a scalar), or the object payload's ``arguments`` in order. A
method whose only output is ``false`` refused the command. Afterwards ``read_back`` (by default the written node) is
read, and that value is the resulting state recorded with the command.
"""

from __future__ import annotations

from typing import Any

import orjson

from futago.act.transport import Connections, OnSent, OpcUaTransport, Outcome, OutgoingCommand
from futago.core.errors import FutagoError


class OpcUaCommandTransport:
    """Sends commands through the running connector of an OPC UA connection (its session, its security)."""

    type = "opcua"

    def __init__(self, connections: Connections) -> None:
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
