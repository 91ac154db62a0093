from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App, build
from futago.config import Settings
from tests.ngsild.notifications import Receiver, leading
from tests.store.adapters import ADAPTERS, database_url

BASE = "/ngsi-ld/v1"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
LD = {"Content-Type": "application/ld+json"}


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real local HTTP server recording every notification."""
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def lead(app: App) -> Iterator[TestClient]:
    """A client of an App that runs what the leader runs for notifications."""
    leading(app)
    with TestClient(create_api(app), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(params=ADAPTERS)
def adapter_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """A client of an App on each store adapter (PostgreSQL skipped where it cannot start)."""
    app = build(Settings(db=database_url(request.param, request, tmp_path), data_root=str(tmp_path)))
    try:
        with TestClient(create_api(app), raise_server_exceptions=False) as client:
            yield client
    finally:
        app.close()
