"""The demo: a small riverside district and a drainage pump, with simulated live telemetry.

Everything goes through the same services a user's data does: models through ModelService,
twins through TwinService, readings through TelemetryService (and so the event bus and SSE).
"""

from __future__ import annotations

import math
import random
import threading
import time
from importlib import resources
from typing import Any

import orjson

from futago.app import App
from futago.core.telemetry import QUALITY_NOT_EVALUATED, Reading

MODELS = "dtmi:futago:demo:"
ORIGIN = (138.8640, 35.1010)  # beside the Kano River, Numazu (longitude, latitude)
BUILDINGS = 24
HISTORY_HOURS = 24


def _square(lon: float, lat: float, half: float) -> dict[str, Any]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


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
                "geometry": {"type": "Point", "coordinates": [lon0 - 0.004, lat0]},
            },
        ),
        (
            "river-2",
            {
                "$metadata": {"$model": MODELS + "RiverStation;1"},
                "serialNumber": "RS-002",
                "floodWarningLevel": 4.5,
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


def _readings(at_s: float, rng: random.Random) -> list[Reading]:
    """One reading of every demo telemetry at a time: a slow storm wave on the river, noise elsewhere."""
    ts = int(at_s * 1_000_000)
    hour = (at_s / 3600.0) % 24
    storm = max(0.0, math.sin(at_s / 3600.0 / 6 * math.pi)) ** 2
    rows = [
        Reading(
            "river-1",
            "waterLevel",
            ts,
            round(1.8 + 2.0 * storm + rng.gauss(0, 0.02), 3),
            QUALITY_NOT_EVALUATED,
        ),
        Reading(
            "river-2",
            "waterLevel",
            ts,
            round(2.1 + 2.2 * storm + rng.gauss(0, 0.02), 3),
            QUALITY_NOT_EVALUATED,
        ),
        Reading(
            "rain-1",
            "rainfall",
            ts,
            round(max(0.0, 30 * storm + rng.gauss(0, 1.0)), 2),
            QUALITY_NOT_EVALUATED,
        ),
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


def seed(app: App) -> dict[str, int]:
    """Load the demo models and twins (once) and a day of minute history."""
    documents = orjson.loads(resources.files("futago.samples").joinpath("demo_models.json").read_bytes())
    missing = [d for d in documents if d["@id"] not in app.models.models.documents]
    if missing:
        app.models.add(missing)
    twins = _twins()
    for twin_id, doc in twins:
        if app.store.get_twin(twin_id) is None:
            app.twins.put(twin_id, doc)
    for source, rel_id, doc in _relationships([t for t, _ in twins]):
        if app.store.get_relationship(source, rel_id) is None:
            app.twins.put_relationship(source, rel_id, doc)
    rng = random.Random(1)
    now = time.time()
    history: list[Reading] = []
    for minute in range(HISTORY_HOURS * 60, 0, -1):
        history += _readings(now - minute * 60, rng)
    readings = app.telemetry.append(history)
    return {"models": len(documents), "twins": len(twins), "readings": readings}


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
        while not self._stop.wait(self.interval_s):
            self.appended += self.app.telemetry.append(_readings(time.time(), rng))
