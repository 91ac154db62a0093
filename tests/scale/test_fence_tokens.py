"""The fencing token carried by every side effect (issue 20): deliveries, their outbox bodies and command records
are written with the token their leader held, and on PostgreSQL a write whose token is lower than the lease's is
refused in its own transaction, so a former leader that has not yet noticed can neither record nor (OPC UA: the
record comes first) send. Beside SQLite the token is recorded and nothing is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from futago.act.commands.dispatch import CommandDispatcher
from futago.act.commands.ledger import CommandLedger
from futago.act.notify.delivery_log import DeliveryLog
from futago.act.notify.jobs import InFlight
from futago.act.transport import Outcome, OutgoingCommand
from futago.core.commands import CommandRecord
from futago.core.errors import FutagoError
from futago.core.events import EventBus
from futago.core.fence import Fence, Fenced, acting, refusals
from futago.core.notifications import Delivery
from futago.scale.lease import PostgresLease
from futago.store.postgres import PostgresStore
from futago.store.sqlite.store import SQLiteStore

NOW = "2026-07-01T00:00:00Z"


def delivery(delivery_id: str, outcome: str = "queued") -> Delivery:
    return Delivery(
        id=delivery_id, alert_id="alert-1", event="alert.raised", subscriber_id="resident-1", channel="phone",
        channel_type="webhook", queued_at=NOW, outcome=outcome,  # type: ignore[arg-type]
    )  # fmt: skip


def command(command_id: str, state: str = "approved") -> CommandRecord:
    return CommandRecord(
        id=command_id, twin_id="gate-1", command="close", payload={"position": 0}, mode="autonomous",
        state=state, proposed_by="rule:danger", proposed_at=NOW,  # type: ignore[arg-type]
    )  # fmt: skip


def tokens(store: Any, table: str, key: str, value: str) -> list[Any]:
    return [r[0] for r in store.db.read().execute(f"SELECT fence_token FROM {table} WHERE {key} = ?", (value,))]


@pytest.fixture
def taken(postgres_url: str) -> Iterator[tuple[PostgresStore, int, int]]:
    """A store whose lease went from one leader (the stale token) to the next (the current one)."""
    store = PostgresStore(postgres_url)
    first, second = PostgresLease(postgres_url), PostgresLease(postgres_url)
    try:
        stale = first.acquire("first")
        assert stale is not None
        first.release(stale)  # as if it had expired: the next leader takes it at once
        current = second.acquire("second")
        assert current == stale + 1
        yield store, stale, current
    finally:
        first.close()
        second.close()
        store.close()


def test_a_stale_token_s_delivery_is_refused_and_the_current_one_s_recorded(
    taken: tuple[PostgresStore, int, int],
) -> None:
    store, stale, current = taken
    with acting(stale), pytest.raises(Fenced, match=f"token {stale} is stale"):
        store.save_deliveries([delivery("d-1")], bodies={"d-1": {"text": "水位が上がっています"}})
    assert store.get_delivery("d-1") is None and store.pending_deliveries() == []  # nothing, not even the body
    with acting(current):
        store.save_deliveries([delivery("d-1")], bodies={"d-1": {"text": "水位が上がっています"}})
    assert tokens(store, "notification_deliveries", "id", "d-1") == [current]
    assert tokens(store, "notification_outbox", "delivery_id", "d-1") == [current]
    with acting(stale), pytest.raises(Fenced):  # the former leader's outcome cannot overwrite the new one's row
        store.save_deliveries([delivery("d-1", "sent")])
    assert store.get_delivery("d-1").outcome == "queued"  # type: ignore[union-attr]
    store.save_deliveries([delivery("d-2")])  # no token (an operator's request): not a leader's, not refused
    assert tokens(store, "notification_deliveries", "id", "d-2") == [None]


def test_a_stale_token_s_command_is_refused_and_the_current_one_s_recorded(
    taken: tuple[PostgresStore, int, int],
) -> None:
    store, stale, current = taken
    with acting(stale), pytest.raises(Fenced):
        store.add_command(command("c-1"))
    assert store.get_command("c-1") is None
    with acting(current):
        store.add_command(command("c-1"))
    sent = command("c-1", "sent")
    with acting(stale), pytest.raises(Fenced):
        store.update_command(sent, "approved")
    assert store.get_command("c-1").state == "approved"  # type: ignore[union-attr]
    with acting(current):
        assert store.update_command(sent, "approved")
    assert store.get_command("c-1").state == "sent" and tokens(store, "commands", "id", "c-1") == [current]  # type: ignore[union-attr]


def test_a_refused_outcome_is_counted_and_the_row_stays_for_the_next_leader(
    taken: tuple[PostgresStore, int, int],
) -> None:
    store, stale, current = taken
    with acting(current):
        store.save_deliveries([delivery("d-3")], bodies={"d-3": {"text": "避難してください"}})
    log = DeliveryLog(store, EventBus(), InFlight())
    before = refusals().get("delivery outcome", 0)
    with acting(stale):  # the former leader sent it and records the outcome: refused, counted
        log.record(delivery("d-3", "sent"))
    assert refusals()["delivery outcome"] == before + 1
    [pending] = store.pending_deliveries()  # still queued with its body: the next leader's resume sends it
    assert pending.record.id == "d-3" and pending.body == {"text": "避難してください"}


class Device:
    """A transport that records the command before it writes to the device, as the OPC UA transport does."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def check(self, spec: Any, pointer: str = "/transport") -> list[Any]:
        return []

    def send(self, spec: Any, outgoing: OutgoingCommand, on_sent: Any) -> Outcome:
        try:
            on_sent({"transport": "device"})
        except FutagoError as exc:  # as CommandTransports answers a transport's error
            return Outcome(False, error=exc.detail)
        self.written.append(outgoing.id)
        return Outcome(True, response={"closed": True})

    def close(self) -> None:
        pass


def test_a_former_leader_that_has_not_noticed_sends_no_command(taken: tuple[PostgresStore, int, int]) -> None:
    store, stale, current = taken
    with acting(current):
        store.add_command(command("c-2"))
    device = Device()
    fence = Fence(lambda token: True)  # its cached lease and its last confirmation still say it leads
    fence.grant(stale, float("inf"))
    dispatcher = CommandDispatcher(CommandLedger(store, EventBus()), device, fence=fence)
    before = refusals().get("command", 0)
    try:
        dispatcher._send(store.get_command("c-2"), SimpleNamespace(transport=None))  # type: ignore[arg-type]
    finally:
        dispatcher.close()
    assert device.written == [] and refusals()["command"] == before + 1
    assert store.get_command("c-2").state == "approved"  # type: ignore[union-attr]  # the leader's to send or fail
    fence.grant(current, float("inf"))
    dispatcher = CommandDispatcher(CommandLedger(store, EventBus()), device, fence=fence)
    try:
        dispatcher._send(store.get_command("c-2"), SimpleNamespace(transport=None))  # type: ignore[arg-type]
    finally:
        dispatcher.close()
    assert device.written == ["c-2"] and store.get_command("c-2").state == "completed"  # type: ignore[union-attr]
    assert tokens(store, "commands", "id", "c-2") == [current]


def test_beside_sqlite_the_token_is_recorded_and_nothing_refused(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "futago.db"))
    try:
        with acting(5):
            store.save_deliveries([delivery("d-1")], bodies={"d-1": {"text": "x"}})
            store.add_command(command("c-1"))
        assert tokens(store, "notification_outbox", "delivery_id", "d-1") == [5]
        with acting(4):  # a lower token: one machine's file lock never goes stale, so nothing to refuse against
            store.save_deliveries([delivery("d-1", "sent")])
        with acting(0):  # a process alone (the open fence's token): no token at all
            store.save_deliveries([delivery("d-2")])
        store.add_command(command("c-2"))
        assert tokens(store, "notification_deliveries", "id", "d-1") == [4]
        assert tokens(store, "notification_outbox", "delivery_id", "d-1") == []  # sent: the body is let go
        assert tokens(store, "commands", "id", "c-1") == [5]
        assert tokens(store, "notification_deliveries", "id", "d-2") == [None]
        assert tokens(store, "commands", "id", "c-2") == [None]
    finally:
        store.close()


def test_a_side_effect_write_in_flight_holds_up_a_takeover_but_not_the_leader_s_renewal(postgres_url: str) -> None:
    """The lease is read FOR KEY SHARE inside a side-effect write: a takeover (raising the token, a key column)
    waits for it, so the row is ordered before the takeover; the leader's renewal (``expires`` only) does not wait,
    so a slow write cannot make the leader miss its renewal."""
    import psycopg

    from futago.store.sql.db import fenced

    store = PostgresStore(postgres_url)
    leader, standby = PostgresLease(postgres_url, ttl_s=3.0), PostgresLease(postgres_url, ttl_s=3.0)
    try:
        token = leader.acquire("leader")
        assert token is not None
        with acting(token), store.db.write() as conn:
            assert fenced(store.db, conn, "a delivery") == token  # the lease row is now key-share locked
            assert leader.renew(token)  # at once, not after the write: lock_timeout would have raised
            with psycopg.connect(postgres_url, autocommit=True, options="-c lock_timeout=300") as other:
                other.execute("UPDATE leader_lease SET expires = '-infinity'")  # expired, as if the leader froze
                with pytest.raises(psycopg.errors.LockNotAvailable):  # the takeover waits for the write
                    other.execute("UPDATE leader_lease SET token = token + 1")
        assert standby.acquire("standby") == token + 1  # once the write is done, the takeover goes through
    finally:
        leader.close()
        standby.close()
        store.close()
