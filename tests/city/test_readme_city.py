"""The README's city commands, run as a user pastes them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, SHARED_DATA


def _commands() -> list[str]:
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## The 3D city", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        commands += [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip()]
    return commands


def test_readme_city_commands_work(tmp_path: Path) -> None:
    outputs = []
    for command in _commands():
        command = command.split("#")[0] if " # " in command else command
        if "data/plateau" in command and not (SHARED_DATA / "plateau").exists():
            continue
        command = (
            command.replace(".venv/bin/futago", f"{sys.executable} -m futago.cli")
            .replace("futago-data/", f"{tmp_path}/")
            .replace(" data/plateau", f" {SHARED_DATA / 'plateau'}")
        )
        run = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300, cwd=REPO)
        assert run.returncode == 0, f"{command}\n{run.stdout}\n{run.stderr}"
        outputs.append(run.stdout)
    summary = json.loads(outputs[1].strip().splitlines()[-1])
    assert summary["buildings"] == 2000 and summary["crs_in"] == "EPSG:6697"
    rows = [json.loads(line) for line in outputs[-1].splitlines() if line.startswith("{")]
    assert rows and all(row["depth"] >= 0.5 for row in rows)
