"""The README's city commands, run as a user pastes them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.readme_blocks import SHARED_DATA  # the data set cache the README commands read


def _commands() -> list[str]:
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## The 3D city", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        commands += [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip()]
    return commands


def test_readme_city_commands_work(tmp_path: Path) -> None:
    outputs: dict[str, str] = {}
    for command in _commands():
        command = command.split("#")[0] if " # " in command else command
        if "datasets path plateau-cities" in command and not (SHARED_DATA / "plateau-cities").exists():
            continue
        if "datasets path plateau)" in command and not (SHARED_DATA / "plateau").exists():
            continue
        original = command
        command = command.replace(".venv/bin/futago", f"{sys.executable} -m futago.cli").replace(
            "futago-data/", f"{tmp_path}/"
        )
        env = {**os.environ, "FUTAGO_DATA": str(SHARED_DATA)}  # the data sets' cache: the shared copy, offline
        run = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
        assert run.returncode == 0, f"{command}\n{run.stdout}\n{run.stderr}"
        outputs[original] = run.stdout
    commands = list(outputs)
    summary = json.loads(outputs[commands[1]].strip().splitlines()[-1])
    assert summary["buildings"] == 2000 and summary["crs_in"] == "EPSG:6697"
    rows = _rows(outputs[commands[-1]])
    assert rows and all(row["depth"] >= 0.5 for row in rows)
    if (SHARED_DATA / "plateau").exists():  # Sapporo's real buildings with their own planned flood depths
        (depths,) = [c for c in commands if "sapporo.db" in c and "floodDepthMax" in c]
        deep = _rows(outputs[depths])
        assert len(deep) == 19 and all(row["floodDepthMax"] >= 0.5 for row in deep)
        assert max(row["floodDepthMax"] for row in deep) == 3.311
    if not (SHARED_DATA / "plateau-cities").exists():
        return
    (zones,) = [c for c in commands if "523857_{urf,lsld}_6668_op.gml" in c]
    report = json.loads(outputs[zones].strip().splitlines()[-1])
    assert report["features"]["UseDistrict"] == 38 and report["features"]["SedimentDisasterProneArea"] == 81
    (hazard,) = [c for c in commands if "inHazardArea" in c]
    in_hazard = _rows(outputs[hazard])
    assert in_hazard and {row["zoneType"] for row in in_hazard} == {
        "土砂災害警戒区域（指定済）",
        "土砂災害特別警戒区域（指定済）",
    }
    (use,) = [c for c in commands if "inZone" in c]
    in_use = _rows(outputs[use])
    assert in_use and all(row["floorAreaRate"] > 0 for row in in_use)
    assert {row["$dtId"] for row in in_use} != {row["$dtId"] for row in in_hazard}  # two questions, two answers


def _rows(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]
