"""Drift against a co-located reference sensor raises quality.drift_suspected with its start."""

from __future__ import annotations

import numpy as np
import pytest

from futago.app import App
from futago.core.errors import InvalidInput
from futago.core.events import DRIFT_SUSPECTED, Event
from futago.core.telemetry import parse_timestamp

M = "dtmi:futago:demo:"


def test_drifting_sensor_is_caught_with_its_start(app: App) -> None:
    for twin in ("rs-a", "rs-b"):
        app.twins.put(twin, {"$metadata": {"$model": M + "RiverStation;1"}})
    app.drift.watch(
        "rs-a",
        "waterLevel",
        {"reference": {"twin": "rs-b", "telemetry": "waterLevel"}, "method": "cusum", "delta": 0.05, "threshold": 1.0},
    )
    alarms: list[Event] = []
    app.bus.subscribe(lambda e: alarms.append(e) if e.type == DRIFT_SUSPECTED else None)
    rng = np.random.default_rng(3)
    t0 = 1_767_225_600_000_000
    truth = 2 + np.sin(np.arange(600) / 50)
    drift = np.where(np.arange(600) >= 400, (np.arange(600) - 400) * 0.01, 0.0)  # from reading 400 on
    for i in range(0, 600, 20):  # the reference reports first, then the sensor, in batches
        span = range(i, i + 20)
        app.telemetry.append(
            [("rs-b", "waterLevel", t0 + k * 60_000_000, float(truth[k] + rng.normal(0, 0.01)), 2) for k in span]
        )
        app.telemetry.append(
            [
                (
                    "rs-a",
                    "waterLevel",
                    t0 + k * 60_000_000 + 5_000_000,
                    float(truth[k] + drift[k] + rng.normal(0, 0.01)),
                    2,
                )
                for k in span
            ]
        )
    assert alarms, "the drift was not detected"
    first = alarms[0]
    assert first.twin_id == "rs-a" and first.data["reference"] == {"twinId": "rs-b", "name": "waterLevel"}
    start_index = (parse_timestamp(first.data["estimatedStart"]) - t0) // 60_000_000
    detected_index = (parse_timestamp(first.data["detectedAt"]) - t0) // 60_000_000
    assert 400 <= detected_index < 600 and abs(start_index - 400) <= 30
    assert first.data["direction"] == "up"


def test_drift_configuration_problems(app: App) -> None:
    with pytest.raises(InvalidInput) as err:
        app.drift.watch("x", "y", {"reference": {"twin": "r"}, "delta": 0.1, "threshold": 1})
    assert err.value.problems[0].pointer == "/drift/x/y/reference"
    with pytest.raises(InvalidInput) as err:
        app.drift.watch("x", "y", {"reference": {"twin": "r", "telemetry": "t"}, "method": "magic"})
    assert err.value.problems[0].pointer == "/drift/x/y/method"
    with pytest.raises(InvalidInput) as err:
        app.drift.watch("x", "y", {"reference": {"twin": "r", "telemetry": "t"}, "delta": -1, "threshold": 1})
    assert err.value.problems[0].pointer.startswith("/drift/x/y/")
