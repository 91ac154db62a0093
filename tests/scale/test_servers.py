"""Several API servers on one PostgreSQL store and one NATS: every change reaches every server's event stream, the
audit records each change once, one server leads, and another takes over when it dies. And the README's example:
two API processes and two workers behind one port, fed over MQTT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import orjson
import psycopg
import pytest

from futago.scenarios.scale import GAUGE_MODEL, ScaleRig, futago_command
from futago.testing.local import free_port
from futago.testing.mosquitto import MOSQUITTO
from tests.scale.conftest import need_servers


def _serve(rig: ScaleRig, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([*futago_command(), "serve", "--port", str(port)], cwd=rig.folder, env=rig.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"futago serve did not start: {process.stderr.read().decode() if process.stderr else ''}")


@pytest.fixture
def servers(rig: ScaleRig) -> Iterator[list[tuple[subprocess.Popen[bytes], str]]]:
    started = []
    try:
        for _ in range(2):
            port = free_port()
            started.append((_serve(rig, port), f"http://127.0.0.1:{port}"))
        yield started
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)


def _collect(base: str, found: list[dict], stop: threading.Event, ready: threading.Event) -> None:
    with httpx.Client(timeout=None) as client, client.stream("GET", f"{base}/events") as stream:
        ready.set()
        for line in stream.iter_lines():
            if line.startswith("data:"):
                found.append(orjson.loads(line[5:]))
            if stop.is_set():
                return


def test_a_change_on_one_server_reaches_the_event_stream_of_the_other(
    rig: ScaleRig, servers: list[tuple[subprocess.Popen[bytes], str]]
) -> None:
    (_, a), (_, b) = servers
    events: list[dict] = []
    stop, ready = threading.Event(), threading.Event()
    threading.Thread(target=_collect, args=(a, events, stop, ready), daemon=True).start()
    assert ready.wait(10)
    httpx.put(f"{b}/twins/gauge-fanout", json={"$metadata": {"$model": GAUGE_MODEL}}).raise_for_status()
    httpx.post(f"{b}/twins/gauge-fanout/telemetry", json=[{"name": "rainfall", "ts": 1_700_000_000_000, "value": 4.5}]
               ).raise_for_status()  # fmt: skip
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and {"twin.created", "telemetry.appended"} - {
        e["type"] for e in events if e.get("twinId") == "gauge-fanout"
    }:
        time.sleep(0.1)
    stop.set()
    seen = {e["type"] for e in events if e.get("twinId") == "gauge-fanout"}
    assert {"twin.created", "telemetry.appended"} <= seen
    assert httpx.get(f"{a}/twins/gauge-fanout").json()["$metadata"]["$model"] == GAUGE_MODEL  # one store
    with psycopg.connect(rig.postgres.url) as conn:  # audited by the server that made the change, once
        audited = conn.execute(
            "SELECT COUNT(*) FROM audit WHERE action = 'twin.created' AND resource = 'twins/gauge-fanout'"
        ).fetchone()
    assert audited == (1,)


def test_one_server_leads_and_another_takes_over_when_it_dies(
    rig: ScaleRig, servers: list[tuple[subprocess.Popen[bytes], str]]
) -> None:
    def holder() -> int | None:  # the pid in the lease row's holder (host:pid:nonce), while the lease holds
        with psycopg.connect(rig.postgres.url, autocommit=True) as conn:
            row = conn.execute("SELECT holder FROM leader_lease WHERE expires > clock_timestamp()").fetchone()
        return int(row[0].split(":")[1]) if row else None

    pids = {process.pid for process, _ in servers}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and holder() is None:
        time.sleep(0.1)
    leader = holder()
    assert leader in pids
    next(p for p, _ in servers if p.pid == leader).send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and holder() in (leader, None):
        time.sleep(0.2)
    assert holder() == (pids - {leader}).pop()


def test_the_readme_example_runs_two_api_processes_and_two_workers() -> None:
    need_servers()
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed: run scripts/install-system-deps.sh")
    done = subprocess.run([sys.executable, "-m", "futago.scenarios.stack", "--check"], capture_output=True,
                          timeout=240, env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    summary = orjson.loads(done.stdout.decode().splitlines()[0])
    assert summary == {"published": 500, "stored": 500, "sse_clients_saw_readings": 2}
