"""The plant scenario: an OPC UA reactor develops a fault, futago notices, and a safer setpoint is applied.

1. The simulated CSTR (``plant_server.py``, a real asyncua server in its own process) runs under its controller;
   futago reads its temperature, coolant flow and concentration through an OPC UA connection.
2. The ``reactor-anomaly`` behaviour (EWMA control chart over temperature and coolant flow) learns normal
   operation from the first seconds and scores every new second.
3. The jacket fouls (``InjectFault("fouling")``): cooling weakens, the controller opens the coolant valve, and
   the reactor runs hot.
4. The rule ``reactor-anomaly`` fires on anomaly scores above 1 for 3 seconds, raises an alert, and recommends
   ``setSetpoint`` 340 K (a cooler reactor reacts more slowly and needs less cooling).
5. The recommendation is approved through the API; the command passes the envelope (320–360 K, at most 15 K per
   step) and is written to the plant's ``Setpoint`` node over OPC UA, then read back.

Time is wall-clock time here: the plant is a live process.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from futago.app import App, build
from futago.config import Settings
from futago.core.errors import FutagoError
from futago.core.telemetry import format_timestamp
from futago.samples import demo_models
from futago.scenarios.live import LiveScenario
from futago.testing.plant_process import PlantProcess

REACTOR = "reactor-1"
NODE = "ns=2;s=Plant.Reactor."
FIELDS = {"format": "json", "value": "value", "timestamp": "ts", "quality": "quality"}
SIGNALS = {"Temperature": "temperature", "CoolantFlow": "coolantFlow", "Concentration": "concentration"}
LEARN_S = 25.0  # seconds of normal operation the detector learns from (50 steps of half a second)
NEW_SETPOINT = 340.0

BEHAVIOUR = {
    "description": "EWMA control chart over temperature and coolant flow, learned from normal operation",
    "model": "ewma",
    # The instruments' accuracy, in their units (K, L/min): a Pt100 class B reads ±0.7 K at 77 °C and a flow
    # meter ±1 % of its 40 L/min range. The controller's settled output barely moves while the detector learns,
    # so without this floor the chart would learn a scale of 1e-6 L/min and score the fault in billions.
    "params": {"noise_floor": [0.5, 0.5]},
    "twins": [REACTOR],
    "inputs": {"temperature": "temperature", "coolantFlow": "coolantFlow"},
    "step": 500,  # milliseconds: the plant publishes every 100 ms
    "window": "40s",
    "horizon": "1s",  # a detector looks back, not ahead
    "train": f"{int(LEARN_S)}s",
    "trigger": {"every": "1s"},
}
RULE = {
    "description": "The reactor's anomaly score stays above 1 for 3 s: propose a cooler setpoint",
    "severity": "warning",
    "twins": [REACTOR],
    "when": {"anomaly": {"telemetry": "anomalyScore", "above": 1.0, "clear": 0.8, "for": "3s"}},
    "message": {"ja": "{twin}: 異常スコア {value:.1f} — 設定温度の引き下げを提案します",
                "en": "{twin}: anomaly score {value:.1f} — a lower setpoint is proposed"},
    "recommend": {"twin": REACTOR, "command": "setSetpoint", "payload": NEW_SETPOINT},
}  # fmt: skip
BINDING = {
    "mode": "recommend",
    "transport": {"type": "opcua", "connection": "plant", "write": NODE + "Setpoint"},
    "envelope": {"min": 320.0, "max": 360.0, "max_step": 15.0},
}


def run(db: str | None = None, progress: bool = False, timeout_s: float = 90.0) -> dict[str, Any]:
    """Run the scenario and return its figures (``futago scenario plant --json``)."""
    work = Path(tempfile.mkdtemp(prefix="futago-plant-"))
    plant = PlantProcess()
    plant.start()
    app = build(Settings(db=db or str(work / "plant.db"), artifacts_dir=str(work / "artifacts")))
    try:
        _setup(app, plant)
        app.start()
        began = time.monotonic()
        # The detector is attached once it has a window of normal operation to learn from.
        time.sleep(LEARN_S + 1.0)
        app.behaviours.put("reactor-anomaly", BEHAVIOUR)
        _until(lambda: _learned(app), 20, "the detector to learn normal operation")
        app.connections.connector("plant").call(NODE[:-1], NODE + "InjectFault", "fouling")  # type: ignore[attr-defined]
        faulted, fault_at = time.monotonic(), _now()
        alert = _until(lambda: _first(app.alerts.list_alerts(limit=5)[0]), timeout_s, "an anomaly alert")
        detected_s = time.monotonic() - faulted
        proposal = _until(lambda: _first(app.commands.list_commands(state="proposed")), 30, "a recommendation")
        _approve(app, proposal["id"])
        command = app.commands.wait(proposal["id"], 30)
        setpoint = float(app.connections.connector("plant").read(NODE + "Setpoint"))  # type: ignore[attr-defined]
        return {
            "alerts": [_alert_json(a.to_json()) for a in app.alerts.list_alerts(limit=10)[0]],
            "anomaly_alert": alert.rule,
            "fault_at": fault_at,
            "detected_after_s": round(detected_s, 1),
            "commands": [
                {
                    k: c.get(k)
                    for k in (
                        "id",
                        "twinId",
                        "command",
                        "state",
                        "proposedBy",
                        "approvedBy",
                        "sent",
                        "response",
                        "resultState",
                        "checks",
                    )
                }
                for c in app.commands.list_commands(limit=10)
            ],
            "applied": command["state"] == "completed" and abs(setpoint - NEW_SETPOINT) < 1e-6,
            "anomaly_score_max": _score_max(app),
            "plant_setpoint": setpoint,
            "seconds": round(time.monotonic() - began, 1),
        }
    finally:
        app.close()
        plant.kill()


def _setup(app: App, plant: PlantProcess) -> None:
    app.models.add_missing(demo_models())
    app.twins.put(REACTOR, {"$metadata": {"$model": "dtmi:futago:demo:Reactor;1"}, "name": "R-101"})
    nodes = [{"node": NODE + node} for node in SIGNALS]
    mappings = [{"source": NODE + node, "twin": REACTOR, "telemetry": name, **FIELDS} for node, name in SIGNALS.items()]
    options = {"endpoint": plant.endpoint, "publishing_interval_ms": 100, "nodes": nodes}
    app.connections.put("plant", {"type": "opcua", "options": options, "mappings": mappings}, persist=False)
    app.alerts.put_rule("reactor-anomaly", RULE)
    app.commands.put_binding(REACTOR, "setSetpoint", BINDING)


class LivePlant(LiveScenario):
    """The plant scenario on the wall clock, for ``futago demo``: the reactor runs, the jacket fouls every few
    minutes, the cooler setpoint waits for the dashboard's operator, and a while after the fault the maintenance
    crew cleans the jacket and puts the setpoint back at the plant (outside futago), so the alert resolves."""

    name = "plant"

    def __init__(self, app: App, normal_s: float = 120.0, repair_after_s: float = 240.0) -> None:
        super().__init__()
        self.app, self.normal_s, self.repair_after_s = app, normal_s, repair_after_s
        self.plant = PlantProcess()
        self.faults = 0

    def release(self) -> None:
        self.app.connections.stop("plant", missing_ok=True)  # before its server goes, so it does not retry
        self.plant.kill()

    def run_live(self) -> None:
        self.plant.start()
        _setup(self.app, self.plant)
        if self.stopping.wait(LEARN_S + 1.0):
            return
        self.app.behaviours.put("reactor-anomaly", BEHAVIOUR)
        connector: Any = self.app.connections.connector("plant")
        normal_setpoint = float(connector.read(NODE + "Setpoint"))
        while not self.stopping.wait(self.normal_s):
            connector.call(NODE[:-1], NODE + "InjectFault", "fouling")
            self.faults += 1
            if self.stopping.wait(self.repair_after_s):
                return
            connector.call(NODE[:-1], NODE + "InjectFault", "none")
            connector.call(NODE[:-1], NODE + "SetSetpoint", normal_setpoint)


def _learned(app: App) -> bool:
    return any(r.status == "ok" for r in app.store.list_behaviour_runs("reactor-anomaly", REACTOR, limit=3))


def _score_max(app: App) -> float | None:
    """The highest ``anomalyScore`` the reactor's detector wrote (score ÷ learned threshold); None if none."""
    values = np.asarray(app.store.read_series(REACTOR, "anomalyScore", None, None).values, dtype=np.float64)
    return round(float(values.max()), 3) if len(values) else None


def _approve(app: App, command_id: str) -> None:
    """The operator's approval, through the API as the dashboard would send it."""
    with warnings.catch_warnings():  # Starlette's note about its test client's HTTP library is not the user's
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from futago.api.server import create_api

    with TestClient(create_api(app)) as client:
        client.post(f"/commands/{command_id}/approve", params={"wait": 10}, json={"note": "cooler setpoint"})


def _first(items: list[Any]) -> Any:
    return items[0] if items else None


def _until(probe: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise FutagoError(f"the plant scenario waited {timeout_s:.0f} s for {what}")


def _now() -> str:
    return format_timestamp(time.time_ns() // 1000)


def _alert_json(alert: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "rule", "twinId", "severity", "state", "raisedAt", "resolvedAt", "evidence")
    return {k: alert.get(k) for k in keys}
