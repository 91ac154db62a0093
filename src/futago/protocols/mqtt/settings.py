"""MQTT settings: how futago reaches a broker, parsed once for every MQTT client it makes.

The ingest connector, the command transport and the notification channel all read a broker's options through
``MqttBroker.parse_into``, so the same keys mean the same thing everywhere: a client certificate works for each,
and a TLS broker is looked for on 8883 unless a port is given. Files (a CA, a client certificate and key) are
resolved inside the data root when the options are parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from futago.core.errors import InvalidInput
from futago.core.paths import NO_FILES, DataRoot
from futago.core.problems import Problem
from futago.core.secrets import Secret, reveal, secret

PLAIN_PORT = 1883
TLS_PORT = 8883

#: The keys that say how to reach a broker, with what each means.
BROKER_KEYS = {
    "host": "the broker's host name",
    "port": f"the broker's port ({PLAIN_PORT}; {TLS_PORT} for TLS)",
    "protocol": "'3.1.1' or '5'",
    "client_id": "the session's client id",
    "username": "user name",
    "password": "password",
    "tls": "true, or {ca, cert, key, insecure}: files inside the data root",
    "keepalive": "seconds between pings (default 60)",
    "reconnect_max_s": "longest pause between reconnection attempts (default 30)",
}
#: The keys of an ingest connection that subscribe: what to receive and how to hand it on.
SUBSCRIBER_KEYS = {
    "qos": "0, 1 or 2 (default 1)",
    "session_expiry": "seconds the broker keeps the session while futago is away (MQTT 5; default 1 day)",
    "batch_max": "messages per store call (default 2000)",
    "batch_ms": "longest wait before a partial batch is stored (default 10)",
    "shared_group": "MQTT 5 shared subscription group: $share/<group>/<filter>",
}


def default_port(tls: Any) -> int:
    """The port a broker listens on when none is given: 8883 with TLS (IANA's secure MQTT port), else 1883."""
    return TLS_PORT if tls not in (None, False) else PLAIN_PORT


@dataclass(frozen=True)
class TlsOptions:
    """The files are real paths inside the data root, resolved when the options were parsed."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class MqttBroker:
    """Where a broker is and how to log in: one paho client per distinct broker and client id."""

    host: str
    port: int
    protocol: Literal["3.1.1", "5"] = "5"
    client_id: str = "futago"
    username: str | None = None
    password: Secret[str] | None = None
    tls: TlsOptions | None = None
    keepalive: int = 60
    reconnect_max_s: int = 30

    @classmethod
    def parse(
        cls,
        options: Any,
        default_client_id: str,
        files: DataRoot = NO_FILES,
        pointer: str = "/options",
        host_required: bool = False,
    ) -> MqttBroker:
        """A broker from its options alone; InvalidInput names every mistake (unknown keys are the caller's)."""
        problems: list[Problem] = []
        fields = cls.parse_into(options, problems, default_client_id, files, pointer, host_required)
        if problems:
            raise InvalidInput(problems)
        return cls(**fields)

    @staticmethod
    def parse_into(
        options: Any,
        problems: list[Problem],
        default_client_id: str,
        files: DataRoot = NO_FILES,
        pointer: str = "/options",
        host_required: bool = False,
    ) -> dict[str, Any]:
        """The broker's fields from ``options``, each mistake added to ``problems`` at ``pointer``/key.
        ``files``: where the TLS files may lie (the server's data root); by default nowhere."""
        reader = _Reader(options, problems, pointer)
        host = reader.text("host", None if host_required else "localhost")
        if host is None and "host" not in options:
            problems.append(Problem(f"{pointer}/host", "host is the broker's host name"))
        tls = _tls(options.get("tls", False), problems, files, f"{pointer}/tls")
        port = reader.number("port", default_port(options.get("tls", False)), 1, 65535)
        protocol = options.get("protocol", "5")
        if protocol not in ("3.1.1", "5"):
            problems.append(Problem(f"{pointer}/protocol", "protocol is '3.1.1' or '5' (MQTT 5)"))
            protocol = "5"
        client_id = reader.text("client_id", default_client_id) or default_client_id
        if len(client_id.encode()) > 65535:
            problems.append(Problem(f"{pointer}/client_id", "a client id is at most 65,535 bytes"))
        username = reader.text("username", None)
        password = options.get("password")
        if password is not None and not isinstance(reveal(password), str):
            problems.append(Problem(f"{pointer}/password", "password is a string"))
            password = None
        if password is not None and username is None:
            problems.append(Problem(f"{pointer}/username", "a password needs a username"))
        return {
            "host": host or "localhost",
            "port": port,
            "protocol": protocol,
            "client_id": client_id,
            "username": username,
            "password": None if password is None else secret(password),  # revealed only when the client logs in
            "tls": tls,
            "keepalive": reader.number("keepalive", 60, 5, 65535),
            "reconnect_max_s": reader.number("reconnect_max_s", 30, 1, 3600),
        }


@dataclass(frozen=True)
class MqttOptions(MqttBroker):
    """An ingest connection's options: its broker, and how it subscribes; ``parse`` points every mistake at its
    key."""

    qos: int = 1
    session_expiry: int = 86_400
    batch_max: int = 2000
    batch_ms: float = 10.0
    shared_group: str | None = None

    @classmethod
    def parse_connection(cls, name: str, options: dict[str, Any], files: DataRoot = NO_FILES) -> MqttOptions:
        """``files``: where the TLS files may lie (the server's data root); by default nowhere."""
        known = {**BROKER_KEYS, **SUBSCRIBER_KEYS}
        problems = [
            Problem(f"/options/{key}", f"unknown MQTT option; use one of {sorted(known)}")
            for key in options
            if key not in known
        ]
        broker = MqttBroker.parse_into(options, problems, f"futago-{name}", files)
        reader = _Reader(options, problems, "/options")
        qos = reader.number("qos", 1, 0, 2)
        session_expiry = reader.number("session_expiry", 86_400, 0, 0xFFFFFFFF)
        batch_max = reader.number("batch_max", 2000, 1, 65535)
        batch_ms = options.get("batch_ms", 10)
        if isinstance(batch_ms, bool) or not isinstance(batch_ms, int | float) or not 0 <= batch_ms <= 60_000:
            problems.append(Problem("/options/batch_ms", "batch_ms is a number of milliseconds from 0 to 60,000"))
            batch_ms = 20
        shared_group = reader.text("shared_group", None)
        if shared_group is not None:
            if any(c in shared_group for c in "/+#"):
                problems.append(Problem("/options/shared_group", "a share group name has no '/', '+' or '#'"))
            if broker["protocol"] != "5":
                problems.append(Problem("/options/shared_group", "shared subscriptions need protocol '5'"))
        if problems:
            raise InvalidInput(problems)
        return cls(
            **broker,
            qos=qos,
            session_expiry=session_expiry,
            batch_max=batch_max,
            batch_ms=float(batch_ms),
            shared_group=shared_group,
        )


class _Reader:
    """Reads one options object, adding a problem for each value that is not what its key needs."""

    def __init__(self, options: Any, problems: list[Problem], pointer: str) -> None:
        self.options, self.problems, self.pointer = options, problems, pointer

    def number(self, key: str, default: int, low: int, high: int) -> int:
        value = self.options.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problems.append(Problem(f"{self.pointer}/{key}", f"{key} is an integer from {low} to {high}"))
            return default
        return value

    def text(self, key: str, default: str | None) -> str | None:
        value = reveal(self.options.get(key, default))
        if value is not None and (not isinstance(value, str) or not value.strip()):
            self.problems.append(Problem(f"{self.pointer}/{key}", f"{key} is a non-empty string"))
            return default
        return value


def _tls(value: Any, problems: list[Problem], files: DataRoot, pointer: str) -> TlsOptions | None:
    if value is False or value is None:
        return None
    if value is True:
        return TlsOptions()
    if not isinstance(value, dict):
        problems.append(Problem(pointer, "tls is true, or an object {ca, cert, key, insecure}"))
        return None
    for key in value:
        if key not in ("ca", "cert", "key", "insecure"):
            problems.append(Problem(f"{pointer}/{key}", "unknown TLS option; use ca, cert, key, insecure"))
    paths: dict[str, str | None] = dict.fromkeys(("ca", "cert", "key"))
    for key in paths:
        if value.get(key) is None:
            continue
        # Confined like every file a caller names: a connection that works or fails would tell whether a file
        # outside exists, and a key file elsewhere (the audit key) could be put to use.
        try:
            paths[key] = str(files.resolve(value[key], f"{pointer}/{key}"))
        except InvalidInput as exc:
            problems.extend(exc.problems)
    if (value.get("cert") is None) != (value.get("key") is None):
        problems.append(Problem(f"{pointer}/cert", "a client certificate needs both cert and key"))
    insecure = value.get("insecure", False)
    if not isinstance(insecure, bool):
        problems.append(Problem(f"{pointer}/insecure", "insecure is true or false"))
        insecure = False
    return TlsOptions(paths["ca"], paths["cert"], paths["key"], insecure)
