"""The rule engine on real twins and telemetry: alerts raised, de-duplicated, suppressed, escalated and resolved
from readings as they arrive on the bus (reading time, so a replayed batch gives what live data would)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from futago.act.engine import AlertService
from futago.act.model import ALERT_ESCALATED, ALERT_RAISED, ALERT_RESOLVED, Alert, Proposal
from futago.act.rules import parse_rule
from futago.app import App
from futago.core.errors import Conflict, FutagoError, InvalidInput, NotFound
from futago.core.events import Event
from futago.core.telemetry import format_timestamp, parse_timestamp
from futago.store.sql.alerts import SqlAlerts
from futago.store.sqlite.db import SQLiteDatabase

D = "dtmi:futago:demo:"
T0 = parse_timestamp("2026-07-01T00:00:00Z")
M = 60_000_000  # a minute in µs
ZONE = {
    "type": "Polygon",
    "coordinates": [[[138.85, 35.09], [138.87, 35.09], [138.87, 35.11], [138.85, 35.11], [138.85, 35.09]]],
}


def at(minute: float) -> str:
    return format_timestamp(T0 + int(minute * M))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


class RecordingProposer:
    """Stands in for the command service (another part of act/): records what it is handed."""

    def __init__(self, fail: bool = False) -> None:
        self.proposals: list[Proposal] = []
        self.fail = fail

    def propose(self, proposal: Proposal) -> dict[str, Any]:
        self.proposals.append(proposal)
        if self.fail:
            raise InvalidInput("outside the safety envelope")
        return {"id": f"cmd-{len(self.proposals)}", "state": "proposed"}


class Rig:
    def __init__(self, app: App, path: Path) -> None:
        self.app = app
        self.db = SQLiteDatabase(path)
        self.store = SqlAlerts(self.db)
        self.clock = Clock()
        self.proposer = RecordingProposer()
        self.events: list[Event] = []
        app.bus.subscribe(lambda e: self.events.append(e) if e.type.startswith("alert.") else None)
        self.service = self.new_service()

    def new_service(self) -> AlertService:
        service = AlertService(
            self.app.bus,
            self.store,
            self.app.store,
            self.app.store,
            self.app.models.models.descendants,
            self.proposer,
            self.clock,
        )
        service.load({})
        return service

    def rule(self, name: str, body: dict[str, Any]) -> None:
        self.service.put_rule(name, body)

    def send(self, twin: str, minute: float, value: Any, name: str = "waterLevel", quality: int = 1) -> None:
        self.send_many(twin, [(minute, value)], name, quality)

    def send_many(
        self, twin: str, rows: Sequence[tuple[float, Any]], name: str = "waterLevel", quality: int = 1
    ) -> None:
        readings = [(twin, name, T0 + int(m * M), v, quality) for m, v in rows]
        self.app.telemetry.append(readings, kind_of=lambda t, n: "f8")

    def alerts(self, **filters: Any) -> list[Alert]:
        return self.service.list_alerts(**filters, limit=1000)[0]

    def kinds(self) -> list[str]:
        return [e.type for e in self.events]


@pytest.fixture
def rig(app: App, tmp_path: Path) -> Iterator[Rig]:
    app.twins.put("zone-1", {"$metadata": {"$model": D + "District;1"}, "name": "Kano", "geometry": ZONE})
    app.twins.put("zone-2", {"$metadata": {"$model": D + "District;1"}, "name": "East"})
    for twin_id, lon in (("river-1", 138.86), ("river-2", 138.90)):
        doc = {"$metadata": {"$model": D + "RiverStation;1"}, "geometry": {"type": "Point", "coordinates": [lon, 35.1]}}
        app.twins.put(twin_id, doc)
    app.twins.put_relationship("river-1", "m1", {"$relationshipName": "monitors", "$targetId": "zone-1"})
    app.twins.put("pump-1", {"$metadata": {"$model": D + "Pump;1"}, "name": "Pump 1", "setpoint": 1.0})
    app.twins.put("gauge-1", {"$metadata": {"$model": D + "RainGauge;1"}})
    rig = Rig(app, tmp_path / "alerts.db")
    yield rig
    rig.service.close()
    rig.db.close()


HIGH = {"twins": ["river-1"], "when": {"threshold": {"telemetry": "waterLevel", "above": 4.0, "clear": 3.8}}}


def test_threshold_with_hysteresis_raises_once_and_resolves_below_the_clear_level(rig: Rig) -> None:
    rig.rule("high", {**HIGH, "message": {"en": "{twin}: {value:.2f} m", "ja": "{twin}: 水位 {value:.2f} m"}})
    for minute, value in enumerate([3.9, 4.1, 3.95, 4.05, 3.85, 3.9, 4.02]):  # wobbles around 4.0
        rig.send("river-1", minute, value)
    assert rig.kinds() == [ALERT_RAISED]
    (alert,) = rig.alerts()
    assert alert.state == "raised" and alert.raised_at == at(1) and alert.occurrences == 1
    assert alert.message == {"en": "river-1: 4.10 m", "ja": "river-1: 水位 4.10 m"}
    assert alert.evidence["trigger"] == {"telemetry": "waterLevel", "ts": at(1), "value": 4.1}
    rig.send("river-1", 7, 3.7)
    assert rig.kinds() == [ALERT_RAISED, ALERT_RESOLVED]
    resolved = rig.service.get(alert.id)
    assert resolved.state == "resolved" and resolved.resolved_at == at(7)
    assert [h.state for h in resolved.history] == ["raised", "resolved"]
    assert rig.events[0].twin_id == "river-1" and rig.events[0].model == D + "RiverStation;1"
    assert rig.events[0].data["id"] == alert.id


def test_without_a_clear_level_the_same_readings_flap(rig: Rig) -> None:
    rig.rule("flappy", {"twins": ["river-1"], "when": {"threshold": {"telemetry": "waterLevel", "above": 4.0}}})
    for minute, value in enumerate([3.9, 4.1, 3.95, 4.05, 3.85, 3.9, 4.02]):
        rig.send("river-1", minute, value)
    assert rig.kinds().count(ALERT_RAISED) == 3


def test_minimum_duration(rig: Rig) -> None:
    rig.rule("sustained", {**HIGH, "when": {"threshold": {"telemetry": "waterLevel", "above": 4.0, "for": "10m"}}})
    for minute in range(10):
        rig.send("river-1", minute, 4.5)
    assert rig.alerts() == []  # 9 minutes above is not 10
    rig.send("river-1", 10, 4.5)
    (alert,) = rig.alerts()
    assert alert.raised_at == at(10)
    rig.send("river-1", 11, 3.0)
    rig.send_many("river-1", [(m, 4.5) for m in range(12, 21)])  # a new run must last 10 minutes again
    assert len(rig.alerts()) == 1


def test_a_batch_is_judged_reading_by_reading_in_reading_time(rig: Rig) -> None:
    rig.rule("high", HIGH)
    rows = [(m, 3.0 + (1.5 if 10 <= m < 20 else 0)) for m in range(30)]
    rig.send_many("river-1", rows)  # half an hour replayed at once: up at 10, down at 20
    (alert,) = rig.alerts()
    assert (alert.raised_at, alert.resolved_at, alert.state) == (at(10), at(20), "resolved")


def test_rate_of_change(rig: Rig) -> None:
    rig.rule("rising", {"twins": ["river-1"], "when": {"rate": {"telemetry": "waterLevel", "per": "1h", "above": 0.3}}})
    rig.send_many("river-1", [(m, 3.0) for m in range(0, 60, 5)])
    assert rig.alerts() == []
    for m in range(60, 120, 5):  # 0.01 m a minute: 0.6 m/h, over the hour more than 0.3 from minute 90
        rig.send("river-1", m, 3.0 + (m - 55) * 0.01)
    (alert,) = rig.alerts()
    assert alert.state == "raised" and alert.raised_at == at(90)
    assert alert.evidence["conditions"][0]["kind"] == "rate" and alert.evidence["conditions"][0]["value"] > 0.3
    for m in range(120, 200, 5):
        rig.send("river-1", m, 3.6)
    assert rig.alerts()[0].state == "resolved"


def test_exceedance_probability_raises_recommends_and_targets_the_area(rig: Rig) -> None:
    rig.rule(
        "flood",
        {
            "twinModel": D + "RiverStation;1",
            "severity": "critical",
            "when": {"exceedance": {"telemetry": "waterLevel", "stage": "danger", "probability": 0.5, "within": "3h"}},
            "message": {"ja": "{twin}: 氾濫危険水位 {value:.0%}", "en": "{twin}: danger level {value:.0%} ({zone})"},
            "area": {"relationship": "monitors"},
            "recommend": {"twin": "gate-1", "command": "closeGate", "payload": {"position": 0}},
        },
    )
    series = "waterLevel_exceedance~danger"
    rig.send("river-1", 0, 0.2, name=series)
    assert rig.alerts() == []
    rig.send("river-1", 10, 0.62, name=series)
    (alert,) = rig.alerts()
    assert alert.severity == "critical" and alert.area == {"zone": "zone-1"}
    assert alert.message == {"ja": "river-1: 氾濫危険水位 62%", "en": "river-1: danger level 62% (zone-1)"}
    condition = alert.evidence["conditions"][0]
    assert condition["stage"] == "danger" and condition["probability"] == 0.5 and condition["within"] == "10800s"
    (proposal,) = rig.proposer.proposals
    assert (proposal.twin_id, proposal.command, proposal.payload) == ("gate-1", "closeGate", {"position": 0})
    assert proposal.proposed_by == "rule:flood" and proposal.alert_id == alert.id
    history = rig.service.get(alert.id).history
    assert history[-1].event == "recommended" and history[-1].details["result"] == {"id": "cmd-1", "state": "proposed"}
    rig.send("river-1", 20, 0.7, name=series)  # still firing: no second proposal
    rig.send("river-2", 20, 0.9, name=series)  # another station: its own alert, no area relationship
    assert len(rig.proposer.proposals) == 2
    assert {a.twin_id: a.area for a in rig.alerts()} == {"river-1": {"zone": "zone-1"}, "river-2": {}}
    rig.send("river-1", 30, 0.1, name=series)
    assert rig.alerts(twin_id="river-1")[0].state == "resolved"


def test_anomaly_recommends_once_per_raise_and_records_refusals(rig: Rig) -> None:
    rig.rule(
        "pump", {"twins": ["pump-1"], "when": {"anomaly": {}}, "recommend": {"command": "setSetpoint", "payload": 0.8}}
    )
    for minute, score in enumerate([0.4, 1.5, 1.8, 1.2, 0.6, 1.7]):
        rig.send("pump-1", minute, score, name="anomalyScore")
    assert [a.state for a in rig.alerts()] == ["raised", "resolved"]
    assert [(p.twin_id, p.command, p.payload) for p in rig.proposer.proposals] == [("pump-1", "setSetpoint", 0.8)] * 2

    rig.service.proposer = RecordingProposer(fail=True)
    rig.send("pump-1", 6, 0.1, name="anomalyScore")
    rig.send("pump-1", 7, 2.0, name="anomalyScore")
    newest = rig.alerts()[0]
    assert newest.history[-1].event == "recommendFailed"
    assert "safety envelope" in newest.history[-1].details["detail"]


def test_stuck_sensor_and_quality_flags(rig: Rig) -> None:
    rig.rule("stuck", {"twins": ["river-1"], "when": {"quality": {"telemetry": "waterLevel", "stuck": "30m"}}})
    rig.rule("failed", {"twins": ["river-2"], "when": {"quality": {"telemetry": "waterLevel", "flag": 4}}})
    for minute in range(0, 35, 5):
        rig.send("river-1", minute, 3.21)
    (alert,) = rig.alerts(rule="stuck")
    assert alert.raised_at == at(30)
    rig.send("river-1", 35, 3.4)
    assert rig.alerts(rule="stuck")[0].state == "resolved"

    rig.send("river-2", 0, 3.0, quality=1)
    rig.send("river-2", 1, 3.0, quality=3)
    assert rig.alerts(rule="failed") == []
    rig.send("river-2", 2, 99.0, quality=4)
    assert rig.alerts(rule="failed")[0].evidence["conditions"][0]["value"] == 4


def test_stuck_sensor_through_the_qartod_flat_line_test(rig: Rig) -> None:
    assert rig.app.telemetry.checks is not None
    rig.app.telemetry.checks.configure(
        D + "RiverStation;1",
        "waterLevel",
        {
            "flat_line": {"tolerance": 0.001, "suspect_threshold": 1800, "fail_threshold": 3600},
            "timing": {"expected_interval": 300},
        },
    )
    rig.rule("flat", {"twins": ["river-1"], "when": {"quality": {"telemetry": "waterLevel", "test": "flat_line"}}})
    for minute in range(0, 25, 5):
        rig.send("river-1", minute, 3.0 + minute / 100)  # moving
    for minute in range(25, 80, 5):
        rig.send("river-1", minute, 3.5)
    (alert,) = rig.alerts()
    flags = rig.app.telemetry.quality("river-1", "waterLevel")["tests"]["flat_line"]
    first_suspect = flags.index(3)
    assert alert.raised_at == at(first_suspect * 5)
    assert alert.evidence["conditions"][0]["telemetry"] == "waterLevel~qc:flat_line"


def test_spatial_scope_within_a_zone_follows_twin_and_zone_changes(rig: Rig) -> None:
    rig.rule("zone", {"twinModel": D + "Sensor;1", "scope": {"within": "zone-1"}, "when": HIGH["when"]})
    rig.send("river-1", 0, 5.0)
    rig.send("river-2", 0, 5.0)
    (alert,) = rig.alerts()
    assert alert.twin_id == "river-1" and alert.area == {"zone": "zone-1"}
    # move river-2 into the zone: the cached "outside" must not survive the twin event
    rig.app.twins.patch("river-2", [{"op": "replace", "path": "/geometry/coordinates/0", "value": 138.861}])
    rig.send("river-2", 1, 5.1)
    assert {a.twin_id for a in rig.alerts()} == {"river-1", "river-2"}
    # shrink the zone so that nothing is inside: the zone's own event invalidates everyone's membership
    tiny = {"type": "Polygon", "coordinates": [[[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1], [0, 0]]]}
    rig.app.twins.patch("zone-1", [{"op": "replace", "path": "/geometry", "value": tiny}])
    rig.send("river-1", 2, 3.0)  # would resolve, but river-1 is no longer a target: nothing happens
    assert all(a.state == "raised" for a in rig.alerts())


def test_spatial_scope_near_a_point(rig: Rig) -> None:
    rule = {"twinModel": D + "RiverStation;1", "scope": {"near": {"point": [138.861, 35.1], "distanceM": 500}}}
    rig.rule("near", {**rule, "when": HIGH["when"]})
    rig.send("river-1", 0, 5.0)  # about 90 m away
    rig.send("river-2", 0, 5.0)  # about 3.6 km away
    assert [a.twin_id for a in rig.alerts()] == ["river-1"]


def test_twin_model_targets_include_sub_models_only(rig: Rig) -> None:
    rig.rule("sensors", {"twinModel": D + "Sensor;1", "when": {"threshold": {"telemetry": "rainfall", "above": 50}}})
    rig.send("gauge-1", 0, 80.0, name="rainfall")  # a RainGauge is a Sensor
    rig.send("pump-1", 0, 80.0, name="rainfall")  # a Pump is not
    assert [a.twin_id for a in rig.alerts()] == ["gauge-1"]


def test_combinations_over_several_series_of_a_twin(rig: Rig) -> None:
    rig.rule(
        "combo",
        {
            "twins": ["river-1"],
            "when": {
                "all": [
                    {"threshold": {"telemetry": "waterLevel", "above": 3.0}},
                    {
                        "any": [
                            {"exceedance": {"telemetry": "waterLevel", "stage": "caution", "probability": 0.5}},
                            {"threshold": {"telemetry": "rainfall", "above": 30}},
                        ]
                    },
                    {"not": {"quality": {"telemetry": "waterLevel", "flag": 3}}},
                ]
            },
            "message": {"en": "{values[waterLevel]} m, P={values[waterLevel_exceedance~caution]}", "ja": "{twin}"},
        },
    )
    rig.send("river-1", 0, 3.5)
    assert rig.alerts() == []  # level alone is not enough
    rig.send("river-1", 1, 0.7, name="waterLevel_exceedance~caution")
    (alert,) = rig.alerts()
    assert alert.message["en"] == "3.5 m, P=0.7"
    rig.send("river-1", 2, 3.6, quality=3)  # a suspect reading: the `not quality` leaf fails the rule
    assert rig.alerts()[0].state == "resolved"
    rig.send("river-1", 3, 3.6, quality=1)
    assert [a.state for a in rig.alerts()] == ["raised", "resolved"]


def test_a_fresh_state_catches_up_from_stored_history(rig: Rig) -> None:
    rig.send("river-1", 0, 0.8, name="waterLevel_exceedance~caution")  # before the rule exists
    rig.send_many("river-1", [(m, 4.5) for m in range(0, 8)])
    rig.rule(
        "later",
        {
            "twins": ["river-1"],
            "when": {
                "all": [
                    {"threshold": {"telemetry": "waterLevel", "above": 4.0, "for": "10m"}},
                    {"exceedance": {"telemetry": "waterLevel", "stage": "caution", "probability": 0.5}},
                ]
            },
        },
    )
    rig.send("river-1", 9, 4.5)
    assert rig.alerts() == []  # the catch-up judges nothing from the past…
    rig.send("river-1", 10, 4.5)
    (alert,) = rig.alerts()  # …but knows the level has been high since minute 0, and the probability
    assert alert.raised_at == at(10)


def test_forecast_threshold_judges_each_forecast_whole(rig: Rig) -> None:
    rule = {
        "twins": ["river-1"],
        "when": {"threshold": {"telemetry": "waterLevel_forecast", "above": 4.0, "within": "1h"}},
    }
    rig.rule("forecast", rule)
    rig.send_many("river-1", [(m, 2.8 + m / 60) for m in range(10, 200, 10)], name="waterLevel_forecast")
    assert rig.alerts() == []  # the peak within an hour of the first step is 2.8 + 70/60 < 4 (later ones are higher)
    rig.send_many("river-1", [(m, 3.5 + m / 60) for m in range(20, 200, 10)], name="waterLevel_forecast")
    (alert,) = rig.alerts()
    assert alert.raised_at == at(20) and alert.evidence["conditions"][0]["value"] == pytest.approx(3.5 + 80 / 60)


def test_dedup_counts_occurrences_while_open(rig: Rig) -> None:
    rig.rule("sticky", {**HIGH, "autoResolve": False})
    for minute, value in enumerate([4.5, 3.0, 4.6, 3.0, 4.7]):
        rig.send("river-1", minute, value)
    (alert,) = rig.alerts()
    assert alert.state == "raised" and alert.occurrences == 3
    assert [h.event for h in alert.history] == [None, "occurred", "occurred"]
    assert rig.kinds() == [ALERT_RAISED]


def test_a_restart_continues_open_alerts_instead_of_duplicating(rig: Rig) -> None:
    rig.rule("high", HIGH)
    rig.send("river-1", 0, 4.5)
    rig.service.close()
    rig.service = rig.new_service()  # same store: the rule and the open alert come back
    rig.send("river-1", 1, 4.6)
    (alert,) = rig.alerts()
    assert alert.occurrences == 1
    rig.send("river-1", 2, 3.0)
    assert rig.alerts()[0].state == "resolved"


def test_suppression_window_after_resolve(rig: Rig) -> None:
    rig.rule("quiet", {**HIGH, "suppress": "30m"})
    rig.send("river-1", 0, 4.5)
    rig.send("river-1", 5, 3.0)  # resolved at minute 5
    rig.send("river-1", 10, 4.5)  # within 30 min: suppressed
    rig.send("river-1", 20, 4.6)
    assert [a.state for a in rig.alerts()] == ["resolved"]
    rig.send("river-1", 36, 4.6)  # the window has passed and the condition still holds
    newest = rig.alerts()[0]
    assert newest.state == "raised" and newest.raised_at == at(36)
    rig.send("river-1", 40, 3.0)
    rig.send("river-1", 41, 3.1)
    rig.send("river-1", 80, 4.5)  # a later episode outside the window raises at once
    assert rig.alerts()[0].raised_at == at(80)


def test_escalation_repeats_until_acknowledged_with_an_injected_clock(rig: Rig) -> None:
    rig.rule("escalating", {**HIGH, "escalateAfter": "15m"})
    rig.clock.now = T0
    rig.send("river-1", 0, 4.5)
    (alert,) = rig.alerts()
    assert rig.service.tick(T0 + 10 * M) == []
    assert [a.id for a in rig.service.tick(T0 + 15 * M)] == [alert.id]
    assert rig.service.tick(T0 + 20 * M) == []
    rig.clock.now = T0 + 31 * M
    assert len(rig.service.tick()) == 1
    escalated = [e for e in rig.events if e.type == ALERT_ESCALATED]
    assert [e.data["escalation"] for e in escalated] == [1, 2]
    rig.service.acknowledge(alert.id, "alice")
    assert rig.service.tick(T0 + 120 * M) == []
    assert rig.service.get(alert.id).escalation == 2


def test_alerts_left_open_by_a_restart_escalate_and_the_ticker_runs(rig: Rig) -> None:
    rig.rule("escalating", {**HIGH, "escalateAfter": "15m"})
    rig.send("river-1", 0, 4.5)  # raised at T0 (reading time)
    rig.service.close()
    rig.service = rig.new_service()
    assert len(rig.service.tick(T0 + 16 * M)) == 1  # overdue since T0 + 15 min
    assert rig.service.tick(T0 + 20 * M) == []
    rig.clock.now = T0 + 40 * M
    rig.service.start(every_s=0.01)
    deadline = time.monotonic() + 5
    while rig.kinds().count(ALERT_ESCALATED) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    rig.service.stop()
    assert rig.service.get(rig.alerts()[0].id).escalation == 2


def test_manual_acknowledge_and_resolve_keep_the_history(rig: Rig) -> None:
    rig.rule("high", HIGH)
    rig.send("river-1", 0, 4.5)
    (alert,) = rig.alerts()
    rig.clock.now = T0 + 3 * M
    acknowledged = rig.service.acknowledge(alert.id, "alice", "crew on the way")
    assert (acknowledged.state, acknowledged.acknowledged_by, acknowledged.acknowledged_at) == (
        "acknowledged",
        "alice",
        at(3),
    )
    with pytest.raises(Conflict):
        rig.service.acknowledge(alert.id, "bob")
    rig.clock.now = T0 + 5 * M
    rig.service.resolve(alert.id, "bob", "gate closed")
    stored = rig.service.get(alert.id)
    assert [(h.state, h.by, h.note) for h in stored.history] == [
        ("raised", None, None),
        ("acknowledged", "alice", "crew on the way"),
        ("resolved", "bob", "gate closed"),
    ]
    assert stored.resolved_at == at(5)
    with pytest.raises(Conflict):
        rig.service.resolve(alert.id, "bob")
    with pytest.raises(NotFound):
        rig.service.acknowledge("nope", "bob")
    rig.send("river-1", 6, 4.6)  # still high after a manual resolve: no new alert for the same episode
    assert len(rig.alerts()) == 1
    rig.send("river-1", 7, 3.0)
    rig.send("river-1", 8, 4.4)
    assert [a.state for a in rig.alerts()] == ["raised", "resolved"]
    assert rig.kinds() == [ALERT_RAISED, "alert.acknowledged", ALERT_RESOLVED, ALERT_RAISED]


def test_listing_filters_and_pages_newest_first(rig: Rig) -> None:
    rig.rule("high", HIGH)
    for episode in range(5):
        rig.send("river-1", episode * 2, 4.5)
        rig.send("river-1", episode * 2 + 1, 3.0)
    rig.send("river-1", 20, 4.5)
    page, token = rig.service.list_alerts(limit=2)
    assert [a.raised_at for a in page] == [at(20), at(8)] and token is not None
    second, token = rig.service.list_alerts(limit=2, continuation=token)
    assert [a.raised_at for a in second] == [at(6), at(4)]
    assert len(rig.service.list_alerts(state="resolved")[0]) == 5
    assert len(rig.service.list_alerts(state="raised", rule="high", twin_id="river-1")[0]) == 1
    assert rig.service.list_alerts(twin_id="river-2")[0] == []
    for bad in ({"state": "open"}, {"limit": 0}, {"continuation": "abc"}):
        with pytest.raises(InvalidInput):
            rig.service.list_alerts(**bad)


def test_rules_from_files_stored_overrides_and_deletion(rig: Rig) -> None:
    configured = {"file-rule": parse_rule("file-rule", HIGH)}
    rig.service.load(configured)
    assert rig.service.source("file-rule") == "file"
    with pytest.raises(Conflict):
        rig.service.delete_rule("file-rule")
    rig.service.put_rule("file-rule", {**HIGH, "severity": "critical"})
    assert rig.service.source("file-rule") == "api" and rig.service.get_rule("file-rule").severity == "critical"
    rig.service.delete_rule("file-rule")  # the override goes; the file's rule is back
    assert rig.service.get_rule("file-rule").severity == "warning"

    rig.service.put_rule("api-rule", HIGH)
    rig.send("river-1", 0, 4.5)
    assert {a.rule for a in rig.alerts(state="raised")} == {"file-rule", "api-rule"}
    rig.service.delete_rule("api-rule")  # its open alert is resolved with the reason
    resolved = rig.alerts(rule="api-rule")[0]
    assert resolved.state == "resolved" and resolved.history[-1].by == "system"
    with pytest.raises(NotFound):
        rig.service.get_rule("api-rule")
    with pytest.raises(NotFound):
        rig.service.delete_rule("api-rule")


def test_a_stored_rule_that_no_longer_parses_is_reported_not_fatal(rig: Rig) -> None:
    rig.store.put_alert_rule("old", {"twins": ["river-1"], "when": {"teleport": {}}})
    rig.service.load({})
    assert "old" in rig.service.invalid and [r.name for r in rig.service.rules()] == []


def test_a_disabled_rule_does_not_run_and_deleted_twins_drop_their_state(rig: Rig) -> None:
    rig.rule("off", {**HIGH, "enabled": False})
    rig.send("river-1", 0, 5.0)
    assert rig.alerts() == []
    rig.rule("on", {"twinModel": D + "RiverStation;1", "when": HIGH["when"]})
    rig.send("river-2", 0, 5.0)
    rig.app.twins.delete("river-2")
    assert "river-2" not in rig.service._states


class CountingReader:
    """The store, counting the reads the engine makes (instrumentation of the real store, not a stand-in)."""

    def __init__(self, app: App) -> None:
        self.app, self.reads = app, 0

    def read_series(self, *args: Any) -> Any:
        self.reads += 1
        return self.app.store.read_series(*args)

    def latest(self, twin_id: str) -> Any:
        self.reads += 1
        return self.app.store.latest(twin_id)


def test_single_readings_are_judged_without_reading_the_store(rig: Rig) -> None:
    reader = CountingReader(rig.app)
    rig.service.series = reader
    rig.rule("high", {**HIGH, "when": {"threshold": {"telemetry": "waterLevel", "above": 4.0, "for": "5m"}}})
    rig.send("river-1", 0, 3.0)
    first = reader.reads  # the first sight of (rule, twin) catches up once
    for minute in range(1, 50):
        rig.send("river-1", minute, 3.0 + (minute % 7) / 2)
    assert reader.reads == first
    rig.send("gauge-1", 0, 10.0, name="rainfall")  # a series no rule reads costs one dict lookup
    assert reader.reads == first


def test_reading_to_notification_latency_is_measured(rig: Rig) -> None:
    """The flood scenario's path, reading in → alert event out, timed (printed, not asserted)."""
    rig.app.twins.put("gate-1", {"$metadata": {"$model": D + "Pump;1"}})
    for i in range(200):  # a district's worth of stations, none of which fire
        doc = {
            "$metadata": {"$model": D + "RiverStation;1"},
            "geometry": {"type": "Point", "coordinates": [138.86, 35.1]},
        }
        rig.app.twins.put(f"st-{i}", doc)
    rig.rule(
        "flood",
        {
            "twinModel": D + "RiverStation;1",
            "when": {"exceedance": {"telemetry": "waterLevel", "stage": "danger", "probability": 0.5}},
            "area": {"relationship": "monitors"},
            "recommend": {"twin": "gate-1", "command": "closeGate"},
        },
    )
    rig.rule("high", {"twinModel": D + "RiverStation;1", "when": HIGH["when"]})
    received: list[float] = []
    rig.app.bus.subscribe(lambda e: received.append(time.perf_counter()) if e.type == ALERT_RAISED else None)
    series = "waterLevel_exceedance~danger"
    quiet, tipping = [], []
    for round_ in range(30):
        for i in range(0, 200, 10):
            start = time.perf_counter()
            rig.send(f"st-{i}", round_ * 2, 3.0)
            quiet.append(time.perf_counter() - start)
        start = time.perf_counter()
        rig.send(f"st-{round_}", round_ * 2, 0.8, name=series)
        tipping.append(received[-1] - start)
        rig.send(f"st-{round_}", round_ * 2 + 1, 0.1, name=series)

    def p(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1000

    print(
        f"\nreading_to_notification_ms p50={p(tipping, 50):.2f} p99={p(tipping, 99):.2f} (n={len(tipping)}); "
        f"non-tipping append+evaluate p50={p(quiet, 50):.2f} ms p99={p(quiet, 99):.2f} ms (n={len(quiet)})"
    )
    assert len(rig.alerts(rule="flood")) == 30


def test_events_alerts_and_errors_never_break_the_bus(rig: Rig) -> None:
    rig.rule("high", HIGH)
    failures = rig.app.bus.failures
    rig.app.bus.publish(Event("telemetry.appended", at(0), twin_id="river-1", data={"name": "waterLevel"}))
    rig.app.bus.publish(Event("telemetry.appended", at(0), twin_id=None, data={"name": "waterLevel"}))
    rig.app.bus.publish(Event("city.imported", at(0)))
    assert rig.app.bus.failures == failures
    with pytest.raises(FutagoError):
        rig.service.put_rule("bad", {"twins": ["x"]})
