"""Dask for ensembles and scenario sweeps: bit-for-bit the numbers of the in-process path for the same seed, on a
LocalCluster of worker processes and on a real ``dask scheduler`` and ``dask worker`` started as processes.

One cluster of each kind serves the whole module (the machine may have two cores), and the work is kept small.
"""

from __future__ import annotations

import functools
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

from futago.app import App
from futago.cli import main
from futago.core.errors import InvalidInput
from futago.core.telemetry import Reading, parse_timestamp
from futago.sim import scenario
from futago.sim.distributed import POINTER, ClusterUnavailable, DaskMapper, check_address, dask_mapper
from futago.sim.ensemble import Uncertainty, run_ensemble
from futago.sim.models.tank import RiverStageModel
from tests.conftest import free_port

M = "dtmi:futago:demo:"
STEP = 600_000_000
STEPS = 200
PARAMS = {"a11": 0.16, "a12": 0.05, "b1": 0.1}
LEVELS = {"standbyLevel": 1.5, "cautionLevel": 2.5, "evacuationLevel": 3.2, "dangerLevel": 4.0}
SPREAD = Uncertainty(inputs={"rainfall": 0.35}, params={"a11": 0.15, "b1": 0.15})
SCENARIOS: list[dict[str, Any]] = [
    {"name": "rain x1.5", "inputs": {"rainfall": {"scale": 1.5}}},
    {"name": "dry", "inputs": {"rainfall": {"set": 0}}},
    {"name": "faster outflow", "params": {"a11": 0.25}},
    {"name": "wetter start", "inputs": {"rainfall": {"add": 3}}, "params": {"b1": 0.12}},
]


# clusters ------------------------------------------------------------------------------------------------------
def _dask_command(*args: str) -> list[str]:
    """The venv's ``dask`` command, or the same through ``python -m`` where no script was installed."""
    script = Path(sys.executable).with_name("dask")
    if script.is_file():
        return [str(script), *args]
    module = {"scheduler": "distributed.cli.dask_scheduler", "worker": "distributed.cli.dask_worker"}[args[0]]
    return [sys.executable, "-m", module, *args[1:]]


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the dask process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout_s} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``dask scheduler`` and one ``dask worker`` (no nanny: one process each, so stopping it stops it all)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    started: list[subprocess.Popen[bytes]] = []
    try:
        with (logs / "scheduler.log").open("wb") as log:
            started.append(
                subprocess.Popen(
                    _dask_command("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=logs,
                )
            )
        _wait_for_port(port, started[0])
        with (logs / "worker.log").open("wb") as log:
            started.append(
                subprocess.Popen(
                    _dask_command(
                        "worker",
                        address,
                        "--host",
                        "127.0.0.1",
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--local-directory",
                        str(logs),
                    ),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=logs,
                )
            )
        yield address
    finally:
        for process in reversed(started):  # the worker first, so it does not wait on a scheduler that is gone
            _stop(process)


@pytest.fixture(scope="module", params=["local", "scheduler"])
def mapper(request: pytest.FixtureRequest) -> Iterator[DaskMapper]:
    address = "local" if request.param == "local" else request.getfixturevalue("scheduler")
    with dask_mapper(address, timeout_s=60.0) as opened:
        yield opened


# ensembles -----------------------------------------------------------------------------------------------------
def _rain(steps: int = 18) -> np.ndarray:
    return (20.0 * np.sin(np.linspace(0.0, np.pi, steps)) ** 2).reshape(-1, 1)


def test_an_ensemble_on_dask_equals_the_in_process_one_for_the_same_seed(mapper: DaskMapper) -> None:
    model, rain = RiverStageModel(dt_s=600.0), _rain()
    run = functools.partial(run_ensemble, model, rain, 2_500, SPREAD, chunk=400)  # 7 chunks: several tasks
    here, there = run(seed=7), run(seed=7, mapper=mapper)
    assert there.members.shape == (2_500, 18)
    assert np.array_equal(there.members, here.members)
    other = run(seed=8, mapper=mapper)
    assert not np.array_equal(other.members, here.members)
    assert np.array_equal(other.members, run(seed=8).members)


def test_a_task_s_own_error_comes_back_with_its_problems(mapper: DaskMapper) -> None:
    task = functools.partial(run_ensemble, RiverStageModel(), _rain(), uncertainty=SPREAD)
    with pytest.raises(InvalidInput) as caught:
        mapper(task, [10, 0])  # the second "ensemble" has no members, refused on the worker
    assert [p.pointer for p in caught.value.problems] == ["/members"]
    assert [r.members.shape for r in mapper(task, [3, 2])] == [(3, 18), (2, 18)]  # the answers in input order


# scenario sweeps -----------------------------------------------------------------------------------------------
@pytest.fixture
def river(app: App) -> tuple[App, int]:
    """A rain gauge and a river station with history up to the last whole step before now, and a rain forecast;
    a 300-member ensemble forecast behaviour on the station. Returns the app and the end of the history."""
    end = time.time_ns() // 1000 // STEP * STEP
    ts = end - STEP * np.arange(STEPS, 0, -1)
    app.twins.put("rain-1", {"$metadata": {"$model": M + "RainGauge;1"}})
    app.twins.put("river-1", {"$metadata": {"$model": M + "RiverStation;1"}, **LEVELS})
    rain = np.zeros(STEPS)
    rain[120:160] = np.random.default_rng(11).gamma(2.0, 7.0, 40)
    level = RiverStageModel(**PARAMS).predict(rain.reshape(-1, 1))
    app.telemetry.append([Reading("rain-1", "rainfall", int(t), float(v)) for t, v in zip(ts, rain, strict=True)])
    app.telemetry.append([Reading("river-1", "waterLevel", int(t), float(v)) for t, v in zip(ts, level, strict=True)])
    app.telemetry.append([Reading("rain-1", "rainfall_forecast", end + i * STEP, 9.0) for i in range(36)])
    app.behaviours.put(
        "flood",
        {
            "model": "river_stage",
            "params": dict(PARAMS),
            "twins": ["river-1"],
            "inputs": {"rainfall": {"twin": "rain-1", "telemetry": "rainfall"}},
            "measured": "waterLevel",
            "window": "24h",
            "horizon": "6h",
            "members": 300,
        },
    )
    return app, end


def test_a_sweep_on_dask_equals_the_in_process_one(mapper: DaskMapper, river: tuple[App, int]) -> None:
    app, end = river
    here = scenario.sweep(app.behaviours, "flood", "river-1", end, SCENARIOS)
    there = mapper.sweep(app.behaviours, "flood", "river-1", end, SCENARIOS)
    assert there == here  # every number of every series and summary, exactly
    assert [s["name"] for s in there["scenarios"]] == [s["name"] for s in SCENARIOS]  # in input order
    peaks = [s["summary"]["peak"] for s in there["scenarios"]]
    assert peaks[0] > there["baseline"]["summary"]["peak"] > peaks[1]
    # Another start is another seed (and history): other members, still the same on both paths.
    earlier = scenario.sweep(app.behaviours, "flood", "river-1", end - STEP, SCENARIOS, mapper=mapper)
    assert earlier["scenarios"][0]["series"] != there["scenarios"][0]["series"]
    assert earlier == scenario.sweep(app.behaviours, "flood", "river-1", end - STEP, SCENARIOS)


def test_a_bad_scenario_is_refused_before_anything_runs(mapper: DaskMapper, river: tuple[App, int]) -> None:
    app, end = river
    bad = [*SCENARIOS, {"name": "x", "params": {"nope": 1}}]
    with pytest.raises(InvalidInput) as caught:
        mapper.sweep(app.behaviours, "flood", "river-1", end, bad)
    assert caught.value.problems[0].pointer == "/scenarios/4/params/nope"


# the command line ----------------------------------------------------------------------------------------------
def _db(app: App) -> str:
    return app.settings.db


def test_cli_sweep_and_run_on_a_scheduler(scheduler: str, river: tuple[App, int], tmp_path: Path) -> None:
    app, end = river
    file = tmp_path / "scenarios.json"
    file.write_text(json.dumps(SCENARIOS))
    at = str(end // 1000)  # epoch milliseconds
    args = ["sim", "sweep", "flood", "--twin", "river-1", "--scenarios", str(file), "--at", at, "--json"]
    answer = CliRunner().invoke(main, [*args, "--dask", scheduler, "--db", _db(app)])
    assert answer.exit_code == 0, answer.output
    expected = orjson.loads(orjson.dumps(scenario.sweep(app.behaviours, "flood", "river-1", end, SCENARIOS)))
    assert json.loads(answer.output) == expected

    table = CliRunner().invoke(main, [*args[:-1], "--dask", scheduler, "--db", _db(app)])
    assert table.exit_code == 0 and "outflow" in table.output and "peak" in table.output, table.output

    ran = CliRunner().invoke(main, ["behaviours", "run", "flood", "--dask", scheduler, "--db", _db(app)])
    assert ran.exit_code == 0, ran.output
    (record,) = json.loads(ran.output)
    assert record["status"] == "ok", record
    # The same window (so the same seed) in process gives the same forecast.
    (again,) = app.behaviours.run("flood", "river-1", now_us=parse_timestamp(record["inputs"]["window"]["to"]))
    assert again["summary"] == record["summary"]


def test_cli_explains_a_bad_or_unreachable_address(tmp_path: Path) -> None:
    db = str(tmp_path / "x.db")
    bad = CliRunner().invoke(main, ["behaviours", "run", "flood", "--dask", "http://example.org", "--db", db])
    assert bad.exit_code == 1 and "tcp://host:port" in bad.output and "Traceback" not in bad.output
    help_text = CliRunner().invoke(main, ["sim", "sweep", "--help"])
    assert help_text.exit_code == 0 and "--dask" in help_text.output and "--scenarios" in help_text.output


# addresses -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("address", ["http://10.0.0.5:8786", "tcp://10.0.0.5", "10.0.0.5:8786", "tcp://:8786", "x"])
def test_a_malformed_address_is_refused_with_a_pointer(address: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_address(address)
    assert caught.value.problems[0].pointer == POINTER


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(ClusterUnavailable) as caught, dask_mapper(address, timeout_s=1.0):
        pass
    assert caught.value.problems[0].pointer == POINTER and address in caught.value.detail
