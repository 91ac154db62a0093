"""NotificationStore contract: subscribers, channel settings, the delivery log and its dead letters, for every
adapter."""

from __future__ import annotations

from typing import Any

import pytest

from futago.core.errors import NotFound
from futago.core.ports import NotificationStore
from futago.core.secrets import reveal


def _delivery(delivery_id: str, outcome: str = "queued", alert: str = "a1", subscriber: str = "s1") -> dict[str, Any]:
    return {"id": delivery_id, "alertId": alert, "subscriberId": subscriber, "channel": "email",
            "outcome": outcome, "queuedAt": "2026-01-01T00:00:00Z"}  # fmt: skip


def _letter(delivery_id: str) -> dict[str, Any]:
    return {"deliveryId": delivery_id, "subscriberId": "s1", "channel": "email", "failedAt": "t", "error": "refused"}


def test_subscribers_are_created_replaced_paged_and_deleted(store: NotificationStore) -> None:
    assert store.put_subscriber("s2", {"id": "s2", "home": "r1", "email": "b@example.org"}) is True
    assert store.put_subscriber("s1", {"id": "s1", "email": "a@example.org"}) is True
    assert store.put_subscriber("s2", {"id": "s2", "home": "r2", "email": "c@example.org"}) is False
    assert store.get_subscriber("s2") == {"id": "s2", "home": "r2", "email": "c@example.org"}
    assert store.get_subscriber("missing") is None
    assert [s["id"] for s in store.list_subscribers()] == ["s1", "s2"]
    assert [s["id"] for s in store.list_subscribers(after_id="s1")] == ["s2"]
    assert [s["id"] for s in store.list_subscribers(limit=1)] == ["s1"]
    store.delete_subscriber("s1")
    with pytest.raises(NotFound, match="subscriber 's1' does not exist"):
        store.delete_subscriber("s1")


def test_channel_settings_are_put_listed_and_deleted_with_their_secrets(store: NotificationStore) -> None:
    store.put_notification_channel("smtp", {"type": "email", "host": "mail", "password": "pw"})
    store.put_notification_channel("broker", {"type": "mqtt", "host": "b"})
    channels = store.list_notification_channels()
    assert list(channels) == ["broker", "smtp"]
    assert reveal(channels["smtp"]["password"]) == "pw"
    store.delete_notification_channel("broker")
    assert list(store.list_notification_channels()) == ["smtp"]
    with pytest.raises(NotFound, match="notification channel 'broker' does not exist"):
        store.delete_notification_channel("broker")


def test_deliveries_are_logged_updated_and_listed_oldest_first(store: NotificationStore) -> None:
    assert store.save_deliveries([_delivery("d1"), _delivery("d2", alert="a2"), _delivery("d3", subscriber="s2")]) == []
    store.save_deliveries([{**_delivery("d1", "sent"), "sentAt": "2026-01-01T00:00:01Z"}])
    d1 = store.get_delivery("d1")
    assert d1 is not None and d1["outcome"] == "sent" and d1["sentAt"] == "2026-01-01T00:00:01Z"
    assert store.get_delivery("missing") is None
    everything = store.list_deliveries()
    assert [d["id"] for d in everything] == ["d1", "d2", "d3"]  # an update keeps its place
    assert [d["id"] for d in store.list_deliveries(alert_id="a1", subscriber_id="s1")] == ["d1"]
    assert [d["id"] for d in store.list_deliveries(outcome="queued")] == ["d2", "d3"]
    assert [d["id"] for d in store.list_deliveries(after=everything[0]["seq"], limit=1)] == ["d2"]


def test_dead_letters_are_added_with_their_delivery_listed_fetched_and_deleted(store: NotificationStore) -> None:
    ids = store.save_deliveries([_delivery("d1", "failed")], [_letter("d1"), _letter("d2")])
    assert len(ids) == 2 and ids == sorted(ids)
    letters = store.list_notification_dead_letters()
    assert [(d["id"], d["deliveryId"], d["error"]) for d in letters] == [
        (ids[0], "d1", "refused"),
        (ids[1], "d2", "refused"),
    ]
    assert [d["id"] for d in store.list_notification_dead_letters(after_id=ids[0], limit=5)] == [ids[1]]
    assert [d["id"] for d in store.get_notification_dead_letters([ids[1], ids[1], 10**9])] == [ids[1]]
    assert store.get_notification_dead_letters([]) == []
    assert store.count_notification_dead_letters() == 2
    assert store.delete_notification_dead_letters([ids[0], 10**9]) == 1
    assert store.delete_notification_dead_letters([]) == 0
    assert store.count_notification_dead_letters() == 1
