"""Discovery answers from a kept census: counted once, counted again after any change, kept apart per reach."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App
from futago.security.policy import PolicyEntry
from futago.services.ngsild import NgsiLdService, discovery
from tests.ngsild.conftest import BASE


def meter(number: int, **attrs: object) -> dict[str, object]:
    body: dict[str, object] = {"id": f"urn:ngsi-ld:Meter:{number}", "type": "Meter"}
    body.update({k: {"type": "Property", "value": v} for k, v in attrs.items()})
    return body


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each pass over the twins that a census makes."""
    calls: list[object] = []
    real = discovery._count

    def counting(*args: object) -> discovery.Census:
        calls.append(args[1])
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(discovery, "_count", counting)
    return calls


def test_a_census_is_kept_until_the_graph_changes(app: App, client: TestClient, counted: list[object]) -> None:
    assert client.post(f"{BASE}/entities", json=meter(1, reading=5)).status_code == 201
    first = client.get(f"{BASE}/types/Meter").json()
    assert first["entityCount"] == 1 and len(counted) == 1
    assert client.get(f"{BASE}/types/Meter").json() == first
    assert client.get(f"{BASE}/types/Meter").json() == first
    assert len(counted) == 1  # answered twice from the kept census

    assert client.post(f"{BASE}/entities", json=meter(2, reading=7, serial="x-2")).status_code == 201
    second = client.get(f"{BASE}/types/Meter").json()
    assert second["entityCount"] == 2 and len(counted) == 2
    assert "serial" in {a["attributeName"] for a in second["attributeDetails"]}

    # a change through the twin door drops it too
    assert client.delete(f"{BASE}/entities/urn:ngsi-ld:Meter:2").status_code == 204
    model = app.twins.get("urn:ngsi-ld:Meter:1").model
    app.twins.import_twins([("urn:ngsi-ld:Meter:3", {"$metadata": {"$model": model}, "reading": 9.0})])
    assert client.get(f"{BASE}/types/Meter").json()["entityCount"] == 2
    assert client.get(f"{BASE}/attributes/reading").json()["attributeCount"] == 2
    assert len(counted) == 4  # /types/Meter and /attributes are censuses of their own


def test_a_census_is_kept_per_reach(app: App, counted: list[object]) -> None:
    app.settings = app.settings.with_overrides(require_auth=True)

    def key(subject: str, *entries: tuple[str, list[str]]) -> dict[str, str]:
        for resource, permissions in entries:
            app.security.grant(PolicyEntry(subject, resource, frozenset(permissions)))
        _, secret = app.security.create_key(subject, subject, scopes=["READ", "WRITE"])
        return {"Authorization": f"Bearer {secret}"}

    with TestClient(create_api(app), raise_server_exceptions=False) as secured:
        admin = key("user:root", ("*", ["ADMIN"]))
        one = key("user:one", ("query", ["READ"]), ("twins/urn:ngsi-ld:Meter:1", ["READ"]))
        for number in (1, 2):
            body = meter(number, reading=number)
            assert secured.post(f"{BASE}/entities", json=body, headers=admin).status_code == 201
        assert secured.get(f"{BASE}/types/Meter", headers=admin).json()["entityCount"] == 2
        assert secured.get(f"{BASE}/types/Meter", headers=one).json()["entityCount"] == 1  # not the admin's census
        assert secured.get(f"{BASE}/types/Meter", headers=one).json()["entityCount"] == 1
        assert secured.get(f"{BASE}/types/Meter", headers=admin).json()["entityCount"] == 2
        assert len(counted) == 2


def test_a_census_counted_while_the_graph_changed_is_not_kept(app: App, client: TestClient) -> None:
    assert client.post(f"{BASE}/entities", json=meter(1, reading=5)).status_code == 201
    service = discovery._kept_of(next(v for v in vars(app).values() if isinstance(v, NgsiLdService)))
    generation = service.generation
    assert client.post(f"{BASE}/entities", json=meter(2, reading=6)).status_code == 201
    service.put("stale", generation, discovery.Census())
    assert service.get("stale") is None
    service.put("fresh", service.generation, discovery.Census())
    assert service.get("fresh") is not None
