"""OPC UA settings: a connection's options, parsed once, with every file they name confined to the data root."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asyncua import ua

from futago.core.paths import NO_FILES, DataRoot
from futago.core.secrets import Secret, reveal, secret
from futago.core.validation import Checker

_BROWSE_STEP = re.compile(r"^\d+:[^/]+$")
_BROWSE_PATH = (
    "a browse path is 'ns:Name' steps from the root joined by '/', e.g. '0:Objects/2:Plant/2:Reactor/2:Temperature'"
)
_NODE_KEYS = "unknown key; use 'node', 'browse_path' and 'source'"


@dataclass(frozen=True)
class NodeSpec:
    node: str | None  # a NodeId string
    browse_path: str | None  # from the root: "0:Objects/2:Plant/2:Reactor/2:Temperature"
    source: str


@dataclass(frozen=True)
class OpcUaOptions:
    endpoint: str
    nodes: tuple[NodeSpec, ...]
    username: str | None = None
    password: Secret[str] | None = None
    security: str | None = None
    key_password: Secret[str] | None = None  # the security string's private key's, kept out of that string
    publishing_interval_ms: float = 500.0
    batch_size: int = 500
    flush_interval_ms: float = 200.0
    request_timeout_ms: float = 5000.0
    keepalive_ms: float = 1000.0
    reconnect_max_delay_ms: float = 30000.0

    @classmethod
    def parse(cls, options: dict[str, Any], files: DataRoot = NO_FILES) -> OpcUaOptions:
        """Validate every option at once, so one answer names every mistake. ``files``: where the security
        string's certificates and key may lie (the server's data root); by default nowhere."""
        check = Checker("/options")
        known = sorted({"endpoint", "username", "password", "security", "key_password", "nodes", *_NUMBERS})
        check.keys(options, known, message=f"unknown OPC UA option; use {known}")
        endpoint = options.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith("opc.tcp://") or len(endpoint) <= 10:
            check.add("/options/endpoint", "give the server's address: opc.tcp://host:port/path")
        elif "@" in endpoint.split("/")[2]:  # asyncua logs in with user:password@ from the URL, shown with it
            check.add("/options/endpoint", "give the login as 'username' and 'password', not in the URL")
        for key in ("username", "password", "security", "key_password"):
            if key in options and not isinstance(reveal(options[key]), str):  # present, even as null
                check.add(f"/options/{key}", f"'{key}' must be a string")
        if isinstance(reveal(options.get("password")), str) and not isinstance(options.get("username"), str):
            check.add("/options/username", "a password needs a username")
        security = options.get("security")
        if isinstance(security, str):
            security = _confined_security(security, files, check)
        numbers: dict[str, Any] = {}
        for key, (low, high) in _NUMBERS.items():
            said = _said(key, low, high)
            default = getattr(cls, key)  # with a default, a null is named as a mistake
            if isinstance(low, int) and isinstance(high, int):
                numbers[key] = check.integer(options, key, low=low, high=high, default=default, message=said)
            else:
                numbers[key] = check.number(options, key, low=low, high=high, default=default, message=said)
        nodes = _parse_nodes(options.get("nodes"), check)
        check.raise_if_any()
        return cls(
            endpoint=str(endpoint),
            nodes=nodes,
            username=options.get("username"),
            password=secret(options["password"]) if "password" in options else None,
            security=security,
            key_password=secret(options["key_password"]) if "key_password" in options else None,
            **numbers,
        )


#: The numeric options with their bounds; an integer's bounds are integers.
_NUMBERS: dict[str, tuple[float, float]] = {
    "publishing_interval_ms": (1.0, 3_600_000.0),
    "batch_size": (1, 100_000),
    "flush_interval_ms": (1.0, 60_000.0),
    "request_timeout_ms": (10.0, 600_000.0),
    "keepalive_ms": (10.0, 600_000.0),
    "reconnect_max_delay_ms": (10.0, 3_600_000.0),
}


def _said(key: str, low: float, high: float) -> Callable[[Any], str]:
    """What a wrong numeric option is told: of the wrong kind, or out of its bounds."""
    integral = isinstance(low, int)

    def message(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int if integral else int | float):
            return f"'{key}' must be {'an integer' if integral else 'a number'}"
        return f"'{key}' must be between {low} and {high}"

    return message


def _confined_security(security: str, files: DataRoot, check: Checker) -> str | None:
    """The security string with its files resolved inside the data root: whether a secure session starts must
    not tell whether a file outside exists, nor may a key file elsewhere be put to use."""
    parts = security.split(",")
    if not 4 <= len(parts) <= 5:
        check.add(
            "/options/security",
            "use 'Policy,Mode,certificate,private_key[,server_certificate]', "
            "e.g. 'Basic256Sha256,SignAndEncrypt,cert.pem,key.pem'",
        )
        return None
    if "::" in parts[3]:  # asyncua's "path::password": a password there would be shown with the string
        check.add("/options/security", "give the private key's password as 'key_password', not after '::'")
        return None
    named = parts[2:]
    resolved = [check.parsed(files.resolve, name, "/options/security") for name in named]
    if None in resolved:
        return None
    return ",".join([*parts[:2], *map(str, resolved)])


def _parse_nodes(nodes: Any, check: Checker) -> tuple[NodeSpec, ...]:
    if not isinstance(nodes, list) or not nodes:
        check.add("/options/nodes", "give the nodes to subscribe to: [{'node': 'ns=2;s=...', 'source': ...}]")
        return ()
    out: list[NodeSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(nodes):
        pointer = f"/options/nodes/{i}"
        if not isinstance(item, dict):
            check.add(pointer, "a node is an object with 'node' or 'browse_path', and 'source'")
            continue
        check.keys(item, ("node", "browse_path", "source"), pointer, message=_NODE_KEYS)
        node, path, source = item.get("node"), item.get("browse_path"), item.get("source")
        if (node is None) == (path is None):
            check.add(pointer, "give exactly one of 'node' (a NodeId) and 'browse_path'")
            continue
        if node is not None and not valid_node_id(node):
            check.add(f"{pointer}/node", "not a NodeId string; e.g. 'ns=2;s=Plant.Reactor.Temperature'")
            continue
        if path is not None and not valid_browse_path(path):
            check.add(f"{pointer}/browse_path", _BROWSE_PATH)
            continue
        if source is not None and (not isinstance(source, str) or not source):
            check.add(f"{pointer}/source", "'source' must be a non-empty string")
            continue
        name = str(source or node or path)
        if name in seen:
            check.add(f"{pointer}/source", f"source '{name}' is used by another node; name each once")
            continue
        seen.add(name)
        out.append(NodeSpec(node, path, name))
    return tuple(out)


def valid_node_id(text: Any) -> bool:
    if not isinstance(text, str) or not text:
        return False
    try:
        ua.NodeId.from_string(text)
    except Exception:  # asyncua raises several types for a malformed string
        return False
    return True


def valid_browse_path(text: Any) -> bool:
    return isinstance(text, str) and all(_BROWSE_STEP.match(step) for step in text.split("/"))
