"""The MQTT connector: subscribe to a broker and feed every message through the ingest pipeline.

Reliability comes from MQTT itself rather than from a local buffer: the connector holds a
persistent session at QoS 1 and acknowledges a message only after the sink has stored the
batch it belongs to. If futago stops or crashes before that, the broker still holds the
message and delivers it again, so nothing is lost (a redelivered reading overwrites itself,
as the store keys readings by series and time).

Two threads do the work. paho's network thread only appends each message to a queue, so
keep-alives and acknowledgements never wait behind the store; a worker thread hands the
queue to the sink in batches (``batch_max`` messages, or whatever arrived within
``batch_ms``) and acknowledges them in the order they came. A failing store is retried with
a growing pause, in order, without acknowledging anything in the meantime; the broker's
flow control (MQTT 5 Receive Maximum, or the broker's in-flight limit) then throttles it.
"""

from __future__ import annotations

import logging
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from futago.core.errors import InvalidInput
from futago.core.paths import NO_FILES, DataRoot
from futago.core.problems import Problem
from futago.core.secrets import Secret, reveal, secret
from futago.ingest.connections import ConnectionSpec, Sink
from futago.ingest.mapping import RawMessage

log = logging.getLogger(__name__)

State = Literal["connecting", "running", "reconnecting", "stopped"]
_KNOWN = {
    "host": "the broker's host name",
    "port": "the broker's port (1883; 8883 for TLS)",
    "protocol": "'3.1.1' or '5'",
    "client_id": "the session's client id (default futago-<connection name>)",
    "username": "user name",
    "password": "password",
    "tls": "true, or {ca, cert, key, insecure}: files inside the data root",
    "qos": "0, 1 or 2 (default 1)",
    "keepalive": "seconds between pings (default 60)",
    "session_expiry": "seconds the broker keeps the session while futago is away (MQTT 5; default 1 day)",
    "batch_max": "messages per store call (default 2000)",
    "batch_ms": "longest wait before a partial batch is stored (default 10)",
    "shared_group": "MQTT 5 shared subscription group: $share/<group>/<filter>",
    "reconnect_max_s": "longest pause between reconnection attempts (default 30)",
}
_RETRY_FIRST_S = 0.1  # first pause after the sink fails; doubles up to _RETRY_MAX_S
_RETRY_MAX_S = 30.0
_READ_BURST = 4096  # packets handled per network-loop pass before acks and keep-alives get their turn
_PUBACK = struct.Struct("!BBH")  # fixed header 0x40, remaining length 2, packet id
_PUBACK_TYPE = 0x40


@dataclass(frozen=True)
class TlsOptions:
    """The files are real paths inside the data root, resolved when the options were parsed."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class MqttOptions:
    """Validated connection options; ``parse`` points every mistake at its key."""

    host: str
    port: int
    protocol: Literal["3.1.1", "5"]
    client_id: str
    username: str | None
    password: Secret[str] | None
    tls: TlsOptions | None
    qos: int
    keepalive: int
    session_expiry: int
    batch_max: int
    batch_ms: float
    shared_group: str | None
    reconnect_max_s: int

    @classmethod
    def parse(cls, name: str, options: dict[str, Any], files: DataRoot = NO_FILES) -> MqttOptions:
        """``files``: where the TLS files may lie (the server's data root); by default nowhere."""
        problems = [
            Problem(f"/options/{key}", f"unknown MQTT option; use one of {sorted(_KNOWN)}")
            for key in options
            if key not in _KNOWN
        ]

        def number(key: str, default: int, low: int, high: int) -> int:
            value = options.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(Problem(f"/options/{key}", f"{key} is an integer from {low} to {high}"))
                return default
            return value

        def text(key: str, default: str | None) -> str | None:
            value = options.get(key, default)
            if value is not None and (not isinstance(value, str) or not value):
                problems.append(Problem(f"/options/{key}", f"{key} is a non-empty string"))
                return default
            return value

        host = text("host", "localhost") or "localhost"
        port = number("port", 1883, 1, 65535)
        protocol = options.get("protocol", "5")
        if protocol not in ("3.1.1", "5"):
            problems.append(Problem("/options/protocol", "protocol is '3.1.1' or '5' (MQTT 5)"))
            protocol = "5"
        client_id = text("client_id", f"futago-{name}") or f"futago-{name}"
        if len(client_id.encode()) > 65535:
            problems.append(Problem("/options/client_id", "a client id is at most 65,535 bytes"))
        username = text("username", None)
        password = options.get("password")
        if password is not None and not isinstance(reveal(password), str):
            problems.append(Problem("/options/password", "password is a string"))
            password = None
        if password is not None and username is None:
            problems.append(Problem("/options/username", "a password needs a username"))
        qos = number("qos", 1, 0, 2)
        keepalive = number("keepalive", 60, 5, 65535)
        session_expiry = number("session_expiry", 86_400, 0, 0xFFFFFFFF)
        batch_max = number("batch_max", 2000, 1, 65535)
        batch_ms = options.get("batch_ms", 10)
        if isinstance(batch_ms, bool) or not isinstance(batch_ms, int | float) or not 0 <= batch_ms <= 60_000:
            problems.append(Problem("/options/batch_ms", "batch_ms is a number of milliseconds from 0 to 60,000"))
            batch_ms = 20
        shared_group = text("shared_group", None)
        if shared_group is not None:
            if any(c in shared_group for c in "/+#"):
                problems.append(Problem("/options/shared_group", "a share group name has no '/', '+' or '#'"))
            if protocol != "5":
                problems.append(Problem("/options/shared_group", "shared subscriptions need protocol '5'"))
        reconnect_max_s = number("reconnect_max_s", 30, 1, 3600)
        tls = _tls(options.get("tls", False), problems, files)
        if problems:
            raise InvalidInput(problems)
        return cls(
            host,
            port,
            protocol,
            client_id,
            username,
            None if password is None else secret(password),
            tls,
            qos,
            keepalive,
            session_expiry,
            batch_max,
            float(batch_ms),
            shared_group,
            reconnect_max_s,
        )


def _tls(value: Any, problems: list[Problem], files: DataRoot) -> TlsOptions | None:
    if value is False or value is None:
        return None
    if value is True:
        return TlsOptions()
    if not isinstance(value, dict):
        problems.append(Problem("/options/tls", "tls is true, or an object {ca, cert, key, insecure}"))
        return None
    for key in value:
        if key not in ("ca", "cert", "key", "insecure"):
            problems.append(Problem(f"/options/tls/{key}", "unknown TLS option; use ca, cert, key, insecure"))
    paths: dict[str, str | None] = dict.fromkeys(("ca", "cert", "key"))
    for key in paths:
        if value.get(key) is None:
            continue
        # Confined like every file a caller names: a connection that works or fails would tell whether a file
        # outside exists, and a key file elsewhere (the audit key) could be put to use.
        try:
            paths[key] = str(files.resolve(value[key], f"/options/tls/{key}"))
        except InvalidInput as exc:
            problems.extend(exc.problems)
    if (value.get("cert") is None) != (value.get("key") is None):
        problems.append(Problem("/options/tls/cert", "a client certificate needs both cert and key"))
    insecure = value.get("insecure", False)
    if not isinstance(insecure, bool):
        problems.append(Problem("/options/tls/insecure", "insecure is true or false"))
        insecure = False
    return TlsOptions(paths["ca"], paths["cert"], paths["key"], insecure)


class _BufferedSocket:
    """A socket whose reads come from a 64 KiB buffer.

    paho reads every packet with three or more ``recv`` calls (the type byte, each length
    byte, then the body), one system call each: at ~10,000 msg/s that, not futago, was the
    ceiling. paho already skips ``select`` while a socket reports ``pending()`` bytes (it
    does so for TLS), so buffered bytes are never left waiting.
    """

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.buffer = b""
        self.pos = 0

    def recv(self, size: int) -> bytes:
        if self.pos >= len(self.buffer):
            data: bytes = self._sock.recv(max(size, 65536))
            if len(data) <= size:
                return data
            self.buffer, self.pos = data, 0
        end = self.pos + size
        chunk = self.buffer[self.pos : end]
        self.pos = end
        return chunk

    def pending(self) -> int:
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self.buffer) - self.pos + int(inner)

    def buffered(self) -> int:
        return len(self.buffer) - self.pos

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Publish(NamedTuple):
    topic: str
    payload: bytes
    mid: int
    qos: int


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """An MQTT variable byte integer at ``data[pos:end]``: (value, next position), or (0, -1)
    when it is cut off or longer than the four bytes MQTT allows."""
    value, shift = 0, 0
    while pos < end and shift < 28:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos
    return 0, -1


def _take_publishes(data: bytes, pos: int, v5: bool) -> tuple[list[_Publish], int]:
    """The complete QoS 0/1 PUBLISH packets at ``data[pos:]``, and where the first other one starts.

    Stops at anything else (another packet type, QoS 2, a packet cut off at the buffer's end, a
    malformed one), which paho then reads and handles itself, errors included. MQTT 5
    properties are skipped, not decoded: the connector reads none, and the broker sends no
    topic aliases as futago's CONNECT allows none (an empty topic is left to paho all the same).
    """
    out: list[_Publish] = []
    end = len(data)
    while pos + 1 < end:
        header = data[pos]
        qos = (header >> 1) & 3
        if header >> 4 != 3 or qos > 1:
            break
        length, i = _varint(data, pos + 1, end)
        if i < 0:
            break  # the length is cut off, or longer than MQTT allows
        body_end = i + length
        if body_end > end:
            break
        topic_end = i + 2 + (data[i] << 8 | data[i + 1]) if length >= 2 else body_end + 1
        j = topic_end + 2 if qos else topic_end
        if topic_end == i + 2 or j > body_end:
            break
        mid = data[topic_end] << 8 | data[topic_end + 1] if qos else 0
        if v5:
            size, j = _varint(data, j, body_end)
            if j < 0:
                break
            j += size
            if j > body_end:
                break
        # An invalid UTF-8 topic matches no mapping and becomes a dead letter, not a crash.
        out.append(_Publish(data[i + 2 : topic_end].decode(errors="replace"), data[j:body_end], mid, qos))
        pos = body_end
    return out, pos


class _Client(paho.Client):
    """paho's client on a buffered socket, reading PUBLISH packets in bulk and acking in one write.

    paho handles one packet per pass of its network loop, and every pass calls ``select``,
    which releases the GIL. While the worker thread is in the sink (pure Python, holding the
    GIL), the network thread then waits up to the interpreter's switch interval (5 ms) to get
    it back: one message per 5 ms, so messages piled up unread in the socket and at the broker
    while the store ran. That, not the store's speed, made paced latency hundreds of ms. Here a
    pass takes every complete PUBLISH in the buffer (~1,000 per 64 KiB) and hands them to
    ``on_publishes`` as one list; paho keeps every other packet, and any packet split across
    reads, with its own state machine.
    """

    on_publishes: Callable[[list[_Publish]], None] | None = None

    def _create_socket(self) -> Any:
        return _BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        handler = self.on_publishes
        if not isinstance(self._sock, _BufferedSocket) or handler is None:
            return super().loop_read(max_packets)
        sock: _BufferedSocket = self._sock
        taken = 0
        v5 = self._protocol == paho.MQTTv5
        while True:
            if self._in_packet["command"] == 0 and sock.buffered():  # between two packets
                publishes, sock.pos = _take_publishes(sock.buffer, sock.pos, v5)
                if publishes:
                    with self._msgtime_mutex:
                        self._last_bytes_received = paho.time_func()  # what paho's keep-alive reads
                    handler(publishes)
                    taken += len(publishes)
            # Bounded, so a flat-out stream still lets the loop write acks and keep-alives.
            if taken and (not sock.buffered() or taken >= _READ_BURST):
                return MQTTErrorCode.MQTT_ERR_SUCCESS
            # One packet the fast path left (or the first read, which fills the buffer).
            rc = super().loop_read(max_packets)
            taken += 1
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or self._sock is not sock or not sock.buffered():
                return rc

    def ack_many(self, mids: Sequence[int]) -> None:
        """Acknowledge QoS 1 messages with one queued write and one wake-up of the network loop.

        ``ack`` queues one packet per message, and the network thread sends each with its own
        ``send``: thousands of system calls (each a GIL hand-over) per batch. The PUBACKs are
        concatenated instead; to the broker the bytes are the same packets in the same order.
        """
        if mids:
            packet = b"".join([_PUBACK.pack(_PUBACK_TYPE, 2, mid) for mid in mids])
            self._packet_queue(_PUBACK_TYPE, packet, 0, 0)


class _Pending(NamedTuple):
    message: RawMessage
    mid: int
    qos: int
    session: int  # which connection delivered it; a packet id is only valid on that one


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MqttConnector:
    """One MQTT client session feeding one connection's sink (see the module docstring)."""

    def __init__(self, spec: ConnectionSpec, sink: Sink, options: MqttOptions) -> None:
        self.spec = spec
        self.sink = sink
        self.options = options
        filters = dict.fromkeys(m.pattern.subscription for m in spec.mapper.mappings)
        group = options.shared_group
        self.filters = [f"$share/{group}/{f}" if group else f for f in filters]
        self._pending: deque[_Pending] = deque()
        self._wake = threading.Condition()
        self._ack_lock = threading.Lock()  # a connection change never interleaves with acking
        self._closing = threading.Event()
        self._client: _Client | None = None
        self._worker: threading.Thread | None = None
        self._session = 0
        self._connected = False
        self._state: State = "stopped"
        self._connected_since: str | None = None
        self._reconnects = 0
        self._last_error: str | None = None
        self._received = 0
        self._acknowledged = 0
        self._failed_batches = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._client is not None:
            return
        self._closing.clear()
        self._state = "connecting"
        client = self._make_client()
        self._client = client
        self._worker = threading.Thread(target=self._run, name=f"futago-mqtt-{self.spec.name}", daemon=True)
        self._worker.start()
        o = self.options
        properties = None
        if o.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = o.session_expiry
            # Unacknowledged messages the broker may send at once: a few batches, so the next
            # batch is arriving while one is stored, and a stalled store stops the flow.
            properties.ReceiveMaximum = min(65535, max(100, 4 * o.batch_max))
        client.connect_async(o.host, o.port, o.keepalive, clean_start=False, properties=properties)
        client.loop_start()

    def stop(self) -> None:
        """Store and acknowledge what has arrived, then leave; the broker keeps the session."""
        client = self._client
        if client is None:
            return
        self._closing.set()
        with self._wake:
            self._wake.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=30)
        client.disconnect()
        client.loop_stop()
        self._client = None
        self._connected = False
        self._state = "stopped"
        self._connected_since = None

    def status(self) -> dict[str, Any]:
        return {
            "state": self._state,
            "broker": f"{self.options.host}:{self.options.port}",
            "clientId": self.options.client_id,
            "connected_since": self._connected_since,
            "reconnects": self._reconnects,
            "last_error": self._last_error,
            "received": self._received,
            "acknowledged": self._acknowledged,
            "pending": len(self._pending),
            "failed_batches": self._failed_batches,
        }

    # -- the network thread -------------------------------------------------------------------
    def _make_client(self) -> _Client:
        o = self.options
        v5 = o.protocol == "5"
        client = _Client(
            CallbackAPIVersion.VERSION2,
            client_id=o.client_id,
            clean_session=None if v5 else False,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            manual_ack=True,
        )
        if o.username is not None:
            client.username_pw_set(o.username, o.password.reveal() if o.password is not None else None)
        if o.tls is not None:
            client.tls_set(ca_certs=o.tls.ca, certfile=o.tls.cert, keyfile=o.tls.key, cert_reqs=ssl.CERT_REQUIRED)
            client.tls_insecure_set(o.tls.insecure)
        client.reconnect_delay_set(1, o.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_publishes = self._on_publishes
        return client

    def _on_connect(self, client: paho.Client, _userdata: Any, flags: Any, reason: ReasonCode, _props: Any) -> None:
        if reason.is_failure:
            self._last_error = f"the broker refused the connection: {reason}"
            log.warning("MQTT %s: %s", self.spec.name, self._last_error)
            return
        with self._ack_lock:
            self._session += 1
            self._connected = True
        if self._state == "reconnecting":
            self._reconnects += 1
        self._connected_since = _now_iso()
        self._state = "running"
        qos = self.options.qos
        if self.options.protocol == "5":
            client.subscribe([(f, SubscribeOptions(qos=qos)) for f in self.filters])
        else:
            client.subscribe([(f, qos) for f in self.filters])
        log.info("MQTT %s connected (session present: %s)", self.spec.name, flags.session_present)

    def _on_connect_fail(self, _client: paho.Client, _userdata: Any) -> None:
        self._last_error = f"cannot reach the broker at {self.options.host}:{self.options.port}"

    def _on_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        with self._ack_lock:
            was_connected, self._connected = self._connected, False
        self._connected_since = None
        if self._closing.is_set() or not was_connected:
            return  # a refused CONNACK already said why; paho retries it after a pause
        self._state = "reconnecting"
        if reason.is_failure:
            self._last_error = f"disconnected: {reason}"
        log.warning("MQTT %s disconnected (%s); reconnecting", self.spec.name, reason)

    def _on_subscribe(
        self, _client: paho.Client, _userdata: Any, _mid: int, reasons: list[ReasonCode], _props: Any
    ) -> None:
        refused = [f for f, r in zip(self.filters, reasons, strict=False) if r.is_failure]
        if refused:
            self._last_error = f"the broker refused the subscription to {refused}"
            log.warning("MQTT %s: %s", self.spec.name, self._last_error)

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        if self._closing.is_set():
            return  # not acknowledged: the broker delivers it again to the next session
        raw = RawMessage(message.topic, bytes(message.payload), time.time_ns() // 1000)
        item = _Pending(raw, message.mid, message.qos, self._session)
        with self._wake:
            self._pending.append(item)
            waiting = len(self._pending)
            if waiting == 1 or waiting >= self.options.batch_max:
                self._wake.notify()
        self._received += 1

    def _on_publishes(self, publishes: list[_Publish]) -> None:
        """A buffer's worth of messages at once (see _Client): one lock, one wake-up, one clock read."""
        if self._closing.is_set():
            return  # not acknowledged: the broker delivers them again to the next session
        now_us = time.time_ns() // 1000
        session = self._session
        items = [_Pending(RawMessage(p.topic, p.payload, now_us), p.mid, p.qos, session) for p in publishes]
        pending = self._pending
        with self._wake:
            before = len(pending)
            pending.extend(items)
            if not before or len(pending) >= self.options.batch_max:
                self._wake.notify()
        self._received += len(items)

    # -- the worker thread --------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if not batch:
                return
            self._deliver(batch)

    def _next_batch(self) -> list[_Pending]:
        """Wait for a full batch, or for the oldest message to be ``batch_ms`` old."""
        batch_max = self.options.batch_max
        wait_us = self.options.batch_ms * 1000
        with self._wake:
            while not self._closing.is_set():
                waiting = len(self._pending)
                if waiting >= batch_max:
                    break
                if waiting:
                    left_us = self._pending[0].message.received_us + wait_us - time.time_ns() // 1000
                    if left_us <= 0:
                        break
                    self._wake.wait(left_us / 1e6)
                else:
                    self._wake.wait()
            pending = self._pending
            return [pending.popleft() for _ in range(min(batch_max, len(pending)))]

    def _deliver(self, batch: list[_Pending]) -> None:
        """Store the batch, then acknowledge it; retry in order while the store fails."""
        messages = [p.message for p in batch]
        pause = _RETRY_FIRST_S
        while True:
            try:
                self.sink(messages)
                break
            except Exception as exc:  # the store failed: keep the batch, acknowledge nothing
                self._failed_batches += 1
                self._last_error = f"storing a batch failed: {exc}"
                log.exception("MQTT %s: storing %d messages failed; retrying", self.spec.name, len(batch))
                if self._closing.wait(pause):
                    return  # unacknowledged: the broker delivers them again next time
                pause = min(pause * 2, _RETRY_MAX_S)
        self._acknowledge(batch)

    def _acknowledge(self, batch: Sequence[_Pending]) -> None:
        client = self._client
        if client is None:
            return
        with self._ack_lock:
            if not self._connected:
                return  # the broker will redeliver them; they are stored, and storing is idempotent
            session = self._session
            # Packet ids are only valid on the connection that delivered them.
            ours = [item for item in batch if item.qos and item.session == session]
            client.ack_many([item.mid for item in ours if item.qos == 1])
            for item in ours:
                if item.qos == 2:  # PUBCOMP: rare, and paho keeps QoS 2 state of its own
                    client.ack(item.mid, item.qos)
        self._acknowledged += len(ours)


def mqtt_connector(spec: ConnectionSpec, sink: Sink, files: DataRoot = NO_FILES) -> MqttConnector:
    """The ``mqtt`` connector type; raises InvalidInput (pointers under /options) for bad options. ``files``: the
    data root that TLS files must lie in."""
    return MqttConnector(spec, sink, MqttOptions.parse(spec.name, spec.options, files))
