"""Tenants (NGSILD-Tenant) and security: policies and API keys decide what an NGSI-LD caller sees and writes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App
from futago.security.policy import PolicyEntry
from tests.ngsild.conftest import BASE

ERR = "https://uri.etsi.org/ngsi-ld/errors/"


def entity(number: int) -> dict[str, object]:
    return {"id": f"urn:ngsi-ld:Meter:{number}", "type": "Meter", "reading": {"type": "Property", "value": number}}


def test_tenants_are_separate_graphs(client: TestClient) -> None:
    osaka = {"NGSILD-Tenant": "osaka"}
    assert client.post(f"{BASE}/entities", json=entity(1)).status_code == 201
    assert client.post(f"{BASE}/entities", json=entity(1), headers=osaka).status_code == 201  # same id, other tenant
    assert client.post(f"{BASE}/entities", json=entity(2), headers=osaka).status_code == 201
    in_osaka = client.get(f"{BASE}/entities", params={"type": "Meter"}, headers=osaka)
    assert [e["id"] for e in in_osaka.json()] == ["urn:ngsi-ld:Meter:1", "urn:ngsi-ld:Meter:2"]
    assert in_osaka.headers["ngsild-tenant"] == "osaka"
    default = client.get(f"{BASE}/entities", params={"type": "Meter"}).json()
    assert [e["id"] for e in default] == ["urn:ngsi-ld:Meter:1"]
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:Meter:2").status_code == 404
    patch = {"reading": {"type": "Property", "value": 99}}
    assert client.patch(f"{BASE}/entities/urn:ngsi-ld:Meter:1/attrs", json=patch, headers=osaka).status_code == 204
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:Meter:1").json()["reading"]["value"] == 1
    unknown = client.get(f"{BASE}/entities/urn:ngsi-ld:Meter:1", headers={"NGSILD-Tenant": "kobe"})
    assert unknown.status_code == 404 and unknown.json()["type"] == ERR + "NonexistentTenant"
    listed = client.get(f"{BASE}/entities", params={"type": "Meter"}, headers={"NGSILD-Tenant": "kobe"})
    assert listed.json()["type"] == ERR + "NonexistentTenant"
    bad = client.get(f"{BASE}/entities/urn:ngsi-ld:Meter:1", headers={"NGSILD-Tenant": "a/b"})
    assert bad.status_code == 400 and bad.json()["type"] == ERR + "BadRequestData"


@pytest.fixture
def secured(app: App) -> Iterator[TestClient]:
    app.settings = app.settings.with_overrides(require_auth=True)
    with TestClient(create_api(app), raise_server_exceptions=False) as client:
        yield client


def key(app: App, subject: str, *entries: tuple[str, list[str]]) -> dict[str, str]:
    for resource, permissions in entries:
        app.security.grant(PolicyEntry(subject, resource, frozenset(permissions)))
    _, secret = app.security.create_key(subject, subject, scopes=["READ", "WRITE"])
    return {"Authorization": f"Bearer {secret}"}


def test_policies_and_keys_apply_to_every_ngsi_ld_route(app: App, secured: TestClient) -> None:
    admin = key(app, "user:root", ("*", ["ADMIN"]))
    for number in (1, 2):
        assert secured.post(f"{BASE}/entities", json=entity(number), headers=admin).status_code == 201
    assert secured.get(f"{BASE}/entities/urn:ngsi-ld:Meter:1").status_code == 401
    reader = key(app, "user:reader", ("query", ["READ"]), ("twins/urn:ngsi-ld:Meter:1", ["READ"]))
    assert secured.get(f"{BASE}/entities/urn:ngsi-ld:Meter:1", headers=reader).status_code == 200
    hidden = secured.get(f"{BASE}/entities/urn:ngsi-ld:Meter:2", headers=reader)
    assert hidden.status_code == 403
    listed = secured.get(f"{BASE}/entities", params={"type": "Meter"}, headers=reader).json()
    assert [e["id"] for e in listed] == ["urn:ngsi-ld:Meter:1"]  # a twin it may not read is not an entity
    write = {"reading": {"type": "Property", "value": 5}}
    refused = secured.patch(f"{BASE}/entities/urn:ngsi-ld:Meter:1/attrs", json=write, headers=reader)
    assert refused.status_code == 403
    assert secured.post(f"{BASE}/entities", json=entity(3), headers=reader).status_code == 403
    writer = key(app, "user:writer", ("twins/urn:ngsi-ld:Meter:*", ["READ", "WRITE"]))
    assert secured.patch(f"{BASE}/entities/urn:ngsi-ld:Meter:2/attrs", json=write, headers=writer).status_code == 204
    # a property a policy hides is an attribute the caller does not see
    app.security.grant(PolicyEntry("user:reader", "twins/urn:ngsi-ld:Meter:1/properties/reading", frozenset(["READ"]),
                                   "revoke"))  # fmt: skip
    shown = secured.get(f"{BASE}/entities/urn:ngsi-ld:Meter:1", headers=reader).json()
    assert "reading" not in shown and shown["id"] == "urn:ngsi-ld:Meter:1"
