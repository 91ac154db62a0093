"""Hosted @contexts (/ngsi-ld/v1/jsonldContexts) kept in the store: shared by every process on it, and kept across
restarts, on each adapter; the bound on how many is the store's count, and holds under concurrent adds."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App, build
from futago.config import Settings
from futago.services.ngsild import hosted
from futago.services.ngsild.hosted import registry_of
from tests.ngsild.conftest import BASE
from tests.store.adapters import ADAPTERS, database_url

# The Smart Data Models terms of a river gauge (dataModel.Environment/WaterObserved).
ENVIRONMENT = "https://smartdatamodels.org/dataModel.Environment/"
GAUGE_CONTEXT = {"@context": {"WaterObserved": f"{ENVIRONMENT}WaterObserved", "height": f"{ENVIRONMENT}height",
                              "flow": f"{ENVIRONMENT}flow"}}  # fmt: skip
KOTOTOI = {"id": "urn:ngsi-ld:WaterObserved:kototoi", "type": "WaterObserved", "height": 2.12, "flow": 41.5}
RYOGOKU = {"id": "urn:ngsi-ld:WaterObserved:ryogoku", "type": "WaterObserved", "height": 2.35, "flow": 44.0}


def _link(location: str) -> dict[str, str]:
    url = f"http://testserver{location}"
    return {"Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}


@contextmanager
def _clients(db: str, tmp_path: Path, count: int) -> Iterator[list[tuple[App, TestClient]]]:
    """``count`` Apps on one store, as ``futago serve --workers`` runs them, each with its own client."""
    with ExitStack() as stack:
        pairs = []
        for _ in range(count):
            app = build(Settings(db=db, data_root=str(tmp_path)))
            stack.callback(app.close)
            pairs.append((app, stack.enter_context(TestClient(create_api(app), raise_server_exceptions=False))))
        yield pairs


@pytest.fixture(params=ADAPTERS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request.param, request, tmp_path)


def test_a_context_hosted_by_one_process_is_served_and_used_by_another(db: str, tmp_path: Path) -> None:
    with _clients(db, tmp_path, 2) as [(_, one), (app_two, two)]:
        created = one.post(f"{BASE}/jsonldContexts", json=GAUGE_CONTEXT)
        assert created.status_code == 201
        location = created.headers["Location"]
        local_id = location.rsplit("/", 1)[1]
        assert two.get(location).json() == GAUGE_CONTEXT
        assert two.get(f"{BASE}/jsonldContexts", params={"kind": "Hosted"}).json() == [f"http://testserver{location}"]
        assert two.post(f"{BASE}/entities", json=KOTOTOI, headers=_link(location)).status_code == 201
        stored = two.get(f"{BASE}/entities/{KOTOTOI['id']}").json()  # no context: expanded IRIs
        assert stored["type"] == f"{ENVIRONMENT}WaterObserved" and stored[f"{ENVIRONMENT}height"]["value"] == 2.12
        compact = two.get(f"{BASE}/entities/{KOTOTOI['id']}", headers=_link(location)).json()
        assert compact["type"] == "WaterObserved" and compact["flow"]["value"] == 41.5
        assert one.get(f"{BASE}/types", headers=_link(location)).status_code == 200  # one loads it too
        info = one.get(f"{BASE}/jsonldContexts/{local_id}", params={"details": "true"}).json()
        assert info["kind"] == "Hosted" and info["localId"] == local_id and info["numberOfHits"] == 2  # one load each

        # Deleted on one, gone on the other: at once for the API, at the next sweep for its resolver's cache.
        assert one.delete(f"{BASE}/jsonldContexts/{local_id}").status_code == 204
        assert two.get(location).status_code == 404
        assert two.get(f"{BASE}/jsonldContexts").json() == []
        registry = registry_of(app_two.ngsild.contexts)  # type: ignore[union-attr]
        registry._fetch = _offline  # the URL names testserver, which a real fetch cannot reach
        registry._next_sweep = 0.0
        refused = two.post(f"{BASE}/entities", json=RYOGOKU, headers=_link(location))
        assert refused.status_code == 503 and refused.json()["type"].endswith("/LdContextNotAvailable")


def _offline(url: str, timeout_s: float, max_bytes: int) -> bytes:
    raise OSError(f"{url}: no network in this test")


def test_hosted_contexts_survive_a_restart(db: str, tmp_path: Path) -> None:
    with _clients(db, tmp_path, 1) as [(_, client)]:
        location = client.post(f"{BASE}/jsonldContexts", json=GAUGE_CONTEXT).headers["Location"]
        assert client.post(f"{BASE}/entities", json=KOTOTOI, headers=_link(location)).status_code == 201
        before = client.get(f"{BASE}/jsonldContexts/{location.rsplit('/', 1)[1]}", params={"details": "true"}).json()
    with _clients(db, tmp_path, 1) as [(_, client)]:
        assert client.get(location).json() == GAUGE_CONTEXT
        after = client.get(f"{BASE}/jsonldContexts/{location.rsplit('/', 1)[1]}", params={"details": "true"}).json()
        assert after["createdAt"] == before["createdAt"] and after["numberOfHits"] == before["numberOfHits"]
        assert client.post(f"{BASE}/entities", json=RYOGOKU, headers=_link(location)).status_code == 201
        found = client.get(
            f"{BASE}/entities", params={"type": "WaterObserved", "q": "height>2"}, headers=_link(location)
        )
        assert sorted(e["id"] for e in found.json()) == [KOTOTOI["id"], RYOGOKU["id"]]  # the same expansion
        assert {e["type"] for e in found.json()} == {"WaterObserved"}
        assert client.get(f"{BASE}/entities/{RYOGOKU['id']}").json()["type"] == f"{ENVIRONMENT}WaterObserved"


def test_the_bound_is_the_stored_count_even_under_concurrent_adds(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hosted, "MAX_HOSTED", 5)
    with _clients(db, tmp_path, 2) as [(_, one), (_, two)]:

        def add(i: int) -> int:
            client = one if i % 2 else two
            body = {"@context": {"gauge": f"{ENVIRONMENT}gauge{i}"}}
            return client.post(f"{BASE}/jsonldContexts", json=body).status_code

        with ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(add, range(12)))
        assert sorted(codes) == [201] * 5 + [400] * 7
        assert len(one.get(f"{BASE}/jsonldContexts").json()) == len(two.get(f"{BASE}/jsonldContexts").json()) == 5
        full = two.post(f"{BASE}/jsonldContexts", json=GAUGE_CONTEXT).json()
        assert full["type"].endswith("/BadRequestData") and "at most 5" in full["detail"]
        local_id = one.get(f"{BASE}/jsonldContexts").json()[0].rsplit("/", 1)[1]
        assert one.delete(f"{BASE}/jsonldContexts/{local_id}").status_code == 204
        assert two.post(f"{BASE}/jsonldContexts", json=GAUGE_CONTEXT).status_code == 201  # room again


def test_size_bound_and_reload_of_a_hosted_context(app: App, client: TestClient) -> None:
    assert app.ngsild is not None
    app.ngsild.contexts.settings = dataclasses.replace(app.ngsild.contexts.settings, max_bytes=400)
    big = {"@context": {f"term{i}": f"{ENVIRONMENT}term{i}" for i in range(10)}}
    refused = client.post(f"{BASE}/jsonldContexts", json=big)
    assert refused.status_code == 400 and "at most 400 bytes" in refused.json()["detail"]
    assert app.store.list_ngsild_contexts() == []  # nothing stored
    location = client.post(f"{BASE}/jsonldContexts", json=GAUGE_CONTEXT).headers["Location"]
    local_id = location.rsplit("/", 1)[1]
    assert client.delete(f"{BASE}/jsonldContexts/{local_id}", params={"reload": "true"}).status_code == 400
    assert [c.local_id for c in app.store.list_ngsild_contexts()] == [local_id]  # a refused reload keeps it
    assert client.delete(f"{BASE}/jsonldContexts/http://testserver{location}").status_code == 204  # by its URL
    assert app.store.list_ngsild_contexts() == []
