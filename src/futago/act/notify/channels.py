"""The ways a notification leaves futago: webhook, MQTT, email, and the dashboard (the bus, hence SSE).

Every channel has the same small shape: ``check`` a subscriber's channel entry (problems with pointers),
``check_settings`` for named channel settings (an SMTP server, an MQTT broker), ``target`` (the address, for
the delivery log) and ``send``, which never raises: it answers an ``Outcome`` that says whether the message
was accepted and, when not, whether trying again may help. Retries, backoff and dead letters belong to the
service, so every channel gets them the same way.

**Webhook** (``{"type": "webhook", "url": "https://...", "secret": "..."}``): a POST of the JSON message with

- ``X-Futago-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact request body under the subscriber's
  secret;
- ``X-Futago-Timestamp: <unix seconds>``, which is also the body's ``timestamp``, so it is signed too;
- ``X-Futago-Delivery: <id>``, the delivery id, also the body's ``id`` (the same on every retry).

A receiver recomputes the HMAC over the raw body (``hmac.compare_digest``), refuses a ``timestamp`` older than
a few minutes (a replayed request), and drops an ``id`` it has seen (a retry of one it already took).
A 2xx answer delivers; 408, 425, 429 and 5xx answers and network errors are retried (honouring a
``Retry-After`` in seconds); any other answer is final, because sending the same request again cannot help.

**MQTT** (``{"type": "mqtt", "topic": "residents/{subscriber}", "via": <named settings> | "connection": <an
ingest connection> | "host"/"port"}``): the JSON message published with QoS 1 (or the entry's ``qos``); sent
when the broker acknowledges it. The topic may name ``{subscriber}``, ``{alert}`` and ``{rule}``. A broker's
``tls.ca`` names a file inside the data root, like every file a caller names.

**Email** (``{"type": "email", "to": "a@example.jp" | [...], "via": "email"}``): plain UTF-8 text through the
SMTP server of the named settings (``host``, ``port``, ``sender``, ``starttls``/``ssl``, ``username``/
``password``), subject and body in the subscriber's language.

**Dashboard** (``{"type": "dashboard"}``): nothing to send; the ``notification.sent`` event that the service
publishes for every delivery is what the dashboard's SSE stream shows.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import re
import smtplib
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import urlsplit

import orjson

from futago import __version__
from futago.core.errors import FutagoError, InvalidInput
from futago.core.paths import NO_FILES, DataRoot
from futago.core.problems import Problem
from futago.core.secrets import Secret, redact_url, reveal, secret
from futago.core.twins import now_iso

if TYPE_CHECKING:
    import paho.mqtt.client as paho

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Futago-Signature"
TIMESTAMP_HEADER = "X-Futago-Timestamp"
DELIVERY_HEADER = "X-Futago-Delivery"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")
_RETRY_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Message:
    """One rendered notification for one subscriber."""

    delivery_id: str
    subscriber_id: str
    language: str
    subject: str
    text: str
    body: dict[str, Any]  # the JSON a machine receives (webhook body, MQTT payload)
    alert_id: str = ""
    rule: str = ""


class Outcome(NamedTuple):
    ok: bool
    retry: bool = False  # on failure: may another attempt succeed?
    detail: str = ""  # on failure: why, in a sentence; on success: what the peer said, if anything
    sent_at: str | None = None  # when the message went on the wire
    retry_after_s: float | None = None  # the peer asked to wait this long


class Channel(Protocol):
    type: str

    def check(self, entry: Mapping[str, Any], pointer: str) -> list[Problem]:
        """Problems with a subscriber's channel entry."""
        ...

    def check_settings(self, spec: Mapping[str, Any], pointer: str) -> list[Problem]:
        """Problems with named settings of this channel type."""
        ...

    def target(self, entry: Mapping[str, Any]) -> str:
        """Where the entry sends to, for the delivery log (no secrets)."""
        ...

    def send(self, entry: Mapping[str, Any], message: Message) -> Outcome: ...

    def close(self) -> None: ...


#: Named channel settings by name (``None`` when there are none by that name).
SettingsLookup = Callable[[str], Mapping[str, Any] | None]


class Connections(Protocol):
    """The part of the ingest stage's ConnectionManager the MQTT channel uses: a connection's type and options."""

    def spec(self, name: str) -> Any: ...


def sign(secret: str, body: bytes) -> str:
    """The ``X-Futago-Signature`` value of a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------------
# Checking entries
# ---------------------------------------------------------------------------------------------


class _Checker:
    """Collects problems for one object, so that every mistake is named at once."""

    def __init__(self, doc: Mapping[str, Any], pointer: str, known: set[str]) -> None:
        self.doc, self.pointer = doc, pointer
        self.problems = [
            Problem(f"{pointer}/{key}", f"unknown key; use {sorted(known)}") for key in doc if key not in known
        ]

    def text(self, key: str, required: bool = False, max_length: int = 2048) -> str | None:
        value = reveal(self.doc.get(key))  # a secret is checked like any text; the caller keeps it concealed
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            self.problems.append(Problem(f"{self.pointer}/{key}", f"'{key}' is a non-empty string"))
            return None
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.doc.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problems.append(Problem(f"{self.pointer}/{key}", f"'{key}' is an integer from {low} to {high}"))
            return default
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.doc.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
            self.problems.append(Problem(f"{self.pointer}/{key}", f"'{key}' is a number above {low:g} up to {high:g}"))
            return default
        return float(value)

    def flag(self, key: str) -> bool:
        value = self.doc.get(key, False)
        if not isinstance(value, bool):
            self.problems.append(Problem(f"{self.pointer}/{key}", f"'{key}' is true or false"))
            return False
        return value


_ENTRY_KEYS = {"type", "name"}


def _named(lookup: SettingsLookup, name: str, kind: str, pointer: str) -> list[Problem]:
    spec = lookup(name)
    if spec is None:
        return [Problem(pointer, f"no notification channel settings named '{name}'; PUT /notification-channels/{name}")]
    if spec.get("type") != kind:
        return [Problem(pointer, f"notification channel settings '{name}' are of type {spec.get('type')}, not {kind}")]
    return []


# ---------------------------------------------------------------------------------------------
# Webhook
# ---------------------------------------------------------------------------------------------


class WebhookChannel:
    type = "webhook"

    def __init__(self, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s
        self.http = _KeepAlive(timeout_s)

    def check(self, entry: Mapping[str, Any], pointer: str) -> list[Problem]:
        checker = _Checker(entry, pointer, _ENTRY_KEYS | {"url", "secret"})
        url = checker.text("url", required=True)
        if url is not None:
            try:
                parts = urlsplit(url)
                valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
            except ValueError:  # e.g. a port that is not a number
                valid = False
            if not valid or any(c.isspace() for c in url):
                checker.problems.append(Problem(f"{pointer}/url", "url is an absolute http:// or https:// URL"))
        secret = checker.text("secret", required=True, max_length=512)
        if secret is not None and len(secret) < 16:
            checker.problems.append(Problem(f"{pointer}/secret", "a signing secret has at least 16 characters"))
        return checker.problems

    def check_settings(self, spec: Mapping[str, Any], pointer: str) -> list[Problem]:
        return [Problem(pointer, "webhooks need no named settings: each subscriber entry has its url and secret")]

    def target(self, entry: Mapping[str, Any]) -> str:
        return redact_url(str(reveal(entry.get("url", ""))))  # a token in the URL must not reach the delivery log

    def send(self, entry: Mapping[str, Any], message: Message) -> Outcome:
        timestamp = int(time.time())
        body = orjson.dumps({**message.body, "timestamp": timestamp})
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"futago/{__version__}",
            SIGNATURE_HEADER: sign(str(reveal(entry["secret"])), body),
            TIMESTAMP_HEADER: str(timestamp),
            DELIVERY_HEADER: message.delivery_id,
        }
        sent_at = now_iso()
        try:
            status, text, retry_after = self.http.post(str(reveal(entry["url"])), body, headers)
        except TimeoutError:
            return Outcome(False, True, f"no answer within {self.timeout_s:g} s", sent_at)
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, DNS: the endpoint may be back later
            return Outcome(False, True, f"cannot reach the endpoint: {type(exc).__name__}: {exc}", sent_at)
        if 200 <= status < 300:
            return Outcome(True, detail=f"HTTP {status}", sent_at=sent_at)
        reason = f"the endpoint answered HTTP {status}" + (f": {text}" if text else "")
        if status in _RETRY_STATUS or status >= 500:
            return Outcome(False, True, reason, sent_at, _retry_after(retry_after))
        if 300 <= status < 400:
            reason += " (redirects are not followed: give the final URL)"
        return Outcome(False, False, reason, sent_at)

    def close(self) -> None:
        self.http.close()


class _KeepAlive:
    """POSTs over kept-alive connections, one per worker thread and origin.

    Measured against a local receiver, httpx spent about 0.7 ms of CPU per request and three times that with
    eight workers contending for the GIL; http.client on a reused connection takes about 0.25 ms. When 200
    residents are notified at once that is the difference between meeting the 200 ms budget and missing it.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._tls = ssl.create_default_context()

    def _connection(self, scheme: str, host: str, port: int) -> tuple[http.client.HTTPConnection, bool]:
        pool: dict[tuple[str, str, int], http.client.HTTPConnection] | None = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        conn = pool.get((scheme, host, port))
        if conn is not None:
            return conn, False
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout_s, context=self._tls)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout_s)
        pool[(scheme, host, port)] = conn
        with self._lock:
            self._all.append(conn)
        return conn, True

    def _drop(self, key: tuple[str, str, int], conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.pool.pop(key, None)
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, str | None]:
        """The status, the start of the answer's text, and its Retry-After header."""
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        key = (scheme, host, port)
        while True:
            conn, fresh = self._connection(*key)
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read(65_536)
                if response.will_close or not response.isclosed():  # closing, or too long an answer to drain
                    self._drop(key, conn)
                return response.status, data[:200].decode(errors="replace").strip(), response.getheader("Retry-After")
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop(key, conn)
                if fresh:
                    raise
                # The receiver closed an idle kept-alive connection: once more on a new one. Should it have taken
                # the first request after all, the delivery id lets it drop the second.
            except BaseException:
                self._drop(key, conn)
                raise

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None  # an HTTP date is rare for webhooks; the policy's backoff applies instead
    return float(value.strip())


# ---------------------------------------------------------------------------------------------
# MQTT
# ---------------------------------------------------------------------------------------------

_BROKER_KEYS = {"host", "port", "username", "password", "tls", "protocol", "client_id"}


@dataclass(frozen=True)
class Broker:
    """Where and how to publish: one MQTT client per distinct broker."""

    host: str
    port: int
    username: str | None = None
    password: Secret[str] | None = None
    tls: bool = False
    ca: str | None = None
    insecure: bool = False
    protocol: str = "5"
    client_id: str = "futago-notify"


def _broker(options: Mapping[str, Any], default_client_id: str, files: DataRoot) -> Broker:
    """A Broker from validated options (of named settings, an ingest connection, or the entry itself); its CA
    file resolved in the data root again, as the file may have changed since the options were checked."""
    tls = options.get("tls", False)
    ca = _ca_file(tls, "/tls/ca", files)
    insecure = bool(tls.get("insecure", False)) if isinstance(tls, dict) else False
    password = options.get("password")
    return Broker(
        host=str(options.get("host", "localhost")),
        port=int(options.get("port", 1883)),
        username=options.get("username"),
        password=None if password is None else secret(password),
        tls=bool(tls),
        ca=ca,
        insecure=insecure,
        protocol=str(options.get("protocol", "5")),
        client_id=str(options.get("client_id") or default_client_id),
    )


def _ca_file(tls: Any, pointer: str, files: DataRoot) -> str | None:
    """The real path of a ``tls.ca`` inside the data root: a broker that is reached or not would otherwise tell
    whether a file outside exists (InvalidInput at ``pointer``, one sentence whether it exists or not)."""
    name = tls.get("ca") if isinstance(tls, dict) else None
    return None if name is None else str(files.resolve(name, pointer))


def _check_broker(checker: _Checker, files: DataRoot) -> None:
    checker.text("host", required=True, max_length=255)
    checker.integer("port", 1883, 1, 65535)
    username = checker.text("username")
    password = reveal(checker.doc.get("password"))
    if password is not None and (not isinstance(password, str) or username is None):
        checker.problems.append(Problem(f"{checker.pointer}/password", "password is a string, with a username"))
    if checker.doc.get("protocol", "5") not in ("3.1.1", "5"):
        checker.problems.append(Problem(f"{checker.pointer}/protocol", "protocol is '3.1.1' or '5'"))
    tls = checker.doc.get("tls", False)
    if not isinstance(tls, bool | dict) or (isinstance(tls, dict) and set(tls) - {"ca", "insecure"}):
        checker.problems.append(Problem(f"{checker.pointer}/tls", "tls is true, false or {ca: path, insecure: bool}"))
    try:
        _ca_file(tls, f"{checker.pointer}/tls/ca", files)
    except InvalidInput as exc:
        checker.problems += exc.problems
    checker.text("client_id", max_length=128)


class MqttChannel:
    type = "mqtt"

    def __init__(
        self,
        lookup: SettingsLookup,
        connections: Connections | None = None,
        timeout_s: float = 5.0,
        files: DataRoot = NO_FILES,
    ) -> None:
        self.lookup = lookup
        self.connections = connections
        self.timeout_s = timeout_s
        self.files = files  # where a broker's tls.ca may lie: the server's data root
        self._publishers: dict[Broker, _Publisher] = {}
        self._lock = threading.Lock()

    def check(self, entry: Mapping[str, Any], pointer: str) -> list[Problem]:
        checker = _Checker(entry, pointer, _ENTRY_KEYS | {"topic", "qos", "via", "connection"} | _BROKER_KEYS)
        topic = checker.text("topic", max_length=1024)
        if topic is not None and ("+" in topic or "#" in topic or "\0" in topic):
            checker.problems.append(Problem(f"{pointer}/topic", "a notification topic names one topic: no '+' or '#'"))
        checker.integer("qos", 1, 0, 2)
        sources = [key for key in ("via", "connection", "host") if key in entry]
        if len(sources) > 1:
            checker.problems.append(Problem(pointer, "give one of 'via', 'connection' or 'host'/'port'"))
        elif "host" in entry:
            _check_broker(checker, self.files)
        elif "connection" in entry:
            name = checker.text("connection")
            if name is not None:
                checker.problems += self._check_connection(name, f"{pointer}/connection")
        else:
            name = checker.text("via") if "via" in entry else "mqtt"
            if name is not None:
                checker.problems += _named(self.lookup, name, "mqtt", f"{pointer}/via")
        return checker.problems

    def _check_connection(self, name: str, pointer: str) -> list[Problem]:
        if self.connections is None:
            return [Problem(pointer, "no ingest connections here; give 'via' (named settings) or 'host'/'port'")]
        try:
            spec = self.connections.spec(name)
        except FutagoError:
            return [Problem(pointer, f"connection '{name}' does not exist; create it first (PUT /connections/{name})")]
        if spec.type != "mqtt":
            return [Problem(pointer, f"connection '{name}' is an {spec.type} connection, not mqtt")]
        return []

    def check_settings(self, spec: Mapping[str, Any], pointer: str) -> list[Problem]:
        checker = _Checker(spec, pointer, {"type", "retry"} | _BROKER_KEYS)
        _check_broker(checker, self.files)
        return checker.problems

    def topic(self, entry: Mapping[str, Any], message: Message) -> str:
        template = str(entry.get("topic") or "futago/notifications/{subscriber}")
        # Plain replacement, not str.format: a topic may hold other braces, and nothing else is expanded.
        return (
            template.replace("{subscriber}", message.subscriber_id)
            .replace("{alert}", message.alert_id)
            .replace("{rule}", message.rule)
        )

    def target(self, entry: Mapping[str, Any]) -> str:
        where = entry.get("via") or entry.get("connection") or f"{entry.get('host')}:{entry.get('port', 1883)}"
        return f"{where or 'mqtt'} {entry.get('topic') or 'futago/notifications/{subscriber}'}"

    def _resolve(self, entry: Mapping[str, Any]) -> Broker:
        if "host" in entry:
            return _broker(entry, "futago-notify", self.files)
        if "connection" in entry:
            if self.connections is None:
                raise FutagoError("no ingest connections here")
            name = str(entry["connection"])
            spec = self.connections.spec(name)
            options = {k: v for k, v in dict(spec.options).items() if k in _BROKER_KEYS}
            # A session of its own: sharing the ingest client id would disconnect the ingest session.
            options["client_id"] = f"{options.get('client_id') or f'futago-{name}'}-notify"
            return _broker(options, f"futago-{name}-notify", self.files)
        name = str(entry.get("via", "mqtt"))
        settings = self.lookup(name)
        if settings is None or settings.get("type") != "mqtt":
            raise FutagoError(f"no MQTT notification channel settings named '{name}'")
        return _broker(settings, f"futago-notify-{name}", self.files)

    def _publisher(self, broker: Broker) -> _Publisher:
        with self._lock:
            publisher = self._publishers.get(broker)
            if publisher is None:
                publisher = self._publishers[broker] = _Publisher(broker)
            return publisher

    def send(self, entry: Mapping[str, Any], message: Message) -> Outcome:
        try:
            broker = self._resolve(entry)
        except FutagoError as exc:  # the settings went away after the subscriber was accepted
            return Outcome(False, False, exc.detail)
        return self._publisher(broker).publish(
            self.topic(entry, message), orjson.dumps(message.body), int(entry.get("qos", 1)), self.timeout_s
        )

    def close(self) -> None:
        with self._lock:
            publishers, self._publishers = list(self._publishers.values()), {}
        for publisher in publishers:
            publisher.close()


class _Publisher:
    """A long-lived paho client for one broker: connected once, reconnected by paho, shared by the workers
    (paho's publish is thread-safe)."""

    def __init__(self, broker: Broker) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.broker = broker
        v5 = broker.protocol == "5"
        # A unique client id: two futago processes (or a restarted one) must not disconnect each other.
        client_id = f"{broker.client_id}-{uuid.uuid4().hex[:8]}"
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=None if v5 else True,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
        )
        if broker.username is not None:
            client.username_pw_set(broker.username, broker.password.reveal() if broker.password is not None else None)
        if broker.tls:
            client.tls_set(ca_certs=broker.ca, cert_reqs=ssl.CERT_REQUIRED)
            client.tls_insecure_set(broker.insecure)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self.connected = threading.Event()
        self.refused: str | None = None
        self.client = client
        client.connect_async(broker.host, broker.port, 30)
        client.loop_start()

    def _on_connect(self, _client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            log.warning("notifications: the broker %s:%d refused: %s", self.broker.host, self.broker.port, reason)
            return
        self.refused = None
        self.connected.set()

    def _on_disconnect(self, _client: paho.Client, _userdata: Any, _flags: Any, _reason: Any, _props: Any) -> None:
        self.connected.clear()

    def publish(self, topic: str, payload: bytes, qos: int, timeout_s: float) -> Outcome:
        where = f"{self.broker.host}:{self.broker.port}"
        if not self.connected.wait(timeout_s):
            why = f" (it refused: {self.refused})" if self.refused else ""
            return Outcome(False, True, f"cannot reach the MQTT broker {where} within {timeout_s:g} s{why}")
        sent_at = now_iso()
        try:
            info = self.client.publish(topic, payload, qos=qos)
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError) as exc:
            return Outcome(False, True, f"publishing on {topic} at {where} failed: {exc}", sent_at)
        if not info.is_published():
            return Outcome(False, True, f"the broker {where} did not acknowledge {topic} within {timeout_s:g} s")
        return Outcome(True, detail=f"published on {topic} (QoS {qos})", sent_at=sent_at)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# ---------------------------------------------------------------------------------------------
# Email
# ---------------------------------------------------------------------------------------------

_SMTP_KEYS = {"type", "retry", "host", "port", "sender", "username", "password", "starttls", "ssl", "timeout_s"}


def _addresses(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []


class EmailChannel:
    type = "email"

    def __init__(self, lookup: SettingsLookup) -> None:
        self.lookup = lookup

    def check(self, entry: Mapping[str, Any], pointer: str) -> list[Problem]:
        checker = _Checker(entry, pointer, _ENTRY_KEYS | {"to", "via"})
        to = entry.get("to")
        addresses = _addresses(to)
        if not addresses or len(addresses) > 50:
            checker.problems.append(Problem(f"{pointer}/to", "to is an email address or a list of 1 to 50"))
        for index, address in enumerate(addresses):
            if not isinstance(address, str) or not _ADDRESS.fullmatch(address) or len(address) > 254:
                at = f"{pointer}/to" + (f"/{index}" if isinstance(to, list) else "")
                checker.problems.append(Problem(at, "an email address, e.g. name@example.jp"))
        name = checker.text("via") if "via" in entry else "email"
        if name is not None:
            checker.problems += _named(self.lookup, name, "email", f"{pointer}/via")
        return checker.problems

    def check_settings(self, spec: Mapping[str, Any], pointer: str) -> list[Problem]:
        checker = _Checker(spec, pointer, _SMTP_KEYS)
        checker.text("host", required=True, max_length=255)
        checker.integer("port", 25, 1, 65535)
        sender = checker.text("sender", required=True, max_length=254)
        if sender is not None and not _ADDRESS.fullmatch(sender):
            checker.problems.append(Problem(f"{pointer}/sender", "sender is an email address, e.g. alerts@city.jp"))
        username = checker.text("username")
        password = reveal(spec.get("password"))
        if password is not None and (not isinstance(password, str) or username is None):
            checker.problems.append(Problem(f"{pointer}/password", "password is a string, with a username"))
        if checker.flag("starttls") and checker.flag("ssl"):
            checker.problems.append(Problem(f"{pointer}/ssl", "use either ssl (SMTPS) or starttls, not both"))
        checker.number("timeout_s", 10.0, 0.0, 300.0)
        return checker.problems

    def target(self, entry: Mapping[str, Any]) -> str:
        return ", ".join(_addresses(entry.get("to")))

    def send(self, entry: Mapping[str, Any], message: Message) -> Outcome:
        name = str(entry.get("via", "email"))
        settings = self.lookup(name)
        if settings is None or settings.get("type") != "email":
            return Outcome(False, False, f"no email notification channel settings named '{name}'")
        try:
            mail = self._mail(settings, entry, message)
        except (ValueError, TypeError) as exc:  # e.g. a header the email package refuses: sending again cannot help
            return Outcome(False, False, f"cannot write the email: {exc}")
        host, port = str(settings["host"]), int(settings.get("port", 25))
        timeout = float(settings.get("timeout_s", 10.0))
        sent_at = None
        try:
            smtp: smtplib.SMTP
            if settings.get("ssl"):
                smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
            with smtp:
                if settings.get("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                if settings.get("username"):
                    smtp.login(str(settings["username"]), str(reveal(settings.get("password", ""))))
                sent_at = now_iso()
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            return Outcome(False, False, f"the SMTP server refused every recipient: {sorted(exc.recipients)}", sent_at)
        except smtplib.SMTPResponseException as exc:
            # 4xx is the server's "try later"; 5xx (bad sender, authentication, policy) will not change
            answer = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            temporary = 400 <= exc.smtp_code < 500
            return Outcome(False, temporary, f"the SMTP server answered {exc.smtp_code}: {answer}", sent_at)
        except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, dropped: the server may be back
            return Outcome(False, True, f"cannot deliver through {host}:{port}: {type(exc).__name__}: {exc}", sent_at)
        detail = f"accepted by {host}:{port}"
        if refused:
            detail += f"; refused {sorted(refused)}"
        return Outcome(True, detail=detail, sent_at=sent_at)

    @staticmethod
    def _mail(settings: Mapping[str, Any], entry: Mapping[str, Any], message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = str(settings["sender"])
        mail["To"] = ", ".join(_addresses(entry.get("to")))
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = make_msgid(idstring=message.delivery_id.replace("-", ""), domain="futago.local")
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to an alert
        mail[DELIVERY_HEADER] = message.delivery_id
        mail.set_content(message.text, charset="utf-8")
        mail["Content-Language"] = message.language  # after set_content, which replaces the Content-* headers
        return mail

    def close(self) -> None:
        return None


# ---------------------------------------------------------------------------------------------
# Dashboard
# ---------------------------------------------------------------------------------------------


class DashboardChannel:
    """The dashboard follows ``notification.sent`` events over SSE; the service publishes one per delivery,
    so for this channel there is nothing else to send."""

    type = "dashboard"

    def check(self, entry: Mapping[str, Any], pointer: str) -> list[Problem]:
        return _Checker(entry, pointer, set(_ENTRY_KEYS)).problems

    def check_settings(self, spec: Mapping[str, Any], pointer: str) -> list[Problem]:
        return [Problem(pointer, "the dashboard channel has no settings")]

    def target(self, entry: Mapping[str, Any]) -> str:
        return "events"

    def send(self, entry: Mapping[str, Any], message: Message) -> Outcome:
        return Outcome(True, detail="published as a notification.sent event", sent_at=now_iso())

    def close(self) -> None:
        return None


def check_name(name: str, pointer: str) -> list[Problem]:
    """Names of channel settings and of a subscriber's channel entries."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return [Problem(pointer, "a name has 1 to 64 letters, digits, '.', '_', ':' or '-', starting alphanumeric")]
    return []
