"""SIGTERM at any moment of `futago demo`'s start-up (opening the store, seeding the sample district, writing its
history, starting the live jobs) stops it as a finished command: exit 0, no traceback, and the next start on the
same store comes up (nothing half written stands in its way) and holds one seeded history, not a partial one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.scenarios.test_demo_shutdown import _wait_for

SERVING = " at http://127.0.0.1:"
#: A line of each stage of the start-up, in order; SIGTERM is sent as soon as it is printed (a signal before the
#: command runs, during the interpreter's own start, is not one futago can catch).
STAGES = ("opening the store", "loading the sample models", "minute history", "sample district seeded")


def _start(db: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "futago.cli", "demo", "--port", str(free_port()), "--db", str(db),
               "--flood-step", "0", "--no-plant", "--interval", "0.2"]  # fmt: skip
    return subprocess.Popen(command, cwd=db.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "400"}, start_new_session=True)  # fmt: skip


def _terminate(process: subprocess.Popen[str], after: str) -> tuple[int, str]:
    """Send SIGTERM once ``after`` is printed (at once for ""): the exit status and stderr in all."""
    try:
        before = "".join(_wait_for(process, after, 120)) if after else ""
        os.killpg(process.pid, signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    return process.returncode, before + rest


@pytest.mark.parametrize("stage", STAGES)
def test_sigterm_during_demo_start_up_exits_0_and_the_next_start_comes_up(tmp_path: Path, stage: str) -> None:
    db = tmp_path / "demo.db"
    code, stderr = _terminate(_start(db), stage)
    assert code == 0 and "Traceback" not in stderr, stderr
    # the next start on the same store comes up and serves (and stops cleanly too)
    code, stderr = _terminate(_start(db), SERVING)
    assert code == 0 and "Traceback" not in stderr, stderr
    # an interrupted history is written whole now, not taken for one an earlier demo finished
    assert "holds the sample district's history already" not in stderr, stderr
