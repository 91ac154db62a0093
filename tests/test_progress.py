"""Long work says what it is doing (issue 18): one line per stage on stderr, never on the stdout a script reads.

`make demo` names each stage before pip, npm and apt start; `futago demo` says what it seeds before the server
starts; the long commands print step lines (and bars) on stderr, and with --json only when stderr is a terminal,
so a pipe or a log that joins both streams holds exactly one JSON document."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from rich.console import Console

from futago.app import build
from futago.cli import main, output
from futago.config import Settings
from futago.demo import seed
from tests.conftest import demo_models, free_port

ROOT = Path(__file__).resolve().parents[1]
STEP = re.compile(r"^(?P<command>[a-z ]+) \[(?P<seconds>\d+\.\d) s\]: (?P<text>.+)$", re.MULTILINE)


def _steps(stderr: str, command: str) -> list[str]:
    return [m["text"] for m in STEP.finditer(stderr) if m["command"] == command]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stderr as a person's terminal: rich's console decides from it whether progress shows under --json."""
    monkeypatch.setattr(output, "console", Console(stderr=True, force_terminal=True, width=200))


def test_make_names_each_stage_before_it_runs() -> None:
    # -n -B: every recipe as it would run on a fresh clone, without running any of them
    plan = subprocess.run(["make", "-n", "-B", "demo", "PORT=8001"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()

    def announced(command: str) -> str:
        at = next(i for i, line in enumerate(lines) if command in line and not line.startswith("echo"))
        assert lines[at - 1].startswith('echo "==> '), (command, lines[at - 1])
        return lines[at - 1]

    assert "Python packages" in announced("pip install --quiet -e")
    assert "npm ci" in announced("npm ci")
    assert "building the dashboard" in announced("npm run --silent build")
    assert "Debian packages" in announced("install-system-deps.sh")
    assert "starting the demo" in announced("futago demo --port 8001")


def test_the_demo_seed_says_each_stage(tmp_path: Path) -> None:
    heard: list[str] = []
    app = build(Settings(db=str(tmp_path / "demo.db"), data_root=str(tmp_path)))
    try:
        summary = seed(app, heard.append)
    finally:
        app.close()
    assert heard[0].startswith("loading the sample models, twins")
    assert heard[1] == f"writing 24 h of minute history ({summary['readings']:,} readings, each judged by QARTOD)"
    assert summary["readings"] == 43_200


@pytest.fixture
def demo_log(tmp_path: Path) -> Iterator[list[str]]:
    """The stderr of `futago demo` (no live scenarios) up to its serving line."""
    command = [sys.executable, "-m", "futago.cli", "demo", "--port", str(free_port()), "--db",
               str(tmp_path / "demo.db"), "--flood-step", "0", "--no-plant"]  # fmt: skip
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        assert process.stderr is not None
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break  # the demo ended: the assertions below show what it said
            lines.append(line.rstrip("\n"))
            if "serving" in line:
                break
        yield lines
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_futago_demo_says_what_it_does_before_serving(demo_log: list[str]) -> None:
    said = "\n".join(demo_log)
    steps = _steps(said, "demo")
    assert steps[0].startswith("opening the store ") and steps[0].endswith("demo.db"), said
    assert steps[1].startswith("loading the sample models") and steps[2].startswith("writing 24 h of minute"), said
    # every stage is announced before the seeded summary, and that before the server's line
    seeded = next(i for i, line in enumerate(demo_log) if line.startswith("demo: sample district seeded"))
    assert max(i for i, line in enumerate(demo_log) if STEP.match(line)) < seeded
    assert any("serving" in line for line in demo_log[seeded:]), said


def _models(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    for doc in demo_models():
        (folder / (doc["@id"].split(":")[-1].replace(";", "_") + ".json")).write_bytes(orjson.dumps(doc))
    return folder


def test_models_validate_steps_go_to_stderr_and_its_json_stays_alone(tmp_path: Path, terminal: None) -> None:
    folder = _models(tmp_path)
    people = CliRunner().invoke(main, ["models", "validate", str(folder)])
    assert people.exit_code == 0, people.output
    assert _steps(people.stderr, "models validate") == [f"reading {folder}",
                                                        "validating 8 documents as one model set"]  # fmt: skip
    assert people.stdout == "8 interfaces, 0 problems\n"  # no step line among the rows a script may read

    scripted = CliRunner().invoke(main, ["models", "validate", str(folder), "--json"])
    assert json.loads(scripted.stdout) == {"interfaces": 8, "problems": []}
    assert len(_steps(scripted.stderr, "models validate")) == 2  # a terminal still sees what happens


def test_city_generate_says_what_it_writes(tmp_path: Path, terminal: None) -> None:
    out = tmp_path / "district.zip"
    result = CliRunner().invoke(main, ["city", "generate", "--buildings", "30", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)  # exactly one JSON document: json.loads refuses anything more
    assert facts["buildings"] == 30 and Path(facts["path"]) == out
    assert _steps(result.stderr, "city generate") == [f"writing 30 buildings with a river and flood zones to {out}"]


def test_under_json_a_pipe_gets_no_progress_at_all(tmp_path: Path) -> None:
    """CliRunner's stderr is not a terminal, like a pipe or CI's log: --json output joined with stderr still
    parses, which scripts and the other tests rely on."""
    result = CliRunner().invoke(main, ["city", "generate", "--buildings", "30", "--out", str(tmp_path / "d.zip"),
                                       "--json"])  # fmt: skip
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.output)["buildings"] == 30
    shown = output.progress_shown
    assert shown(as_json=False) and not shown(as_json=True)
