"""A notification tells a subscription's owner only what it may read: an attribute hidden from it by a policy is
never named when it changes or goes (not as a deletion, not as a previous value), and a change of nothing else
does not notify it at all."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App
from futago.security.policy import PolicyEntry
from tests.ngsild.conftest import BASE
from tests.ngsild.notifications import Receiver, leading, settle
from tests.ngsild.test_tenants_and_security import key

GAUGE = "urn:ngsi-ld:WaterObserved:tama-7"


@pytest.fixture
def secured_lead(app: App) -> Iterator[TestClient]:
    app.settings = app.settings.with_overrides(require_auth=True)
    leading(app)
    with TestClient(create_api(app), raise_server_exceptions=False) as client:
        yield client


def test_a_hidden_attribute_is_never_told_to_the_owner(app: App, secured_lead: TestClient, receiver: Receiver) -> None:
    client = secured_lead
    admin = key(app, "user:root", ("*", ["ADMIN"]))
    owner = key(app, "user:owner", ("*", ["READ"]), ("subscriptions/*", ["READ", "WRITE"]))
    app.security.grant(PolicyEntry("user:owner", f"twins/{GAUGE}/properties/intake", frozenset(["READ"]), "revoke"))
    gauge = {"id": GAUGE, "type": "WaterObserved", "level": {"type": "Property", "value": 1.2},
             "intake": {"type": "Property", "value": "pump-station-3"}}  # fmt: skip
    assert client.post(f"{BASE}/entities", json=gauge, headers=admin).status_code == 201
    subscription = {
        "type": "Subscription", "entities": [{"type": "WaterObserved"}],
        "notificationTrigger": ["attributeUpdated", "attributeDeleted"],
        "notification": {"endpoint": {"uri": receiver.url}, "showChanges": True},
    }  # fmt: skip
    assert client.post(f"{BASE}/subscriptions", json=subscription, headers=owner).status_code == 201
    patch = {"intake": {"type": "Property", "value": "pump-station-4"}}
    assert client.patch(f"{BASE}/entities/{GAUGE}/attrs", json=patch, headers=admin).status_code == 204
    assert client.delete(f"{BASE}/entities/{GAUGE}/attrs/intake", headers=admin).status_code == 204
    settle(app)
    assert receiver.bodies() == []  # neither change touched anything the owner may read
    level = {"level": {"type": "Property", "value": 2.5}}
    assert client.patch(f"{BASE}/entities/{GAUGE}/attrs", json=level, headers=admin).status_code == 204
    settle(app)
    [body] = receiver.bodies()
    assert body["data"][0]["level"]["value"] == 2.5
    assert "intake" not in str(receiver.received)
