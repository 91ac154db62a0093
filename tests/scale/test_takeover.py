"""What a process does as it takes the lead, and what it shows of its fence (issue 20).

On PostgreSQL with NATS, two Apps stand for two hosts: A leads and leaves commands in flight, stops renewing its
lease (a frozen host), and B takes the lead and fails them under its own token, naming A's; B's start did not touch
them while A still led. /health shows each process's fence and its refusals. The NGSI-LD notifier records its
notifications under the fence's token, so a former leader's is refused like any delivery."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.act.commands import CommandService
from futago.act.commands.dispatch import CommandDispatcher
from futago.act.commands.ledger import CommandLedger
from futago.act.transport import Outcome
from futago.api.server import create_api
from futago.app import App, build, leadership_for
from futago.config import Settings
from futago.core.commands import CommandRecord
from futago.core.errors import FutagoError
from futago.core.events import EventBus
from futago.core.fence import Fence, acting, refusals, refused
from futago.scale.lease import PostgresLease
from futago.services.ngsild.notifier import SUBSCRIBER_PREFIX, SubscriptionService
from futago.store.postgres import PostgresStore
from futago.store.sqlite.store import SQLiteStore

NOW = "2026-07-01T00:00:00Z"


def command(command_id: str, state: str, **changes: Any) -> CommandRecord:
    return CommandRecord(
        id=command_id, twin_id="gate-1", command="close", payload={"position": 0}, mode="autonomous",
        state=state, proposed_by="rule:danger", proposed_at=NOW, approved_by="autonomous", approved_at=NOW,  # type: ignore[arg-type]
        **changes,
    )  # fmt: skip


def token_of(app: App, command_id: str) -> Any:
    row = app.store.db.read().execute("SELECT fence_token FROM commands WHERE id = ?", (command_id,)).fetchone()  # type: ignore[attr-defined]
    return row[0]


def wait_for(condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def fencing(app: App) -> dict[str, Any]:
    with TestClient(create_api(app)) as client:
        answer = client.get("/health")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()["fencing"]
    return body


def test_the_next_leader_fails_what_the_former_left_in_flight_naming_its_token(
    postgres_url: str, nats_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a database server's store keeps its keys in ./futago-data

    def host() -> App:
        return build(Settings(db=postgres_url, data_root=str(tmp_path), nats=nats_url))

    a = host()
    b: App | None = None
    try:
        assert a.scale is not None
        lead_a = a.scale.leadership = leadership_for(a, PostgresLease(postgres_url, ttl_s=1.5))
        lead_a.start()
        ta = lead_a.token
        assert ta is not None and a.fence.holds()
        with acting(ta):  # what A's rules and dispatcher recorded under its lead
            a.store.add_command(command("c-approved", "approved", admitted_us=1))
            a.store.add_command(command("c-sent", "sent", admitted_us=2, sent={"transport": "mqtt"}, sent_at=NOW))
            a.store.add_command(command("c-proposed", "proposed"))
            a.store.add_command(command("c-done", "completed", admitted_us=3, completed_at=NOW))
        a.store.add_command(command("c-api", "approved", admitted_us=4))  # an operator's, approved on a standby

        b = host()  # a process that starts while A leads fails nothing of A's
        assert b.commands.get("c-approved")["state"] == "approved" and b.commands.get("c-sent")["state"] == "sent"
        assert b.scale is not None
        lead_b = b.scale.leadership = leadership_for(b, PostgresLease(postgres_url, ttl_s=1.5))
        lead_b.start()
        assert not lead_b.leading and fencing(b) == {**fencing(b), "scaledOut": True, "leads": False, "token": None}

        lead_a._stop.set()  # A's host freezes: its lease thread renews no more, A still believes it leads
        assert lead_a._thread is not None
        lead_a._thread.join()
        wait_for(lambda: b.commands.get("c-approved")["state"] == "failed")
        tb = lead_b.token
        assert tb is not None and tb > ta

        approved, sent, api = (b.commands.get(c) for c in ("c-approved", "c-sent", "c-api"))
        assert approved["error"].startswith(f"approved by the leader with fencing token {ta} and not known to be sent")
        assert f"moved to token {tb}" in approved["error"] and approved["admittedUs"] is None  # it never left
        assert sent["state"] == "failed" and f"sent by the leader with fencing token {ta}" in sent["error"]
        assert sent["admittedUs"] == 2  # it did leave: it still counts against the rate limit
        assert api["state"] == "failed" and "an API request (no fencing token)" in api["error"]
        assert approved["history"][-1]["state"] == "failed" and "by" not in approved["history"][-1]
        assert {token_of(b, c) for c in ("c-approved", "c-sent", "c-api")} == {tb}  # written under B's lead
        assert b.commands.get("c-proposed")["state"] == "proposed"  # not in flight: nobody's to fail
        assert b.commands.get("c-done")["state"] == "completed" and token_of(b, "c-done") == ta

        assert not a.fence.holds()  # A wakes fenced: its outcome of c-sent would be refused (test_fence_tokens)
        assert fencing(a) == {**fencing(a), "scaledOut": True, "leads": False, "token": None}
        assert fencing(b) == {**fencing(b), "scaledOut": True, "leads": True, "token": tb}
    finally:
        a.close()
        if b is not None:
            b.close()


def test_health_shows_the_fence_and_counts_refusals_per_kind(app: App) -> None:
    seen = fencing(app)
    assert seen == {"scaledOut": False, "leads": True, "token": None, "refusals": refusals()}
    before = seen["refusals"].get("delivery outcome", 0)
    refused("delivery outcome", "a former leader's outcome of delivery d-1", 2)
    assert fencing(app)["refusals"]["delivery outcome"] == before + 2


def test_a_former_leader_s_ngsild_notification_is_refused(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    first, second = PostgresLease(postgres_url), PostgresLease(postgres_url)
    try:
        stale = first.acquire("first")
        assert stale is not None
        first.release(stale)  # as if it had expired
        current = second.acquire("second")
        assert current == stale + 1
        fence = Fence(lambda token: True)
        fence.grant(stale, float("inf"))  # the former leader's cache still says it leads
        sent: list[Any] = []
        channel = SimpleNamespace(target=lambda entry: entry["uri"])
        notifications = SimpleNamespace(
            channels={"ngsild": channel}, store=store, dispatcher=SimpleNamespace(fence=fence, dispatch=sent.append)
        )
        notifier = SubscriptionService(None, store, notifications, None)  # type: ignore[arg-type]
        sub = "urn:ngsi-ld:Subscription:water"
        record = {"id": sub, "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}}}
        body = {
            "id": "urn:ngsi-ld:Notification:n1", "type": "Notification", "subscriptionId": sub,
            "data": [{"id": "urn:ngsi-ld:River:1"}],
        }  # fmt: skip

        def recorded() -> list[Any]:
            rows = store.db.read().execute(
                "SELECT fence_token FROM notification_deliveries WHERE subscriber_id = ?",
                (SUBSCRIBER_PREFIX + ":" + sub,),
            )
            return [row[0] for row in rows]

        before = refusals().get("ngsild notification", 0)
        notifier.dispatch(
            ("", sub), record, body, "river-1", "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
        )
        assert recorded() == [] and sent == [] and refusals()["ngsild notification"] == before + 1
        assert store.pending_deliveries() == []  # not even its body
        fence.grant(current, float("inf"))  # the current leader's goes through, carrying its token
        notifier.dispatch(
            ("", sub), record, body, "river-1", "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
        )
        assert recorded() == [current] and len(sent) == 1
        assert sent[0].record.id == "n1"  # the notification's id is its delivery's (the Idempotency-Key)
        [pending] = store.pending_deliveries()
        assert pending.body == body
    finally:
        first.close()
        second.close()
        store.close()


class Device:
    """Records the command before it writes to the device (as OPC UA does); ``meanwhile`` runs just before."""

    def __init__(self, meanwhile: Callable[[], Any] = lambda: None) -> None:
        self.written: list[str] = []
        self.meanwhile = meanwhile

    def send(self, spec: Any, outgoing: Any, on_sent: Any) -> Outcome:
        self.meanwhile()
        try:
            on_sent({"transport": "device"})
        except FutagoError as exc:  # as CommandTransports answers a transport's error
            return Outcome(False, error=exc.detail)
        self.written.append(outgoing.id)
        return Outcome(True)

    def close(self) -> None:
        pass


def test_a_command_the_new_leader_failed_is_not_sent_by_its_own_dispatcher(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "futago.db"))
    ledger = CommandLedger(store, EventBus())
    try:
        store.add_command(command("c-1", "approved"))
        store.add_command(command("c-2", "approved"))
        fence = Fence(lambda token: True)
        fence.grant(7, float("inf"))
        taking_over = CommandService(store, store, None, EventBus(), Device(), fence=fence)  # type: ignore[arg-type]
        assert taking_over.take_over(7, lambda: {"c-1": 6}) == ["c-1"]  # failed before this process sends it
        device = Device()
        dispatcher = CommandDispatcher(ledger, device, fence=fence)  # type: ignore[arg-type]
        dispatcher._send(store.get_command("c-1"), SimpleNamespace(transport=None))  # type: ignore[arg-type]
        # failed while the transport was on its way: the record before the write stops it
        racing = Device(lambda: taking_over.take_over(7, lambda: {"c-2": None}))
        CommandDispatcher(ledger, racing, fence=fence)._send(store.get_command("c-2"), SimpleNamespace(transport=None))  # type: ignore[arg-type]
        assert device.written == [] and racing.written == []
        for command_id, former in (("c-1", "the leader with fencing token 6"), ("c-2", "an API request")):
            record = store.get_command(command_id)
            assert record is not None and record.state == "failed" and f"approved by {former}" in str(record.error)
        taking_over.close()
    finally:
        store.close()
