"""The end-to-end flood scenario: rain and a rising river → a forecast → an alert → residents told, a gate closed.

1. A district on a river comes from the city generator (buildings, planned flood zones with depths) and is
   imported as any PLATEAU data would be; about 200 residents subscribe with their home building.
2. A rain gauge and a river-level station publish over MQTT to a real Mosquitto (or, where mosquitto is not
   installed, straight into the same ingest mapping in-process). A storm hyetograph drives the "true" tank model
   (``storm.py``) that makes the observed levels; a radar nowcast gives the rain for the next three hours.
3. Every 10 minutes of scenario time the ``flood-forecast`` behaviour runs the 500-member tank-model ensemble.
4. The rule ``flood-danger`` fires when P(level ≥ 氾濫危険水位 within 3 h) ≥ 0.5: it raises an alert, the
   notification service tells the residents of the affected buildings (planned depth ≥ 0.5 m), and the rule
   recommends ``closeGate`` on the floodgate.
5. An operator approves the recommendation through the API (done here, headless); the command reaches the gate
   device over MQTT and the device answers.
6. The storm passes, the forecast probability falls, and the alert resolves by itself.

Scenario time runs as fast as the machine allows: every reading carries its scenario timestamp, so the rule
engine and the behaviour see exactly what they would see live.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from futago.app import App, build
from futago.city.generator import DistrictSpec, GeneratedDistrict, generate_district
from futago.config import Settings
from futago.core.errors import FutagoError
from futago.core.events import Event
from futago.core.telemetry import format_timestamp, parse_timestamp
from futago.core.twins import TwinScan
from futago.ingest.connections import ConnectionSpec
from futago.ingest.mapping import RawMessage
from futago.samples import demo_models
from futago.scenarios.field import FLOODGATE, GateDevice
from futago.scenarios.live import LiveScenario
from futago.scenarios.storm import LEVELS, STEP_S, Storm, nowcast, true_levels
from futago.services.city_import import CityImporter
from futago.testing.mosquitto import MOSQUITTO, LocalBroker

START = "2026-07-01T00:00:00Z"
STEPS = 144  # 24 h of 10-minute steps
HORIZON_STEPS = 18  # 3 h
STATION, GAUGE, GATE = "kano-station", "kano-rain", "kano-gate"
DEMO = "dtmi:futago:demo:"
DEPTH_THRESHOLD_M = 0.5

FIELD_MAPPINGS = [
    {"source": "city/river/{station}/level", "twin": "{station}", "telemetry": "waterLevel",
     "value": "level", "timestamp": "time"},
    {"source": "city/rain/{gauge}", "twin": "{gauge}", "telemetry": "rainfall", "value": "mm_h", "timestamp": "time"},
    {"source": "city/rain/{gauge}/nowcast", "twin": "{gauge}", "telemetry": "rainfall_forecast",
     "value": "mm_h", "timestamp": "time"},
]  # fmt: skip

BEHAVIOUR = {
    "description": "Rainfall → tank model → rating curve: 3-hour stage forecast, 500 members",
    "model": "river_stage",
    "params": {"catchment_km2": 60.0, "rating_a": 12.0},  # the station's area and rating curve are known
    "twins": [STATION],
    "inputs": {"rainfall": {"twin": GAUGE, "telemetry": "rainfall"}},
    "measured": "waterLevel",
    "step": "10m",
    "window": "12h",
    "horizon": "3h",
    "members": 500,
    "uncertainty": {"inputs": 0.3, "params": {"a11": 0.15, "b1": 0.15}},
}
RULE = {
    "description": "P(level ≥ 氾濫危険水位 within 3 h) ≥ 0.5",
    "severity": "critical",
    "twins": [STATION],
    "when": {"exceedance": {"telemetry": "waterLevel", "stage": "danger", "probability": 0.5, "clear": 0.3,
                            "within": "3h"}},
    "message": {"ja": "{twin}: 3時間以内に氾濫危険水位に達する確率 {value:.0%}",
                "en": "{twin}: {value:.0%} chance of reaching the flood danger level within 3 h"},
    "area": {"relationship": "floodZones"},
    "recommend": {"twin": GATE, "command": "closeGate", "payload": None},
}  # fmt: skip


@dataclass
class Field:
    """How readings reach futago: MQTT through a real broker, or the same mapping in-process."""

    app: App
    broker: LocalBroker | None
    publish: Callable[[str, dict[str, Any]], None]
    gate: GateDevice | None = None
    closers: list[Callable[[], object]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


class FloodScenario:
    """The scenario's world inside an App: the district, its residents, the field devices, the forecast behaviour
    and the rule. ``run`` steps it headless as fast as the machine allows; ``LiveFlood`` steps it on a clock for
    the demo's dashboard, where a person approves the gate."""

    def __init__(self, app: App, work: Path, buildings: int = 400, residents: int = 200, seed: int = 7,
                 origin: tuple[float, float] | None = None) -> None:  # fmt: skip
        self.app, self.work = app, work
        self.spec = DistrictSpec(buildings=buildings, seed=seed)
        if origin is not None:
            self.spec = dataclasses.replace(self.spec, origin=origin)
        self.residents, self.seed = residents, seed
        self.field: Field | None = None
        self.district: GeneratedDistrict | None = None
        self.zones: list[Any] = []
        self.chosen: dict[str, str] = {}

    def prepare(self, fresh: bool = True) -> None:
        """Import the district and subscribe the residents (only when ``fresh``: a restarted demo keeps its
        store), then connect the field devices and put the behaviour, the gate binding and the rule."""
        if fresh:
            self.district = _district(self.app, self.work, self.spec)
            self.zones = _link_station_to_zones(self.app)
            self.chosen = _subscribe_residents(self.app, self.residents, self.seed)
        self.field = _field(self.app, self.work)
        _bind_gate(self.app, self.field)
        self.app.behaviours.put("flood-forecast", BEHAVIOUR)
        self.app.alerts.put_rule("flood-danger", RULE)

    def step(self, ts: int, rain: np.ndarray, level: float, i: int, rng: np.random.Generator) -> float:
        """Publish one 10-minute step of readings (rain now, the nowcast ahead, the river level), wait until
        they are ingested, and run the forecast; returns the forecast's run time in ms."""
        assert self.field is not None, "prepare() first"
        step_us = int(STEP_S * 1e6)
        when = format_timestamp(ts)
        self.field.publish(f"city/rain/{GAUGE}", {"mm_h": float(rain[i]), "time": when})
        for k, value in enumerate(nowcast(rain, i + 1, HORIZON_STEPS, rng)):
            later = format_timestamp(ts + (k + 1) * step_us)
            self.field.publish(f"city/rain/{GAUGE}/nowcast", {"mm_h": float(value), "time": later})
        self.field.publish(f"city/river/{STATION}/level", {"level": round(float(level), 3), "time": when})
        _wait_for(self.app, STATION, "waterLevel", ts)
        began = time.perf_counter()
        (record,) = self.app.behaviours.run("flood-forecast", STATION, now_us=ts + step_us)
        if record["status"] != "ok":
            raise FutagoError(f"the forecast failed at {when}: {record.get('error')}")
        return (time.perf_counter() - began) * 1000

    def close(self) -> None:
        if self.field is not None:
            self.field.close()
            self.field = None


def run(db: str | None = None, progress: bool = False, buildings: int = 400, residents: int = 200,
        seed: int = 7) -> dict[str, Any]:  # fmt: skip
    """Run the scenario headless and return its figures (the keys of ``futago scenario flood --json``)."""
    work = Path(tempfile.mkdtemp(prefix="futago-flood-"))
    app = build(Settings(db=db or str(work / "flood.db"), artifacts_dir=str(work / "artifacts")))
    scenario = FloodScenario(app, work, buildings, residents, seed)
    try:
        scenario.prepare()
        assert scenario.district is not None and scenario.field is not None
        expected = _affected(app, scenario.district, scenario.chosen)
        app.alerts.start()
        app.notifications.start()
        figures = _storm(scenario, progress)
        notified = {d["subscriberId"] for d in figures.pop("deliveries")}
        return {
            **figures,
            "mqtt": scenario.field.broker is not None,
            "buildings": scenario.district.building_count,
            "flood_zones": len(scenario.zones),
            "subscribers": len(scenario.chosen),
            "affected_subscribers": len(expected),
            "notified_residents": len(notified & set(scenario.chosen)),
            "false_notifications": len(notified - expected),
            "missed_notifications": len(expected - notified),
        }
    finally:
        scenario.close()
        app.close()


class LiveFlood(LiveScenario):
    """The scenario on a clock, for ``futago demo``: one 10-minute step every ``step_s`` seconds, storm after storm.

    Scenario time starts at the wall clock and runs ``STEP_S / step_s`` times faster, so a whole storm passes
    in minutes; readings carry scenario time, as they do headless. Nobody approves the gate here: the dashboard's
    operator does (or rejects it)."""

    name = "flood"

    def __init__(self, scenario: FloodScenario, step_s: float = 2.0) -> None:
        super().__init__()
        self.scenario, self.step_s = scenario, step_s
        self.storms = 0

    def release(self) -> None:
        self.scenario.close()

    def run_live(self) -> None:
        step_us = int(STEP_S * 1e6)
        latest = self.scenario.app.store.latest(STATION).get("waterLevel")
        ts = max(time.time_ns() // 1000 // step_us * step_us, latest.ts + step_us if latest else 0)
        self.scenario.prepare(fresh=latest is None)
        while not self.stopping.is_set():
            rain = Storm().rain(STEPS + HORIZON_STEPS)
            levels = true_levels(rain[:STEPS], seed=self.storms)
            rng = np.random.default_rng(self.storms)
            for i in range(STEPS):
                began = time.monotonic()
                self.scenario.step(ts, rain, float(levels[i]), i, rng)
                ts += step_us
                if self.stopping.wait(max(0.0, self.step_s - (time.monotonic() - began))):
                    return
            self.storms += 1


def _district(app: App, work: Path, spec: DistrictSpec) -> GeneratedDistrict:
    app.models.add_missing(demo_models())
    district = generate_district(spec, work / "district.zip")
    CityImporter(app.store, app.models, app.twins, app.bus).run([district.path], source="generated")
    lon, lat = district.river[len(district.river) // 2] if district.river else (138.864, 35.101)
    point = {"type": "Point", "coordinates": [lon, lat]}
    app.twins.put(STATION, {"$metadata": {"$model": DEMO + "RiverStation;1"}, "serialNumber": "RS-K1",
                            **LEVELS, "geometry": point})  # fmt: skip
    app.twins.put(GAUGE, {"$metadata": {"$model": DEMO + "RainGauge;1"}, "serialNumber": "RG-K1", "geometry": point})
    app.twins.put(GATE, {"$metadata": {"$model": FLOODGATE}, "name": "Kano floodgate 狩野川水門", "geometry": point})
    return district


def _flood_zones(app: App) -> list[Any]:
    """The planned-scale (L1) river flood zones: the ones a river station's warning levels are set for."""
    zones = app.store.scan_twins(TwinScan(model_ids=frozenset({"dtmi:futago:city:FloodZone;1"})))
    return [
        z
        for z in zones
        if str(z.properties.get("scale", "")).startswith("L1") and z.properties.get("hazard") == "river_flooding"
    ]


def _link_station_to_zones(app: App) -> list[Any]:
    zones = _flood_zones(app)
    for zone in zones:
        link = {"$relationshipName": "floodZones", "$targetId": zone.id}
        app.twins.put_relationship(STATION, f"zone-{zone.id}", link)
    return zones


def _subscribe_residents(app: App, count: int, seed: int) -> dict[str, str]:
    """Residents with a home building, half Japanese- and half English-speaking; returns subscriber → building."""
    homes = app.store.scan_twins(TwinScan(model_ids=frozenset({"dtmi:futago:city:Building;1"})))
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(homes), size=min(count, len(homes)), replace=False)
    chosen = {}
    for n, index in enumerate(sorted(picked.tolist())):
        resident = f"resident-{n + 1:03d}"
        channel = {"type": "dashboard", "name": "phone"}
        app.notifications.put_subscriber(
            resident,
            {"name": f"Resident {n + 1}", "language": "ja" if n % 2 == 0 else "en", "home": homes[index].id,
             "channels": [channel]},
        )  # fmt: skip
        chosen[resident] = homes[index].id
    return chosen


def _affected(app: App, district: GeneratedDistrict, chosen: dict[str, str]) -> set[str]:
    """Who should be told, worked out from the generator's truth rather than from the imported graph: homes whose
    footprint centre lies in a planned (L1) zone band that is at least ``DEPTH_THRESHOLD_M`` deep."""
    bands = [
        shapely.Polygon(ring)
        for zone in district.flood_zones
        if zone.scale == "L1" and zone.depth_range[0] >= DEPTH_THRESHOLD_M
        for ring in zone.polygons
    ]
    area = shapely.union_all(bands) if bands else shapely.Polygon()
    affected = set()
    for resident, home in chosen.items():
        twin = app.store.get_twin(home)
        if twin is not None and twin.geometry is not None:
            centre = shapely.geometry.shape(twin.geometry).centroid
            if area.covers(centre):
                affected.add(resident)
    return affected


def _field(app: App, work: Path) -> Field:
    if MOSQUITTO is None:  # no broker here: the same mapping, fed in-process
        spec = ConnectionSpec.from_config("field", {"type": "replay", "mappings": FIELD_MAPPINGS}, ["replay"])
        sink = app.connections.sink_for(spec)

        def deliver(topic: str, body: dict[str, Any]) -> None:
            sink([RawMessage(topic, orjson.dumps(body), time.time_ns() // 1000)])

        return Field(app, None, deliver)
    folder = work / "broker"
    folder.mkdir(parents=True, exist_ok=True)
    broker = LocalBroker(folder)
    broker.start()
    config = {
        "type": "mqtt",
        "options": {"host": broker.host, "port": broker.port, "protocol": "5", "batch_ms": 5, "reconnect_max_s": 1},
        "mappings": FIELD_MAPPINGS,
    }
    app.connections.put("field", config, persist=False)
    gate = GateDevice(broker.host, broker.port)
    gate.start()
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="futago-flood-field")
    client.connect(broker.host, broker.port)
    client.loop_start()

    def publish(topic: str, body: dict[str, Any]) -> None:
        client.publish(topic, orjson.dumps(body), qos=1).wait_for_publish(10)

    result = Field(app, broker, publish, gate)
    result.closers += [
        broker.stop,
        lambda: app.connections.stop("field", missing_ok=True),
        gate.stop,
        client.loop_stop,
        client.disconnect,
    ]
    return result


def _bind_gate(app: App, field_: Field) -> None:
    transport = (
        {"type": "mqtt", "connection": "field", "topic": "gates/{twin}/cmd/{command}", "timeout": "10s"}
        if field_.broker is not None
        else None
    )
    if transport is not None:
        app.commands.put_binding(GATE, "closeGate", {"mode": "recommend", "transport": transport})


def _storm(scenario: FloodScenario, progress: bool) -> dict[str, Any]:
    with warnings.catch_warnings():  # Starlette's note about its test client's HTTP library is not the user's
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from futago.api.server import create_api

    app = scenario.app
    start = parse_timestamp(START)
    step_us = int(STEP_S * 1e6)
    rain = Storm().rain(STEPS + HORIZON_STEPS)
    levels = true_levels(rain[:STEPS])
    rng = np.random.default_rng(3)
    tipping: dict[str, float] = {}  # exceedance reading's scenario ts → wall clock when it was appended

    def watch(event: Event) -> None:
        if event.type == "telemetry.appended" and event.data.get("name") == "waterLevel_exceedance~danger":
            tipping[event.data["last"]] = time.time()

    unsubscribe = app.bus.subscribe(watch)
    forecast_ms: list[float] = []
    approved: set[str] = set()
    api = TestClient(create_api(app))
    bar = Progress(TextColumn("storm"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
                   TimeRemainingColumn(), disable=not progress, transient=True)  # fmt: skip
    try:
        with bar:
            for i in bar.track(range(STEPS)):
                forecast_ms.append(scenario.step(start + i * step_us, rain, float(levels[i]), i, rng))
                _approve_proposals(app, api, approved)
                app.notifications.wait_idle(30)
        app.notifications.wait_idle(30)
    finally:
        unsubscribe()
        api.close()
    alerts = [a.to_json() for a in app.alerts.list_alerts(limit=100)[0]]
    raised_ts = {a["id"]: _raised_reading(a) for a in alerts}
    deliveries = [
        d
        for a in alerts
        for d in app.notifications.list_deliveries(alert_id=a["id"], limit=1000)
        if d.get("event", "alert.raised") == "alert.raised"
    ]
    latencies = [
        (parse_timestamp(d["sentAt"]) / 1e6 - tipping[tip]) * 1000
        for d in deliveries
        if d.get("sentAt") and (tip := raised_ts.get(d["alertId"])) is not None and tip in tipping
    ]
    commands = app.commands.list_commands(limit=100)
    alert_keys = ("id", "rule", "twinId", "severity", "state", "raisedAt", "acknowledgedAt", "resolvedAt", "history")
    command_keys = ("id", "twinId", "command", "state", "proposedBy", "approvedBy", "sentAt", "response", "resultState")
    return {
        "alerts": [{k: a.get(k) for k in alert_keys} for a in alerts],
        "commands": [{k: c.get(k) for k in command_keys} for c in commands],
        "resolved": bool(alerts) and all(a["state"] == "resolved" for a in alerts),
        "reading_to_notification_p99_ms": round(float(np.percentile(latencies, 99)), 2) if latencies else None,
        "reading_to_notification_p50_ms": round(float(np.percentile(latencies, 50)), 2) if latencies else None,
        "forecast_ms": round(float(np.percentile(forecast_ms, 50)), 2),
        "forecast_ms_max": round(max(forecast_ms), 2),
        "steps": STEPS,
        "deliveries": deliveries,
    }


def _approve_proposals(app: App, api: Any, approved: set[str]) -> None:
    """The operator's part, headless: approve each new gate proposal through the API, as a person would."""
    for command in app.commands.list_commands(state="proposed"):
        if command["id"] not in approved:
            approved.add(command["id"])
            api.post(f"/commands/{command['id']}/approve", params={"wait": 10}, json={"note": "gate closed"})


def _raised_reading(alert: dict[str, Any]) -> str | None:
    """The timestamp of the reading that raised an alert (its evidence), formatted as the bus formats it."""
    ts = alert.get("evidence", {}).get("ts") or alert.get("raisedAt")
    return format_timestamp(parse_timestamp(ts)) if ts else None


def _wait_for(app: App, twin_id: str, name: str, ts: int, timeout_s: float = 10.0) -> None:
    """Until the reading at ``ts`` has been ingested (MQTT is asynchronous)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        latest = app.store.latest(twin_id).get(name)
        if latest is not None and latest.ts >= ts:
            return
        time.sleep(0.002)
    raise FutagoError(f"{twin_id}.{name} at {format_timestamp(ts)} did not arrive within {timeout_s} s")
