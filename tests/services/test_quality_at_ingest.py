"""QARTOD at ingest: stored flags equal a batch run over the whole series, however it arrives."""

from __future__ import annotations

import numpy as np
import pytest

from futago.app import App
from futago.core.telemetry import QUALITY_FAIL
from futago.quality import QcConfig, run_batch

M = "dtmi:futago:demo:"
CONFIG = {
    "gross_range": {"fail_span": [0, 10], "suspect_span": [0.5, 8]},
    "spike": {"suspect_threshold": 0.5, "fail_threshold": 2.0},
    "rate_of_change": {"threshold": 0.05},
}


@pytest.mark.parametrize("chunk", [1, 3, 7, 200])
def test_flags_stored_at_ingest_equal_the_batch_reference(app: App, chunk: int) -> None:
    app.twins.put("rs", {"$metadata": {"$model": M + "RiverStation;1"}})
    app.telemetry.checks.configure(M + "Sensor;1", "waterLevel", CONFIG)  # set on the parent model
    rng = np.random.default_rng(chunk)
    values = 3 + np.cumsum(rng.normal(0, 0.2, 120))
    values[[20, 55]] += [4.0, -2.5]  # spikes
    values[90] = 11.0  # beyond the sensor span
    ts = 1_767_225_600_000_000 + np.arange(120, dtype=np.int64) * 60_000_000
    rows = [("rs", "waterLevel", int(t), float(v), 2) for t, v in zip(ts, values, strict=True)]
    for start in range(0, len(rows), chunk):
        app.telemetry.append(rows[start : start + chunk])

    expected = run_batch(QcConfig.from_dict(CONFIG), ts, values)
    stored = app.store.read_series("rs", "waterLevel", None, None)
    # every reading but the newest is final; the newest waits for its neighbour (spike test)
    assert stored.quality[:-1].tolist() == expected.aggregate[:-1].tolist()
    assert stored.quality[90] == QUALITY_FAIL
    flags = app.telemetry.quality("rs", "waterLevel")
    assert set(flags["tests"]) == {"gross_range", "spike", "rate_of_change"}
    assert flags["tests"]["spike"][:-1] == expected.tests["spike"][:-1].tolist()
    assert flags["tests"]["gross_range"][90] == QUALITY_FAIL
    assert "waterLevel~qc:spike" not in app.telemetry.latest("rs")  # QC series stay out of the twin

    good = app.telemetry.history("rs", "waterLevel", min_quality=1)
    assert len(good) == int((expected.aggregate[:-1] == 1).sum())
    assert set(app.telemetry.history("rs", "waterLevel", min_quality=3).columns["quality"].tolist()) <= {
        1,
        2,
        3,
    }


def test_device_flag_is_kept_when_worse(app: App) -> None:
    app.twins.put("rs", {"$metadata": {"$model": M + "RiverStation;1"}})
    app.telemetry.checks.configure(M + "RiverStation;1", "waterLevel", {"gross_range": {"fail_span": [0, 10]}})
    app.telemetry.append([("rs", "waterLevel", i * 1_000_000, 1.0 + i / 10, 4 if i == 2 else 2) for i in range(5)])
    assert app.store.read_series("rs", "waterLevel", None, None).quality.tolist()[:4] == [1, 1, 4, 1]


def test_bad_quality_configuration_points_at_the_key(app: App) -> None:
    from futago.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as err:
        app.telemetry.checks.load({M + "RiverStation;1": {"waterLevel": {"spike": {"suspect_threshold": -1}}}})
    assert err.value.problems[0].pointer.startswith(f"/quality/{M}RiverStation;1/waterLevel/spike")


def test_overdue_readings_are_marked_missing_and_replaced_when_they_arrive(app: App) -> None:
    app.twins.put("rs", {"$metadata": {"$model": M + "RiverStation;1"}})
    config = {"gross_range": {"fail_span": [0, 10]}, "timing": {"expected_interval": 60, "grace": 10}}
    app.telemetry.checks.configure(M + "RiverStation;1", "waterLevel", config)
    t0 = 1_767_225_600_000_000
    app.telemetry.append([("rs", "waterLevel", t0 + i * 60_000_000, 2.0, 2) for i in range(3)])
    last = t0 + 120_000_000
    assert app.telemetry.mark_missing(last + 65_000_000) == 0  # within the grace
    assert app.telemetry.mark_missing(last + 190_000_000) == 3  # 3 expected readings are overdue
    assert app.telemetry.mark_missing(last + 190_000_000) == 0  # marked once
    stored = app.store.read_series("rs", "waterLevel", None, None)
    assert stored.quality.tolist()[-3:] == [9, 9, 9] and np.isnan(stored.values[-1])
    app.telemetry.append([("rs", "waterLevel", last + 60_000_000, 2.1, 2)])  # one arrives late after all
    stored = app.store.read_series("rs", "waterLevel", None, None)
    assert stored.values[3] == 2.1 and stored.quality[3] != 9 and len(stored) == 6
