from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App

M = "dtmi:futago:demo:"


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app), raise_server_exceptions=False) as test_client:
        yield test_client


def building(height: float = 10.0, **extra: object) -> dict[str, object]:
    return {"$metadata": {"$model": M + "Building;1"}, "name": "B", "height": height, **extra}


@pytest.fixture
def district(client: TestClient) -> str:
    response = client.put("/twins/district-1", json={"$metadata": {"$model": M + "District;1"}, "name": "D"})
    assert response.status_code == 201, response.text
    return "district-1"
