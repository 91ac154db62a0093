"""AlertStore contract: rule definitions, alerts, and each alert's append-only history, for every adapter."""

from __future__ import annotations

from dataclasses import replace

import pytest

from futago.core.alerts import Alert, AlertHistoryEntry, AlertState
from futago.core.errors import NotFound
from futago.core.ports import AlertStore


def _alert(alert_id: str, state: AlertState = "raised", rule: str = "high", twin: str = "r1") -> Alert:
    return Alert(alert_id, rule, twin, severity="warning", state=state, raised_at="t0", message={"en": "high"})


def test_rules_are_put_listed_replaced_and_deleted(store: AlertStore) -> None:
    store.put_alert_rule("high", {"when": "waterLevel > 3"})
    store.put_alert_rule("dry", {"when": "waterLevel < 0.1"})
    store.put_alert_rule("high", {"when": "waterLevel > 4"})
    assert store.list_alert_rules() == {"dry": {"when": "waterLevel < 0.1"}, "high": {"when": "waterLevel > 4"}}
    assert list(store.list_alert_rules()) == ["dry", "high"]
    store.delete_alert_rule("dry")
    with pytest.raises(NotFound, match="rule 'dry' does not exist"):
        store.delete_alert_rule("dry")


def test_an_alert_keeps_its_history_appended_across_updates(store: AlertStore) -> None:
    store.put_alert(_alert("a1"), [AlertHistoryEntry("t0", "raised")])
    ignored = [AlertHistoryEntry("t9", event="ignored")]
    acknowledged = AlertHistoryEntry("t1", "acknowledged", by="alice", note="on it", details={"crew": 2})
    store.put_alert(replace(_alert("a1", "acknowledged"), history=ignored), [acknowledged])
    alert = store.get_alert("a1")
    assert alert is not None
    assert alert.state == "acknowledged" and alert.severity == "warning"
    assert alert.history == [AlertHistoryEntry("t0", "raised"), acknowledged]
    assert store.get_alert("missing") is None


def test_alerts_are_listed_newest_first_filtered_and_paged(store: AlertStore) -> None:
    store.put_alert(_alert("a1"), [AlertHistoryEntry("t0", "raised")])
    store.put_alert(_alert("a2", rule="dry"))
    store.put_alert(_alert("a3", twin="r2"))
    store.put_alert(_alert("a1", "resolved"), [AlertHistoryEntry("t1", "resolved")])  # an update keeps its place
    everything, cursor = store.list_alerts()
    assert [a.id for a in everything] == ["a3", "a2", "a1"] and cursor is None
    assert [a.id for a in store.list_alerts(state="raised")[0]] == ["a3", "a2"]
    assert [a.id for a in store.list_alerts(rule="high", twin_id="r1")[0]] == ["a1"]
    page, cursor = store.list_alerts(limit=2)
    assert [a.id for a in page] == ["a3", "a2"] and cursor is not None
    rest, last = store.list_alerts(before=cursor, limit=2)
    assert [a.id for a in rest] == ["a1"] and last is None
    assert [h.state for h in rest[0].history] == ["raised", "resolved"]


def test_open_alerts_are_those_not_resolved_oldest_first(store: AlertStore) -> None:
    for alert_id in ("a1", "a2", "a3"):
        store.put_alert(_alert(alert_id))
    store.put_alert(_alert("a2", "resolved"))
    store.put_alert(_alert("a3", "acknowledged"))
    assert [(a.id, a.state) for a in store.open_alerts()] == [("a1", "raised"), ("a3", "acknowledged")]
