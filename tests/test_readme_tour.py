"""The README's examples that need the demo, pasted into a shell as written, against one running ``futago demo``.

The demo runs in a folder laid out as a checkout (tests/readme_blocks.py), with its default store
futago-data/demo.db, so the command-line examples open the same store the README names.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import readme_blocks
from tests.conftest import free_port
from tests.readme_blocks import SHARED_DATA, Block

BLOCKS = readme_blocks.blocks_for(__file__)


def _blocks(section: str) -> list[Block]:
    return [block for block in BLOCKS if block.section == section]


class Demo:
    def __init__(self, folder: Path, base: str) -> None:
        self.folder, self.base = folder, base

    def run(self, block: Block, timeout: float = 120) -> dict[str, str]:
        """Each command of ``block``, run in order; its output by command."""
        return {c: readme_blocks.run(c, self.folder, self.base, timeout) for c in block.commands()}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = readme_blocks.workspace(tmp_path_factory.mktemp("checkout"))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "futago.cli", "demo", "--port", str(port)],
        cwd=folder,
        env=readme_blocks.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the demo did not start within 90 s"
            time.sleep(0.2)
        yield Demo(folder, base)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def command_line(demo: Demo) -> dict[str, str]:
    """The tour's command-line block (which ingests the sample week the validation examples judge)."""
    (_, block) = _blocks("A five-minute tour")
    if not (SHARED_DATA / "dtdl" / "rec").is_dir():
        pytest.skip(f"RealEstateCore's DTDL not found at {SHARED_DATA / 'dtdl' / 'rec'} (../shared/data)")
    return demo.run(block)


def test_readme_tour_runs_against_the_demo(demo: Demo) -> None:
    (tour, _) = _blocks("A five-minute tour")
    outputs = list(demo.run(tour, timeout=60).items())
    by_start = {c.split("http://127.0.0.1:8000")[1].split()[0].strip("\"'"): out for c, out in outputs}
    health = json.loads(by_start["/health"])
    assert health["status"] == "ok" and health["twins"] >= 29
    assert "waterLevel" in json.loads(by_start["/twins/river-1"])["$telemetry"]
    problem = next(json.loads(out) for c, out in outputs if "bldg-901" in c)
    assert problem["status"] == 422 and problem["pointer"] == "/height"
    queries = [json.loads(out) for c, out in outputs if "/query" in c]
    sensors = {row["$dtId"] for row in queries[0]["value"]}
    # The live flood scenario's sensors join once its district is imported (a few seconds after start).
    assert {"river-1", "river-2", "rain-1"} <= sensors <= {"river-1", "river-2", "rain-1", "kano-station", "kano-rain"}
    assert {"name": "Town hall 市役所", "height": 32.0} in queries[1]["value"]
    near = {row["$dtId"] for row in queries[2]["value"]}
    assert "bldg-900" in near and "river-2" not in near
    raw = next(json.loads(out) for c, out in outputs if "from=2026-01-15T09:00:00Z" in c)
    assert [i["value"] for i in raw["points"]] == [3.2, 3.3]
    events = next(out for c, out in outputs if "/events" in c)
    assert "event: telemetry.appended" in events


def test_readme_command_line_examples(demo: Demo, command_line: dict[str, str]) -> None:
    validate, twins, query, _ = command_line.values()
    assert json.loads(validate) == {"interfaces": 767, "problems": []}  # RealEstateCore 3.3, read from the cache
    assert {"river-1", "river-2", "rain-1"} <= set(re.findall(r"│ ([\w-]+) +│", twins))
    rows = [json.loads(line)["T"] for line in query.splitlines() if line.startswith("{")]
    assert rows and all(row["usage"] == "public" for row in rows)
    week = {"from": "2026-07-01T00:00:00Z", "to": "2026-07-08T00:00:00Z", "bucket": "1d", "agg": "count"}
    for twin, name in (("river-1", "waterLevel"), ("river-2", "waterLevel"), ("rain-1", "rainfall")):
        daily = httpx.get(f"{demo.base}/twins/{twin}/telemetry", params={"name": name, **week}).json()
        assert [bucket["count"] for bucket in daily["points"]] == [144] * 7, daily  # the sample: 10-minute steps


def test_readme_validation_judges_the_sample_week(demo: Demo, command_line: dict[str, str]) -> None:
    (validate, calibrate) = _blocks("Simulation, forecasts and analytics")[1].commands()
    report = readme_blocks.run(validate, demo.folder, stderr=True)
    rmse = re.search(r"rmse +│ ([\d.]+) +│ ≤ 0.5 +│ pass", report)
    assert rmse and float(rmse.group(1)) < 0.5 and report.rstrip().endswith("passed"), report
    assert sorted(p.name for p in (demo.folder / "futago-data" / "validation").iterdir()) == [
        "river-forecast_river-1_residuals.png",
        "river-forecast_river-1_scatter.png",
    ]
    fitted = re.search(
        r"RMSE ([\d.]+) → ([\d.]+) over 1008 steps", readme_blocks.run(calibrate, demo.folder, stderr=True)
    )
    assert fitted and float(fitted.group(2)) < float(fitted.group(1)), fitted  # a week of 10-minute steps


def test_readme_behaviour_examples(demo: Demo) -> None:
    outputs = list(demo.run(_blocks("Simulation, forecasts and analytics")[0]).values())
    (record,) = json.loads(outputs[0])["value"]
    assert record["status"] == "ok" and "waterLevel_forecast" in record["outputs"], record
    assert set(record["summary"]["exceedance"]) == {"standby", "caution", "evacuation", "danger"}
    (wetter,) = json.loads(outputs[1])["scenarios"]
    baseline = json.loads(outputs[1])["baseline"]
    assert wetter["name"] == "rain x1.5" and wetter["summary"]["peak"] >= baseline["summary"]["peak"]


def test_readme_skab_replay_feeds_the_rig(demo: Demo) -> None:
    if not (SHARED_DATA / "skab" / "valve1" / "0.csv").is_file():
        pytest.skip(f"SKAB not found at {SHARED_DATA / 'skab'} (../shared/data)")
    (block,) = _blocks("Connecting devices")
    outputs = list(demo.run(block).values())
    connection = json.loads(outputs[-2])
    assert connection["status"]["state"] == "finished"
    assert connection["counters"] == {"messages": 11470, "readings": 10323, "deadLetters": 1147}
    (letter,) = json.loads(outputs[-1])["value"]
    assert letter["source"] == "Volume Flow RateRMS" and "has no telemetry" in letter["reason"]
    twin = httpx.get(demo.base + "/twins/skab-rig").json()
    assert twin["$telemetry"]["Temperature"]["ts"].startswith("2020-03-09")


def test_readme_flood_scenario(demo: Demo) -> None:
    (block,) = _blocks("Alerts, notifications and commands: the flood scenario")
    (output,) = demo.run(block, timeout=240).values()
    result = json.loads(output)
    assert result["resolved"] is True and result["false_notifications"] == 0
    assert result["notified_residents"] == result["affected_subscribers"] > 0
    assert any(a["rule"] == "flood-danger" and a["state"] == "resolved" for a in result["alerts"])
