"""NGSI-LD subscriptions across processes (issue 19): twin events carry the state they replaced, so a change made on
any process and through either door is told as created, updated or deleted with its previous values, even for an
entity the leader never saw change before; a subscription written through a process that does not lead reaches
the leader over NATS at once, in order with the changes that follow it. Real PostgreSQL and NATS for the cluster
(skipped where they are not installed), two Apps on one store standing for two hosts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App, build, leadership_for
from futago.config import Settings
from futago.core.events import TWIN_DELETED, TWIN_UPDATED, Event
from futago.core.twins import Relationship, Twin
from futago.services.ngsild import notifier
from futago.testing.nats import NATS_SERVER, LocalNats
from futago.testing.postgres import postgis_installed
from tests.ngsild.conftest import BASE
from tests.ngsild.notifications import Receiver, leading, settle
from tests.ngsild.test_subscription_triggers import NULL, OPERATOR, STATION, station, subscribe

FLOORS = "floorsAboveGround"


def wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def operator_and_station(client: TestClient) -> None:
    operator = {"id": OPERATOR, "type": "Organization", "name": {"type": "Property", "value": "JR East"}}
    assert client.post(f"{BASE}/entities", json=operator).status_code == 201
    assert client.post(f"{BASE}/entities", json=station()).status_code == 201


def twin_api_change(client: TestClient) -> None:
    """Through the other door: one floor more (the 2012 restoration) and the name removed."""
    patch = [{"op": "replace", "path": f"/{FLOORS}", "value": 4}, {"op": "remove", "path": "/name"}]
    answer = client.patch(f"/twins/{STATION}", json=patch)
    assert answer.status_code in (200, 204), answer.text


def assert_told_with_previous(body: dict[str, Any]) -> None:
    (entity,) = body["data"]
    assert entity["id"] == STATION
    assert entity[FLOORS] == {"type": "Property", "value": 4, "previousValue": 3}
    assert entity["name"]["value"] == NULL  # deleted, not "updated"
    assert entity["name"]["previousValue"] == "Tokyo Station Marunouchi Building"


def test_events_carry_what_they_replaced_over_the_wire() -> None:
    before = Twin(STATION, "dtmi:ngsild:Building;1", {FLOORS: 3}, etag='W/"1"', last_updated="2026-07-01T00:00:00Z")
    relayed = Event.from_wire(Event(TWIN_UPDATED, "2026-07-01T00:00:01Z", STATION, previous=before).to_wire("b"))
    assert relayed.previous == before and relayed.to_json()["data"] == {}  # not shown to SSE clients, not audited
    rel = Relationship(STATION, "operator", "operator", OPERATOR, etag='W/"2"')
    gone = Event("relationship.deleted", "2026-07-01T00:00:02Z", STATION, previous=rel)
    assert Event.from_wire(gone.to_wire("b")).previous == rel
    assert Event.from_wire(Event(TWIN_DELETED, "t", STATION).to_wire("b")).previous is None


def test_a_twin_api_change_to_an_entity_the_notifier_never_saw_is_told_with_previous_values(
    app: App, receiver: Receiver
) -> None:
    leading(app)
    with TestClient(create_api(app), raise_server_exceptions=False) as client:
        operator_and_station(client)  # made before any subscription: the notifier has seen none of it
        subscribe(client, receiver.url, ["attributeUpdated", "attributeDeleted"], showChanges=True)
        twin_api_change(client)
        settle(app)
        assert len(receiver.bodies()) == 1
        assert_told_with_previous(receiver.bodies()[0])


def test_a_deletion_the_notifier_never_saw_coming_is_told_with_every_attribute(app: App, receiver: Receiver) -> None:
    leading(app)
    with TestClient(create_api(app), raise_server_exceptions=False) as client:
        operator_and_station(client)
        subscribe(client, receiver.url, ["entityDeleted"], showChanges=True)
        app.twins.delete_relationship(STATION, "operator")  # through the twin API, seen here only as events
        app.twins.delete(STATION)
        settle(app)
        (body,) = receiver.bodies()
        (entity,) = body["data"]
        assert entity["id"] == STATION and "deletedAt" in entity
        assert entity[FLOORS] == {"type": "Property", "value": NULL, "previousValue": 3}
        assert entity["operator"]["object"] == NULL and entity["operator"]["previousObject"] == OPERATOR


@pytest.fixture(scope="module")
def nats() -> Iterator[str]:
    if NATS_SERVER is None or not postgis_installed():
        pytest.skip("PostgreSQL/PostGIS or nats-server is not installed: run scripts/install-system-deps.sh")
    with LocalNats() as server:
        yield server.url


def test_a_subscription_made_on_a_standby_applies_to_the_very_next_change_there(
    postgres_url: str, nats: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    from futago.scale.lease import PostgresLease

    monkeypatch.chdir(tmp_path)  # a database server's store keeps its keys in ./futago-data
    monkeypatch.setattr(notifier, "REFRESH_S", 600.0)  # the safety read cannot be what tells the leader

    def host() -> App:
        return build(Settings(db=postgres_url, data_root=str(tmp_path), nats=nats))

    leader, standby = host(), host()
    try:
        assert leader.scale is not None and leader.ngsild_subscriptions is not None
        lead = leader.scale.leadership = leadership_for(leader, PostgresLease(postgres_url, ttl_s=5))
        lead.start()
        assert lead.leading
        with TestClient(create_api(standby), raise_server_exceptions=False) as client:
            operator_and_station(client)
            sub_id = subscribe(client, receiver.url, ["attributeUpdated", "attributeDeleted"], showChanges=True)
            twin_api_change(client)  # at once: the leader must know the subscription before it matches this
            wait_for(lambda: len(receiver.bodies()) == 1, 10)
            assert_told_with_previous(receiver.bodies()[0])

            assert client.delete(f"{BASE}/subscriptions/{sub_id}").status_code == 204
            index = leader.ngsild_subscriptions
            wait_for(lambda: ("", sub_id) not in (index._records or {}), 5)  # the leader's index, not the store
    finally:
        standby.close()
        leader.close()
