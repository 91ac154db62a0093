"""The README's five-minute tour, pasted into a shell against a running ``futago demo``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import REPO, free_port


def _commands(heading: str) -> list[str]:
    """The first ```sh block under ``heading``, split into the commands a person would paste."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split(f"## {heading}", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, f"'{heading}' has a ```sh block"
    commands, current = [], ""
    for line in block.group(1).splitlines():
        if line.startswith("#") and not current:
            continue
        current += line + "\n"
        if not line.rstrip().endswith(("\\", "|")) and current.count("'") % 2 == 0:
            if current.strip():
                commands.append(current)
            current = ""
    return commands


def test_readme_tour_runs_against_the_demo(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "FUTAGO_API_TOKEN": ""}
    demo = subprocess.Popen(
        [sys.executable, "-m", "futago.cli", "demo", "--port", str(port), "--db", str(tmp_path / "demo.db")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert demo.poll() is None, demo.stdout.read() if demo.stdout else ""
            assert time.monotonic() < deadline, "the demo did not start within 60 s"
            time.sleep(0.2)
        outputs = []
        for command in _commands("A five-minute tour") + _commands("Simulation, forecasts and analytics"):
            run = subprocess.run(
                ["bash", "-c", command.replace("http://127.0.0.1:8000", base)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert run.returncode == 0, f"{command}\n{run.stderr}"
            outputs.append((command, run.stdout))
    finally:
        demo.terminate()
        demo.wait(timeout=20)

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

    run = next(json.loads(out) for c, out in outputs if "/behaviours/river-forecast/run" in c)
    (record,) = run["value"]
    assert record["status"] == "ok" and "waterLevel_forecast" in record["outputs"], record
    assert set(record["summary"]["exceedance"]) == {"standby", "caution", "evacuation", "danger"}
    whatif = next(json.loads(out) for c, out in outputs if "/scenarios" in c)
    (wetter,) = whatif["scenarios"]
    assert wetter["name"] == "rain x1.5" and wetter["summary"]["peak"] >= whatif["baseline"]["summary"]["peak"]
