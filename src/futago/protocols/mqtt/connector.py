"""The MQTT connector (an ingest ``Connector``): subscribe to a broker and feed every message through the
ingest pipeline.

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
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from futago.core.paths import NO_FILES, DataRoot
from futago.ingest.connections import ConnectionSpec
from futago.ingest.connector import Sink
from futago.ingest.mapping import RawMessage
from futago.protocols.mqtt.client import BulkClient, Publish, connect_client
from futago.protocols.mqtt.settings import MqttOptions

log = logging.getLogger(__name__)

State = Literal["connecting", "running", "reconnecting", "stopped"]
_RETRY_FIRST_S = 0.1  # first pause after the sink fails; doubles up to _RETRY_MAX_S
_RETRY_MAX_S = 30.0


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
        self._client: BulkClient | None = None
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
    def _make_client(self) -> BulkClient:
        o = self.options
        client = connect_client(o, o.client_id, clean=False, manual_ack=True, bulk=True)
        assert isinstance(client, BulkClient)
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

    def _on_publishes(self, publishes: list[Publish]) -> None:
        """A buffer's worth of messages at once (see BulkClient): one lock, one wake-up, one clock read."""
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
    return MqttConnector(spec, sink, MqttOptions.parse_connection(spec.name, spec.options, files))
