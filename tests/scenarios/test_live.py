"""A live scenario (the demo's side shows) keeps the server up when it fails, and says why."""

from __future__ import annotations

import threading
import time

from futago.scenarios.live import LiveScenario


class Failing(LiveScenario):
    name = "failing"

    def __init__(self) -> None:
        super().__init__()
        self.released = False
        self.ran = threading.Event()

    def run_live(self) -> None:
        self.ran.set()
        raise ConnectionRefusedError("the plant is not answering")

    def release(self) -> None:
        self.released = True


class Stepping(LiveScenario):
    def __init__(self) -> None:
        super().__init__()
        self.steps = 0

    def run_live(self) -> None:
        while not self.stopping.wait(0.01):
            self.steps += 1


def test_a_failure_is_kept_and_logged_not_raised(caplog) -> None:  # type: ignore[no-untyped-def]
    scenario = Failing()
    scenario.start()
    assert scenario.ran.wait(5)
    scenario.stop()
    assert scenario.error == "ConnectionRefusedError: the plant is not answering"
    assert scenario.released
    assert "the live failing scenario stopped" in caplog.text


def test_stop_ends_the_loop_between_steps() -> None:
    scenario = Stepping()
    scenario.start()
    while scenario.steps < 3:
        time.sleep(0.005)
    scenario.stop()
    steps = scenario.steps
    assert scenario.error is None and not scenario._thread.is_alive()
    assert scenario.steps == steps  # nothing ran after stop
