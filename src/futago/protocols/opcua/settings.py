"""OPC UA settings: a connection's options, parsed once, with every file they name confined to the data root."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from asyncua import ua

from futago.core.errors import InvalidInput
from futago.core.paths import NO_FILES, DataRoot
from futago.core.problems import Problem
from futago.core.secrets import Secret, reveal, secret

_BROWSE_STEP = re.compile(r"^\d+:[^/]+$")


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
        numbers = {
            "publishing_interval_ms": (1.0, 3_600_000.0),
            "batch_size": (1, 100_000),
            "flush_interval_ms": (1.0, 60_000.0),
            "request_timeout_ms": (10.0, 600_000.0),
            "keepalive_ms": (10.0, 600_000.0),
            "reconnect_max_delay_ms": (10.0, 3_600_000.0),
        }
        known = {"endpoint", "username", "password", "security", "key_password", "nodes", *numbers}
        problems = [
            Problem(f"/options/{k}", f"unknown OPC UA option; use {sorted(known)}") for k in options if k not in known
        ]
        endpoint = options.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith("opc.tcp://") or len(endpoint) <= 10:
            problems.append(Problem("/options/endpoint", "give the server's address: opc.tcp://host:port/path"))
        for key in ("username", "password", "security", "key_password"):
            if key in options and not isinstance(reveal(options[key]), str):
                problems.append(Problem(f"/options/{key}", f"'{key}' must be a string"))
        if isinstance(reveal(options.get("password")), str) and not isinstance(options.get("username"), str):
            problems.append(Problem("/options/username", "a password needs a username"))
        security = options.get("security")
        if isinstance(security, str):
            security = _confined_security(security, files, problems)
        values: dict[str, Any] = {}
        for key, (low, high) in numbers.items():
            if key not in options:
                continue
            value = options[key]
            integral = isinstance(low, int)
            if isinstance(value, bool) or not isinstance(value, int if integral else int | float):
                problems.append(
                    Problem(f"/options/{key}", f"'{key}' must be {'an integer' if integral else 'a number'}")
                )
            elif not low <= value <= high:
                problems.append(Problem(f"/options/{key}", f"'{key}' must be between {low} and {high}"))
            else:
                values[key] = value
        nodes = _parse_nodes(options.get("nodes"), problems)
        if problems:
            raise InvalidInput(problems)
        return cls(
            endpoint=str(endpoint),
            nodes=nodes,
            username=options.get("username"),
            password=secret(options["password"]) if "password" in options else None,
            security=security,
            key_password=secret(options["key_password"]) if "key_password" in options else None,
            **values,
        )


def _confined_security(security: str, files: DataRoot, problems: list[Problem]) -> str | None:
    """The security string with its files resolved inside the data root: whether a secure session starts must
    not tell whether a file outside exists, nor may a key file elsewhere be put to use."""
    parts = security.split(",")
    if not 4 <= len(parts) <= 5:
        problems.append(
            Problem(
                "/options/security",
                "use 'Policy,Mode,certificate,private_key[,server_certificate]', "
                "e.g. 'Basic256Sha256,SignAndEncrypt,cert.pem,key.pem'",
            )
        )
        return None
    if "::" in parts[3]:  # asyncua's "path::password": a password there would be shown with the string
        problems.append(
            Problem("/options/security", "give the private key's password as 'key_password', not after '::'")
        )
        return None
    named = parts[2:]
    resolved: list[str] = []
    for name in named:
        try:
            resolved.append(str(files.resolve(name, "/options/security")))
        except InvalidInput as exc:
            problems.extend(exc.problems)
    if len(resolved) != len(named):
        return None
    return ",".join([*parts[:2], *resolved])


def _parse_nodes(nodes: Any, problems: list[Problem]) -> tuple[NodeSpec, ...]:
    if not isinstance(nodes, list) or not nodes:
        problems.append(
            Problem("/options/nodes", "give the nodes to subscribe to: [{'node': 'ns=2;s=...', 'source': ...}]")
        )
        return ()
    out: list[NodeSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(nodes):
        pointer = f"/options/nodes/{i}"
        if not isinstance(item, dict):
            problems.append(Problem(pointer, "a node is an object with 'node' or 'browse_path', and 'source'"))
            continue
        unknown = [k for k in item if k not in ("node", "browse_path", "source")]
        for key in unknown:
            problems.append(Problem(f"{pointer}/{key}", "unknown key; use 'node', 'browse_path' and 'source'"))
        node, path, source = item.get("node"), item.get("browse_path"), item.get("source")
        if (node is None) == (path is None):
            problems.append(Problem(pointer, "give exactly one of 'node' (a NodeId) and 'browse_path'"))
            continue
        if node is not None and not valid_node_id(node):
            problems.append(Problem(f"{pointer}/node", "not a NodeId string; e.g. 'ns=2;s=Plant.Reactor.Temperature'"))
            continue
        if path is not None and not valid_browse_path(path):
            problems.append(
                Problem(
                    f"{pointer}/browse_path",
                    "a browse path is 'ns:Name' steps from the root joined by '/', "
                    "e.g. '0:Objects/2:Plant/2:Reactor/2:Temperature'",
                )
            )
            continue
        if source is not None and (not isinstance(source, str) or not source):
            problems.append(Problem(f"{pointer}/source", "'source' must be a non-empty string"))
            continue
        name = str(source or node or path)
        if name in seen:
            problems.append(Problem(f"{pointer}/source", f"source '{name}' is used by another node; name each once"))
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
