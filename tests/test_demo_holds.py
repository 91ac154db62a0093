"""A demo that holds (issue 18): one store, one writer; the port checked before seeding; QARTOD on the demo's
sensors; the start-up line and /health agree; `make demo PORT=` and a set-up that survives a busy apt."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from futago.app import App, build
from futago.cli.serve_lock import hold_store, server_lock_path
from futago.config import Settings
from futago.core.errors import Conflict
from futago.core.telemetry import Reading
from futago.demo import seed
from futago.services.health import namespace
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "futago.cli"]


def _demo(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [*CLI, "demo", "--port", str(port), "--db", str(db), "--flood-step", "0", "--no-plant"]
    return subprocess.Popen(command, cwd=db.parent, stdout=subprocess.DEVNULL, stderr=log.open("wb"))


def _wait_healthy(port: int, process: subprocess.Popen[bytes], log: Path) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            if answer.status_code == 200:
                return dict(answer.json())
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the demo did not start: {log.read_text()}")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port, log = free_port(), tmp_path / "first.log"
    first = _demo(tmp_path / "demo.db", port, log)
    try:
        yield first, port, log
    finally:
        first.terminate()
        first.wait(timeout=30)


@pytest.mark.timeout(240)
def test_a_second_demo_or_server_on_a_held_store_is_refused_at_once_and_the_first_goes_on(
    tmp_path: Path, running: tuple[subprocess.Popen[bytes], int, Path]
) -> None:
    first, port, log = running
    health = _wait_healthy(port, first, log)
    line = " ".join(log.read_text().split())
    # the start-up line counts what /health counts
    assert f"the store holds {health['models']} models, {health['twins']} twins" in line, (line, health)

    def latest() -> str:
        return str(httpx.get(f"http://127.0.0.1:{port}/twins/rain-1/telemetry", timeout=5).json()["value"][0])

    before = latest()
    for command in (["demo", "--flood-step", "0", "--no-plant"], ["serve"]):
        began = time.monotonic()
        second = subprocess.run(
            [*CLI, *command, "--port", str(free_port()), "--db", str(tmp_path / "demo.db")],
            cwd=tmp_path, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        took = time.monotonic() - began
        assert second.returncode != 0 and took < 5, (took, second.stderr)
        said = " ".join(second.stderr.split())
        assert f"pid {first.pid} on host {socket.gethostname()}" in said, said
        assert f"http://127.0.0.1:{port}" in said and "since 20" in said
    time.sleep(2.5)  # the first demo's simulator writes on, undisturbed
    assert first.poll() is None and latest() != before
    assert "IntegrityError" not in log.read_text() and "Traceback" not in log.read_text()


def test_a_busy_port_is_refused_before_anything_is_seeded(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        began = time.monotonic()
        result = subprocess.run([*CLI, "demo", "--port", str(port), "--db", str(tmp_path / "demo.db")],
                                cwd=tmp_path, capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 1 and time.monotonic() - began < 5
    assert f"port {port} on 127.0.0.1 is in use" in " ".join(result.stderr.split())
    assert not (tmp_path / "demo.db").exists(), "nothing is seeded on a busy port"


def test_the_hold_names_its_holder_is_let_go_and_a_dead_holder_is_taken_over(tmp_path: Path) -> None:
    db = str(tmp_path / "store.db")
    lock = server_lock_path(db, exclusive_on_server=False, server_files=tmp_path)
    assert lock == Path(f"{db}.server.lock")
    lock.write_text('{"pid": 999999, "host": "gone", "command": "demo", "address": "127.0.0.1:1", "since": "x"}\n')
    held = hold_store(db, "serve", "127.0.0.1", 8123, tmp_path)  # its writer died: the OS let go of its lock
    assert held is not None and f'"pid": {os.getpid()}' in lock.read_text()
    with pytest.raises(Conflict) as refused:
        hold_store(db, "demo", "127.0.0.1", 8124, tmp_path)
    assert f"pid {os.getpid()}" in refused.value.detail and "127.0.0.1:8123" in refused.value.detail
    held.release()
    again = hold_store(db, "demo", "127.0.0.1", 8124, tmp_path)
    assert again is not None
    again.release()


def test_a_postgres_store_is_shared_by_servers_but_held_by_a_demo() -> None:
    url = "postgresql://futago@127.0.0.1:5432/futago"
    files = Path("/srv/futago-data")  # absolute, whatever the working directory (futago.app.server_store_files)
    assert server_lock_path(url, exclusive_on_server=False, server_files=files) is None  # --workers share it
    assert server_lock_path(url, True, files) == files / "demo-127.0.0.1-5432-futago.lock"
    assert server_lock_path(":memory:", exclusive_on_server=True, server_files=files) is None


@pytest.fixture
def demo_app(tmp_path: Path) -> Iterator[App]:
    app = build(Settings(db=str(tmp_path / "demo.db"), data_root=str(tmp_path)))
    yield app
    app.close()


def test_the_demo_judges_its_sensors_with_qartod_and_health_breaks_the_counts_down(demo_app: App) -> None:
    summary = seed(demo_app)
    assert summary["quality"] == 5
    now = int(time.time() * 1e6)
    demo_app.telemetry.append([
        Reading("river-1", "waterLevel", now + 60_000_000, 9999.0, 2),
        Reading("river-1", "waterLevel", now + 120_000_000, 3.1, 2),
    ])  # fmt: skip
    history = demo_app.telemetry.history("river-1", "waterLevel", limit=100_000)
    flags = dict(zip(history.columns["ts"].tolist(), history.columns["quality"].tolist(), strict=True))
    assert flags[now + 60_000_000] == 4  # fail: outside the gauge's span
    good = demo_app.telemetry.history("river-1", "waterLevel", limit=100_000, min_quality=1)
    assert len(good) > 1000 and 9999.0 not in good.columns["value"].tolist()

    report = demo_app.health.report()
    assert report["byNamespace"]["demo"]["twins"] == summary["twins"] == report["twins"] == 29
    assert sum(n["models"] for n in report["byNamespace"].values()) == report["models"]
    assert demo_app.health.summary().startswith(f"{report['models']} models, 29 twins (")
    assert namespace("dtmi:futago:city:Building;1") == "city" and namespace("dtmi:com:acme:Pump;1") == "com:acme"


def test_make_demo_takes_a_port() -> None:
    dry = subprocess.run(["make", "-n", "demo", "PORT=8001"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert re.search(r"futago demo --port 8001$", dry.stdout, re.MULTILINE), dry.stdout


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_the_set_up_goes_on_when_apt_cannot_take_its_lock(tmp_path: Path) -> None:
    _stub(tmp_path, "dpkg-query", "exit 1")  # nothing installed
    _stub(tmp_path, "apt-get", 'echo "E: Could not get lock /var/lib/dpkg/lock-frontend" >&2; exit 100')
    _stub(tmp_path, "sudo", 'exec "$@"')
    env = {**os.environ, "PATH": f"{tmp_path}:/usr/bin:/bin"}
    result = subprocess.run(["bash", str(ROOT / "scripts/install-system-deps.sh")], env=env, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "warning: could not install the Debian packages" in result.stderr and "mosquitto" in result.stderr
