"""The fence around a leader's side effects, one part at a time: the fence itself, the notification and command
dispatchers, connector start, the recorded connection states (a stale token changes nothing), the file lease's
tokens, the absolute paths of a server store's files, and URLs shown without their secrets."""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from futago.act.commands.dispatch import CommandDispatcher
from futago.act.notify.dispatcher import DeliveryDispatcher
from futago.app import App, audit_key_path, leader_lock_path, vault_path
from futago.config import Settings
from futago.core.fence import OPEN, Fence, Fenced
from futago.core.secrets import MASK, redact_url
from futago.scale.lease import FileLease
from futago.scale.states import ConnectionStates


def test_the_fence_holds_until_its_deadline_and_not_after_a_revoke() -> None:
    fence = Fence()
    with pytest.raises(Fenced, match="does not hold the lead"):
        fence.check("a notification")
    fence.grant(7, time.monotonic() + 60)
    assert fence.check("a notification") == 7 and fence.holds()
    fence.grant(7, time.monotonic() - 0.001)  # a process that slept past its lease wakes fenced, unasked
    assert fence.token is None and not fence.holds()
    fence.grant(8, time.monotonic() + 60)
    fence.revoke()
    assert not fence.holds()
    assert OPEN.check("one process alone") == 0


def test_confirm_asks_the_authority_and_a_stale_token_fences_at_once() -> None:
    current = {"token": 3}
    fence = Fence(lambda token: token == current["token"])
    fence.grant(3, time.monotonic() + 60)
    assert fence.confirm("a command") == 3
    current["token"] = 4  # another process took the lease (the cache has not heard yet)
    with pytest.raises(Fenced, match="token 3 is stale"):
        fence.confirm("a command")
    assert not fence.holds()  # and nothing else is sent on it either


class Channel:
    type = "webhook"

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, entry: Any, message: Any) -> Any:
        self.sent.append(message)
        return SimpleNamespace(ok=True, sent_at=None, detail="200", retry=False)


def test_a_fenced_notification_dispatcher_sends_nothing_and_records_nothing() -> None:
    channel = Channel()
    recorded: list[Any] = []
    deliveries = SimpleNamespace(record=lambda *a: recorded.append(a), sent=lambda r: recorded.append(r))
    in_flight = SimpleNamespace(more=lambda: None, done=lambda n=1: None)
    dispatcher = DeliveryDispatcher({"webhook": channel}, deliveries, in_flight, lambda entry: None)  # type: ignore[arg-type, dict-item, return-value]
    dispatcher.fence = Fence()  # lost its lease
    job = SimpleNamespace(record=SimpleNamespace(id=1, attempts=0), entry={"type": "webhook"}, message="flood")
    dispatcher.dispatch(job)  # type: ignore[arg-type]
    assert channel.sent == [] and recorded == []  # left as the log has it, for the leader to send once
    dispatcher.fence.grant(2, time.monotonic() + 60)
    dispatcher.dispatch(job)  # type: ignore[arg-type]
    assert channel.sent == ["flood"] and len(recorded) == 2


def test_a_fenced_command_dispatcher_sends_nothing() -> None:
    sent: list[Any] = []
    transports = SimpleNamespace(send=lambda *a: sent.append(a), close=lambda: None)
    dispatcher = CommandDispatcher(SimpleNamespace(), transports, workers=1)  # type: ignore[arg-type]
    try:
        current = {"token": 5}
        dispatcher.fence = Fence(lambda token: token == current["token"])
        dispatcher.fence.grant(4, time.monotonic() + 60)  # the cache says yes, the database says 5 leads now
        record = SimpleNamespace(id="c1", twin_id="gate-1", command="close", payload={})
        dispatcher._send(record, SimpleNamespace(transport={}))  # type: ignore[arg-type]
        assert sent == []
    finally:
        dispatcher.close()


def test_a_connector_does_not_start_without_the_lead(app: App, tmp_path: Path) -> None:
    data = tmp_path / "levels.csv"
    data.write_text("ts,level\n2026-01-01T00:00:00Z,1.5\n")
    replay = {
        "type": "replay", "autostart": False, "options": {"path": str(data)},
        "mappings": [{"source": "level", "twin": "river-1", "telemetry": "waterLevel", "format": "number"}],
    }  # fmt: skip
    app.connections.put("levels", replay)
    app.connections.fence = Fence()  # this process lost its lease
    with pytest.raises(Fenced, match="starting connection 'levels'"):
        app.connections.start("levels")
    assert app.connections.state("levels") == {"state": "stopped"}
    app.connections.fence.grant(3, time.monotonic() + 60)
    app.connections.start("levels")
    assert app.connections.state("levels")["state"] != "stopped"


def test_a_stale_leader_cannot_overwrite_the_recorded_connection_state(app: App) -> None:
    db = app.store.db  # type: ignore[attr-defined]
    old, new = Fence(), Fence()
    old.grant(1, time.monotonic() + 60)
    new.grant(2, time.monotonic() + 60)
    assert ConnectionStates(db, new).record("gauges", {"state": "running"})
    assert not ConnectionStates(db, old).record("gauges", {"state": "stopped"})  # token 1 < 2: refused
    assert ConnectionStates(db, old).read("gauges") == {"state": "running"}
    assert not ConnectionStates(db, Fence()).record("gauges", {"state": "stopped"})  # no lead: nothing written
    app.connections.runs_connectors = False
    app.connections.leader_state = ConnectionStates(db, old).read
    assert app.connections.state("gauges") == {"state": "running"}  # a follower reads the leader's


def test_the_file_lease_counts_tokens_up_and_keeps_the_address(tmp_path: Path) -> None:
    first, second = FileLease(tmp_path / "l.lock"), FileLease(tmp_path / "l.lock")
    assert first.ttl_s == math.inf
    assert first.acquire("http://a:8000") == 1 and second.acquire("http://b:8000") is None
    assert second.address() == "http://a:8000"
    first.release(1)
    assert second.acquire("http://b:8000") == 2 and first.address() == "http://b:8000"
    second.close()


def test_a_server_stores_files_are_absolute_whatever_the_working_directory(tmp_path: Path) -> None:
    settings = Settings(db="postgresql://futago@db.example/futago", data_root="futago-data")
    with contextlib.chdir(tmp_path):
        key, vault, lock = audit_key_path(settings), vault_path(settings), leader_lock_path(settings)
    assert key == tmp_path / "futago-data" / "audit-key.pem" and key.is_absolute()
    assert vault is not None and vault.is_absolute() and lock.is_absolute()
    sqlite = Settings(db="twin.db")
    with contextlib.chdir(tmp_path):
        assert leader_lock_path(sqlite) == tmp_path / "twin.db.leader.lock"  # the same place as before, absolute


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u@db/futago?password=pw", f"postgresql://u@db/futago?password={MASK}"),
        (
            "postgresql://db/futago?sslmode=require&password=pw",
            f"postgresql://db/futago?sslmode={MASK}&password={MASK}",
        ),
        ("host=db dbname=futago password=pw", f"host=db dbname=futago password={MASK}"),
        ("host=db password='p w' user=u", f"host=db password={MASK} user=u"),
        ("https://hook.example/p;token=tk", f"https://hook.example/p;token={MASK}"),
        ("postgresql:///futago?host=/run/pg&passwd=pw", f"postgresql:///futago?host={MASK}&passwd={MASK}"),
        ("nats://u:pw@nats:4222", f"nats://u:{MASK}@nats:4222"),
    ],
)
def test_redact_masks_every_secret_of_a_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert "pw" not in redact_url(url).replace("passwd", "") and "tk" not in redact_url(url)


def test_a_process_that_loses_the_lead_stops_its_connectors_and_rules_and_resumes_them(app: App) -> None:
    app.start()  # one process alone: it leads
    maintenance = app._maintenance
    assert app.connections.runs_connectors and app.alerts.active
    app.stop_stateful()  # the lease was lost
    assert not app.connections.runs_connectors and not app.alerts.active
    app.start_stateful()  # won back: what was stopped starts again, the threads that ran on are not doubled
    assert app.connections.runs_connectors and app.alerts.active and app._maintenance is maintenance
