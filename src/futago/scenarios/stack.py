"""The README's "running at scale" example on one machine: PostgreSQL, NATS, a Mosquitto broker for the sensors,
`futago serve --workers 2` (two API processes on one port) and two `futago worker`s, each started the way an
operator would start it on its own machine.

    python -m futago.scenarios.stack            # run until Ctrl-C
    python -m futago.scenarios.stack --check    # publish readings, check they arrive everywhere, stop (the test)

Set-up goes through the API like a user's: models, rain-gauge twins, and an MQTT connection. With --check it
publishes readings to the broker and prints a JSON summary once they are stored and an SSE client of each API
process has seen them arrive.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt

from futago import samples
from futago.scenarios.scale import GAUGE_MODEL, futago_command
from futago.testing.local import free_port
from futago.testing.mosquitto import LocalBroker
from futago.testing.nats import LocalNats
from futago.testing.postgres import LocalPostgres

GAUGES = 10


def _wait_http(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


class Stack:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.processes: list[subprocess.Popen[bytes]] = []

    @contextlib.contextmanager
    def running(self) -> Iterator[Stack]:
        broker_folder = self.folder / "mosquitto"
        broker_folder.mkdir()
        self.broker = LocalBroker(broker_folder)
        with LocalPostgres() as postgres, LocalNats() as nats:
            self.broker.start()
            self.env = {"FUTAGO_DB": postgres.url, "FUTAGO_NATS": nats.url, "PATH": "/usr/bin:/bin"}
            print(f"PostgreSQL {postgres.url}\nNATS {nats.url}\nMQTT 127.0.0.1:{self.broker.port}", file=sys.stderr)
            try:
                self._futago("db", "upgrade").wait(timeout=120)
                self._futago("serve", "--workers", "2", "--port", str(self.port))
                for index in range(2):
                    self._futago("worker", "--index", str(index), "--of", "2")
                _wait_http(f"{self.base}/health")
                yield self
            finally:
                for process in reversed(self.processes):
                    process.send_signal(signal.SIGTERM)
                for process in self.processes:
                    try:
                        process.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        process.kill()
                self.broker.stop()

    def _futago(self, *args: str) -> subprocess.Popen[bytes]:
        import os

        process = subprocess.Popen([*futago_command(), *args], cwd=self.folder, env={**os.environ, **self.env})
        self.processes.append(process)
        return process

    def set_up(self) -> None:
        """Models, twins and the sensors' connection, through the API as a user would."""
        with httpx.Client(base_url=self.base, timeout=30.0) as client:
            client.post("/models", json=samples.demo_models()).raise_for_status()
            for i in range(GAUGES):
                client.put(f"/twins/gauge-{i}", json={"$metadata": {"$model": GAUGE_MODEL}}).raise_for_status()
            connection = {
                "type": "mqtt",
                "options": {"host": "127.0.0.1", "port": self.broker.port},
                "mappings": [{"source": "gauges/{id}/rain", "twin": "gauge-{id}", "telemetry": "rainfall",
                              "format": "json", "value": "v", "timestamp": "ts"}],
            }  # fmt: skip
            client.put("/connections/gauges", json=connection).raise_for_status()

    def check(self, readings: int = 50, timeout_s: float = 90.0) -> dict[str, Any]:
        """Publish readings over MQTT; wait until each API process's SSE stream has shown them and the store holds
        them all."""
        seen = [threading.Event(), threading.Event()]
        connected = [threading.Event(), threading.Event()]
        for args in zip(seen, connected, strict=True):
            threading.Thread(target=self._watch, args=args, daemon=True).start()
        for event in connected:  # both listening before the first reading, or one could miss them all
            event.wait(30)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        client.connect("127.0.0.1", self.broker.port)
        client.loop_start()
        start_ms = int(time.time() * 1000) - readings * GAUGES
        deadline = time.monotonic() + timeout_s
        stored = 0
        published_at = -1e9
        while time.monotonic() < deadline:
            # The leading process subscribes within a few seconds of the connection being stored (at once if the
            # PUT reached it, at its next pass if not), and the broker keeps nothing for a topic nobody has
            # subscribed to yet. So the sensors send their readings again until they are all in: appends are
            # idempotent, and the same reading sent twice is stored once.
            if stored < readings * GAUGES and time.monotonic() - published_at > 5.0:
                infos = [
                    client.publish(f"gauges/{i}/rain", orjson.dumps({"v": k / 10, "ts": start_ms + k * GAUGES + i}), 1)
                    for k in range(readings)
                    for i in range(GAUGES)
                ]
                for info in infos:
                    info.wait_for_publish(10)
                published_at = time.monotonic()
            stored = self._stored(start_ms)
            if stored >= readings * GAUGES and all(e.is_set() for e in seen):
                break
            time.sleep(0.5)
        client.loop_stop()
        client.disconnect()
        return {
            "published": readings * GAUGES,
            "stored": stored,
            "sse_clients_saw_readings": sum(e.is_set() for e in seen),
        }

    def _stored(self, start_ms: int) -> int:
        total = 0
        with httpx.Client(base_url=self.base, timeout=30.0) as client:
            for i in range(GAUGES):
                answer = client.get(f"/twins/gauge-{i}/telemetry", params={"name": "rainfall", "from": start_ms})
                if answer.status_code == 200:
                    total += len(answer.json()["points"])
        return total

    def _watch(self, seen: threading.Event, connected: threading.Event) -> None:
        """An SSE client; each may land on either API process (the kernel spreads connections over them)."""
        with httpx.Client(timeout=None) as client, client.stream("GET", f"{self.base}/events") as stream:
            for line in stream.iter_lines():
                if line.startswith(": connected"):
                    connected.set()
                if line.startswith("data:") and '"telemetry.appended"' in line:
                    seen.set()
                    return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="publish readings, check, print JSON and stop")
    parser.add_argument("--port", type=int, default=None, help="API port (default 8000; a free one with --check)")
    args = parser.parse_args()
    port = args.port or (free_port() if args.check else 8000)
    with tempfile.TemporaryDirectory(prefix="futago-stack-") as tmp, Stack(Path(tmp), port).running() as stack:
        stack.set_up()
        if args.check:
            print(orjson.dumps(stack.check()).decode())
            return
        print(f"futago at scale: API {stack.base}/docs, dashboard {stack.base}/ (Ctrl-C stops everything)")
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
