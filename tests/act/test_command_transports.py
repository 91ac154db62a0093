"""Commands reaching real devices: a floodgate on a real Mosquitto, and the simulated CSTR plant over real OPC UA.

The broker and the plant live for the module (starting them is the slow part); each test has its own app, store,
connections and command service.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from futago.act.commands import CommandService
from futago.app import App
from futago.testing.plant_process import PlantProcess
from tests.act.gate_device import FLOODGATE, attach_commands, gate_connection, running_gate
from tests.conftest import Broker

PUMP = "dtmi:futago:demo:Pump;1"
SETPOINT = "ns=2;s=Plant.Reactor.Setpoint"
TEMPERATURE = "ns=2;s=Plant.Reactor.Temperature"
GATE_TOPIC = "gates/{twin}/cmd/{command}"


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"waited {timeout} s for {what}")


def run(service: CommandService, twin: str, command: str, payload: Any, by: str = "operator") -> dict[str, Any]:
    """Request a command and return its record once final (or proposed)."""
    return service.wait(service.request(twin, command, payload, by)["id"], 15)


# ---------------------------------------------------------------------------------------------
# MQTT
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    folder: Path = tmp_path_factory.mktemp("broker")
    server = Broker(folder)
    server.start()
    yield server
    server.stop()


def gates(app: App, broker: Broker, protocol: str = "5") -> CommandService:
    for gate in ("gate-1", "gate-2"):
        app.twins.put(gate, {"$metadata": {"$model": FLOODGATE}})
    app.connections.put("gates", gate_connection(broker.host, broker.port, protocol), persist=False)
    return attach_commands(app)


def mqtt(timeout: str = "5s", connection: str = "gates") -> dict[str, Any]:
    return {"type": "mqtt", "connection": connection, "topic": GATE_TOPIC, "timeout": timeout}


@pytest.mark.timeout(60)
def test_mqtt5_request_and_answer_correlated_by_property(app: App, broker: Broker) -> None:
    service = gates(app, broker)
    try:
        with running_gate(broker.host, broker.port) as device:
            service.load({"gate-1": {"closeGate": {"mode": "autonomous", "transport": mqtt()}}})
            done = run(service, "gate-1", "closeGate", None)
            assert done["state"] == "completed", done
            assert done["sent"]["topic"] == "gates/gate-1/cmd/closeGate" and done["sent"]["correlationId"] == done["id"]
            assert device.requests == [done["sent"]["message"]]
            assert device.requests[0]["correlationId"] == done["id"] and device.requests[0]["payload"] is None
            # The standard MQTT 5 properties carry the correlation; the device echoed only the property.
            assert device.properties[0] == {
                "CorrelationData": done["id"].encode(),
                "ResponseTopic": "gates/gate-1/cmd/closeGate/response",
            }
            assert done["response"] == {"status": "ok", "response": 0.0, "state": {"position": 0.0}}
            assert done["resultState"] == {"position": 0.0}
    finally:
        service.close()


@pytest.mark.timeout(60)
def test_mqtt311_answers_correlate_by_the_json_field_and_concurrent_commands_do_not_mix(
    app: App, broker: Broker
) -> None:
    service = gates(app, broker, protocol="3.1.1")
    try:
        with running_gate(broker.host, broker.port, protocol="3.1.1") as device:
            binding = {"mode": "autonomous", "transport": mqtt()}
            service.load({"gate-1": {"setOpening": binding}, "gate-2": {"setOpening": binding}})
            first = service.request("gate-1", "setOpening", {"percent": 30}, "rule:x")
            second = service.request("gate-2", "setOpening", {"percent": 70}, "rule:x")
            done = [service.wait(first["id"], 15), service.wait(second["id"], 15)]
            assert [d["state"] for d in done] == ["completed", "completed"], done
            assert [d["resultState"] for d in done] == [{"position": 30.0}, {"position": 70.0}]
            assert all(p["CorrelationData"] is None for p in device.properties)  # 3.1.1 has no properties
    finally:
        service.close()


@pytest.mark.timeout(60)
def test_mqtt_silence_times_out_and_a_refusal_fails(app: App, broker: Broker) -> None:
    service = gates(app, broker)
    try:
        with running_gate(broker.host, broker.port) as device:
            service.load({"gate-1": {"closeGate": {"mode": "autonomous", "transport": mqtt(timeout="500ms")}}})
            device.silent = True
            started = time.monotonic()
            silent = run(service, "gate-1", "closeGate", None)
            assert silent["state"] == "failed" and time.monotonic() - started < 5
            assert "no answer on gates/gate-1/cmd/closeGate/response within 0.5 s" in silent["error"]
            assert silent["sentAt"] and silent["admittedUs"]  # it left: it counts as sent
            assert len(device.requests) == 1

            device.silent, device.refuse = False, True
            refused = run(service, "gate-1", "closeGate", None)
            assert (
                refused["state"] == "failed" and refused["error"] == "the device answered 'error': the gate is jammed"
            )
            assert refused["response"]["status"] == "error"
    finally:
        service.close()


@pytest.mark.timeout(60)
def test_mqtt_without_its_connection_fails_unsent(app: App, broker: Broker) -> None:
    service = gates(app, broker)
    try:
        service.load({"gate-1": {"closeGate": {"mode": "autonomous", "transport": mqtt(connection="nowhere")}}})
        failed = run(service, "gate-1", "closeGate", None)
        assert failed["state"] == "failed" and "connection 'nowhere' does not exist" in failed["error"]
        assert failed["sentAt"] is None and failed["admittedUs"] is None
    finally:
        service.close()


# ---------------------------------------------------------------------------------------------
# OPC UA
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plant() -> Iterator[PlantProcess]:
    process = PlantProcess()
    process.start()
    yield process
    process.kill()


@pytest.fixture
def reactor(app: App, plant: PlantProcess) -> Iterator[CommandService]:
    """pump-1 wired to the plant: its bearingTemperature is the reactor temperature, read over OPC UA."""
    app.twins.put("pump-1", {"$metadata": {"$model": PUMP}})
    fields = {"format": "json", "value": "value", "timestamp": "ts", "quality": "quality"}
    connection = {
        "type": "opcua",
        "options": {
            "endpoint": plant.endpoint,
            "publishing_interval_ms": 50,
            "flush_interval_ms": 50,
            "keepalive_ms": 300,
            "request_timeout_ms": 2000,
            "reconnect_max_delay_ms": 1000,
            "nodes": [{"node": TEMPERATURE, "source": "temperature"}],
        },
        "mappings": [{"source": "temperature", "twin": "pump-1", "telemetry": "bearingTemperature", **fields}],
    }
    app.connections.put("plant", connection, persist=False)
    wait_for(lambda: app.connections.describe("plant")["status"]["state"] == "running", 15, "the plant connection")
    service = attach_commands(app)
    yield service
    service.close()


def write() -> dict[str, Any]:
    return {"type": "opcua", "connection": "plant", "write": SETPOINT}


def setpoint(app: App) -> float:
    value: float = app.connections.connector("plant").read(SETPOINT)
    return value


@pytest.mark.timeout(60)
def test_opcua_setpoint_is_proposed_approved_written_and_read_back(app: App, reactor: CommandService) -> None:
    envelope = {"min": 300, "max": 400}
    reactor.load({"pump-1": {"setSetpoint": {"mode": "recommend", "transport": write(), "envelope": envelope}}})
    proposed = reactor.request("pump-1", "setSetpoint", 362.5, "rule:cstr-optimiser")
    assert proposed["state"] == "proposed" and setpoint(app) != 362.5
    done = reactor.wait(reactor.approve(proposed["id"], "shift-lead")["id"], 15)
    assert done["state"] == "completed", done
    assert done["approvedBy"] == "shift-lead" and done["proposedBy"] == "rule:cstr-optimiser"
    assert done["sent"] == {
        "transport": "opcua",
        "connection": "plant",
        "operation": "write",
        "node": SETPOINT,
        "value": 362.5,
        "variantType": None,
    }
    assert done["response"] == {"written": 362.5}
    assert done["resultState"] == {"node": SETPOINT, "value": 362.5}
    assert setpoint(app) == 362.5

    outside = run(reactor, "pump-1", "setSetpoint", 420.0)
    assert outside["state"] == "refused" and outside["reasons"][0]["check"] == "bounds"
    assert setpoint(app) == 362.5


@pytest.mark.timeout(60)
def test_opcua_method_call_and_the_device_refusing(app: App, reactor: CommandService) -> None:
    call = {
        "type": "opcua",
        "connection": "plant",
        "object": "ns=2;s=Plant.Reactor",
        "method": "ns=2;s=Plant.Reactor.SetSetpoint",
        "read_back": SETPOINT,
    }
    # A wide envelope, so that the plant's own limit (300-400 K) is what says no.
    binding = {"mode": "autonomous", "transport": call, "envelope": {"min": 0, "max": 1000}}
    reactor.load({"pump-1": {"setSetpoint": binding}})
    done = run(reactor, "pump-1", "setSetpoint", 355.0)
    assert done["state"] == "completed", done
    assert done["sent"]["arguments"] == [355.0] and done["response"] == {"outputs": [True]}
    assert done["resultState"] == {"node": SETPOINT, "value": 355.0}
    refused = run(reactor, "pump-1", "setSetpoint", 450.0)
    assert refused["state"] == "failed" and "answered false" in refused["error"]
    assert refused["resultState"] == {"node": SETPOINT, "value": 355.0}


@pytest.mark.timeout(60)
def test_opcua_envelope_refusals_leave_the_plant_alone(app: App, reactor: CommandService) -> None:
    def bind(**envelope: Any) -> None:
        reactor.load({"pump-1": {"setSetpoint": {"mode": "autonomous", "transport": write(), "envelope": envelope}}})

    bind(min=300, max=400, max_rate="1/1s")
    assert run(reactor, "pump-1", "setSetpoint", 350.0)["state"] == "completed"
    too_fast = run(reactor, "pump-1", "setSetpoint", 365.0)
    assert too_fast["state"] == "refused" and [r["check"] for r in too_fast["reasons"]] == ["rate"]
    assert setpoint(app) == 350.0

    bind(min=300, max=400, rate_limit="1/1h")  # the write of 350 above counts
    limited = run(reactor, "pump-1", "setSetpoint", 351.0)
    assert limited["state"] == "refused" and [r["check"] for r in limited["reasons"]] == ["rate_limit"]

    # Interlocks read the plant's temperature as it streams in through the same connection.
    wait_for(lambda: "bearingTemperature" in app.store.latest("pump-1"), 10, "the reactor temperature")
    bind(interlocks=[{"telemetry": "bearingTemperature", "above": 200, "max_age": "10s"}])
    hot = run(reactor, "pump-1", "setSetpoint", 352.0)
    assert hot["state"] == "refused" and hot["reasons"][0]["check"] == "interlock"
    assert "bearingTemperature" in hot["reasons"][0]["message"]
    assert setpoint(app) == 350.0

    bind(interlocks=[{"telemetry": "bearingTemperature", "above": 600}])
    assert run(reactor, "pump-1", "setSetpoint", 352.0)["state"] == "completed"
    assert setpoint(app) == 352.0


@pytest.mark.timeout(60)
def test_opcua_connection_stopped_fails_unsent(app: App, reactor: CommandService) -> None:
    reactor.load({"pump-1": {"setSetpoint": {"mode": "autonomous", "transport": write()}}})
    app.connections.stop("plant")
    failed = run(reactor, "pump-1", "setSetpoint", 340.0)
    assert failed["state"] == "failed" and "not running" in failed["error"] and failed["sentAt"] is None
