"""The failover of a cluster (issue 20): ``futago bench failover``'s code on a smaller storm, three hosts with the
leading one killed by SIGKILL mid-storm and a fourth worker added; and the two product bugs its first runs found,
each on its own:

- a suppression window is kept in reading time, and was deleted by the next leader's restore whenever its readings
  were dated more than a week away from the wall clock (a replay, a scenario): the probe alerted again;
- a subscriber's webhook whose stored URL and secret could not be opened (the process's key vault is not the one
  that sealed them) was sent to the ciphertext as a URL, retried five times and dead-lettered with a DNS error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from futago import samples
from futago.act.model import Alert
from futago.app import App, build
from futago.config import Settings
from futago.core.telemetry import parse_timestamp
from futago.core.twins import now_iso
from tests.act.test_notify_channels import SECRET, WebhookServer, operator
from tests.scale.conftest import need_servers
from tests.store.adapters import ADAPTERS, database_url

D = "dtmi:futago:demo:"
M = 60_000_000  # a minute in µs
DAY = 1_440 * M
REPLAY = parse_timestamp("2019-10-12T00:00:00Z")  # typhoon Hagibis: readings dated years before the wall clock
HIGH = {"twins": ["river-1"], "when": {"threshold": {"telemetry": "waterLevel", "above": 4.0, "clear": 3.8}}}
STATION = {"$metadata": {"$model": D + "RiverStation;1"}, "geometry": {"type": "Point", "coordinates": [138.9, 35.1]}}


@pytest.fixture(params=ADAPTERS)
def make_app(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., App]]:
    """Apps on one fresh store of the adapter: the processes of a deployment, or one leader after another."""
    monkeypatch.chdir(tmp_path)
    db = database_url(request.param, request, tmp_path)
    opened: list[App] = []

    def make() -> App:
        app = build(Settings(db=db, data_root=str(tmp_path)))
        opened.append(app)
        return app

    yield make
    for app in opened:
        app.close()


def levels(app: App, rows: list[tuple[int, float]], twin: str = "river-1") -> None:
    app.telemetry.append([(twin, "waterLevel", ts, value, 1) for ts, value in rows], kind_of=lambda t, n: "f8")


def quiet_alerts(app: App, twin: str = "river-1") -> list[Alert]:
    return [a for a in app.alerts.list_alerts(rule="quiet", limit=10)[0] if a.twin_id == twin]


def test_a_window_in_replayed_reading_time_survives_the_next_leader(make_app: Callable[..., App]) -> None:
    first = make_app()
    first.models.add(samples.demo_models())
    first.twins.put("river-1", STATION)
    first.alerts.put_rule("quiet", {**HIGH, "suppress": "24h"})
    first.start()
    levels(first, [(REPLAY, 4.5), (REPLAY + 10 * M, 3.0)])  # raised, resolved: suppressed for 24 h of reading time
    [alert] = quiet_alerts(first)
    assert alert.state == "resolved"
    first.close()

    second = make_app()  # the next leader: its restore once deleted every window ended a week before the wall clock
    second.start()
    assert second.alerts.book.suppressed(("quiet", "river-1"), REPLAY + 8 * 60 * M)
    levels(second, [(REPLAY + 8 * 60 * M, 4.6)])  # 8 h into the window, as the bench's probe: no new alert
    assert [a.id for a in quiet_alerts(second)] == [alert.id]
    levels(second, [(REPLAY + DAY + 20 * M, 4.7)])  # the window has passed and the condition still holds
    alerts = quiet_alerts(second)
    assert len(alerts) == 2 and alerts[0].state == "raised"


def test_windows_long_over_in_reading_time_are_dropped_by_a_later_resolution(make_app: Callable[..., App]) -> None:
    app = make_app()
    app.models.add(samples.demo_models())
    app.twins.put("river-1", STATION)
    app.twins.put("river-2", STATION)
    app.alerts.put_rule("quiet", {**HIGH, "twins": ["river-1", "river-2"], "suppress": "1h"})
    app.start()
    levels(app, [(REPLAY, 4.5), (REPLAY + M, 3.0)])  # river-1's window ends at REPLAY + 61 min
    later = REPLAY + 9 * DAY
    levels(app, [(later, 4.5), (later + M, 3.0)], twin="river-2")  # resolved nine days on, in reading time
    assert app.store.suppressions(REPLAY - DAY) == {("quiet", "river-2"): later + M + 60 * M}
    assert not app.alerts.book.suppressed(("quiet", "river-1"), REPLAY + 2 * M)  # forgotten here as well


def test_a_webhook_this_process_cannot_unseal_fails_at_once_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    hooks = WebhookServer()
    db = str(tmp_path / "futago.db")
    try:
        sealing = build(Settings(db=db))
        hook = {"type": "webhook", "name": "hook", "url": hooks.url("/ops"), "secret": SECRET}
        sealing.notifications.put_subscriber("ops", operator([hook]))
        sealing.close()
        (tmp_path / "futago.db.keys").rename(tmp_path / "elsewhere.keys")  # another host: a key vault of its own
        app = build(Settings(db=db))
        app.start()
        alert = Alert("alert-1", "flood-danger", "river-1", "critical", "raised", now_iso(), message={"ja": "避難"})
        [delivery_id] = app.notifications.notify(alert)
        assert app.notifications.wait_idle(10)
        record = app.notifications.delivery(delivery_id)
        assert record["outcome"] == "failed" and record["attempts"] == 1  # final: no retry can succeed
        assert "secret, url cannot be opened" in record["error"] and "key vault" in record["error"]
        [letter] = app.notifications.list_dead_letters()
        assert letter["deliveryId"] == delivery_id  # kept, to be retried once the process has the right vault
        assert hooks.on("/ops") == []
        app.close()
    finally:
        hooks.shutdown()
        hooks.server_close()


@pytest.fixture(scope="module")
def failover() -> dict[str, Any]:
    """One short run of the bench's code: 8 stations, 64 steps, the leading host killed at step 30."""
    need_servers()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks.failover import Size, run

    return run(progress=False, size=Size(stations=8, extra_gauges=24, steps=64, kill_step=30))


@pytest.mark.slow
def test_a_dead_host_loses_nothing_and_nothing_is_done_twice(failover: dict[str, Any]) -> None:
    contract = ["hosts", "max_simultaneous_leaders", "takeover_s", "lost", "duplicate_notifications",
                "duplicate_commands", "suppression_kept", "rebalance_s", "msgs_per_s"]  # fmt: skip
    assert list(failover) == [*contract, "details"] and set(failover["msgs_per_s"]) == {"before", "after"}
    details = failover["details"]
    assert failover["hosts"] == 3 and failover["max_simultaneous_leaders"] == 1
    assert len(details["leaders"]) == 2 and details["unattributed_side_effects"] == 0 and details["tokens_in_order"]
    assert failover["takeover_s"] is not None and failover["takeover_s"] <= 5
    assert failover["lost"] == 0 and details["duplicate_readings"] == 0
    # Residents were told (every delivery sent, none failed) and gates closed, each once.
    assert details["notifications"] > 0 and set(details["deliveries_by_outcome"]) == {"sent"}
    assert details["commands"] > 0
    assert failover["duplicate_notifications"] == 0 and failover["duplicate_commands"] == 0
    assert failover["suppression_kept"] and details["probe_alerts"] == 1
    assert failover["rebalance_s"] is not None and failover["rebalance_s"] <= 30
    assert failover["msgs_per_s"]["before"] > 0 and failover["msgs_per_s"]["after"] > 0
