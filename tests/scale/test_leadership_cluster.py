"""Leadership across hosts: a lease row in PostgreSQL with a fencing token.

Each "host" is a separate process with its own working directory and data folder, sharing only the database. It
runs futago's Leadership on a PostgresLease and, while it leads, sends a side effect every 50 ms to a receiver in
this test, through its Fence, as the notification and command dispatchers do. The receiver fences too (it refuses
a token lower than the highest it has seen), as the store does for what it records.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from futago.testing.postgres import LocalPostgres

HOST = """
import json, os, sys, time, urllib.request
from futago.core.fence import Fenced
from futago.scale.lease import PostgresLease
from futago.scale.leader import Leadership

url, receiver, name = sys.argv[1:4]
status = open("status", "a", buffering=1)  # in this host's own working directory
leadership = Leadership(PostgresLease(url, ttl_s=3.0), lambda: status.write("lead\\n"),
                        on_lose=lambda: status.write("lost\\n"))
leadership.start()
sequence = 0
while True:
    time.sleep(0.05)
    try:
        token = leadership.fence.check("a notification")
    except Fenced:
        continue
    sequence += 1
    body = json.dumps({"host": name, "token": token, "seq": sequence}).encode()
    urllib.request.urlopen(urllib.request.Request(receiver, body, method="POST"), timeout=5).read()
"""


class Receiver:
    """Where the hosts' side effects land: every one seen, in order, and whether a fencing resource accepts it."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.highest = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                doc = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    doc["accepted"] = doc["token"] >= receiver.highest
                    receiver.highest = max(receiver.highest, doc["token"])
                    doc["at"] = time.monotonic()
                    receiver.seen.append(doc)
                self.send_response(204 if doc["accepted"] else 409)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def senders(self, since: float = 0.0) -> set[object]:
        with self.lock:
            return {d["host"] for d in self.seen if float(d["at"]) >= since}

    def first_from(self, host: str, since: float) -> float | None:
        with self.lock:
            return next((float(d["at"]) for d in self.seen if d["host"] == host and float(d["at"]) >= since), None)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    from futago.testing.postgres import postgis_installed

    if not postgis_installed():
        pytest.skip("PostgreSQL/PostGIS is not installed: run scripts/install-system-deps.sh")
    from futago.store.postgres import PostgresStore

    with LocalPostgres() as cluster:
        PostgresStore(cluster.url).close()  # the schema, with the lease table (migration V2)
        yield cluster.url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.server.shutdown()


class Hosts:
    def __init__(self, root: Path, database: str, receiver: Receiver) -> None:
        self.root, self.database, self.receiver = root, database, receiver
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        folder = self.root / name  # its own working directory and data folder
        (folder / "futago-data").mkdir(parents=True)
        env = {**os.environ, "FUTAGO_DATA_ROOT": str(folder / "futago-data")}
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-c", HOST, self.database, self.receiver.url, name], cwd=folder, env=env,
            stderr=(folder / "stderr").open("wb"),
        )  # fmt: skip

    def status(self, name: str) -> list[str]:
        path = self.root / name / "status"
        return path.read_text().split() if path.exists() else []

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def hosts(tmp_path: Path, database: str, receiver: Receiver) -> Iterator[Hosts]:
    started = Hosts(tmp_path, database, receiver)
    yield started
    started.stop()


def _wait(predicate: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def _leader_then(hosts: Hosts, receiver: Receiver) -> tuple[str, str]:
    hosts.start("a")
    hosts.start("b")
    assert _wait(lambda: receiver.senders(), 20), "nobody leads"
    time.sleep(2.0)  # long enough for a second leader to show itself (renewals every second)
    senders = receiver.senders()
    assert len(senders) == 1, f"two hosts acted as leader: {senders}"
    leader = str(senders.pop())
    follower = "b" if leader == "a" else "a"
    assert hosts.status(leader) == ["lead"] and hosts.status(follower) == []
    return leader, follower


def test_one_host_leads_and_another_takes_over_within_seconds_of_a_sigkill(hosts: Hosts, receiver: Receiver) -> None:
    leader, follower = _leader_then(hosts, receiver)
    killed = time.monotonic()
    hosts.processes[leader].send_signal(signal.SIGKILL)
    assert _wait(lambda: receiver.first_from(follower, killed) is not None, 10), "no takeover"
    takeover_s = receiver.first_from(follower, killed) - killed  # type: ignore[operator]
    assert takeover_s <= 5.0, f"takeover took {takeover_s:.1f} s"
    assert hosts.status(follower) == ["lead"]
    tokens = [d["token"] for d in receiver.seen]
    assert tokens == sorted(tokens) and len(set(tokens)) == 2  # the new leader acts with a higher token
    assert all(d["accepted"] for d in receiver.seen)


def test_a_leader_paused_past_its_lease_is_fenced_when_it_wakes(hosts: Hosts, receiver: Receiver) -> None:
    leader, follower = _leader_then(hosts, receiver)
    hosts.processes[leader].send_signal(signal.SIGSTOP)  # a long pause: GC, a frozen VM
    paused = time.monotonic()
    assert _wait(lambda: receiver.first_from(follower, paused) is not None, 10), "no takeover"
    time.sleep(0.5)
    resumed = time.monotonic()
    hosts.processes[leader].send_signal(signal.SIGCONT)
    assert _wait(lambda: hosts.status(leader) == ["lead", "lost"], 5), hosts.status(leader)
    time.sleep(1.5)  # the woken one would send every 50 ms if it were not fenced
    assert receiver.senders(resumed + 0.5) == {follower}, "the stale leader acted after it woke"
    with receiver.lock:
        stale = [d for d in receiver.seen if d["host"] == leader and float(d["at"]) >= paused]
        followers = [d for d in receiver.seen if d["host"] == follower]
        sequences = [d["seq"] for d in followers]
    # Paused between its check and its send, one side effect may still leave it: the receiver's fence refuses it.
    assert len(stale) <= 1 and not any(d["accepted"] for d in stale)
    assert all(d["accepted"] for d in receiver.seen if d not in stale)
    assert sequences == list(range(1, len(sequences) + 1))  # each side effect once, none repeated
    assert hosts.status(follower) == ["lead"]
