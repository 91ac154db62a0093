"""The behaviour runtime end to end: attach, run, derived telemetry with provenance, failures, triggers,
what-if scenarios and the validation report, over a real store and the real telemetry path."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App
from futago.core.errors import Conflict, InvalidInput
from futago.core.events import Event
from futago.core.telemetry import Reading, format_timestamp, parse_timestamp
from futago.sim import scenario, validation
from futago.sim.models.tank import RiverStageModel
from futago.sim.runtime import BEHAVIOUR_FAILED, BEHAVIOUR_RAN

M = "dtmi:futago:demo:"
START = parse_timestamp("2026-07-01T00:00:00Z")
STEP = 600_000_000
STEPS = 432  # three days of 10-minute steps
TRUE_PARAMS = {"a11": 0.16, "a12": 0.05, "b1": 0.1}
LEVELS = {"standbyLevel": 1.5, "cautionLevel": 2.5, "evacuationLevel": 3.2, "dangerLevel": 4.0}


def _rain() -> np.ndarray:
    rng = np.random.default_rng(11)
    rain = np.zeros(STEPS)
    for start in (40, 200, 380):
        rain[start : start + 30] = rng.gamma(2.0, 7.0, 30)
    return rain


@pytest.fixture
def river(app: App) -> App:
    app.twins.put("rain-1", {"$metadata": {"$model": M + "RainGauge;1"}})
    app.twins.put("river-1", {"$metadata": {"$model": M + "RiverStation;1"}, **LEVELS})
    app.twins.put("river-2", {"$metadata": {"$model": M + "RiverStation;1"}})
    rain = _rain()
    level = RiverStageModel(**TRUE_PARAMS).predict(rain.reshape(-1, 1))
    level += np.random.default_rng(2).normal(0.0, 0.01, STEPS)
    ts = START + np.arange(STEPS) * STEP
    app.telemetry.append([Reading("rain-1", "rainfall", int(t), float(v)) for t, v in zip(ts, rain, strict=True)])
    app.telemetry.append([Reading("river-1", "waterLevel", int(t), float(v)) for t, v in zip(ts, level, strict=True)])
    return app


def _behaviour(**overrides: Any) -> dict[str, Any]:
    body = {
        "model": "river_stage",
        "params": dict(TRUE_PARAMS),
        "twins": ["river-1"],
        "inputs": {"rainfall": {"twin": "rain-1", "telemetry": "rainfall"}},
        "measured": "waterLevel",
        "window": "24h",
        "horizon": "6h",
        "members": 400,
        "tolerances": {"rmse": 0.05, "nse": 0.9},
    }
    return {**body, **overrides}


END = START + STEPS * STEP


@pytest.fixture
def events(river: App) -> Iterator[list[Event]]:
    seen: list[Event] = []
    unsubscribe = river.bus.subscribe(seen.append)
    yield seen
    unsubscribe()


def test_on_demand_run_writes_forecast_with_quantiles_exceedance_and_provenance(
    river: App, events: list[Event]
) -> None:
    river.behaviours.put("flood", _behaviour())
    (record,) = river.behaviours.run("flood", now_us=END)
    assert record["status"] == "ok", record
    assert {"waterLevel_sim", "waterLevel_forecast", "waterLevel_forecast~q05", "waterLevel_forecast~q95"} <= set(
        record["outputs"]
    )
    assert {f"waterLevel_exceedance~{s}" for s in ("standby", "caution", "evacuation", "danger")} <= set(
        record["outputs"]
    )
    # provenance: model name, version and parameters; every input's twin, telemetry and count; the time range
    assert record["model"]["name"] == "river_stage" and record["model"]["version"] == "1"
    assert record["model"]["params"]["a11"] == TRUE_PARAMS["a11"]
    assert record["inputs"]["inputs"]["rainfall"] == {"twin": "rain-1", "telemetry": "rainfall", "count": 144}
    assert record["inputs"]["inputs"]["measured"]["count"] == 144
    assert record["inputs"]["window"] == {"from": "2026-07-03T00:00:00.000Z", "to": "2026-07-04T00:00:00.000Z"}
    forecast = river.telemetry.history("river-1", "waterLevel_forecast")
    assert len(forecast) == 36 and int(forecast.columns["ts"][0]) == END
    low = river.telemetry.history("river-1", "waterLevel_forecast~q05").columns["value"]
    high = river.telemetry.history("river-1", "waterLevel_forecast~q95").columns["value"]
    assert (np.asarray(low) <= np.asarray(forecast.columns["value"]) + 1e-9).all()
    assert (np.asarray(high) >= np.asarray(forecast.columns["value"]) - 1e-9).all()
    probabilities = record["summary"]["exceedance"]
    assert set(probabilities) == {"standby", "caution", "evacuation", "danger"}
    assert list(probabilities.values()) == sorted(probabilities.values(), reverse=True)
    (stored,) = river.store.list_behaviour_runs("flood")
    assert stored.id == record["id"] and stored.outputs == record["outputs"]
    assert any(e.type == BEHAVIOUR_RAN and e.data["run"] == record["id"] for e in events)


def test_attached_to_a_model_runs_for_every_twin_of_it(river: App) -> None:
    body = _behaviour(twins=[], twinModel=M + "RiverStation;1", members=0)
    spec = river.behaviours.put("all-rivers", body)
    assert river.behaviours.twins_of(spec) == ["river-1", "river-2"]
    records = river.behaviours.run("all-rivers", now_us=END)
    assert [r["twinId"] for r in records] == ["river-1", "river-2"]
    assert all(r["status"] == "ok" for r in records)


def test_a_failing_behaviour_raises_an_event_and_ingestion_goes_on(river: App, events: list[Event]) -> None:
    river.behaviours.put("broken", _behaviour(inputs={"rainfall": {"twin": "no-such-gauge", "telemetry": "rainfall"}}))
    river.behaviours.start()
    try:
        (record,) = river.behaviours.run("broken", now_us=END)
        assert record["status"] == "failed" and "no-such-gauge" in record["error"]
        failed = [e for e in events if e.type == BEHAVIOUR_FAILED]
        assert failed and failed[0].data["error"] == record["error"]
        assert river.telemetry.append([Reading("rain-1", "rainfall", END, 1.0)]) == 1
    finally:
        river.behaviours.stop()


def test_new_readings_trigger_a_run(river: App) -> None:
    river.behaviours.put("live", _behaviour(members=0, trigger={"onReadings": True}))
    river.behaviours.start()
    try:
        now = time.time_ns() // 1000
        river.telemetry.append([Reading("river-1", "waterLevel", now, 1.0)])
        deadline = time.monotonic() + 10
        while not river.store.list_behaviour_runs("live") and time.monotonic() < deadline:
            time.sleep(0.05)
        runs = river.store.list_behaviour_runs("live")
        assert runs and runs[0].twin_id == "river-1"
    finally:
        river.behaviours.stop()


def test_scheduled_behaviours_run_on_their_interval(river: App) -> None:
    river.behaviours.put("every", _behaviour(members=0, trigger={"every": "1s"}))
    river.behaviours.start()
    try:
        deadline = time.monotonic() + 10
        while len(river.store.list_behaviour_runs("every")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(river.store.list_behaviour_runs("every")) >= 2
    finally:
        river.behaviours.stop()


def test_scenarios_compare_side_by_side_and_never_write(river: App) -> None:
    river.behaviours.put("flood", _behaviour(members=300))
    river.telemetry.append([Reading("rain-1", "rainfall_forecast", END + i * STEP, 12.0) for i in range(36)])
    before = river.store.series_names("river-1")
    result = scenario.compare(
        river.behaviours,
        "flood",
        "river-1",
        END,
        [
            {"name": "rain x1.5", "inputs": {"rainfall": {"scale": 1.5}}},
            {"name": "dry", "inputs": {"rainfall": {"set": 0}}},
        ],
    )
    base, wetter, dry = result["baseline"], *result["scenarios"]
    assert wetter["summary"]["peak"] > base["summary"]["peak"] > dry["summary"]["peak"]
    assert wetter["difference"]["peak"] == pytest.approx(wetter["summary"]["peak"] - base["summary"]["peak"])
    assert wetter["summary"]["exceedance"]["caution"] >= base["summary"]["exceedance"]["caution"]
    assert river.store.series_names("river-1") == before
    assert river.store.list_behaviour_runs("flood") == []


def test_scenario_overrides_are_checked() -> None:
    from futago.sim.runners import RunInputs

    inputs = RunInputs(np.arange(3), np.zeros((3, 1)), None, np.arange(2), np.ones((2, 1)))
    with pytest.raises(InvalidInput) as caught:
        scenario.apply_overrides(inputs, ["rainfall"], {"snow": {"scale": 2}, "rainfall": {"times": 2}}, "/inputs")
    assert {p.pointer for p in caught.value.problems} == {"/inputs/snow", "/inputs/rainfall"}
    changed = scenario.apply_overrides(inputs, ["rainfall"], {"rainfall": {"add": 2}}, "/inputs")
    assert changed.future_X.tolist() == [[3.0], [3.0]] and inputs.future_X.tolist() == [[1.0], [1.0]]


def test_validation_report_passes_with_true_parameters_and_fails_with_wrong_ones(river: App, tmp_path: Path) -> None:
    river.behaviours.put("truth", _behaviour())
    report = validation.validate_behaviour(river.behaviours, "truth", "river-1", START, END)
    assert report.passed, report.checks
    assert report.metrics["nse"] > 0.99 and report.metrics["kge"] > 0.95 and report.n == STEPS
    assert set(report.plots) == {"residuals", "scatter"}
    paths = report.save_plots(tmp_path, "truth")
    assert all(Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths.values())
    with pytest.raises(Conflict):  # two behaviours may not write the same series on one twin
        river.behaviours.put("wrong", _behaviour(params={"a11": 0.03, "a12": 0.01, "b1": 0.3}))
    river.behaviours.put("wrong", _behaviour(params={"a11": 0.03, "a12": 0.01, "b1": 0.3}, output="guessLevel"))
    wrong = validation.validate_behaviour(river.behaviours, "wrong", "river-1", START, END)
    assert not wrong.passed and not wrong.checks["rmse"]["ok"]
    assert wrong.checks["rmse"]["value"] > 0.05


def test_behaviour_api(river: App) -> None:
    with TestClient(create_api(river), raise_server_exceptions=False) as client:
        bad = client.put("/behaviours/x", json={"model": "nope", "twins": ["river-1"], "step": "soon"})
        assert bad.status_code == 422
        pointers = {e["pointer"] for e in bad.json()["errors"]}
        assert {"/model", "/step"} <= pointers
        ok = client.put("/behaviours/flood", json=_behaviour(members=100))
        assert ok.status_code == 201 and ok.headers["location"] == "/behaviours/flood", ok.text
        assert ok.json()["outputs"] == ["waterLevel_exceedance", "waterLevel_forecast", "waterLevel_sim"]
        assert client.put("/behaviours/flood", json=_behaviour(members=100)).status_code == 200
        assert ok.json()["version"] == "1" and ok.json()["kind"] == "simulator"
        assert client.get("/behaviours/flood").json()["attachedTwins"] == ["river-1"]
        run = client.post("/behaviours/flood/run", params={"twin": "river-1"})
        assert run.status_code == 200 and run.json()["value"][0]["status"] in ("ok", "failed")
        assert client.post("/behaviours/flood/run", params={"twin": "river-2"}).status_code == 422
        runs = client.get("/behaviours/flood/runs").json()["value"]
        assert runs[0]["id"] == run.json()["value"][0]["id"]
        report = client.get(
            "/behaviours/flood/validation",
            params={"twin": "river-1", "from": "2026-07-01T00:00:00Z", "to": "2026-07-04T00:00:00Z"},
        )
        assert report.status_code == 200, report.text
        assert report.json()["passed"] is True
        assert report.json()["plots"]["scatter"].startswith("data:image/png;base64,")
        assert client.get("/behaviours/nope/runs").status_code == 404
        assert client.delete("/behaviours/flood").status_code == 204
        assert client.get("/behaviours").json()["value"] == []


def test_cli_validate_and_calibrate(river: App, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from futago.cli import main

    river.behaviours.put("guess", _behaviour(params={"a11": 0.08, "a12": 0.1, "b1": 0.05}))
    db = river.store.url.removeprefix("sqlite:///")
    period = ["--twin", "river-1", "--from", "2026-07-01T00:00:00Z", "--to", "2026-07-04T00:00:00Z", "--db", db]
    before = CliRunner().invoke(main, ["validate", "guess", *period, "--json", "--out", str(tmp_path / "v")])
    assert before.exit_code == 1, before.output  # the guess misses the tolerances
    report = json.loads(before.output)
    assert report["passed"] is False and set(report["plots"]) == {"residuals", "scatter"}
    assert Path(report["plots"]["scatter"]).is_file()
    fitted = CliRunner().invoke(main, ["calibrate", "guess", *period, "--json", "--save"])
    assert fitted.exit_code == 0, fitted.output
    result = json.loads(fitted.output)
    for name, true in TRUE_PARAMS.items():
        low, high = result["ci95"][name]
        assert low <= true <= high, (name, result["params"][name], result["ci95"][name])
    assert result["rmse"] < result["rmseBefore"]
    after = CliRunner().invoke(main, ["validate", "guess", *period, "--json", "--out", str(tmp_path / "v")])
    assert after.exit_code == 0, after.output
    assert json.loads(after.output)["passed"] is True


def test_forecaster_and_detector_behaviours(app: App) -> None:
    app.twins.put("pump-9", {"$metadata": {"$model": M + "Pump;1"}, "name": "P", "setpoint": 1.0})
    rng = np.random.default_rng(4)
    ts = START + np.arange(STEPS) * STEP
    daily = 45 + 5 * np.sin(np.arange(STEPS) / 144 * 2 * np.pi)
    temperature = daily + rng.normal(0, 0.2, STEPS)
    flow = 2.0 + rng.normal(0, 0.05, STEPS)
    app.telemetry.append(
        [Reading("pump-9", "bearingTemperature", int(t), float(v)) for t, v in zip(ts, temperature, strict=True)]
        + [Reading("pump-9", "flow", int(t), float(v)) for t, v in zip(ts, flow, strict=True)]
    )
    app.behaviours.put(
        "temp-forecast",
        {"model": "seasonal_naive", "params": {"period": 144}, "twins": ["pump-9"], "measured": "bearingTemperature",
         "window": "2d", "horizon": "3h"},
    )  # fmt: skip
    (record,) = app.behaviours.run("temp-forecast", now_us=START + 390 * STEP)
    assert record["status"] == "ok", record
    forecast = app.telemetry.history("pump-9", "bearingTemperature_forecast")
    assert len(forecast) == 18
    # seasonal naive: the forecast repeats yesterday at the same time of day
    np.testing.assert_allclose(forecast.columns["value"], temperature[390 - 144 : 390 - 144 + 18], atol=1e-9)
    assert "bearingTemperature_forecast~q95" in record["outputs"]

    # A second pump runs steadily until its bearing runs hot for ten steps.
    app.twins.put("pump-8", {"$metadata": {"$model": M + "Pump;1"}, "name": "Q", "setpoint": 1.0})
    steady = 45 + rng.normal(0, 0.2, STEPS)
    steady[400:410] += 8.0
    app.telemetry.append(
        [Reading("pump-8", "bearingTemperature", int(t), float(v)) for t, v in zip(ts, steady, strict=True)]
        + [Reading("pump-8", "flow", int(t), float(v)) for t, v in zip(ts, flow, strict=True)]
    )
    app.behaviours.put(
        "bearing",
        {"model": "robust_z", "twins": ["pump-8"], "inputs": {"t": "bearingTemperature", "f": "flow"},
         "step": "10m", "window": "3d", "train": "1d"},
    )  # fmt: skip
    (first,) = app.behaviours.run("bearing", now_us=START + 395 * STEP)
    assert first["status"] == "ok", first
    assert first["summary"]["scored"] == 432 - 144  # the 3-day window after the day it learned from
    assert first["summary"]["anomalies"] <= 5  # normal operation: at most 2 % false alarms
    (second,) = app.behaviours.run("bearing", now_us=END)
    assert second["summary"]["scored"] == STEPS - 395  # only the rows not scored before
    flags = app.telemetry.history("pump-8", "anomaly", start=format_timestamp(START + 395 * STEP))
    flagged = {int((t - START) // STEP) for t, v in zip(flags.columns["ts"], flags.columns["value"], strict=True) if v}
    assert set(range(400, 410)) <= flagged and len(flagged) <= 15


def test_remaining_life_runs_as_a_behaviour_from_a_saved_model(app: App, tmp_path: Path) -> None:
    """A fleet-trained RUL pipeline (the ``artifact``) answers for a live twin's sensor history, hour by hour."""
    import pickle

    from futago.analytics.rul import RULPipeline, run_to_failure_rul
    from tests.analytics.cases.rul import synthetic_fleet

    readings, units, _ = synthetic_fleet(12, seed=3)
    pipeline = RULPipeline(window=10, regressor="ridge").fit(readings, run_to_failure_rul(units, len(units)))
    app.behaviours.artifacts_dir = tmp_path  # the administrator's folder of saved models
    artifact = tmp_path / "rul.pkl"
    artifact.write_bytes(pickle.dumps(pipeline))
    names = [f"s{i}" for i in range(1, 6)]
    app.models.add(
        [
            {
                "@context": "dtmi:dtdl:context;3",
                "@id": "dtmi:test:Engine;1",
                "@type": "Interface",
                "contents": [{"@type": "Telemetry", "name": n, "schema": "double"} for n in names],
            }
        ]
    )
    app.twins.put("engine-1", {"$metadata": {"$model": "dtmi:test:Engine;1"}})
    life, _, _ = synthetic_fleet(1, seed=9, min_life=200, max_life=201)
    hour = 3_600_000_000
    app.telemetry.append(
        [
            Reading("engine-1", name, START + i * hour, float(row[j]))
            for i, row in enumerate(life[:180])
            for j, name in enumerate(names)
        ]
    )
    app.behaviours.put(
        "rul",
        {"model": "rul_pipeline", "artifact": "rul.pkl", "twins": ["engine-1"], "output": "rul",
         "inputs": {n: n for n in names}, "step": "1h", "window": "180h"},
    )  # fmt: skip
    (record,) = app.behaviours.run("rul", now_us=START + 180 * hour)
    assert record["status"] == "ok", record
    assert record["model"]["artifact"] == "rul.pkl" and record["model"]["name"] == "rul_pipeline"
    rul = np.asarray(app.telemetry.history("engine-1", "rul").columns["value"])
    assert len(rul) == 180
    assert rul[:100].mean() > 90  # healthy early life reads near the cap
    assert rul[-1] < 60  # 20 cycles before failure, the pipeline sees the wear
    artifact.write_bytes(pickle.dumps({"not": "a model"}))  # not a fitted model of the named kind: refused
    with pytest.raises(InvalidInput) as caught:
        app.behaviours.put("rul2", {"model": "rul_pipeline", "artifact": "rul.pkl", "twins": ["engine-1"]})
    assert caught.value.problems[0].pointer == "/artifact"
    for outside in ("../rul.pkl", "/etc/passwd"):  # nothing outside the artifacts folder is ever opened
        with pytest.raises(InvalidInput) as caught:
            app.behaviours.put("rul3", {"model": "rul_pipeline", "artifact": outside, "twins": ["engine-1"]})
        assert caught.value.problems[0].pointer == "/artifact"


def test_only_the_runtime_writes_derived_telemetry(river: App) -> None:
    river.behaviours.put("flood", _behaviour(members=0))
    with pytest.raises(InvalidInput):  # a device cannot fake a forecast or an anomaly flag
        river.telemetry.append([Reading("river-1", "waterLevel_forecast", END, 9.0)])
    with pytest.raises(InvalidInput):  # nor invent series names under a forecast
        river.telemetry.append([Reading("rain-1", "rainfall_forecast~bogus", END, 1.0)])
    assert river.telemetry.append([Reading("rain-1", "rainfall_forecast~q95", END, 1.0)]) == 1
    (record,) = river.behaviours.run("flood", now_us=END)
    assert record["status"] == "ok" and len(river.telemetry.history("river-1", "waterLevel_forecast")) == 36


def test_a_stored_behaviour_that_no_longer_parses_does_not_stop_the_app(river: App) -> None:
    from futago.app import build

    river.store.put_behaviour("stale", {"model": "renamed_in_a_new_version", "twins": ["river-1"]})
    river.store.put_behaviour("good", _behaviour(members=0))
    again = build(river.settings.with_overrides(behaviours={"good": _behaviour(members=10)}))
    try:
        assert "stale" in again.behaviours.invalid and "renamed_in_a_new_version" in again.behaviours.invalid["stale"]
        assert again.behaviours.get("good").members == 0  # the stored (API) definition wins over the file's
        assert again.behaviours.source("good") == "api"
    finally:
        again.close()


def test_behaviours_from_the_settings_cannot_be_deleted_through_the_api(river: App) -> None:
    river.behaviours.load({"from-file": _behaviour(members=0)})
    with pytest.raises(Conflict):
        river.behaviours.delete("from-file")
    assert river.behaviours.source("from-file") == "settings"


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"params": {**TRUE_PARAMS, "dt_s": 60.0}}, "/params/dt_s"),  # the model must step as the inputs do
        ({"params": {"a11": "abc"}}, "/params"),
        ({"members": 500_000}, "/members"),
        ({"window": "3650d", "step": "1s"}, "/window"),
        ({"uncertainty": "x"}, "/uncertainty"),
        ({"uncertainty": {"params": {"nope": 0.1}}}, "/uncertainty/params/nope"),
        ({"tolerances": {"coverage": 0.9}}, "/tolerances/coverage"),
        ({"model": "robust_z", "params": {}, "inputs": {"w": "waterLevel"}, "output": "waterLevel"}, "/output"),
    ],
)
def test_bad_behaviours_are_refused_when_defined(river: App, change: dict[str, Any], pointer: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        river.behaviours.put("bad", _behaviour(**change))
    assert pointer in {p.pointer for p in caught.value.problems}


@pytest.mark.parametrize(
    ("scenario", "pointer"),
    [
        ({"params": ["a11"]}, "/scenarios/0/params"),
        ({"params": {"a11": "abc"}}, "/scenarios/0/params/a11"),
        ({"params": {"dt_s": "x"}}, "/scenarios/0/params/dt_s"),
        ({"params": {"initial_storage_mm": [1]}}, "/scenarios/0/params/initial_storage_mm"),
        ({"state": ["a"]}, "/scenarios/0/state"),
        ({"state": [1, 2]}, "/scenarios/0/state"),
        ({"inputs": [1]}, "/scenarios/0/inputs"),
        ({"colour": "red"}, "/scenarios/0/colour"),
    ],
)
def test_bad_scenarios_are_answered_as_problems(river: App, scenario: dict[str, Any], pointer: str) -> None:
    river.behaviours.put("flood", _behaviour(members=0))
    with TestClient(create_api(river), raise_server_exceptions=False) as client:
        body = {"twin": "river-1", "at": "2026-07-04T00:00:00Z", "scenarios": [scenario]}
        answer = client.post("/behaviours/flood/scenarios", json=body)
        assert answer.status_code == 422, answer.text
        assert pointer in {e["pointer"] for e in answer.json()["errors"]}
        for at in ("0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z"):
            extreme = client.post("/behaviours/flood/scenarios", json={**body, "at": at, "scenarios": []})
            assert extreme.status_code == 422 and extreme.json()["errors"][0]["pointer"] == "/at"
        other = client.post("/behaviours/flood/scenarios", json={**body, "twin": "river-2", "scenarios": []})
        assert other.status_code == 422  # not attached: no reading of twins the behaviour does not serve


def test_a_run_without_input_readings_fails_rather_than_assuming_zero(river: App) -> None:
    river.behaviours.put("flood", _behaviour(members=0))
    (record,) = river.behaviours.run("flood", now_us=START - 3600 * 10**6)  # before any rain was measured
    assert record["status"] == "failed" and "no readings of rain-1.rainfall" in record["error"]


def test_the_runtime_restarts_and_does_not_lose_triggers(river: App) -> None:
    river.behaviours.put("live", _behaviour(members=0, trigger={"onReadings": True}, window="6h"))
    for _ in range(2):  # stop and start again: the worker must come back
        river.behaviours.start()
        river.behaviours.stop()
    river.behaviours.start()
    try:
        now = time.time_ns() // 1000
        for i in range(3):
            river.telemetry.append([Reading("rain-1", "rainfall", now - (i + 1) * STEP, 1.0)])
            river.telemetry.append([Reading("river-1", "waterLevel", now + i, 1.0)])
            assert river.behaviours.drain(10)
        runs = river.store.list_behaviour_runs("live")
        assert len(runs) >= 3 and all(r.status == "ok" for r in runs), [r.error for r in runs]
    finally:
        river.behaviours.stop()
