"""NGSI-LD subscriptions in time: the leader matches from an in-memory index (a new subscription takes effect at
once, an idle notifier reads nothing), and throttling coalesces changes instead of dropping them, as received by a
real local HTTP server."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from futago.app import App
from tests.ngsild.conftest import BASE
from tests.ngsild.notifications import Receiver, settle
from tests.ngsild.test_subscriptions import SENSOR, observed, subscription

OTHER = "urn:ngsi-ld:WaterObserved:arakawa-3"


def _patch(client: TestClient, entity_id: str, temperature: float, **headers: str) -> None:
    answer = client.patch(f"{BASE}/entities/{entity_id}/attrs", json={"temperature": temperature}, headers=headers)
    assert answer.status_code == 204, answer.text


def _temperatures(body: dict[str, Any]) -> dict[str, float]:
    return {e["id"]: e["temperature"]["value"] for e in body["data"]}


def test_a_new_subscription_notifies_an_update_made_within_100_ms(
    app: App, lead: TestClient, receiver: Receiver
) -> None:
    assert lead.post(f"{BASE}/entities", json=observed(15.0)).status_code == 201
    settle(app)
    created = lead.post(f"{BASE}/subscriptions", json=subscription(receiver.url, watchedAttributes=["temperature"]))
    assert created.status_code == 201
    started = time.monotonic()
    _patch(lead, SENSOR, 18.5)
    assert time.monotonic() - started < 0.1  # the update came within 100 ms of the subscription
    settle(app)
    assert [_temperatures(b) for b in receiver.bodies()] == [{SENSOR: 18.5}]


def test_an_idle_notifier_reads_no_subscriptions_from_the_store(
    app: App, lead: TestClient, receiver: Receiver, monkeypatch: Any
) -> None:
    assert lead.post(f"{BASE}/subscriptions", json=subscription(receiver.url)).status_code == 201
    assert lead.post(f"{BASE}/entities", json=observed(15.0)).status_code == 201
    ward = {"NGSILD-Tenant": "ward7"}  # a tenant without subscriptions
    assert lead.post(f"{BASE}/entities", json=observed(15.0), headers=ward).status_code == 201
    settle(app)
    reads: list[float] = []
    original = app.store.list_ngsild_subscriptions

    def counted() -> dict[tuple[str, str], dict[str, Any]]:
        reads.append(time.monotonic())
        return original()

    monkeypatch.setattr(app.store, "list_ngsild_subscriptions", counted)
    for step in range(5):  # 2.5 s: longer than the 2 s the notifier used to re-read every subscription after
        _patch(lead, SENSOR, 16.0 + step)
        _patch(lead, SENSOR, 30.0 + step, **ward)
        time.sleep(0.5)
    settle(app)
    assert reads == []
    assert [_temperatures(b)[SENSOR] for b in receiver.bodies()[1:]] == [16.0, 17.0, 18.0, 19.0, 20.0]


def test_throttled_changes_are_coalesced_into_one_notification_when_the_window_ends(
    app: App, lead: TestClient, receiver: Receiver
) -> None:
    assert lead.post(f"{BASE}/entities", json=observed(15.0)).status_code == 201
    settle(app)
    sub = subscription(receiver.url, throttling=1, id="urn:ngsi-ld:Subscription:coalesced")
    assert lead.post(f"{BASE}/subscriptions", json=sub).status_code == 201
    started = time.monotonic()
    for value in (20.0, 21.0, 22.0, 23.0, 24.0):
        _patch(lead, SENSOR, value)
    other = {**observed(9.5), "id": OTHER}
    assert lead.post(f"{BASE}/entities", json=other).status_code == 201  # a second entity within the window
    assert time.monotonic() - started < 1.0  # all within one throttle window
    settle(app)
    first = receiver.bodies()
    assert len(first) == 1 and first[0]["data"][0]["id"] == SENSOR  # the window is open: the rest is held
    assert first[0]["data"][0]["temperature"]["value"] in (20.0, 21.0, 22.0, 23.0, 24.0)  # the state when matched
    deadline = time.monotonic() + 5
    while len(receiver.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    settle(app)
    bodies = receiver.bodies()
    assert len(bodies) == 2
    assert _temperatures(bodies[1]) == {SENSOR: 24.0, OTHER: 9.5}  # the latest state of each changed entity
    assert time.monotonic() - started >= 1.0  # not before the window ended
    shown = lead.get(f"{BASE}/subscriptions/urn:ngsi-ld:Subscription:coalesced").json()["notification"]
    assert shown["timesCoalesced"] == 5  # four updates of one entity and the creation of the other
    assert shown["timesSent"] == 2
