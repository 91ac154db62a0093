"""The paho client futago uses for every MQTT session: built here, and only here.

``connect_client`` makes a client from an ``MqttBroker`` (credentials revealed only now, TLS files already
confined to the data root) for the ingest connector, the command transport and the notification channel alike.
A connector that reads many messages asks for the bulk client, which takes every complete PUBLISH in its
socket buffer at once (see ``BulkClient``).
"""

from __future__ import annotations

import ssl
import struct
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from futago.protocols.mqtt.settings import MqttBroker

_READ_BURST = 4096  # packets handled per network-loop pass before acks and keep-alives get their turn
_PUBACK = struct.Struct("!BBH")  # fixed header 0x40, remaining length 2, packet id
_PUBACK_TYPE = 0x40


def connect_client(
    broker: MqttBroker, client_id: str, clean: bool, manual_ack: bool = False, bulk: bool = False
) -> mqtt.Client:
    """A paho client for ``broker``, logged in and with TLS set, not yet connected. ``clean``: start a fresh
    session (MQTT 3.1.1's clean session; an MQTT 5 caller says clean_start when it connects)."""
    v5 = broker.protocol == "5"
    session: dict[str, Any] = {
        "client_id": client_id,
        "clean_session": None if v5 else clean,
        "protocol": mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        "manual_ack": manual_ack,
    }
    if bulk:
        client: mqtt.Client = BulkClient(CallbackAPIVersion.VERSION2, **session)
    else:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, **session)
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password.reveal() if broker.password is not None else None)
    if broker.tls is not None:
        tls = broker.tls
        client.tls_set(ca_certs=tls.ca, certfile=tls.cert, keyfile=tls.key, cert_reqs=ssl.CERT_REQUIRED)
        client.tls_insecure_set(tls.insecure)
    client.reconnect_delay_set(1, broker.reconnect_max_s)
    return client


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


class Publish(NamedTuple):
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


def _take_publishes(data: bytes, pos: int, v5: bool) -> tuple[list[Publish], int]:
    """The complete QoS 0/1 PUBLISH packets at ``data[pos:]``, and where the first other one starts.

    Stops at anything else (another packet type, QoS 2, a packet cut off at the buffer's end, a
    malformed one), which paho then reads and handles itself, errors included. MQTT 5
    properties are skipped, not decoded: the connector reads none, and the broker sends no
    topic aliases as futago's CONNECT allows none (an empty topic is left to paho all the same).
    """
    out: list[Publish] = []
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
        out.append(Publish(data[i + 2 : topic_end].decode(errors="replace"), data[j:body_end], mid, qos))
        pos = body_end
    return out, pos


class BulkClient(mqtt.Client):
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

    on_publishes: Callable[[list[Publish]], None] | None = None

    def _create_socket(self) -> Any:
        return _BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        handler = self.on_publishes
        if not isinstance(self._sock, _BufferedSocket) or handler is None:
            return super().loop_read(max_packets)
        sock: _BufferedSocket = self._sock
        taken = 0
        v5 = self._protocol == mqtt.MQTTv5
        while True:
            if self._in_packet["command"] == 0 and sock.buffered():  # between two packets
                publishes, sock.pos = _take_publishes(sock.buffer, sock.pos, v5)
                if publishes:
                    with self._msgtime_mutex:
                        self._last_bytes_received = mqtt.time_func()  # what paho's keep-alive reads
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
