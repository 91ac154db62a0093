"""``futago bench mqtt``: readings from MQTT publishers to the store, against a bare subscriber.

A private Mosquitto runs on a free port. Publisher processes send JSON readings
(``{"v": 21.3, "t": <epoch ms>}`` on ``plant/<sensor>/temp``) at QoS 1.

- msgs_per_s: the publishers send as fast as they can; futago's MQTT connector (manual
  acknowledgement after storing) maps and stores them. Messages stored / seconds from the
  publishers' start to the last store call returning.
- floor_msgs_per_s: the same publishers and messages, received by a bare paho subscriber at
  QoS 1 that only counts them, in the same run. ``ratio`` = msgs_per_s / floor.
- latency_p50_ms / latency_p99_ms: publishers paced to 10,000 msg/s in all; from the send
  time in the payload (``t``, epoch ms) to the return of the sink call that stored it.
- lost: published (acknowledged by the broker) minus the readings in the store.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console

from benchmarks.graph import BENCH, build_bench_app
from futago.app import App
from futago.ingest.connections import ConnectionSpec
from futago.ingest.mapping import RawMessage
from futago.ingest.pipeline import IngestResult
from futago.protocols.mqtt.connector import mqtt_connector

KEYS = ("msgs_per_s", "floor_msgs_per_s", "ratio", "latency_p50_ms", "latency_p99_ms", "lost")
PUBLISHERS = 3
SENSORS_PER_PUBLISHER = 100
MESSAGES_PER_PUBLISHER = 50_000  # the throughput phases
PACED_RATE = 10_000  # msg/s in all, for the latency phase
PACED_SECONDS = 4.0
TOPIC = "plant/{sensor}/temp"
# Both subscribers speak MQTT 3.1.1: paho decodes MQTT 5 properties on every message, which
# costs about a quarter of the throughput. The bench broker allows unlimited in-flight messages,
# as a 3.1.1 deployment must (mosquitto's default of 20 would starve batching).
PROTOCOL = paho.MQTTv311


def _sensor(publisher: int, i: int) -> str:
    return f"sensor-{publisher}-{i:03d}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _mosquitto(folder: Path) -> Iterator[int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        raise SystemExit("bench mqtt needs mosquitto: run scripts/install-system-deps.sh")
    port = _free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 0\n"
        f"max_queued_messages 0\nuser {_user()}\n"
    )
    process = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.02)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _user() -> str:
    import getpass

    return getpass.getuser()


def _remaining(length: int) -> bytes:
    """MQTT's variable-length "remaining length" field."""
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


class RawPublisher:
    """A minimal MQTT 3.1.1 QoS 1 publisher on a plain socket.

    paho's publisher spends ~250 µs of CPU per message (a wake-up write and a send per packet),
    so three of them would measure paho, not futago, on a 2-core machine. This one writes
    packets in chunks and counts the broker's PUBACKs, keeping at most ``window`` unacknowledged.
    """

    def __init__(self, port: int, client_id: str, window: int = 2000) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = _string("MQTT") + bytes([4, 0x02, 0, 0]) + _string(client_id)  # clean, no keep-alive
        self.sock.sendall(b"\x10" + _remaining(len(body)) + body)
        connack = self._read(4)
        if connack[0] != 0x20 or connack[3] != 0:
            raise RuntimeError(f"the broker refused the bench publisher: {connack!r}")
        self.window = window
        self.sent = 0
        self.acked = 0
        self._partial = 0  # bytes of a PUBACK read so far

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            data += chunk
        return data

    def _drain(self, block: bool) -> None:
        self.sock.setblocking(block)
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        finally:
            self.sock.setblocking(True)
        if not data:
            raise ConnectionError("the broker closed the connection")
        total = self._partial + len(data)  # only PUBACKs (4 bytes each) come back
        self.acked += total // 4
        self._partial = total % 4

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        packets = []
        for topic, payload in messages:
            self.sent += 1
            mid = self.sent % 65535 + 1
            body = _string(topic) + mid.to_bytes(2, "big") + payload
            packets.append(b"\x32" + _remaining(len(body)) + body)
        while self.sent - self.acked > self.window:
            self._drain(block=True)
        self.sock.sendall(b"".join(packets))
        self._drain(block=False)

    def close(self) -> int:
        """Wait for every PUBACK, disconnect, and return how many messages the broker took."""
        self.sock.settimeout(60)
        while self.acked < self.sent:
            self._drain(block=True)
        self.sock.sendall(b"\xe0\x00")
        self.sock.close()
        return self.acked


def _publish(
    index: int,
    port: int,
    count: int,
    rate: float | None,
    go: EventType,
    ready: mp.Queue[tuple[int, int]],
    done: mp.Queue[tuple[int, int]],
) -> None:
    """One publisher process: ``count`` readings round-robin over its sensors, QoS 1.

    ``t`` is the send time in epoch ms, nudged forward where needed so that each sensor's
    timestamps are distinct (the store keys readings by series and time).
    """
    publisher = RawPublisher(port, f"bench-pub-{index}")
    topics = [TOPIC.format(sensor=_sensor(index, i)) for i in range(SENSORS_PER_PUBLISHER)]
    last = [0] * SENSORS_PER_PUBLISHER
    chunk = 20
    ready.put((index, 0))
    go.wait()
    started = time.perf_counter()
    for first in range(0, count, chunk):
        if rate is not None:
            ahead = started + first / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
        batch = []
        now_ms = time.time_ns() // 1_000_000
        for n in range(first, min(count, first + chunk)):
            s = n % SENSORS_PER_PUBLISHER
            t = last[s] = max(now_ms, last[s] + 1)
            batch.append((topics[s], b'{"v":%.2f,"t":%d}' % (20.0 + (n % 100) / 10, t)))
        publisher.publish(batch)
    done.put((index, publisher.close()))


class Publishers:
    """The publisher processes of one phase: started, connected, then released together."""

    def __init__(self, port: int, count: int, rate: float | None) -> None:
        context = mp.get_context("spawn")
        self.go = context.Event()
        self.ready: mp.Queue[tuple[int, int]] = context.Queue()
        self.done: mp.Queue[tuple[int, int]] = context.Queue()
        per = None if rate is None else rate / PUBLISHERS
        self.processes = [
            context.Process(target=_publish, args=(i, port, count, per, self.go, self.ready, self.done), daemon=True)
            for i in range(PUBLISHERS)
        ]
        for process in self.processes:
            process.start()
        for _ in self.processes:
            self.ready.get(timeout=60)  # imported and connected
        self.started = time.perf_counter()
        self.go.set()

    def join(self) -> int:
        """How many messages the broker acknowledged, once every publisher is done."""
        published = sum(self.done.get(timeout=120)[1] for _ in self.processes)
        for process in self.processes:
            process.join(timeout=10)
        return published


def _wait(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def floor(port: int) -> float:
    """A bare paho subscriber at QoS 1 that only counts; msg/s from the publishers' start."""
    received = [0, 0.0]

    def on_message(_c: paho.Client, _u: Any, _m: paho.MQTTMessage) -> None:
        received[0] += 1
        received[1] = time.perf_counter()

    subscribed = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-floor", protocol=PROTOCOL)
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_connect = lambda c, *_: c.subscribe("plant/+/temp", qos=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        subscribed.wait(10)
        publishers = Publishers(port, MESSAGES_PER_PUBLISHER, None)
        published = publishers.join()
        _wait(lambda: received[0] >= published, 60)
        return float(received[0] / (float(received[1]) - publishers.started))
    finally:
        client.disconnect()
        client.loop_stop()


class TimedSink:
    """Wraps the connection's sink: counts what it stores and notes when each call returned.

    Payloads are only kept here; they are decoded for latencies after the run, off the clock.
    """

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.stored = 0
        self.last_return = 0.0
        self.calls: list[tuple[int, Sequence[RawMessage]]] = []
        self.record = False

    def __call__(self, messages: Sequence[RawMessage]) -> IngestResult:
        result: IngestResult = self.sink(messages)
        self.last_return = time.perf_counter()
        self.stored += result.stored
        if self.record:
            self.calls.append((time.time_ns() // 1000, messages))
        return result

    def latencies_ms(self) -> list[float]:
        return [(returned_us / 1000 - orjson.loads(m.payload)["t"]) for returned_us, batch in self.calls for m in batch]


def _connection() -> dict[str, Any]:
    return {
        "type": "mqtt",
        "options": {"protocol": "3.1.1", "client_id": "futago-bench"},
        "mappings": [
            {"source": "plant/{sensor}/temp", "twin": "{sensor}", "telemetry": "value", "value": "v", "timestamp": "t"}
        ],
    }


def _count_stored(app: App) -> int:
    return sum(
        len(app.telemetry.history(_sensor(p, i), "value"))
        for p in range(PUBLISHERS)
        for i in range(SENSORS_PER_PUBLISHER)
    )


def futago(app: App, port: int) -> dict[str, float]:
    config = _connection()
    config["options"]["port"] = port
    spec = ConnectionSpec.from_config("bench", config, ["mqtt"])
    sink = TimedSink(app.connections.sink_for(spec))
    connector = mqtt_connector(spec, sink)
    connector.start()
    try:
        if not _wait(lambda: connector.status()["state"] == "running", 10):
            raise RuntimeError(f"the MQTT connector did not connect: {connector.status()}")
        time.sleep(0.5)  # the subscription is acknowledged
        publishers = Publishers(port, MESSAGES_PER_PUBLISHER, None)
        published = publishers.join()
        _wait(lambda: sink.stored >= published, 60)
        msgs_per_s = sink.stored / (sink.last_return - publishers.started)

        sink.record = True
        paced = int(PACED_RATE * PACED_SECONDS / PUBLISHERS)
        published += Publishers(port, paced, PACED_RATE).join()
        _wait(lambda: sink.stored >= published, 60)
        sink.record = False
    finally:
        connector.stop()
    latencies = sorted(sink.latencies_ms())
    return {
        "msgs_per_s": msgs_per_s,
        "latency_p50_ms": statistics.median(latencies),
        "latency_p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
        "published": published,
    }


def run(db: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Every figure of the MQTT bench. ``db`` names a folder for the SQLite file (default: a temp one)."""
    console = Console(stderr=True, quiet=not progress)
    with tempfile.TemporaryDirectory(dir=db if db and Path(db).is_dir() else None) as tmp:
        folder = Path(tmp)
        with _mosquitto(folder) as port:
            with console.status("floor: a bare paho subscriber counting QoS 1 messages"):
                floor_rate = floor(port)
            app = build_bench_app(str(folder / "mqtt.db"))
            try:
                app.twins.import_twins(
                    [
                        (_sensor(p, i), {"$metadata": {"$model": BENCH + "Asset;1"}, "name": _sensor(p, i)})
                        for p in range(PUBLISHERS)
                        for i in range(SENSORS_PER_PUBLISHER)
                    ]
                )
                with console.status("futago: the MQTT connector mapping and storing the same messages"):
                    measured = futago(app, port)
                lost = int(measured["published"]) - _count_stored(app)
            finally:
                app.close()
    figures = {
        "msgs_per_s": round(measured["msgs_per_s"]),
        "floor_msgs_per_s": round(floor_rate),
        "ratio": round(measured["msgs_per_s"] / floor_rate, 3),
        "latency_p50_ms": round(measured["latency_p50_ms"], 2),
        "latency_p99_ms": round(measured["latency_p99_ms"], 2),
        "lost": lost,
    }
    assert tuple(figures) == KEYS
    return figures


if __name__ == "__main__":
    print(run())
