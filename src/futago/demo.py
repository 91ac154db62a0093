"""The demo: a small riverside district and a drainage pump, with simulated live telemetry.

Everything goes through the same services a user's data does: models through ModelService,
twins through TwinService, readings through TelemetryService (and so the event bus and SSE).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from futago.act.rules import load_rule_file
from futago.app import App
from futago.core.datasets import DatasetRecord
from futago.core.telemetry import QUALITY_NOT_EVALUATED, Reading
from futago.core.twins import now_iso
from futago.samples import demo_models
from futago.scenarios.flood import FloodScenario, LiveFlood
from futago.scenarios.plant import LivePlant
from futago.sim.models.tank import RiverStageModel

MODELS = "dtmi:futago:demo:"
ORIGIN = (138.8640, 35.1010)  # beside the Kano River, Numazu (longitude, latitude)
BUILDINGS = 24
HISTORY_HOURS = 24
HISTORY_KIND = "demo_history"  # a dataset record marks a store whose history was seeded (once per store)
HISTORY_DATASET = f"{HISTORY_KIND}:sample-district"
FLOOD_ORIGIN = (138.8800, 35.1010)  # the live flood scenario's district, upstream of the sample one


def _square(lon: float, lat: float, half: float) -> dict[str, Any]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _levels(standby: float, caution: float, evacuation: float, danger: float) -> dict[str, float]:
    """A station's warning levels (水防団待機・氾濫注意・避難判断・氾濫危険水位), metres."""
    return {"standbyLevel": standby, "cautionLevel": caution, "evacuationLevel": evacuation, "dangerLevel": danger}


#: Behaviours the demo attaches: a river-stage forecast for every station, and a pump anomaly detector.
BEHAVIOURS: dict[str, dict[str, Any]] = {
    "river-forecast": {
        "description": "Rainfall → tank model → rating curve: 6-hour stage forecast with warning-level probabilities",
        "model": "river_stage",
        "params": {"catchment_km2": 40.0, "rating_a": 6.0, "dt_s": 600.0},
        "twins": ["river-1", "river-2"],  # the live flood scenario's station has its own forecast
        "inputs": {"rainfall": {"twin": "rain-1", "telemetry": "rainfall"}},
        "measured": "waterLevel",
        "step": "10m",
        "window": "12h",
        "horizon": "6h",
        "members": 500,
        "trigger": {"every": "1m"},
        "tolerances": {"rmse": 0.5},
    },
    "pump-anomaly": {
        "description": "Robust z-score over bearing temperature and flow, learned from the first hours of history",
        "model": "robust_z",
        "twins": ["pump-1"],
        "inputs": {"bearingTemperature": "bearingTemperature", "flow": "flow"},
        "step": "1m",
        "window": "12h",
        "train": "6h",  # one whole storm cycle of the demo's weather
        "trigger": {"every": "30s"},
    },
}


#: QARTOD tests on the demo's sensors (futago.services.quality), as a user would write them in futago.toml's
#: [quality] table: each gross range is the instrument's span (fail) and what the site has ever seen (suspect).
#: A [quality] table of the user's own configuration wins over these.
QUALITY: dict[str, dict[str, dict[str, Any]]] = {
    MODELS + "RiverStation;1": {
        # a pressure gauge spans -1 … 15 m; the Kano's stations have never read outside 0 … 10 m
        "waterLevel": {"gross_range": {"fail_span": [-1.0, 15.0], "suspect_span": [0.0, 10.0]}},
    },
    MODELS + "RainGauge;1": {
        # a tipping bucket saturates near 300 mm/h; Japan's record hour is about 150 mm
        "rainfall": {"gross_range": {"fail_span": [0.0, 300.0], "suspect_span": [0.0, 150.0]}},
    },
    MODELS + "Pump;1": {
        # the meter's noise reads slightly below zero at rest; the pump's rating is 4 m³/s
        "flow": {"gross_range": {"fail_span": [-1.0, 10.0], "suspect_span": [-0.3, 4.0]}},
        "bearingTemperature": {
            "gross_range": {"fail_span": [-20.0, 150.0], "suspect_span": [0.0, 90.0]},
            "spike": {"suspect_threshold": 5.0, "fail_threshold": 15.0},  # a bearing warms over minutes, not at once
        },
    },
    MODELS + "Building;1": {
        "energyUse": {"gross_range": {"fail_span": [0.0, 1000.0], "suspect_span": [0.0, 200.0]}},
    },
}


def configure_quality(app: App) -> int:
    """The demo's QARTOD tests, for every one the user's configuration leaves unset; returns how many were set."""
    checks, configured = app.telemetry.checks, app.settings.quality
    if checks is None:  # an App built without quality checks at ingest
        return 0
    count = 0
    for model, per_telemetry in QUALITY.items():
        own = configured.get(model, {})
        for telemetry, config in per_telemetry.items():
            if telemetry not in own:
                checks.configure(model, telemetry, config)
                count += 1
    return count


def _twins() -> list[tuple[str, dict[str, Any]]]:
    lon0, lat0 = ORIGIN
    twins: list[tuple[str, dict[str, Any]]] = [
        (
            "district-kano",
            {
                "$metadata": {"$model": MODELS + "District;1"},
                "name": "Kano riverside 狩野川沿い",
                "population": 4200,
            },
        ),
        (
            "river-1",
            {
                "$metadata": {"$model": MODELS + "RiverStation;1"},
                "serialNumber": "RS-001",
                "floodWarningLevel": 4.2,
                **_levels(2.5, 3.2, 3.6, 4.2),
                "geometry": {"type": "Point", "coordinates": [lon0 - 0.004, lat0]},
            },
        ),
        (
            "river-2",
            {
                "$metadata": {"$model": MODELS + "RiverStation;1"},
                "serialNumber": "RS-002",
                "floodWarningLevel": 4.5,
                **_levels(2.8, 3.5, 3.9, 4.5),
                "geometry": {"type": "Point", "coordinates": [lon0 + 0.006, lat0 + 0.003]},
            },
        ),
        (
            "rain-1",
            {
                "$metadata": {"$model": MODELS + "RainGauge;1"},
                "serialNumber": "RG-001",
                "geometry": {"type": "Point", "coordinates": [lon0, lat0 + 0.004]},
            },
        ),
        (
            "pump-1",
            {
                "$metadata": {"$model": MODELS + "Pump;1"},
                "name": "Kano drainage pump No.1",
                "setpoint": 2.5,
                "geometry": {"type": "Point", "coordinates": [lon0 - 0.002, lat0 - 0.002]},
            },
        ),
    ]
    rng = random.Random(7)
    usages = ["residential", "residential", "residential", "commercial", "public", "industrial"]
    for i in range(BUILDINGS):
        lon, lat = lon0 + (i % 6) * 0.0012, lat0 - 0.001 - (i // 6) * 0.0012
        storeys = rng.randint(1, 12)
        twins.append(
            (
                f"bldg-{i + 1:03d}",
                {
                    "$metadata": {"$model": MODELS + "Building;1"},
                    "name": f"Building {i + 1}",
                    "height": round(storeys * 3.1 + rng.uniform(0, 2), 1),
                    "storeys": storeys,
                    "usage": rng.choice(usages),
                    "geometry": _square(lon, lat, 0.0004),
                },
            )
        )
    return twins


def _relationships(twin_ids: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    rels: list[tuple[str, str, dict[str, Any]]] = []
    for twin_id in twin_ids:
        if twin_id.startswith("bldg-"):
            rels.append((twin_id, "locatedIn", {"$relationshipName": "locatedIn", "$targetId": "district-kano"}))
        elif twin_id.startswith(("river-", "rain-")):
            rels.append(
                (
                    twin_id,
                    "monitors",
                    {"$relationshipName": "monitors", "$targetId": "district-kano", "since": "2024-04-01"},
                )
            )
    rels.append(("pump-1", "drains", {"$relationshipName": "drains", "$targetId": "district-kano"}))
    return rels


def _storm(at_s: float) -> float:
    """The demo's weather: a band of rain passing every six hours (0 … 1)."""
    return max(0.0, math.sin(at_s / 3600.0 / 6 * math.pi)) ** 2


#: Each demo station's catchment area (km²) and rating-curve coefficient.
CATCHMENTS = {"river-1": (40.0, 6.0), "river-2": (60.0, 8.0)}


class Rivers:
    """The demo's "real" rivers: each station's catchment turns the gauge's rain into a level, through the same
    tank model and rating curve that the river-forecast behaviour uses, so the forecasts have something true to
    follow. Stepping is a pure function of time (spun up over two days of the same weather), so history and the
    live simulator agree."""

    def __init__(self) -> None:
        self.models = {
            station: RiverStageModel(catchment_km2=area, dt_s=60.0, rating_a=rating)
            for station, (area, rating) in CATCHMENTS.items()
        }
        self.at_s: float | None = None

    def levels(self, at_s: float) -> dict[str, float]:
        if self.at_s is None:
            for t in range(int(at_s) - 48 * 3600, int(at_s), 60):
                self._step(float(t), 60.0)
        previous = at_s - 60.0 if self.at_s is None else self.at_s
        return self._step(at_s, max(at_s - previous, 1.0))

    def _step(self, at_s: float, dt_s: float) -> dict[str, float]:
        self.at_s = at_s
        rain = 12.0 * _storm(at_s)
        levels = {}
        for station, model in self.models.items():
            model.dt_s = dt_s
            levels[station] = model.predict_one([rain])
        return levels


def _readings(at_s: float, rng: random.Random, rivers: Rivers) -> list[Reading]:
    """One reading of every demo telemetry at a time: a storm wave, the rivers' response to it, noise elsewhere."""
    ts = int(at_s * 1_000_000)
    hour = (at_s / 3600.0) % 24
    storm = _storm(at_s)
    levels = rivers.levels(at_s)
    rows = [
        Reading("river-1", "waterLevel", ts, round(levels["river-1"] + rng.gauss(0, 0.01), 3), QUALITY_NOT_EVALUATED),
        Reading("river-2", "waterLevel", ts, round(levels["river-2"] + rng.gauss(0, 0.01), 3), QUALITY_NOT_EVALUATED),
        Reading("rain-1", "rainfall", ts, round(max(0.0, 12 * storm + rng.gauss(0, 0.3)), 2), QUALITY_NOT_EVALUATED),
        Reading("pump-1", "flow", ts, round(2.5 * storm + rng.gauss(0, 0.05), 3), QUALITY_NOT_EVALUATED),
        Reading(
            "pump-1",
            "bearingTemperature",
            ts,
            round(45 + 10 * storm + rng.gauss(0, 0.3), 2),
            QUALITY_NOT_EVALUATED,
        ),
        Reading("pump-1", "running", ts, storm > 0.2, QUALITY_NOT_EVALUATED),
    ]
    daily = 0.6 + 0.4 * math.sin((hour - 7) / 24 * 2 * math.pi)
    for i in range(BUILDINGS):
        rows.append(
            Reading(
                f"bldg-{i + 1:03d}",
                "energyUse",
                ts,
                round(20 * daily + rng.gauss(0, 1), 2),
                QUALITY_NOT_EVALUATED,
            )
        )
    return rows


def seed(app: App, say: Callable[[str], object] = lambda _: None) -> dict[str, int]:
    """Load the demo models and twins, its QARTOD tests, and a day of minute history, each once per store (a
    restart seeds nothing twice); ``say`` hears one line per stage (the history takes seconds, longer on a slow
    disk). ``readings``: the readings of seeded history in the store; ``new_readings``: those written now."""
    say("loading the sample models, twins, behaviours, rules and QARTOD tests")
    documents = demo_models()
    app.models.add_missing(documents)
    tests = configure_quality(app)  # before the history: every reading, old and live, is judged
    twins = _twins()
    for twin_id, doc in twins:
        if app.store.get_twin(twin_id) is None:
            app.twins.put(twin_id, doc)
    for source, rel_id, doc in _relationships([t for t, _ in twins]):
        if app.store.get_relationship(source, rel_id) is None:
            app.twins.put_relationship(source, rel_id, doc)
    for name, body in BEHAVIOURS.items():
        if name not in app.store.list_behaviours():
            app.behaviours.put(name, body)
    # The sample file's level, rate and stuck-sensor rules; the live flood scenario brings its own forecast rule.
    rules = load_rule_file(Path(str(resources.files("futago.samples").joinpath("rules.yaml"))))
    app.alerts.load({name: rule for name, rule in rules.items() if name.startswith("river-")})
    readings, new = _seed_history(app, say)
    return {"models": len(documents), "twins": len(twins), "readings": readings, "new_readings": new,
            "quality": tests}  # fmt: skip


def _seed_history(app: App, say: Callable[[str], object]) -> tuple[int, int]:
    """A day of minute history before now, written once per store: a marker dataset record says it was (live
    readings then go on from the simulator). Without the marker, every restart added another day, overlapping
    the last. Returns the readings of seeded history the store holds, and how many were written now."""
    marker = app.store.get_dataset(HISTORY_DATASET)
    if marker is not None:
        readings = int(marker.records.get("readings", 0))
        say(f"the {HISTORY_HOURS} h of history were seeded on {marker.updated}; live readings go on from there")
        return readings, 0
    if app.store.series_names("river-1"):  # seeded by a futago before the marker: mark it, do not add a day
        _mark_history(app, 0, "found in the store, seeded by an earlier futago demo")
        say("the store holds the sample district's history already; live readings go on from there")
        return 0, 0
    rng = random.Random(1)
    now = time.time()
    history: list[Reading] = []
    rivers = Rivers()
    for minute in range(HISTORY_HOURS * 60, 0, -1):
        history += _readings(now - minute * 60, rng, rivers)
    say(f"writing {HISTORY_HOURS} h of minute history ({len(history):,} readings, each judged by QARTOD)")
    readings = app.telemetry.append(history)
    _mark_history(app, readings, f"{HISTORY_HOURS} h of simulated minute readings before the first start")
    return readings, readings


def _mark_history(app: App, readings: int, note: str) -> None:
    """The marker: written after the history, so that an interrupted seeding is done again at the next start."""
    provenance = {"tool": "futago demo", "note": note}
    record = DatasetRecord(HISTORY_DATASET, HISTORY_KIND, now_iso(), title="The demo's seeded telemetry history",
                           provenance=provenance, records={"readings": readings})  # fmt: skip
    app.store.put_dataset(record)


class Simulator:
    """Appends a reading of every demo telemetry each interval, until stopped."""

    def __init__(self, app: App, interval_s: float = 1.0) -> None:
        self.app = app
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="futago-demo-simulator", daemon=True)
        self.appended = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        rng = random.Random()
        rivers = Rivers()
        while not self._stop.wait(self.interval_s):
            self.appended += self.app.telemetry.append(_readings(time.time(), rng, rivers))


def live_plant(app: App) -> LivePlant:
    """Start the plant scenario on the wall clock: the OPC UA reactor, its detector, and a fault every few
    minutes whose cooler setpoint waits for the dashboard's operator."""
    plant = LivePlant(app)
    plant.start()
    return plant


def live_flood(app: App, folder: Path, step_s: float) -> LiveFlood:
    """Start the flood scenario on a clock in the demo's store: a generated district with residents, a storm
    every ``144 × step_s`` seconds, and a floodgate proposal waiting for the dashboard's operator."""
    scenario = FloodScenario(app, folder, origin=FLOOD_ORIGIN)
    flood = LiveFlood(scenario, step_s)
    flood.start()
    return flood


#: The rule each live scenario stores last while it sets up: once present, its twins and models are in the store.
READY_RULES = {"flood": "flood-danger", "plant": "reactor-anomaly"}


def announce_when_ready(
    app: App, scenarios: list[str], say: Callable[[str], object], timeout_s: float = 300.0
) -> threading.Thread:
    """Say what the store holds (as ``/health`` counts it) once the live scenarios have put their district and
    reactor in it, so that the start-up lines and /health agree."""
    wanted = {READY_RULES[name] for name in scenarios if name in READY_RULES}

    def wait() -> None:
        deadline = time.monotonic() + timeout_s
        while not wanted <= {rule.name for rule in app.alerts.rules()}:
            if time.monotonic() > deadline:
                return  # a scenario that failed has said why in the log
            time.sleep(0.5)
        if wanted:
            names = " and ".join(scenarios)
            say(f"demo: the live {names} scenarios are set up; the store holds {app.health.summary()}")

    thread = threading.Thread(target=wait, name="futago-demo-ready", daemon=True)
    thread.start()
    return thread
