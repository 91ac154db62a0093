"""NotificationStore contract: subscribers, channel settings, the delivery log and its dead letters, for every
adapter."""

from __future__ import annotations

from dataclasses import replace

import pytest

from futago.core.errors import NotFound
from futago.core.notifications import Delivery, DeliveryOutcome, LetterMessage, NotificationDeadLetter, Subscriber
from futago.core.ports import NotificationStore
from futago.core.secrets import reveal


def _subscriber(subscriber_id: str, email: str, home: str | None = None) -> Subscriber:
    return Subscriber(subscriber_id, subscriber_id, "en", ({"name": "email", "type": "email", "to": email},), home)


def _delivery(
    delivery_id: str, outcome: DeliveryOutcome = "queued", alert: str = "a1", subscriber: str = "s1"
) -> Delivery:
    return Delivery(delivery_id, alert, "alert.raised", subscriber, "email", "email", "2026-01-01T00:00:00Z", outcome)


def _letter(delivery_id: str) -> NotificationDeadLetter:
    message = LetterMessage("subject", "text", {"id": delivery_id})
    return NotificationDeadLetter(delivery_id, "a1", "alert.raised", "s1", "email", "email", "a@example.org",
                                  "refused", 1, "t", message)  # fmt: skip


def test_subscribers_are_created_replaced_paged_and_deleted(store: NotificationStore) -> None:
    assert store.put_subscriber(_subscriber("s2", "b@example.org", "r1")) is True
    assert store.put_subscriber(_subscriber("s1", "a@example.org")) is True
    assert store.put_subscriber(_subscriber("s2", "c@example.org", "r2")) is False
    assert store.get_subscriber("s2") == _subscriber("s2", "c@example.org", "r2")
    assert store.get_subscriber("missing") is None
    assert [s.id for s in store.list_subscribers()] == ["s1", "s2"]
    assert [s.id for s in store.list_subscribers(after_id="s1")] == ["s2"]
    assert [s.id for s in store.list_subscribers(limit=1)] == ["s1"]
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
    store.save_deliveries([replace(_delivery("d1", "sent"), sent_at="2026-01-01T00:00:01Z")])
    d1 = store.get_delivery("d1")
    assert d1 is not None and d1.outcome == "sent" and d1.sent_at == "2026-01-01T00:00:01Z"
    assert store.get_delivery("missing") is None
    everything = store.list_deliveries()
    assert [d.id for d in everything] == ["d1", "d2", "d3"]  # an update keeps its place
    assert [d.id for d in store.list_deliveries(alert_id="a1", subscriber_id="s1")] == ["d1"]
    assert [d.id for d in store.list_deliveries(outcome="queued")] == ["d2", "d3"]
    assert [d.id for d in store.list_deliveries(after=everything[0].seq, limit=1)] == ["d2"]


def test_dead_letters_are_added_with_their_delivery_listed_fetched_and_deleted(store: NotificationStore) -> None:
    ids = store.save_deliveries([_delivery("d1", "failed")], [_letter("d1"), _letter("d2")])
    assert len(ids) == 2 and ids == sorted(ids)
    letters = store.list_notification_dead_letters()
    assert [(d.id, d.delivery_id, d.reason) for d in letters] == [
        (ids[0], "d1", "refused"),
        (ids[1], "d2", "refused"),
    ]
    assert letters[0] == replace(_letter("d1"), id=ids[0])  # the whole record comes back, message and all
    assert [d.id for d in store.list_notification_dead_letters(after_id=ids[0], limit=5)] == [ids[1]]
    assert [d.id for d in store.get_notification_dead_letters([ids[1], ids[1], 10**9])] == [ids[1]]
    assert store.get_notification_dead_letters([]) == []
    assert store.count_notification_dead_letters() == 2
    assert store.delete_notification_dead_letters([ids[0], 10**9]) == 1
    assert store.delete_notification_dead_letters([]) == 0
    assert store.count_notification_dead_letters() == 1


def test_a_damaged_subscriber_row_is_left_out_not_fatal(store: NotificationStore) -> None:
    store.put_subscriber(_subscriber("s1", "a@example.org"))
    with store.db.write() as conn:  # type: ignore[attr-defined]  # what a hand edit or a bad migration leaves
        conn.execute("INSERT INTO subscribers (id, home, doc) VALUES (?, ?, ?)", ("s0", None, '{"name": "no id"}'))
    assert [s.id for s in store.list_subscribers()] == ["s1"]
    assert store.get_subscriber("s0") is None


def test_a_delivery_keeps_the_keys_of_its_attempts_exactly(store: NotificationStore) -> None:
    """The JSON the API answers: planned keys always (null until known), attempt keys only once they exist."""
    queued = _delivery("d1")
    store.save_deliveries([queued])
    stored = store.get_delivery("d1")
    assert stored is not None and stored.seq is not None
    doc = stored.to_json()
    assert doc["sentAt"] is None and doc["error"] is None and doc["seq"] == stored.seq
    assert not {"lastAttemptAt", "nextAttemptAt", "detail"} & set(doc)
    retrying = replace(queued, outcome="retrying", attempts=1, last_attempt_at="t1", next_attempt_at="t2", error="e")
    store.save_deliveries([retrying])
    assert store.get_delivery("d1") == replace(retrying, seq=stored.seq)
    sent = replace(retrying, outcome="sent", attempts=2, next_attempt_at=None, error=None, detail="", sent_at="t3")
    store.save_deliveries([sent])
    doc = store.get_delivery("d1").to_json()  # type: ignore[union-attr]
    assert doc["detail"] == "" and doc["lastAttemptAt"] == "t1" and "nextAttemptAt" not in doc
