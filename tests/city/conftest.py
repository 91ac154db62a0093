"""The export tests' district (tests/city/export_fixtures.py) and a client of the API serving it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App
from tests.city.export_fixtures import make_district, with_city_routes


@pytest.fixture
def district(app: App) -> dict[str, dict[str, Any]]:
    return make_district(app)


@pytest.fixture
def client(app: App, district: dict[str, dict[str, Any]]) -> Iterator[TestClient]:
    with TestClient(with_city_routes(create_api(app)), raise_server_exceptions=False) as test_client:
        yield test_client
