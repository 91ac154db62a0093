"""A rule's proposal follows its alert (issue 18): withdrawn when the alert resolves, one per alert, never approved
once the alert is gone, through the App's own alert and command services and the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.act.commands import CommandService
from futago.api.server import create_api
from futago.app import App
from futago.core.telemetry import parse_timestamp
from tests.act.gate_device import FLOODGATE

D = "dtmi:futago:demo:"
T0 = parse_timestamp("2026-07-01T00:00:00Z")
MINUTE = 60_000_000
MQTT = {"type": "mqtt", "connection": "gates", "topic": "gates/{twin}/cmd/{command}"}
RULE = {
    "twins": ["river-1"],
    "severity": "critical",
    "when": {"threshold": {"telemetry": "waterLevel", "above": 4.0, "clear": 3.8}},
    "message": {"ja": "{twin}: 水位 {value} m", "en": "{twin}: water level {value} m"},
    "recommend": {"twin": "gate-1", "command": "closeGate"},
}


@pytest.fixture
def flood(app: App) -> Iterator[TestClient]:
    app.twins.put("river-1", {"$metadata": {"$model": D + "RiverStation;1"}})
    app.twins.put("gate-1", {"$metadata": {"$model": FLOODGATE}})
    app.commands.load({"gate-1": {"closeGate": {"transport": MQTT, "mode": "recommend"}}})
    app.alerts.put_rule("river-high", RULE)
    with TestClient(create_api(app)) as client:
        yield client


def level(app: App, minute: int, value: float) -> None:
    app.telemetry.append([("river-1", "waterLevel", T0 + minute * MINUTE, value, 1)])


def proposed(client: TestClient) -> list[dict[str, Any]]:
    answer = client.get("/commands", params={"state": "proposed"})
    assert answer.status_code == 200
    return list(answer.json()["value"])


def test_a_resolved_alert_withdraws_its_proposal_and_the_next_alert_gets_its_own(app: App, flood: TestClient) -> None:
    level(app, 0, 4.2)
    (first_alert,) = app.alerts.list_alerts(limit=10)[0]
    (first,) = proposed(flood)
    assert first["alertId"] == first_alert.id and first["command"] == "closeGate"

    level(app, 1, 3.5)  # below the clear level: the alert resolves, and nobody decided the proposal
    assert app.alerts.get(first_alert.id).state == "resolved"
    assert proposed(flood) == []
    withdrawn = flood.get(f"/commands/{first['id']}").json()
    assert withdrawn["state"] == "withdrawn" and withdrawn["withdrawnAt"]
    assert [h["state"] for h in withdrawn["history"]] == ["proposed", "withdrawn"]
    reason = withdrawn["history"][-1]["reason"]
    assert f"alert '{first_alert.id}' resolved at" in reason and "(by rule)" in reason
    assert withdrawn["reasons"][-1] == {"check": "withdrawn", "message": reason}
    listed = flood.get("/commands", params={"state": "withdrawn"}).json()["value"]
    assert [c["id"] for c in listed] == [first["id"]]

    level(app, 2, 4.4)  # a new storm: a new alert, and its own proposal (not the old one handed on)
    second_alert = next(a for a in app.alerts.list_alerts(limit=10)[0] if a.state == "raised")
    (second,) = proposed(flood)
    assert second["id"] != first["id"] and second["alertId"] == second_alert.id != first_alert.id

    refused = flood.post(f"/commands/{first['id']}/approve", json={"note": "too late"})
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem+json")
    assert "withdrawn" in refused.json()["detail"] and first_alert.id in refused.json()["detail"]

    # A person resolving the alert withdraws its proposal too, and the audit says who and why.
    resolved = flood.post(f"/alerts/{second_alert.id}/resolve", json={"note": "the river fell"})
    assert resolved.status_code == 200, resolved.text
    again = flood.get(f"/commands/{second['id']}").json()
    assert again["state"] == "withdrawn" and "(by local-admin)" in again["history"][-1]["reason"]
    app.audit.flush()
    audited = [(e.actor, e.detail["data"]["id"]) for e in app.audit.entries() if e.action == "command.withdrawn"]
    assert audited == [("rule:river-high", first["id"]), ("rule:river-high", second["id"])]


def test_approve_refuses_a_proposal_whose_alert_resolved_unheard(app: App, flood: TestClient) -> None:
    app.commands._unsubscribe()  # as if the resolve happened in another process, or while this one was down
    level(app, 0, 4.2)
    (pending,) = proposed(flood)
    level(app, 1, 3.0)
    assert proposed(flood) == [pending]

    answer = flood.post(f"/commands/{pending['id']}/approve", json={})
    assert answer.status_code == 409 and answer.headers["content-type"].startswith("application/problem+json")
    assert f"alert '{pending['alertId']}'" in answer.json()["detail"]
    record = flood.get(f"/commands/{pending['id']}").json()
    assert record["state"] == "withdrawn" and record["approvedBy"] is None
    assert flood.post(f"/commands/{pending['id']}/reject", json={}).status_code == 409


def test_a_restart_withdraws_proposals_of_alerts_that_resolved_meanwhile(app: App, flood: TestClient) -> None:
    app.commands._unsubscribe()
    level(app, 0, 4.2)
    level(app, 1, 3.0)
    (stale,) = proposed(flood)
    restarted = CommandService(app.store, app.store, app.models, app.bus, app.commands.transports, alerts=app.store)
    try:
        restarted.load({})
        assert restarted.get(stale["id"])["state"] == "withdrawn"
    finally:
        restarted.close()


def test_proposals_without_an_alert_still_do_not_pile_up(app: App, flood: TestClient) -> None:
    from futago.act.model import Proposal

    first = app.commands.propose(Proposal("gate-1", "closeGate", None, "behaviour:gate-planner"))
    assert app.commands.propose(Proposal("gate-1", "closeGate", None, "behaviour:gate-planner"))["id"] == first["id"]
    one = app.commands.propose(Proposal("gate-1", "closeGate", None, "rule:x", alert_id="a-1"))
    assert app.commands.propose(Proposal("gate-1", "closeGate", None, "rule:x", alert_id="a-1"))["id"] == one["id"]
    assert app.commands.propose(Proposal("gate-1", "closeGate", None, "rule:x", alert_id="a-2"))["id"] != one["id"]
