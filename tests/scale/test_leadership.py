"""Leadership by a file lock: one process leads, another takes over when it goes, and a failed start gives the lead
back. Two Leadership objects in one process stand for two processes: each holds its own open file, and flock locks
belong to open files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from futago.core.errors import Conflict
from futago.scale.leader import Leadership


def _wait(predicate: object, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_the_standby_leads_once_the_leader_goes(tmp_path: Path) -> None:
    started: list[str] = []
    first = Leadership(tmp_path / "leader.lock", lambda: started.append("first"), retry_s=0.05)
    second = Leadership(tmp_path / "leader.lock", lambda: started.append("second"), retry_s=0.05)
    first.start()
    second.start()
    time.sleep(0.2)
    assert (first.leading, second.leading, started) == (True, False, ["first"])
    first.close()
    assert _wait(lambda: second.leading)
    assert started == ["first", "second"]
    second.close()


def test_a_closing_standby_does_not_take_the_lead(tmp_path: Path) -> None:
    started: list[str] = []
    first = Leadership(tmp_path / "leader.lock", lambda: started.append("first"), retry_s=0.05)
    second = Leadership(tmp_path / "leader.lock", lambda: started.append("second"), retry_s=0.05)
    first.start()
    second.start()
    second.close()
    first.close()
    time.sleep(0.2)
    assert started == ["first"] and not second.leading


def test_a_leader_that_cannot_start_gives_the_lead_back(tmp_path: Path) -> None:
    def broken() -> None:
        raise RuntimeError("a connection's broker is unreachable")

    failing = Leadership(tmp_path / "leader.lock", broken, retry_s=10)
    failing.start()  # tries once now, then stands by (every 10 s)
    assert not failing.leading
    healthy = Leadership(tmp_path / "leader.lock", lambda: None, retry_s=0.05)
    healthy.start()
    assert healthy.leading
    failing.close()
    healthy.close()


def test_connectors_start_only_in_the_leading_process(app: object) -> None:
    connections = app.connections  # type: ignore[attr-defined]
    connections.runs_connectors = False
    with pytest.raises(Conflict, match="leading process"):
        connections.start("anything")
