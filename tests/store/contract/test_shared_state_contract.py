"""State that outlives the leading process and is shared by every process (issue 20), on every adapter: suppression
windows and escalation plans, the outbox of pending deliveries and the retention of the delivery log, sessions, the
shared rate counts, and idempotent dead letters."""

from __future__ import annotations

from futago.core.dead_letters import DeadLetter, letter_key
from futago.core.keys import SessionRecord
from futago.core.notifications import Delivery, DeliveryOutcome, LetterMessage, NotificationDeadLetter
from futago.core.ports import Store

US = 1_000_000


def delivery(delivery_id: str, outcome: DeliveryOutcome, queued_at: str) -> Delivery:
    return Delivery(delivery_id, "a1", "alert.raised", "s1", "hook", "webhook", queued_at, outcome)


def test_suppression_windows_and_escalation_plans_are_kept_and_replaced(store: Store) -> None:
    store.put_suppression("high", "river-1", 1_000 * US)
    store.put_suppression("high", "river-2", 500 * US)
    store.put_suppression("high", "river-1", 2_000 * US)  # a later window replaces the earlier one
    assert store.suppressions(0) == {("high", "river-1"): 2_000 * US, ("high", "river-2"): 500 * US}
    assert store.suppressions(600 * US) == {("high", "river-1"): 2_000 * US}  # the ended one is deleted
    assert store.suppressions(0) == {("high", "river-1"): 2_000 * US}

    store.set_escalation("alert-1", 10 * US)
    store.set_escalation("alert-2", 20 * US)
    store.set_escalation("alert-1", 40 * US)
    store.set_escalation("alert-2", None)
    store.set_escalation("alert-3", None)  # nothing planned: nothing to drop
    assert store.escalations() == {"alert-1": 40 * US}


def test_the_outbox_holds_pending_deliveries_until_they_finish(store: Store) -> None:
    queued = delivery("d1", "queued", "2026-07-01T00:00:00Z")
    retrying = delivery("d2", "retrying", "2026-07-01T00:00:01Z")
    retrying.next_attempt_at = "2026-07-01T00:00:05Z"
    no_body = delivery("d3", "queued", "2026-07-01T00:00:02Z")  # written before the outbox: not resumable
    bodies = {"d1": {"id": "d1", "text": "逃げてください"}, "d2": {"id": "d2", "text": "second"}}
    store.save_deliveries([queued, retrying, no_body], bodies=bodies)

    pending = store.pending_deliveries()
    assert [(p.record.id, p.record.outcome, p.body) for p in pending] == [
        ("d1", "queued", bodies["d1"]),
        ("d2", "retrying", bodies["d2"]),
    ]
    assert pending[1].record.next_attempt_at == "2026-07-01T00:00:05Z"
    assert [p.record.id for p in store.pending_deliveries(after=pending[0].record.seq)] == ["d2"]

    queued.outcome = "sent"
    retrying.outcome = "failed"
    store.save_deliveries([queued, retrying])
    assert store.pending_deliveries() == []


def test_retention_prunes_finished_deliveries_and_old_dead_letters(store: Store) -> None:
    old_sent = delivery("old-sent", "sent", "2026-06-01T00:00:00Z")
    old_failed = delivery("old-failed", "failed", "2026-06-01T00:00:00Z")
    old_pending = delivery("old-pending", "retrying", "2026-06-01T00:00:00Z")
    new_sent = delivery("new-sent", "sent", "2026-07-02T00:00:00Z")
    letter = NotificationDeadLetter(
        "old-failed", "a1", "alert.raised", "s1", "hook", "webhook", "https://example.jp/hook", "HTTP 500", 5,
        "2026-06-01T00:10:00Z", LetterMessage("s", "t", {}),
    )  # fmt: skip
    store.save_deliveries([old_sent, old_failed, old_pending, new_sent], [letter])

    # the failed delivery stays while its dead letter refers to it; a pending one always stays
    assert store.prune_deliveries("2026-07-01T00:00:00Z") == 1
    assert store.get_delivery("old-sent") is None
    assert {d.id for d in store.list_deliveries(limit=10)} == {"old-failed", "old-pending", "new-sent"}

    assert store.prune_notification_dead_letters("2026-06-01T00:00:00Z") == 0
    assert store.prune_notification_dead_letters("2026-07-01T00:00:00Z") == 1
    assert store.count_notification_dead_letters() == 0
    assert store.prune_deliveries("2026-07-01T00:00:00Z") == 1  # its letter has gone: now it may go too
    assert {d.id for d in store.list_deliveries(limit=10)} == {"old-pending", "new-sent"}


def test_sessions_are_found_by_hash_and_end_by_id_key_or_time(store: Store) -> None:
    alice = SessionRecord("h1", "key:k1", ["key:k1", "user:alice"], ["READ"], 100 * US, key_id="k1")
    bob = SessionRecord("h2", "key:k2", ["key:k2", "user:bob"], ["READ", "WRITE"], 200 * US, key_id="k2")
    admin = SessionRecord("h3", "local-admin", ["user:local-admin"], [], 50 * US, admin=True)
    for session in (alice, bob, admin):
        store.put_session(session)
    assert store.get_session("h1") == alice and store.get_session("h3") == admin
    assert store.get_session("nope") is None
    assert store.delete_sessions(key_id="k1") == 1
    assert store.delete_sessions(ended_us=60 * US) == 1  # the admin's ended
    assert store.delete_sessions(session_id="h2") == 1
    assert store.delete_sessions(session_id="h2") == 0


def test_rate_counts_add_up_per_bucket_and_minute_and_old_minutes_go(store: Store) -> None:
    store.add_rate_counts({("refusals:client 10.0.0.1", 100): 3, ("refusals:client 10.0.0.2", 100): 1})
    store.add_rate_counts({("refusals:client 10.0.0.1", 100): 2, ("refusals:client 10.0.0.1", 99): 7})
    buckets = ["refusals:client 10.0.0.1", "refusals:client 10.0.0.2", "refusals:client 10.0.0.3"]
    assert store.rate_counts(buckets, 100) == {"refusals:client 10.0.0.1": 5, "refusals:client 10.0.0.2": 1}
    assert store.rate_counts(buckets[:1], 99) == {"refusals:client 10.0.0.1": 12}
    store.add_rate_counts({}, prune_before=100)
    assert store.rate_counts(buckets[:1], 0) == {"refusals:client 10.0.0.1": 5}
    assert store.rate_counts([], 0) == {}


def test_a_dead_letter_with_a_stored_key_is_kept_once(store: Store) -> None:
    payload = b'{"level": "high"}'
    key = letter_key("river", "kano/level", payload, 1_751_328_000_000_000)
    assert key == letter_key("river", "kano/level", payload, 1_751_328_000_000_000)
    assert key != letter_key("river", "kano/level", payload, 1_751_328_000_000_001)  # another message, same bytes
    assert letter_key("ab", "c", b"", 1) != letter_key("a", "bc", b"", 1)
    first = DeadLetter("river", "kano/level", payload, "not a number", "/level", "2026-07-01T00:00:00Z", key=key)
    again = DeadLetter("river", "kano/level", payload, "not a number", "/level", "2026-07-01T00:05:00Z", key=key)
    (first_id,) = store.add_dead_letters([first])
    assert store.add_dead_letters([again]) == [first_id]
    unkeyed = DeadLetter("river", "kano/level", payload, "not a number")
    ids = store.add_dead_letters([unkeyed, unkeyed])  # without a key, each is a letter of its own
    assert len(set(ids)) == 2 and first_id not in ids
    listed = store.list_dead_letters("river")
    assert len(listed) == 3 and listed[0].key == key and listed[0].received == "2026-07-01T00:00:00Z"
