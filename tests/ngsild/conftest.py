from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App

BASE = "/ngsi-ld/v1"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
LD = {"Content-Type": "application/ld+json"}


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app), raise_server_exceptions=False) as test_client:
        yield test_client
