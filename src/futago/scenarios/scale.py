"""The scale-out rig: PostgreSQL and NATS started on this machine, rain gauges in the store, their messages in the
ingestion log, and `futago worker` processes consuming it: what `futago bench scale` measures and the kill test
checks, through the same commands an operator runs.

Every message carries one reading with a timestamp of its own, so what the store holds afterwards can be compared
reading by reading with what was published: ``lost`` readings were published and are not stored; ``duplicates``
are rows beyond one per published reading.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from futago import samples
from futago.core.twins import Twin
from futago.ingest.mapping import Mapper, RawMessage
from futago.protocols.nats.link import NatsLink
from futago.scale.ingest_log import NatsIngestLog
from futago.testing.local import futago_command
from futago.testing.nats import LocalNats
from futago.testing.postgres import LocalPostgres

GAUGE_MODEL = "dtmi:futago:demo:RainGauge;1"
CONNECTION = "gauges"
GAUGES = {
    "type": "mqtt",
    "autostart": False,  # the rig publishes to the log itself; no broker in the loop
    "options": {"host": "127.0.0.1", "port": 1883},
    "mappings": [
        {"source": "gauges/{id}/rain", "twin": "gauge-{id}", "telemetry": "rainfall", "format": "json",
         "value": "v", "timestamp": "ts"}
    ],
}  # fmt: skip


@dataclass
class WorkerProcess:
    index: int
    of: int
    process: subprocess.Popen[bytes]
    ready: threading.Event = field(default_factory=threading.Event)
    stderr: list[str] = field(default_factory=list)

    def _follow(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode(errors="replace")
            self.stderr.append(line)
            if "futago worker" in line:
                self.ready.set()


class ScaleRig:
    def __init__(self, gauges: int = 500, partitions: int = 8) -> None:
        self.gauges = gauges
        self.partitions = partitions
        self.folder = Path(tempfile.mkdtemp(prefix="futago-scale-"))
        self.postgres = LocalPostgres()
        self.nats = LocalNats()
        self.published = 0
        self._link: NatsLink | None = None
        self._mapper = Mapper.from_config(GAUGES["mappings"])
        self._conn: Any = None

    # -- set-up ---------------------------------------------------------------------------------
    def __enter__(self) -> ScaleRig:
        self.postgres.start()
        self.nats.start()
        self.env = {
            **os.environ,
            "FUTAGO_DB": self.postgres.url,
            "FUTAGO_NATS": self.nats.url,
            "FUTAGO_PARTITIONS": str(self.partitions),
            "FUTAGO_AUDIT_KEY": str(self.folder / "audit.pem"),
        }
        self.env.pop("FUTAGO_CONFIG", None)
        self._prepare_store()
        self._link = NatsLink(self.nats.url, "futago-scale-rig")
        self.log = NatsIngestLog(self._link, self.partitions)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._link is not None:
            self._link.close()
        self.nats.stop()
        self.postgres.stop()

    def _prepare_store(self) -> None:
        from futago.app import build
        from futago.config import Settings

        settings = Settings(db=self.postgres.url, audit_key=str(self.folder / "audit.pem"))
        with contextlib.chdir(self.folder):  # what the App keeps beside a server store stays in the rig's folder
            app = build(settings)
            try:
                app.models.add(samples.demo_models())
                app.store.put_twins([Twin(f"gauge-{i}", GAUGE_MODEL, {}) for i in range(self.gauges)])
                app.connections.put(CONNECTION, GAUGES)
            finally:
                app.close()

    # -- the log --------------------------------------------------------------------------------
    def publish(self, count: int, t0_ms: int, chunk: int = 2000) -> None:
        """``count`` messages, one reading each: message k is gauge k % gauges at t0 + k // gauges ms."""
        now_us = time.time_ns() // 1000
        for start in range(0, count, chunk):
            messages = [
                RawMessage(f"gauges/{k % self.gauges}/rain",
                           orjson.dumps({"v": k % 97 / 10, "ts": t0_ms + k // self.gauges}), now_us)
                for k in range(start, min(count, start + chunk))
            ]  # fmt: skip
            self.log.publish(CONNECTION, self._mapper.partition_key, messages)  # as the connector would
        self.published += count

    def stored(self, t0_ms: int, count: int, distinct: bool = True) -> tuple[int, int]:
        """(rows, distinct readings) stored for the messages published from ``t0_ms``; without ``distinct``, the
        rows twice (cheaper: polling should not slow down the workers it watches)."""
        import psycopg

        if self._conn is None:
            self._conn = psycopg.connect(self.postgres.url, autocommit=True)
        end_ms = t0_ms + (count + self.gauges - 1) // self.gauges
        what = "COUNT(*), COUNT(DISTINCT (series_id, ts))" if distinct else "COUNT(*), COUNT(*)"
        row = self._conn.execute(
            f"SELECT {what} FROM readings WHERE ts >= %s AND ts < %s", (t0_ms * 1000, end_ms * 1000)
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def wait_stored(self, t0_ms: int, count: int, timeout_s: float, at_least: int | None = None) -> float:
        """Wait until ``at_least`` (default all) of the readings are stored; the time it happened (to 0.1 s)."""
        target = count if at_least is None else at_least
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.stored(t0_ms, count, distinct=False)[0] >= target:
                return time.monotonic()
            time.sleep(0.1)
        raise TimeoutError(f"{self.stored(t0_ms, count)[1]} of {target} readings stored after {timeout_s:.0f} s")

    # -- workers --------------------------------------------------------------------------------
    def start_worker(self, index: int, of: int, ack_wait_s: float = 5.0) -> WorkerProcess:
        command = [*futago_command(), "worker", "--index", str(index), "--of", str(of),
                   "--ack-wait", str(ack_wait_s)]  # fmt: skip
        process = subprocess.Popen(command, cwd=self.folder, env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)  # fmt: skip
        worker = WorkerProcess(index, of, process)
        threading.Thread(target=worker._follow, daemon=True).start()
        return worker

    def start_workers(self, of: int, ack_wait_s: float = 5.0, timeout_s: float = 60.0) -> list[WorkerProcess]:
        workers = [self.start_worker(i, of, ack_wait_s) for i in range(of)]
        for worker in workers:
            self.wait_ready(worker, timeout_s)
        return workers

    def wait_ready(self, worker: WorkerProcess, timeout_s: float = 60.0) -> None:
        if not worker.ready.wait(timeout_s):
            raise RuntimeError(f"worker {worker.index} did not start: {''.join(worker.stderr)[-2000:]}")

    @staticmethod
    def stop_workers(workers: list[WorkerProcess]) -> list[dict[str, Any]]:
        """SIGTERM each, wait, and collect the counters each prints as it exits."""
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        summaries = []
        for worker in workers:
            assert worker.process.stdout is not None  # stderr is the follower thread's to read
            out = worker.process.stdout.read()
            worker.process.wait(timeout=30)
            if out.strip() and worker.process.returncode == 0:  # stdout holds the summary alone
                summaries.append(orjson.loads(out))
        return summaries


@contextlib.contextmanager
def running(workers: list[WorkerProcess]) -> Iterator[list[WorkerProcess]]:
    try:
        yield workers
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait(timeout=10)
