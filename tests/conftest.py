"""Fixtures shared by the whole suite: a composed futago App on a temporary store, and servers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest

from futago.app import App, build
from futago.config import Settings
from futago.scenarios.mosquitto import MOSQUITTO, LocalBroker

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def demo_models() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = orjson.loads(
        resources.files("futago.samples").joinpath("demo_models.json").read_bytes()
    )
    return documents


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    application = build(Settings(db=str(tmp_path / "futago.db")))
    application.models.add(demo_models())
    yield application
    application.close()


class LiveServer:
    def __init__(self, app: App) -> None:
        import uvicorn

        from futago.api.server import create_api

        # Port 0: the OS picks a free port at bind time, so two servers can never race for one.
        config = uvicorn.Config(create_api(app), host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start within 10 s")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app: App) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


class Broker(LocalBroker):
    """The scenarios' local broker; a test skips (rather than fails) where mosquitto is not installed."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None) -> None:
        if MOSQUITTO is None:
            pytest.skip("mosquitto is not installed: run scripts/install-system-deps.sh (make test does)")
        super().__init__(folder, users)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    folder = tmp_path / "broker"
    folder.mkdir()
    server = Broker(folder)
    server.start()
    yield server
    server.stop()
