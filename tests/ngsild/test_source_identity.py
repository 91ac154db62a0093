"""/info/sourceIdentity names the deployment, not the host (GS CIM 009 5.15): on each adapter, two Apps on one store
(two hosts of a cluster) answer the same contextSourceAlias per tenant, an App opened again (a restart) answers it
too, and another store answers another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App, build
from futago.config import Settings
from tests.ngsild.conftest import BASE
from tests.store.adapters import ADAPTERS, database_url


def alias(app: App, tenant: str | None = None) -> Any:
    headers = {"NGSILD-Tenant": tenant} if tenant else {}
    with TestClient(create_api(app)) as client:
        answer = client.get(f"{BASE}/info/sourceIdentity", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["contextSourceAlias"]


@pytest.fixture(params=ADAPTERS)
def db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)  # a database server's store keeps its audit key in ./futago-data
    yield database_url(request.param, request, tmp_path)


def test_every_host_and_every_restart_of_one_store_is_one_context_source(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = (build(Settings(db=db, data_root=str(tmp_path))) for _ in range(2))
    try:
        shared = alias(first), alias(first, "yokohama")
        monkeypatch.setattr("socket.gethostname", lambda: "host-b")  # the second host has a name of its own
        assert (alias(second), alias(second, "yokohama")) == shared
        assert shared[0] != shared[1]  # still one per tenant
    finally:
        second.close()
        first.close()
    again = build(Settings(db=db, data_root=str(tmp_path)))
    try:
        assert (alias(again), alias(again, "yokohama")) == shared
    finally:
        again.close()
    other = build(Settings(db=str(tmp_path / "another.db"), data_root=str(tmp_path)))
    try:
        assert alias(other) != shared[0]
    finally:
        other.close()
