"""Fixtures shared by the whole suite: a composed futago App on a temporary store, and servers."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from benchmarks.browser import BackgroundServer

from futago import samples
from futago.app import App, build
from futago.config import Settings
from futago.testing.mosquitto import MOSQUITTO, LocalBroker
from futago.testing.postgres import LocalPostgres, postgis_installed

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
    application = build(Settings(db=str(tmp_path / "futago.db"), data_root=str(tmp_path)))  # replays read here
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


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[LocalPostgres]:
    """One throwaway PostgreSQL cluster for the session, with a template database already migrated."""
    if not postgis_installed():
        pytest.skip("PostgreSQL with PostGIS is not installed: run scripts/install-system-deps.sh (make test does)")
    import psycopg

    from futago.store.postgres import PostgresStore

    with LocalPostgres() as cluster:
        admin = cluster.url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE futago_template")
        PostgresStore(cluster.url.rsplit("/", 1)[0] + "/futago_template").close()
        yield cluster


@contextmanager
def database_of_its_own(cluster: LocalPostgres, template: str | None = None) -> Iterator[str]:
    """The URL of a new database on the cluster, dropped afterwards; a copy of ``template`` if given."""
    import psycopg

    base = cluster.url.rsplit("/", 1)[0]
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def postgres_url(postgres_cluster: LocalPostgres) -> Iterator[str]:
    """A fresh, empty, migrated database of its own for one test (a copy of the template: fast)."""
    with database_of_its_own(postgres_cluster, "futago_template") as url:
        yield url
