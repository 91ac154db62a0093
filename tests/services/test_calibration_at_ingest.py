"""Calibration at ingest: calibrated values stored, raw kept, recomputed when a calibration changes."""

from __future__ import annotations

import pytest

from futago.app import App
from futago.core.errors import Conflict

M = "dtmi:futago:demo:"
T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _levels(app: App, raw: bool = False) -> list[float]:
    return [round(v, 6) for v in app.telemetry.history("rs", "waterLevel", raw=raw).columns["value"].tolist()]


def test_calibration_applies_at_ingest_and_recomputes_its_window(app: App) -> None:
    app.twins.put("rs", {"$metadata": {"$model": M + "RiverStation;1"}})
    rows = [("rs", "waterLevel", (T0_MS + h * 3_600_000) * 1000, 1.0 + h, 2) for h in range(6)]
    app.telemetry.append(rows[:3])  # before any calibration: stored as given
    change = app.telemetry.calibration.change(  # type: ignore[union-attr]
        "rs",
        "waterLevel",
        "add",
        "ops@city",
        "annual check",
        {
            "id": "c1",
            "kind": "linear",
            "gain": 2.0,
            "offset": 0.5,
            "validFrom": T0_MS + 2 * 3_600_000,
            "certificate": "JCSS-1",
        },
    )
    assert change.action == "created" and change.who == "ops@city"
    # the window reaches back: hour 2 is recomputed; hours 0-1 are outside it
    assert _levels(app) == [1.0, 2.0, 6.5]
    app.telemetry.append(rows[3:])  # new readings are calibrated as they arrive
    assert _levels(app) == [1.0, 2.0, 6.5, 8.5, 10.5, 12.5]
    assert _levels(app, raw=True) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # the raw values are kept

    corrected = app.telemetry.calibration.change(  # type: ignore[union-attr]
        "rs",
        "waterLevel",
        "correct",
        "ops@city",
        "certificate had a typo",
        {"id": "c1", "kind": "linear", "gain": 1.0, "offset": 1.0, "validFrom": T0_MS + 4 * 3_600_000},
    )
    assert corrected.before is not None and corrected.after is not None
    assert _levels(app) == [1.0, 2.0, 3.0, 4.0, 6.0, 7.0]  # recomputed from raw, window moved

    with pytest.raises(Conflict):
        app.telemetry.calibration.change(  # type: ignore[union-attr]
            "rs", "waterLevel", "add", "ops", "overlap", {"id": "c2", "gain": 3.0, "validFrom": T0_MS}
        )
    app.telemetry.calibration.change("rs", "waterLevel", "retire", "ops", "entered in error", calibration_id="c1")  # type: ignore[union-attr]
    assert _levels(app) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    actions = [c.action for c in app.store.list_calibration_changes("rs", "waterLevel")]
    assert actions == ["created", "corrected", "retired"]
