"""Fixtures shared by the whole suite: a composed futago App on a temporary store, and servers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmarks.browser import BackgroundServer

from futago import samples
from futago.app import App, build
from futago.config import Settings
from futago.scenarios.mosquitto import MOSQUITTO, LocalBroker

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


demo_models = samples.demo_models  # the demo's DTDL Interfaces, as futago ships them


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


LiveServer = BackgroundServer  # the API of the test's App on a free port, in a thread


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
