"""The asyncua client futago uses for an OPC UA session: built here, and only here, with its credentials and
security string; and the errors a request to the server ends in."""

from __future__ import annotations

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
