"""A running `futago demo` stopped with SIGTERM, as systemd, docker or a terminal stop it (the signal goes to the
whole process group), exits 0 without a traceback: the OPC UA plant is not ended under the demo's open session,
and asyncua's report of a dropped connection is the connector's one line, not a traceback."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from futago.testing.plant_process import PlantProcess
from tests.conftest import free_port

READY = "the live plant scenarios are set up"


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _wait_for(process: subprocess.Popen[str], text: str, timeout_s: float) -> list[str]:
    """stderr lines up to the one holding ``text``."""
    assert process.stderr is not None
    lines: list[str] = []
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and selector.select(deadline - time.monotonic()):
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if text in " ".join(lines[-2:]):  # the console may wrap a long line
                return lines
    raise AssertionError(f"no {text!r} within {timeout_s} s:\n{''.join(lines)}")


def test_sigterm_to_a_running_demo_exits_0_without_a_traceback(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "futago.cli", "demo", "--port", str(free_port()), "--db",
               str(tmp_path / "demo.db"), "--flood-step", "0"]  # fmt: skip
    env = {**os.environ, "COLUMNS": "400"}
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=env, start_new_session=True)  # fmt: skip
    try:
        before = "".join(_wait_for(process, READY, 240))
        time.sleep(2)  # the plant publishing, the connector's session open
        plants = _children(process.pid)
        assert plants, "the demo runs the plant as a child process"
        os.killpg(process.pid, signal.SIGTERM)
        _, rest = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    stderr = before + rest
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert not [pid for pid in plants if _alive(pid)]  # the demo took its plant down with it


def test_the_plant_stops_on_sigterm_and_when_its_parent_is_gone() -> None:
    for stop in ("sigterm", "parent gone"):
        plant = PlantProcess()
        plant.start()
        process = plant.process
        assert process is not None and process.stdin is not None
        assert os.getpgid(process.pid) != os.getpgid(0)  # a group signal to its parent does not reach it
        if stop == "sigterm":
            process.send_signal(signal.SIGTERM)
        else:
            process.stdin.close()  # what the parent's death does to the pipe
        assert process.wait(20) == 0, stop
        plant.kill()
