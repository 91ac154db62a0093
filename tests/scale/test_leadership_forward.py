"""Connection start and stop on a server that does not lead reach the leader, which runs the connectors, and come
back with the leader's answer; connection state on every server reads what the leader's connectors do."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from futago.scenarios.scale import CONNECTION, ScaleRig
from futago.testing.local import free_port
from tests.scale.test_servers import _serve


def _leader_pid(rig: ScaleRig, timeout_s: float = 15.0) -> int:
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(rig.postgres.url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT holder FROM leader_lease WHERE expires > clock_timestamp()").fetchone()
            if row is not None:
                return int(row[0].split(":")[1])  # host:pid:nonce
            time.sleep(0.1)
    raise AssertionError("no server holds the lease")


@pytest.fixture
def two_servers(rig: ScaleRig) -> Iterator[dict[int, str]]:
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for _ in range(2):
            port = free_port()
            started.append((_serve(rig, port), f"http://127.0.0.1:{port}"))
        yield {process.pid: base for process, base in started}
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)


def _state(base: str) -> str:
    return str(httpx.get(f"{base}/connections/{CONNECTION}", timeout=10).json()["status"]["state"])


def test_start_and_stop_on_a_server_that_does_not_lead_reach_the_leader(
    rig: ScaleRig, two_servers: dict[int, str]
) -> None:
    leader_pid = _leader_pid(rig)
    leader = two_servers[leader_pid]
    follower = next(base for pid, base in two_servers.items() if pid != leader_pid)
    assert _state(follower) == "stopped"  # autostart is off: nothing runs yet

    started = httpx.post(f"{follower}/connections/{CONNECTION}/start", timeout=30)
    assert started.status_code == 200, started.text
    state = started.json()["status"]["state"]
    assert state in ("connecting", "reconnecting", "running")  # the leader's connector (no broker listens)
    assert _state(leader) != "stopped"  # it runs in the leader
    assert _state(follower) != "stopped"  # and the follower reads the leader's state, not its own

    again = httpx.post(f"{follower}/connections/{CONNECTION}/start", timeout=30)
    assert again.status_code == 409 and "already running" in again.json()["detail"]  # the leader's own answer
    missing = httpx.post(f"{follower}/connections/no-such-connection/start", timeout=30)
    assert missing.status_code == 404

    stopped = httpx.post(f"{follower}/connections/{CONNECTION}/stop", timeout=30)
    assert stopped.status_code == 200 and stopped.json()["status"]["state"] == "stopped"
    assert _state(leader) == "stopped" and _state(follower) == "stopped"
