"""A subscription hears the changes made after it exists (GS CIM 009 5.8.6), not one made before it that the
notifier matches a moment late; received by a real local HTTP server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from futago.app import App
from futago.core.events import Event
from futago.services.ngsild import subscriptions as subs
from tests.ngsild.conftest import BASE
from tests.ngsild.notifications import Receiver, settle

GAUGE = "urn:ngsi-ld:WaterObserved:arakawa-iwabuchi"


def gauge(level: float) -> dict[str, Any]:
    """The Arakawa river gauge at Iwabuchi sluice (Tokyo), its water level in metres."""
    return {
        "id": GAUGE,
        "type": "WaterObserved",
        "height": {"type": "Property", "value": level, "unitCode": "MTR"},
    }


def subscribe(client: TestClient, url: str) -> dict[str, Any]:
    body = {
        "type": "Subscription",
        "entities": [{"type": "WaterObserved", "id": GAUGE}],
        "notification": {"endpoint": {"uri": url}, "format": "keyValues"},
    }
    made = client.post(f"{BASE}/subscriptions", json=body)
    assert made.status_code == 201, made.text
    return client.get(made.headers["Location"], params={"options": "sysAttrs"}).json()


def test_a_change_made_before_the_subscription_is_not_notified(
    app: App,
    lead: TestClient,
    receiver: Receiver,
) -> None:
    assert lead.post(f"{BASE}/entities", json=gauge(2.41)).status_code == 201
    settle(app)
    made = subscribe(lead, receiver.url)
    created = subs.parse_time(made["createdAt"], "createdAt")
    # The gauge's creation as the notifier would match it late: told now, made a second before the subscription.
    twin = app.twins.store.get_twin(GAUGE)
    assert twin is not None
    earlier = subs.iso(created - timedelta(seconds=1))
    app.bus.publish(Event("twin.created", earlier, twin_id=GAUGE, model=twin.model, data={"twin": twin.to_json()}))
    settle(app)
    assert receiver.bodies() == []
    # A change relayed from another process is never judged by this clock: it is notified rather than lost.
    relayed = Event("twin.created", earlier, twin_id=GAUGE, model=twin.model, data={}, origin="worker-2")
    app.bus.publish(relayed)
    settle(app)
    assert [b["data"][0]["height"] for b in receiver.bodies()] == [2.41]
    # And a change made after the subscription is notified as ever.
    assert lead.patch(f"{BASE}/entities/{GAUGE}/attrs", json={"height": gauge(2.57)["height"]}).status_code == 204
    settle(app)
    assert [b["data"][0]["height"] for b in receiver.bodies()] == [2.41, 2.57]


def test_hears_judges_only_what_it_can_tell() -> None:
    record = {"id": "urn:ngsi-ld:Subscription:x", "createdAt": "2025-06-01T09:00:00.123Z"}
    now = subs.parse_time("2025-06-01T10:00:00Z", "now")
    assert subs.hears(record, now, "2025-06-01T09:00:00.123900Z")  # the same millisecond: not surely before
    assert not subs.hears(record, now, "2025-06-01T09:00:00.122999Z")
    assert subs.hears(record, now, None)  # another process's moment
    assert subs.hears(record, now, "not a time")  # unreadable: notified, not lost
    assert subs.hears({"id": record["id"]}, now, "2025-06-01T08:00:00Z")  # no createdAt: nothing to judge by
    assert not subs.hears({**record, "isActive": False}, now, None)
    assert not subs.hears({**record, "timeInterval": 60}, now, None)  # periodic: sent by the timer, not by changes
