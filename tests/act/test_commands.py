"""The command service: modes, the state machine, the safety envelope and the audit record.

The transport here is a recording stand-in for the port (no protocol is faked: the MQTT and OPC UA transports are
tested against a real Mosquitto and a real OPC UA server in test_command_transports.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import pytest

from futago.act.commands import COMMAND_REFUSED, Binding, CommandRecord, CommandService, Envelope
from futago.act.model import COMMAND_APPROVED, COMMAND_COMPLETED, COMMAND_PROPOSED, COMMAND_SENT, Proposal
from futago.act.transport import OnSent, Outcome, OutgoingCommand, TransportSpec
from futago.app import App
from futago.core.errors import Conflict, InvalidInput, NotFound
from futago.core.events import Event
from futago.core.problems import Problem
from futago.store.sql.commands import SqlCommands
from futago.store.sqlite import SQLiteStore
from tests.act.gate_device import FLOODGATE

MQTT = {"type": "mqtt", "connection": "gates", "topic": "gates/{twin}/cmd/{command}"}


class RecordingTransport:
    """Records what it is asked to send and answers with ``outcome``; ``reach=False`` fails before sending."""

    def __init__(self) -> None:
        self.sent: list[OutgoingCommand] = []
        self.outcome = Outcome(True, {"status": "ok", "response": 0.0}, {"position": 0.0})
        self.reach = True

    def check(self, spec: TransportSpec, pointer: str = "/transport") -> list[Problem]:
        return []

    def send(self, spec: TransportSpec, command: OutgoingCommand, on_sent: OnSent) -> Outcome:
        if not self.reach:
            return Outcome(False, error="cannot reach the broker")
        on_sent({"transport": "recording", "payload": command.payload})
        self.sent.append(command)
        return self.outcome

    def close(self) -> None:
        pass


class Wired:
    def __init__(self, app: App) -> None:
        self.app = app
        self.transport = RecordingTransport()
        self.records = SqlCommands(cast(SQLiteStore, app.store).db)
        self.service = CommandService(self.records, app.store, app.models, app.bus, self.transport)
        self.events: list[Event] = []
        app.bus.subscribe(lambda e: self.events.append(e) if e.type.startswith("command.") else None)

    def bind(self, command: str = "setOpening", twins: tuple[str, ...] = ("gate-1",), **config: Any) -> None:
        self.service.load({twin: {command: {"transport": MQTT, **config}} for twin in twins})

    def finished(self, record: dict[str, Any]) -> dict[str, Any]:
        return self.service.wait(record["id"], 5)


@pytest.fixture
def wired(app: App) -> Iterator[Wired]:
    for gate in ("gate-1", "gate-2"):
        app.twins.put(gate, {"$metadata": {"$model": FLOODGATE}})
    w = Wired(app)
    yield w
    w.service.close()


def flow(wired: Wired, second: int, value: float) -> None:
    wired.app.telemetry.append([("gate-1", "flow", 1_700_000_000_000_000 + second * 1_000_000, value, 1)])


def opening(percent: float) -> dict[str, Any]:
    return {"percent": percent}


def test_recommend_waits_for_approval_then_sends_with_a_full_audit(wired: Wired) -> None:
    wired.bind(mode="recommend", envelope={"field": "percent", "min": 0, "max": 100})
    proposal = Proposal("gate-1", "setOpening", opening(0), "rule:flood-danger", {"waterLevel": 4.2}, "alert-7")
    proposed = wired.service.propose(proposal)
    assert proposed["state"] == "proposed" and wired.transport.sent == []
    assert proposed["proposedBy"] == "rule:flood-danger"
    assert proposed["evidence"] == {"waterLevel": 4.2} and proposed["alertId"] == "alert-7"
    assert proposed["checks"][0]["ok"] is True and proposed["binding"]["mode"] == "recommend"
    assert wired.service.wait(proposed["id"], 5)["state"] == "proposed"  # nothing moves without a person

    approved = wired.service.approve(proposed["id"], "alice", note="checked the camera")
    done = wired.finished(approved)
    assert done["state"] == "completed", done
    assert done["approvedBy"] == "alice" and done["approvedAt"] and done["note"] == "checked the camera"
    assert done["sent"] == {"transport": "recording", "payload": {"percent": 0}} and done["sentAt"]
    assert done["response"] == {"status": "ok", "response": 0.0}
    assert done["resultState"] == {"position": 0.0} and done["completedAt"]
    assert [h["state"] for h in done["history"]] == ["proposed", "approved", "sent", "completed"]
    assert done["history"][1]["by"] == "alice"
    assert [c["stage"] for c in done["checks"]] == ["proposal", "approval"]
    assert [c.payload for c in wired.transport.sent] == [{"percent": 0}]
    types = [e.type for e in wired.events if e.data["id"] == done["id"]]
    assert types == [COMMAND_PROPOSED, COMMAND_APPROVED, COMMAND_SENT, COMMAND_COMPLETED]
    assert wired.service.get(done["id"]) == done
    assert wired.service.list_commands(state="completed", twin_id="gate-1") == [done]


def test_a_behaviour_may_hand_over_numpy_numbers(wired: Wired) -> None:
    wired.bind(mode="autonomous", envelope={"field": "percent", "max": 100})
    evidence = {"forecast": np.array([4.1, 4.6]), "peak": np.float64(4.6)}
    proposal = Proposal("gate-1", "setOpening", {"percent": np.float64(12.5)}, "behaviour:gate-planner", evidence)
    done = wired.finished(wired.service.propose(proposal))
    assert done["state"] == "completed" and done["payload"] == {"percent": 12.5}
    assert done["evidence"] == {"forecast": [4.1, 4.6], "peak": 4.6}


def test_reject_and_no_second_decision(wired: Wired) -> None:
    wired.bind()
    proposed = wired.service.request("gate-1", "setOpening", opening(20), "bob")
    rejected = wired.service.reject(proposed["id"], "carol", "the crew is on site")
    assert rejected["state"] == "rejected" and rejected["rejectedBy"] == "carol" and rejected["rejectedAt"]
    assert rejected["reasons"] == [{"check": "rejected", "message": "the crew is on site"}]
    with pytest.raises(Conflict):
        wired.service.approve(proposed["id"], "alice")
    with pytest.raises(Conflict):
        wired.service.reject(proposed["id"], "alice")
    with pytest.raises(NotFound):
        wired.service.approve("no-such-command", "alice")
    assert wired.transport.sent == []


def test_autonomous_sends_inside_the_envelope_and_refuses_outside(wired: Wired) -> None:
    wired.bind(mode="autonomous", envelope={"field": "percent", "min": 10, "max": 90})
    inside = wired.finished(wired.service.request("gate-1", "setOpening", opening(50), "rule:x"))
    assert inside["state"] == "completed" and inside["approvedBy"] == "autonomous"
    outside = wired.service.request("gate-1", "setOpening", opening(95), "rule:x")
    assert outside["state"] == "refused"
    assert outside["reasons"] == [{"check": "bounds", "message": "95 is above the maximum 90"}]
    assert [c.payload for c in wired.transport.sent] == [{"percent": 50}]
    assert any(e.type == COMMAND_REFUSED and e.data["id"] == outside["id"] for e in wired.events)


def test_bounds_refuse_a_proposal_at_once(wired: Wired) -> None:
    wired.bind(envelope={"field": "percent", "min": 0, "max": 100})
    refused = wired.service.request("gate-1", "setOpening", opening(140), "bob")
    assert refused["state"] == "refused" and refused["reasons"][0]["check"] == "bounds"
    missing = wired.service.request("gate-1", "setOpening", {"rampSeconds": 5}, "bob")
    assert missing["state"] == "refused" and "field 'percent'" in missing["reasons"][0]["message"]


def test_interlock_is_judged_again_at_approval(wired: Wired) -> None:
    interlock = {"telemetry": "flow", "above": 5, "message": "the gate cannot close against flow above 5 m3/s"}
    wired.bind(envelope={"interlocks": [interlock]})
    flow(wired, 1_000, 2.0)
    proposed = wired.service.request("gate-1", "setOpening", opening(0), "bob")
    assert proposed["state"] == "proposed" and proposed["checks"][0]["ok"] is True
    flow(wired, 2_000, 7.5)
    refused = wired.service.approve(proposed["id"], "alice")
    assert refused["state"] == "refused" and refused["history"][-1]["by"] == "alice"
    assert refused["reasons"] == [{"check": "interlock", "message": interlock["message"]}]
    assert refused["approvedBy"] is None and wired.transport.sent == []

    # A proposal made while the interlock holds waits (the flow may fall), with the reason noted.
    waiting = wired.service.request("gate-1", "setOpening", opening(5), "bob")
    assert waiting["state"] == "proposed" and waiting["checks"][0]["ok"] is False
    flow(wired, 3_000, 1.0)
    assert wired.finished(wired.service.approve(waiting["id"], "alice"))["state"] == "completed"


def test_interlock_without_a_value_refuses_unless_told_otherwise(wired: Wired) -> None:
    wired.bind("closeGate", envelope={"interlocks": [{"twin": "gate-2", "property": "operation", "equals": "manual"}]})
    refused = wired.service.request("gate-1", "closeGate", None, "bob")
    assert refused["state"] == "proposed"
    assert "cannot be judged" in wired.service.approve(refused["id"], "alice")["reasons"][0]["message"]
    wired.app.twins.put("gate-2", {"$metadata": {"$model": FLOODGATE}, "operation": "manual"})
    again = wired.service.request("gate-1", "closeGate", None, "bob")
    assert wired.service.approve(again["id"], "alice")["reasons"][0]["check"] == "interlock"
    wired.app.twins.put("gate-2", {"$metadata": {"$model": FLOODGATE}, "operation": "remote"})
    third = wired.service.request("gate-1", "closeGate", None, "bob")
    assert wired.finished(wired.service.approve(third["id"], "alice"))["state"] == "completed"


def test_rate_limit_counts_only_commands_that_left(wired: Wired) -> None:
    wired.bind(twins=("gate-1", "gate-2"), mode="autonomous", envelope={"rate_limit": "2/1h"})
    wired.transport.reach = False
    unsent = wired.finished(wired.service.request("gate-1", "setOpening", opening(10), "rule:x"))
    assert unsent["state"] == "failed" and unsent["sentAt"] is None and unsent["admittedUs"] is None
    wired.transport.reach = True
    for percent in (20, 30):
        assert wired.finished(wired.service.request("gate-1", "setOpening", opening(percent), "rule:x"))["sentAt"]
    third = wired.service.request("gate-1", "setOpening", opening(40), "rule:x")
    assert third["state"] == "refused" and third["reasons"][0]["check"] == "rate_limit"
    # Per twin: the other gate has its own budget.
    assert wired.finished(wired.service.request("gate-2", "setOpening", opening(40), "rule:x"))["state"] == "completed"


def test_step_and_rate_of_change_against_the_last_value_sent(wired: Wired) -> None:
    wired.bind(mode="autonomous", envelope={"field": "percent", "max_step": 30, "max_rate": "1000/1h"})
    first = wired.finished(wired.service.request("gate-1", "setOpening", opening(50), "rule:x"))
    assert first["state"] == "completed"  # nothing sent before: the bounds alone hold the first one
    step = wired.service.request("gate-1", "setOpening", opening(90), "rule:x")
    assert [r["check"] for r in step["reasons"]] == ["step", "rate"]
    # 1000 per hour is 0.28 per second: a change of 10 a moment later is too fast.
    rate = wired.service.request("gate-1", "setOpening", opening(60), "rule:x")
    assert rate["state"] == "refused" and [r["check"] for r in rate["reasons"]] == ["rate"]
    assert "max_rate" in rate["reasons"][0]["message"]


def test_a_proposal_expires(wired: Wired) -> None:
    wired.bind(expires="10m")
    proposed = wired.service.request("gate-1", "setOpening", opening(10), "bob")
    stale = CommandRecord.from_json({**proposed, "proposedAt": "2020-01-01T00:00:00Z"})
    assert wired.records.update_command(stale, "proposed")
    refused = wired.service.approve(proposed["id"], "alice")
    assert refused["state"] == "refused" and refused["reasons"][0]["check"] == "expired"


def test_payload_twin_and_command_are_checked_against_the_model(wired: Wired) -> None:
    wired.bind()
    with pytest.raises(InvalidInput) as bad:
        wired.service.request("gate-1", "setOpening", {"percent": "half"}, "bob")
    assert bad.value.problems[0].pointer == "/payload/percent"
    with pytest.raises(InvalidInput) as unknown_field:
        wired.service.request("gate-1", "setOpening", {"degrees": 3}, "bob")
    assert unknown_field.value.problems[0].pointer == "/payload/degrees"
    with pytest.raises(InvalidInput, match="takes no payload"):
        wired.service.request("gate-1", "closeGate", {"now": True}, "bob")
    with pytest.raises(InvalidInput, match="needs its request"):
        wired.service.request("gate-1", "setOpening", None, "bob")
    with pytest.raises(NotFound, match="no command 'openSesame'"):
        wired.service.request("gate-1", "openSesame", None, "bob")
    with pytest.raises(NotFound, match="gate-9"):
        wired.service.propose(Proposal("gate-9", "closeGate", None, "rule:x"))
    assert wired.records.list_commands() == []


def test_without_a_binding_a_command_is_refused_and_recorded(wired: Wired) -> None:
    refused = wired.service.propose(Proposal("gate-1", "closeGate", None, "rule:flood-danger"))
    assert refused["state"] == "refused" and refused["reasons"][0]["check"] == "binding"
    assert "PUT /command-bindings/gate-1/closeGate" in refused["reasons"][0]["message"]


def test_a_rule_firing_again_does_not_pile_up_proposals(wired: Wired) -> None:
    wired.bind("closeGate")
    first = wired.service.propose(Proposal("gate-1", "closeGate", None, "rule:flood-danger"))
    again = wired.service.propose(Proposal("gate-1", "closeGate", None, "rule:flood-danger"))
    assert again["id"] == first["id"] and len(wired.records.list_commands()) == 1
    other = wired.service.propose(Proposal("gate-1", "closeGate", None, "rule:other"))
    assert other["id"] != first["id"]


def test_bindings_from_the_file_win_and_their_mistakes_stop_the_start(wired: Wired) -> None:
    with pytest.raises(InvalidInput) as bad:
        wired.service.load({"gate-1": {"closeGate": {"transport": MQTT, "envelope": {"min": "low", "speed": 1}}}})
    pointers = {p.pointer for p in bad.value.problems}
    assert pointers == {"/commands/gate-1/closeGate/envelope/min", "/commands/gate-1/closeGate/envelope/speed"}
    wired.bind("closeGate", mode="autonomous")
    with pytest.raises(Conflict, match="configuration file"):
        wired.service.put_binding("gate-1", "closeGate", {"transport": MQTT})
    with pytest.raises(Conflict):
        wired.service.delete_binding("gate-1", "closeGate")

    binding, created = wired.service.put_binding("gate-2", "setOpening", {"transport": MQTT, "mode": "autonomous"})
    assert created and binding.source == "api" and binding.mode == "autonomous"
    assert wired.records.list_command_bindings()[("gate-2", "setOpening")]["mode"] == "autonomous"
    with pytest.raises(InvalidInput) as unfit:
        wired.service.put_binding("gate-2", "closeGate", {"transport": MQTT, "envelope": {"max": 3}})
    assert unfit.value.problems[0].pointer == "/envelope"
    with pytest.raises(InvalidInput) as no_field:
        wired.service.put_binding("gate-2", "setOpening", {"transport": MQTT, "envelope": {"field": "x", "max": 3}})
    assert no_field.value.problems[0].pointer == "/envelope/field"
    with pytest.raises(NotFound):
        wired.service.put_binding("gate-9", "closeGate", {"transport": MQTT})
    wired.service.delete_binding("gate-2", "setOpening")
    with pytest.raises(NotFound):
        wired.service.binding("gate-2", "setOpening")


@pytest.mark.parametrize(
    ("envelope", "pointer"),
    [
        ({"min": 5, "max": 1}, "/envelope/min"),
        ({"max_rate": "fast"}, "/envelope/max_rate"),
        ({"max_rate": -1}, "/envelope/max_rate"),
        ({"rate_limit": "1 per minute"}, "/envelope/rate_limit"),
        ({"rate_limit": "0/1m"}, "/envelope/rate_limit"),
        ({"max_step": 0}, "/envelope/max_step"),
        ({"interlocks": [{"telemetry": "flow"}]}, "/envelope/interlocks/0"),
        ({"interlocks": [{"telemetry": "flow", "above": "x"}]}, "/envelope/interlocks/0/above"),
        ({"interlocks": [{"telemetry": "flow", "above": 1, "max_age": "soon"}]}, "/envelope/interlocks/0/max_age"),
        ({"interlocks": {"telemetry": "flow"}}, "/envelope/interlocks"),
    ],
)
def test_envelope_mistakes_point_at_their_key(envelope: dict[str, Any], pointer: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        Binding.parse("gate-1", "setOpening", {"transport": MQTT, "envelope": envelope}, "api")
    assert pointer in {p.pointer for p in bad.value.problems}


@pytest.mark.parametrize(
    ("transport", "pointer"),
    [
        (None, "/transport"),
        ({"type": "carrier-pigeon"}, "/transport/type"),
        ({"type": "mqtt", "connection": "gates"}, "/transport/topic"),
        ({"type": "mqtt", "connection": "gates", "topic": "gates/#"}, "/transport/topic"),
        ({"type": "mqtt", "connection": "gates", "topic": "t", "timeout": "forever"}, "/transport/timeout"),
        ({"type": "mqtt", "connection": "gates", "topic": "t", "qos": 3}, "/transport/qos"),
        ({"type": "opcua", "connection": "plant"}, "/transport"),
        ({"type": "opcua", "connection": "plant", "method": "ns=2;s=M"}, "/transport/object"),
        ({"type": "opcua", "connection": "plant", "write": "n", "variant_type": "Real"}, "/transport/variant_type"),
        ({"type": "opcua", "write": "n"}, "/transport/connection"),
    ],
)
def test_transport_mistakes_point_at_their_key(transport: Any, pointer: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        Binding.parse("gate-1", "setOpening", {"transport": transport}, "api")
    assert pointer in {p.pointer for p in bad.value.problems}


def test_rates_are_read_in_their_units() -> None:
    problems: list[Problem] = []
    envelope = Envelope.parse({"max_rate": "6/1m", "rate_limit": "3/5m"}, "/envelope", problems)
    assert problems == [] and envelope.max_rate == pytest.approx(0.1) and envelope.rate_limit == (3, 300_000_000)


def test_commands_in_flight_when_futago_stopped_are_failed_at_the_next_start(wired: Wired, app: App) -> None:
    wired.bind("closeGate")
    proposed = wired.service.request("gate-1", "closeGate", None, "bob")
    record = CommandRecord.from_json({**proposed, "state": "approved", "admittedUs": 1})
    assert wired.records.update_command(record, "proposed")
    restarted = CommandService(wired.records, app.store, app.models, app.bus, RecordingTransport())
    restarted.load({})
    failed = restarted.get(proposed["id"])
    assert failed["state"] == "failed" and "stopped" in failed["error"] and failed["admittedUs"] is None
    restarted.close()
