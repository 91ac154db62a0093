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
from futago.core.validation import Checker

PLAIN_PORT = 1883
_PROTOCOL = "protocol is '3.1.1' or '5' (MQTT 5)"
_BATCH_MS = "batch_ms is a number of milliseconds from 0 to 60,000"
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
        check = Checker(pointer, problems)
        host = check.text(options, "host", max_length=None, default=None if host_required else "localhost")
        if host is None and "host" not in options:
            problems.append(Problem(f"{pointer}/host", "host is the broker's host name"))
        tls = _tls(options.get("tls", False), problems, files, f"{pointer}/tls")
        port = check.integer(options, "port", low=1, high=65535, default=default_port(options.get("tls", False)))
        protocol = check.choice(options, "protocol", ("3.1.1", "5"), default="5", message=_PROTOCOL)
        client_id = check.text(options, "client_id", max_length=None, default=default_client_id) or default_client_id
        if len(client_id.encode()) > 65535:
            problems.append(Problem(f"{pointer}/client_id", "a client id is at most 65,535 bytes"))
        username = check.text(options, "username", max_length=None)
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
            "keepalive": check.integer(options, "keepalive", low=5, high=65535, default=60),
            "reconnect_max_s": check.integer(options, "reconnect_max_s", low=1, high=3600, default=30),
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
        check = Checker("/options")
        check.keys(options, known, message=f"unknown MQTT option; use one of {sorted(known)}")
        problems = check.problems
        broker = MqttBroker.parse_into(options, problems, f"futago-{name}", files)
        qos = check.integer(options, "qos", low=0, high=2, default=1)
        session_expiry = check.integer(options, "session_expiry", low=0, high=0xFFFFFFFF, default=86_400)
        batch_max = check.integer(options, "batch_max", low=1, high=65535, default=2000)
        batch_ms = check.number(options, "batch_ms", low=0, high=60_000, default=10.0, message=_BATCH_MS)
        shared_group = check.text(options, "shared_group", max_length=None)
        if shared_group is not None:
            if any(c in shared_group for c in "/+#"):
                problems.append(Problem("/options/shared_group", "a share group name has no '/', '+' or '#'"))
            if broker["protocol"] != "5":
                problems.append(Problem("/options/shared_group", "shared subscriptions need protocol '5'"))
        check.raise_if_any()
        return cls(
            **broker,
            qos=qos,
            session_expiry=session_expiry,
            batch_max=batch_max,
            batch_ms=batch_ms,
            shared_group=shared_group,
        )


def _tls(value: Any, problems: list[Problem], files: DataRoot, pointer: str) -> TlsOptions | None:
    if value is False or value is None:
        return None
    if value is True:
        return TlsOptions()
    if not isinstance(value, dict):
        problems.append(Problem(pointer, "tls is true, or an object {ca, cert, key, insecure}"))
        return None
    check = Checker(pointer, problems)
    check.keys(value, ("ca", "cert", "key", "insecure"), message="unknown TLS option; use ca, cert, key, insecure")
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
    insecure = check.boolean(value, "insecure")
    return TlsOptions(paths["ca"], paths["cert"], paths["key"], insecure)
