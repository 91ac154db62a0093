"""State that survives the leading process, and security state every process shares (issue 20), on each adapter:
two Apps on one store stand for two processes (or the leader before and after a move). A suppression window and an
unsent webhook retry outlive the App that made them; the delivery log is pruned by its retention; a dashboard
session, a revocation and the refusal budgets hold on every App; a malformed message processed twice is one dead
letter."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from futago import samples
from futago.act.model import Alert
from futago.app import App, build
from futago.config import Settings
from futago.core.errors import InvalidInput, TooManyRequests, Unauthorized
from futago.core.notifications import Delivery
from futago.core.twins import now_iso
from futago.ingest.mapping import Mapper, RawMessage
from futago.scale.ingest_log import encode
from futago.scale.worker import IngestWorker
from futago.security.limits import READ_S
from futago.security.service import RECHECK_S, SecurityService
from tests.act.test_notify_channels import SECRET, WebhookServer, operator
from tests.store.adapters import ADAPTERS, database_url

D = "dtmi:futago:demo:"
M = 60_000_000  # a minute in µs
HIGH = {"twins": ["river-1"], "when": {"threshold": {"telemetry": "waterLevel", "above": 4.0, "clear": 3.8}}}


@pytest.fixture(params=ADAPTERS)
def make_app(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., App]]:
    """Apps on one fresh store of the adapter, as the processes of a deployment would open it."""
    monkeypatch.chdir(tmp_path)  # a database server's store keeps its audit key in ./futago-data
    db = database_url(request.param, request, tmp_path)
    opened: list[App] = []

    def make(**settings: Any) -> App:
        app = build(Settings(db=db, data_root=str(tmp_path), **settings))
        opened.append(app)
        return app

    yield make
    for app in opened:
        app.close()


def readings(app: App, rows: list[tuple[int, float]]) -> None:
    app.telemetry.append([("river-1", "waterLevel", ts, value, 1) for ts, value in rows], kind_of=lambda t, n: "f8")


def test_a_suppression_window_holds_after_the_leader_changes(make_app: Callable[..., App]) -> None:
    first = make_app()
    first.models.add(samples.demo_models())
    station = {
        "$metadata": {"$model": D + "RiverStation;1"},
        "geometry": {"type": "Point", "coordinates": [138.86, 35.1]},
    }
    first.twins.put("river-1", station)
    first.twins.put("river-2", {**station, "geometry": {"type": "Point", "coordinates": [138.9, 35.1]}})
    first.alerts.put_rule("quiet", {**HIGH, "suppress": "30m"})
    first.alerts.put_rule("slow", {**HIGH, "twins": ["river-2"], "escalateAfter": "15m"})
    first.start()
    t0 = time.time_ns() // 1000 - 20 * M
    readings(first, [(t0, 4.5), (t0 + M, 3.0)])  # raised, then resolved: suppressed until t0 + 31 min
    first.telemetry.append([("river-2", "waterLevel", t0, 4.5, 1)], kind_of=lambda t, n: "f8")
    [alert] = first.alerts.list_alerts(rule="quiet", limit=10)[0]
    [slow] = first.alerts.list_alerts(rule="slow", limit=10)[0]
    assert alert.state == "resolved" and slow.state == "raised"
    planned = first.alerts.book._next_escalation[slow.id]  # 15 min after it was raised, by the leader's clock
    first.close()

    second = make_app()  # the next leader
    second.start()
    assert second.alerts.book._next_escalation[slow.id] == planned  # not 15 min after the reading, nor the move
    readings(second, [(t0 + 2 * M, 4.6), (t0 + 10 * M, 4.7)])  # inside the window: no new alert
    assert [a.id for a in second.alerts.list_alerts(rule="quiet", limit=10)[0]] == [alert.id]
    readings(second, [(t0 + 32 * M, 4.8)])  # the window has passed and the condition holds
    alerts = second.alerts.list_alerts(rule="quiet", limit=10)[0]
    assert len(alerts) == 2 and alerts[0].state == "raised" and alerts[0].id != alert.id


def test_a_webhook_retry_is_resumed_by_the_next_leader_and_delivered_once(make_app: Callable[..., App]) -> None:
    hooks = WebhookServer()
    try:
        retry = {"retry": {"attempts": 4, "base_s": 1.5, "factor": 2.0, "max_s": 10.0}}
        first = make_app(notifications=retry)
        first.start()
        hooks.plans["/ops"] = [503]  # the first attempt fails; the endpoint is back after that
        first.notifications.put_subscriber("ops", operator([{"type": "webhook", "url": hooks.url("/ops"),
                                                            "secret": SECRET}]))  # fmt: skip
        alert = Alert("alert-1", "flood-danger", "river-1", "critical", "raised", now_iso(), message={"ja": "避難"})
        [delivery_id] = first.notifications.notify(alert)
        wait_for(lambda: first.notifications.delivery(delivery_id)["outcome"] == "retrying")
        first.close()  # the leader goes before the retry is due
        assert len(hooks.on("/ops")) == 1

        second = make_app(notifications=retry)
        second.start()  # leads: it picks up the retry the first had planned
        assert second.notifications.wait_idle(15)
        record = second.notifications.delivery(delivery_id)
        assert record["outcome"] == "sent" and record["attempts"] == 2
        time.sleep(0.5)
        arrivals = hooks.on("/ops")
        assert len(arrivals) == 2
        body = orjson.loads(arrivals[1][2])
        assert body["id"] == delivery_id and body["text"] == record["text"] and body["alert"]["id"] == "alert-1"
        second.close()

        third = make_app(notifications=retry)  # another move: nothing is left to send
        third.start()
        assert third.notifications.wait_idle(5)
        assert len(hooks.on("/ops")) == 2
    finally:
        hooks.shutdown()
        hooks.server_close()


def test_retention_prunes_the_delivery_log_and_dead_letters(make_app: Callable[..., App]) -> None:
    app = make_app(notifications={"delivery_retention": "1h", "dead_letter_retention": "2d"})
    now = datetime.now(UTC)

    def ago(hours: float) -> str:
        return (now - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")

    def record(delivery_id: str, outcome: Any, hours: float) -> Delivery:
        return Delivery(delivery_id, "a1", "alert.raised", "ops", "hook", "webhook", ago(hours), outcome)

    app.store.save_deliveries(
        [record("old", "sent", 3), record("recent", "sent", 0.5), record("pending", "retrying", 3)]
    )
    assert app.notifications.prune(now) == (1, 0)
    assert [r["id"] for r in app.notifications.list_deliveries()] == ["recent", "pending"]
    assert app.notifications.settings.dead_letter_retention_s == 2 * 86_400.0

    for bad, said in (("1x", "a retention such as"), ("10s", "from a minute"), (True, "a retention such as")):
        with pytest.raises(InvalidInput) as caught:
            make_app(notifications={"delivery_retention": bad})
        assert caught.value.problems[0].pointer == "/notifications/delivery_retention"
        assert said in caught.value.problems[0].message


def test_sessions_and_revocations_hold_on_every_process(make_app: Callable[..., App]) -> None:
    a, b = make_app(), make_app()
    _, key = a.security.create_key("ops", "user:alice", scopes=["READ"])
    principal = b.security.authenticate_key(key)  # process B remembers the verified key
    session = a.security.start_session(a.security.authenticate_key(key))
    on_b = b.security.session(session)
    assert on_b is not None and on_b.subjects == principal.subjects and on_b.key_id == principal.key_id
    assert on_b.scopes == frozenset({"READ"})

    a.security.revoke_key(principal.key_id or "", by="user:admin")
    started = time.monotonic()
    while True:  # B refuses the key (and the session) within a second
        try:
            b.security.authenticate_key(key)
        except Unauthorized:
            break
        assert time.monotonic() - started < RECHECK_S + 0.5, "a revoked key still works on another process"
        time.sleep(0.05)
    assert b.security.session(session) is None

    _, other = a.security.create_key("viewer", "user:bob")
    session = b.security.start_session(b.security.authenticate_key(other))
    assert a.security.session(session) is not None
    a.security.end_session(session)  # signed out on A: gone on B within RECHECK_S
    time.sleep(RECHECK_S + 0.1)
    assert b.security.session(session) is None


def test_the_refusal_budgets_are_shared_between_processes(make_app: Callable[..., App]) -> None:
    a, b, c = make_app(), make_app(), make_app()
    _, key = a.security.create_key("ops", "user:alice")
    key_id = key.split("_")[1]
    wrong = f"fk_{key_id}_not-the-secret"
    # A key id may fail a burst of 5 and 5 a minute on one process: 10 in a minute across every process.
    assert a.security.key_failures.shared_limit == 10
    for service, times in ((a.security, 4), (b.security, 4), (c.security, 2)):
        for n in range(times):
            with pytest.raises(Unauthorized):
                service.authenticate_key(wrong, client=f"10.0.{id(service) % 200}.{n}")
    flush(a.security, b.security, c.security)
    with pytest.raises(TooManyRequests):  # C saw two failures (its own bucket has 3 left), but the budget is spent
        c.security.authenticate_key(wrong, client="10.0.9.9")
    with pytest.raises(TooManyRequests):
        a.security.authenticate_key(key, client="10.0.9.8")

    # the requests of a caller count on every process: a minute's worth and a burst in all
    for _ in range(100):
        a.security.limiter.spend("key:k1")
    flush(a.security)
    assert b.security.budget.count("requests:key:k1") == 100
    assert b.security.limiter.shared_limit == 600 + 120


def flush(*services: SecurityService) -> None:
    """What the flushing thread does within FLUSH_S, at once; then the other processes read it within READ_S."""
    for service in services:
        service.budget.flush()
    time.sleep(READ_S)


def test_the_same_malformed_message_processed_twice_is_one_dead_letter(make_app: Callable[..., App]) -> None:
    app = make_app()
    mapper = Mapper.from_config([{"source": "kano/level", "twin": "river-1", "telemetry": "waterLevel"}])
    message = RawMessage("kano/level", b"{not json", 1_751_328_000_000_000)
    first = app.ingest.ingest("river", mapper, [message])
    again = app.ingest.ingest("river", mapper, [message])  # redelivered after a crash
    assert len(first.dead) == len(again.dead) == 1
    assert app.store.count_dead_letters() == {"river": 1}
    later = RawMessage("kano/level", b"{not json", 1_751_328_060_000_000)  # the same bytes, another message
    app.ingest.ingest("river", mapper, [later])
    assert app.store.count_dead_letters() == {"river": 2}

    # the ingestion worker: a log entry it cannot read, delivered twice
    worker = SimpleNamespace(pipeline=app.ingest)
    garbage = b"\x00not an envelope" + encode("river", message)
    IngestWorker._process(worker, [garbage])  # type: ignore[arg-type]
    IngestWorker._process(worker, [garbage])  # type: ignore[arg-type]
    assert app.store.count_dead_letters() == {"river": 2, "ingest-log": 1}


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
