"""The asyncua client futago uses for an OPC UA session: built here, and only here, with its credentials and
security string; and the errors a request to the server ends in."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asyncua import Client, Node, ua

from futago.core.errors import FutagoError
from futago.core.secrets import Secret
from futago.protocols.opcua.settings import OpcUaOptions


class OpcUaError(FutagoError):
    """The OPC UA server refused or failed a request (a write, a read, a method call)."""

    status = 502
    title = "OPC UA request failed"


class OpcUaUnavailable(OpcUaError):
    """The connection is not established right now; the request may succeed once it is."""

    status = 503
    title = "OPC UA connection unavailable"


def _with_key_password(security: str, key_password: Secret[str] | None) -> str:
    """The security string as asyncua reads it: a locked private key as ``path::password``."""
    if key_password is None:
        return security
    parts = security.split(",")
    parts[3] += "::" + key_password.reveal()
    return ",".join(parts)


#: asyncua's loggers that report a dropped connection with a traceback, from tasks of its own (the publish loop,
#: the watchdog, the teardown) where no caller can catch it.
ASYNCUA_SESSION_LOGGERS = (
    "asyncua.client.client",
    "asyncua.client.ua_client.UASocketProtocol",
    "asyncua.client.ua_client.UaClient",
    "asyncua.client.ua_session",
    "asyncua.client.ua_session.UaSession",
    "asyncua.common.subscription",
)
_CONNECTION_ENDED = (ConnectionError, OSError, TimeoutError, asyncio.CancelledError)


class ConnectionNoise(logging.Filter):
    """Leaves out asyncua's tracebacks of a connection that ended (the server went away, or futago is shutting
    down): the connector says so itself, once and in its words ("connection lost (...); reconnecting"), and a
    traceback in the log reads as a crash. Kept when asyncua's own debug logging is on; other errors are kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, _CONNECTION_ENDED):
            return True
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_NOISE = ConnectionNoise()
for _name in ASYNCUA_SESSION_LOGGERS:
    logging.getLogger(_name).addFilter(_NOISE)


async def open_client(options: OpcUaOptions) -> Client:
    """A client for the options' endpoint, with user, password and security set (secrets revealed only now);
    the caller connects it."""
    client = Client(options.endpoint, timeout=options.request_timeout_ms / 1000)
    if options.username is not None:
        client.set_user(options.username)
    if options.password is not None:
        client.set_password(options.password.reveal())
    if options.security is not None:
        await client.set_security_string(_with_key_password(options.security, options.key_password))
    return client


async def typed_arguments(method: Node, args: tuple[Any, ...]) -> list[Any]:
    """Wrap plain Python values in Variants of the types the method declares.

    Without this, 1 would be sent as Int64 to a method that takes an Int32 or a Double, and the
    server would refuse it with BadTypeMismatch.
    """
    try:
        declared = await (await method.get_child("0:InputArguments")).read_value()
    except Exception:
        return list(args)
    typed: list[Any] = []
    for i, arg in enumerate(args):
        if isinstance(arg, ua.Variant) or i >= len(declared):
            typed.append(arg)
            continue
        data_type = declared[i].DataType
        builtin = data_type.NamespaceIndex == 0 and data_type.Identifier in ua.VariantType._value2member_map_
        typed.append(ua.Variant(arg, ua.VariantType(data_type.Identifier)) if builtin else arg)
    return typed


async def output_count(method: Node) -> int:
    try:
        return len(await (await method.get_child("0:OutputArguments")).read_value())
    except Exception:
        return 1


def describe_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."
