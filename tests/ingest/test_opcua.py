"""The OPC UA connector against a real asyncua server: the simulated plant in a subprocess.

Everything goes through ConnectionManager and IngestPipeline, as the app wires them, so these
tests cover the path from a monitored item to a stored reading and a dead letter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from futago.app import App
from futago.core.errors import InvalidInput
from futago.ingest.connections import ConnectionManager, ConnectionSpec
from futago.ingest.connector import Connector, Sink
from futago.ingest.mapping import Mapper
from futago.ingest.pipeline import IngestPipeline
from futago.protocols.opcua.client import OpcUaError
from futago.protocols.opcua.connector import OpcUaConnector, opcua_connector
from futago.protocols.opcua.payloads import payload_of, quality_of
from futago.testing.plant_process import PlantProcess

PUMP = "dtmi:futago:demo:Pump;1"
TEMPERATURE = "ns=2;s=Plant.Reactor.Temperature"
SETPOINT = "ns=2;s=Plant.Reactor.Setpoint"
COOLANT_PATH = "0:Objects/2:Plant/2:Reactor/2:CoolantFlow"
JSON_FIELDS = {"format": "json", "value": "value", "timestamp": "ts", "quality": "quality"}


@pytest.fixture
def plant() -> Iterator[PlantProcess]:
    process = PlantProcess()
    process.start()
    yield process
    process.kill()


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"waited {timeout} s for {what}")


class Connected:
    """A ConnectionManager as the app builds it, keeping the connectors it creates for the test."""

    def __init__(self, app: App) -> None:
        self.connectors: list[OpcUaConnector] = []

        def factory(spec: ConnectionSpec, sink: Sink) -> Connector:
            connector = opcua_connector(spec, sink)
            assert isinstance(connector, OpcUaConnector)
            self.connectors.append(connector)
            return connector

        self.pipeline = IngestPipeline(app.telemetry, app.store)
        self.manager = ConnectionManager(self.pipeline, app.store, {"opcua": factory})

    @property
    def connector(self) -> OpcUaConnector:
        return self.connectors[-1]


def options(endpoint: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "publishing_interval_ms": 50,
        "flush_interval_ms": 50,
        "keepalive_ms": 300,
        "request_timeout_ms": 2000,
        "reconnect_max_delay_ms": 1000,
        "nodes": nodes,
    }


def history(app: App, name: str) -> dict[str, Any]:
    return app.telemetry.history("pump-1", name).columns


@pytest.fixture
def pump(app: App) -> App:
    app.twins.put("pump-1", {"$metadata": {"$model": PUMP}})
    return app


@pytest.mark.timeout(60)
def test_plant_values_arrive_and_commands_reach_the_plant(pump: App, plant: PlantProcess) -> None:
    app = pump
    wired = Connected(app)
    config = {
        "type": "opcua",
        "options": options(
            plant.endpoint,
            [
                {"node": TEMPERATURE, "source": "reactor/temperature"},
                {"browse_path": COOLANT_PATH},
                {"node": "ns=2;s=Plant.Reactor.Running"},
                {"node": "ns=2;s=Plant.Reactor.Mode", "source": "reactor/mode"},
                {"node": "ns=2;s=Plant.Reactor.Missing"},
            ],
        ),
        "mappings": [
            {
                "source": "reactor/temperature",
                "twin": "pump-1",
                "telemetry": "bearingTemperature",
                **JSON_FIELDS,
            },
            {"source": COOLANT_PATH, "twin": "pump-1", "telemetry": "flow", **JSON_FIELDS},
            {
                "source": "ns=2;s=Plant.Reactor.Running",
                "twin": "pump-1",
                "telemetry": "running",
                **JSON_FIELDS,
            },
            # A string is no value for a double telemetry: a dead letter, not a crash.
            {"source": "reactor/mode", "twin": "pump-1", "telemetry": "flow", **JSON_FIELDS},
        ],
    }
    wired.manager.put("plant", config, persist=False)
    try:
        connector = wired.connector
        wait_for(lambda: connector.status()["state"] == "running", 15, "the connector to run")
        wait_for(lambda: len(history(app, "bearingTemperature")["ts"]) >= 5, 10, "temperature readings")
        wait_for(lambda: len(history(app, "flow")["ts"]) >= 3, 10, "coolant flow readings (browse path)")
        wait_for(lambda: len(history(app, "running")["ts"]) >= 1, 10, "running readings")

        temperature = history(app, "bearingTemperature")
        # The plant stamps whole 100 ms ticks; a receive time would almost never be one.
        assert all(ts % 100_000 == 0 for ts in temperature["ts"])
        assert all(300 < v < 400 for v in temperature["value"])
        assert set(temperature["quality"]) == {2}  # Good → not evaluated
        assert history(app, "running")["value"][-1] is True or history(app, "running")["value"][-1] == 1

        letters = app.store.list_dead_letters("plant")
        assert any(d.source == "reactor/mode" and "flow" in d.reason for d in letters), letters
        status = connector.status()
        assert status["nodes"]["ns=2;s=Plant.Reactor.Missing"].startswith(("refused", "not found"))
        assert status["nodes"][COOLANT_PATH] == "subscribed"
        assert wired.manager.describe("plant")["counters"]["deadLetters"] >= 1

        # Uncertain and Bad status codes become QARTOD flags; the method call is the write-back path.
        def call_quality(quality: str) -> None:
            result = connector.call("ns=2;s=Plant.Reactor", "ns=2;s=Plant.Reactor.SetQuality", quality)
            assert result == [True]

        call_quality("uncertain")
        wait_for(lambda: history(app, "bearingTemperature")["quality"][-1] == 3, 5, "a suspect reading")
        # A Bad value is null by the standard: a dead letter that keeps the flag and the status.
        call_quality("bad")

        def bad_letters() -> list[dict[str, Any]]:
            letters = app.store.list_dead_letters("plant", limit=1000)
            payloads = [orjson.loads(d.payload) for d in letters if d.source == "reactor/temperature"]
            return [p for p in payloads if p["quality"] == 4]

        bad = wait_for(bad_letters, 5, "a dead letter of the Bad temperature")
        assert bad[0]["value"] is None and bad[0]["status"] == "BadSensorFailure"
        call_quality("good")
        wait_for(lambda: history(app, "bearingTemperature")["quality"][-1] == 2, 5, "a good reading again")

        connector.write(SETPOINT, 361.5)
        assert connector.read(SETPOINT) == 361.5
        assert connector.call("ns=2;s=Plant.Reactor", "ns=2;s=Plant.Reactor.SetSetpoint", 372) == [True]
        assert connector.read(SETPOINT) == 372.0
        assert connector.call("ns=2;s=Plant.Reactor", "ns=2;s=Plant.Reactor.SetSetpoint", 999.0) == [False]
        with pytest.raises(OpcUaError):
            connector.write("ns=2;s=Plant.Reactor.Nothing", 1.0)
        with pytest.raises(OpcUaError):
            connector.write(SETPOINT, "not a number")
    finally:
        wired.manager.close()
    assert connector.status()["state"] == "stopped"
    with pytest.raises(OpcUaError):
        connector.read(SETPOINT)


@pytest.mark.timeout(60)
def test_reconnects_after_the_server_restarts(pump: App, plant: PlantProcess) -> None:
    app = pump
    wired = Connected(app)
    config = {
        "type": "opcua",
        "options": options(plant.endpoint, [{"node": TEMPERATURE}]),
        "mappings": [{"source": TEMPERATURE, "twin": "pump-1", "telemetry": "bearingTemperature", **JSON_FIELDS}],
    }
    wired.manager.put("plant", config, persist=False)
    try:
        connector = wired.connector
        wait_for(lambda: len(history(app, "bearingTemperature")["ts"]) >= 3, 15, "first readings")
        plant.kill()
        wait_for(lambda: connector.status()["state"] == "reconnecting", 10, "the loss to be noticed")
        assert connector.status()["last_error"]
        with pytest.raises(OpcUaError, match="reconnecting"):
            connector.read(TEMPERATURE)
        restarted_us = time.time_ns() // 1000
        plant.start()
        wait_for(lambda: connector.status()["state"] == "running", 20, "the connector to reconnect")
        wait_for(
            lambda: int(history(app, "bearingTemperature")["ts"][-1]) > restarted_us,
            10,
            "readings from the restarted server",
        )
        assert connector.status()["reconnects"] >= 1
    finally:
        wired.manager.close()


@pytest.mark.parametrize(
    ("opts", "pointer"),
    [
        ({"nodes": [{"node": TEMPERATURE}]}, "/options/endpoint"),
        ({"endpoint": "http://x", "nodes": [{"node": TEMPERATURE}]}, "/options/endpoint"),
        ({"endpoint": "opc.tcp://h:4840"}, "/options/nodes"),
        ({"endpoint": "opc.tcp://h:4840", "nodes": [{"node": "not a node id"}]}, "/options/nodes/0/node"),
        (
            {"endpoint": "opc.tcp://h:4840", "nodes": [{"browse_path": "Objects/Plant"}]},
            "/options/nodes/0/browse_path",
        ),
        ({"endpoint": "opc.tcp://h:4840", "nodes": [{}]}, "/options/nodes/0"),
        (
            {"endpoint": "opc.tcp://h:4840", "nodes": [{"node": TEMPERATURE}, {"node": TEMPERATURE}]},
            "/options/nodes/1/source",
        ),
        (
            {"endpoint": "opc.tcp://h:4840", "nodes": [{"node": TEMPERATURE}], "batch_size": 0},
            "/options/batch_size",
        ),
        (
            {"endpoint": "opc.tcp://h:4840", "nodes": [{"node": TEMPERATURE}], "password": "x"},
            "/options/username",
        ),
        (
            {"endpoint": "opc.tcp://h:4840", "nodes": [{"node": TEMPERATURE}], "security": "None"},
            "/options/security",
        ),
        ({"endpoint": "opc.tcp://h:4840", "nodes": [{"node": TEMPERATURE}], "colour": 1}, "/options/colour"),
    ],
)
def test_invalid_options_point_at_the_mistake(opts: dict[str, Any], pointer: str) -> None:
    mapper = Mapper.from_config([{"source": "#", "twin": "t", "telemetry": "x"}])
    spec = ConnectionSpec("plant", "opcua", opts, mapper, None, True, {})
    with pytest.raises(InvalidInput) as caught:
        opcua_connector(spec, lambda messages: pytest.fail("no messages expected"))
    assert pointer in [p.pointer for p in caught.value.problems]


def test_status_codes_map_to_qartod_flags_and_payloads_are_json() -> None:
    from datetime import UTC, datetime

    from asyncua import ua

    assert quality_of(ua.StatusCode(ua.StatusCodes.Good)) == 2
    assert quality_of(ua.StatusCode(ua.StatusCodes.UncertainLastUsableValue)) == 3
    assert quality_of(ua.StatusCode(ua.StatusCodes.BadSensorFailure)) == 4
    stamp = datetime(2026, 11, 22, 9, 0, 0, 123456, tzinfo=UTC)
    dv = ua.DataValue(ua.Variant(1.5, ua.VariantType.Double), SourceTimestamp=stamp)
    assert orjson.loads(payload_of(1.5, dv)) == {"value": 1.5, "ts": 1795338000123.456, "quality": 2}
    assert orjson.loads(payload_of(b"\x01", None))["value"] == "AQ=="
    # A server that sends a value with a Bad status gives a reading flagged 4.
    bad = ua.DataValue(ua.Variant(7.0, ua.VariantType.Double), ua.StatusCode(ua.StatusCodes.BadOutOfRange))
    assert orjson.loads(payload_of(7.0, bad)) == {"value": 7.0, "quality": 4, "status": "BadOutOfRange"}
