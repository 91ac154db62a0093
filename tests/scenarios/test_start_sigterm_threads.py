"""A SIGTERM while `futago serve` (or `demo`) starts the App's background threads (behaviour runtime, notifications,
NGSI-LD subscriptions, alert escalation, maintenance) ends the command cleanly: the App closes at once, with no
error, no thread left running and no lock left taken, wherever in the starting the signal lands.

The signal is raised for real (the command's own handler runs) at each line the main thread runs inside
``threading`` while ``app.start()`` starts a thread, the moments where an exit raised on the spot left a thread
recorded but never started (``join`` then failed with a traceback) or one of ``threading``'s locks taken for ever
(the close then hung)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

import pytest

from futago.app import App, build
from futago.cli import serving
from futago.config import Settings

#: Where the main thread is while it starts a thread: Thread.start and what it waits on.
_WAYS_IN = (threading.Thread.start, threading.Event.wait, threading.Condition.wait, threading.Condition.__enter__,
            threading.Condition.__exit__)  # fmt: skip
STARTING = {function.__code__ for function in _WAYS_IN}


def _traced_start(app: App, fire_at: int | None) -> list[int]:
    """Run serving's start of ``app`` (its server stubbed out) under the command's SIGTERM handler, raising SIGTERM
    at the ``fire_at``-th line run in ``STARTING``; returns the positions of those lines among all lines run."""
    seen: list[int] = []
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
            if frame.f_code in STARTING:
                seen.append(count)
                if len(seen) == fire_at:
                    signal.raise_signal(signal.SIGTERM)
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        return local(frame, event, arg) if _ours(frame.f_code) else None

    sys.settrace(tracer)
    try:
        with serving._terminated_cleanly() as termination:
            serving._run_server(app, termination)
    finally:
        sys.settrace(None)
    return seen


def _ours(code: CodeType) -> bool:
    return code in STARTING or "futago" in code.co_filename


def _close_within(app: App, seconds: float) -> str | None:
    """Close ``app`` as the command's exit stack does: what went wrong, if anything (it raised, or it hung)."""
    raised: list[BaseException] = []

    def close() -> None:
        try:
            app.close()
        except BaseException as exc:
            raised.append(exc)

    closing = threading.Thread(target=close, daemon=True)
    closing.start()
    closing.join(seconds)
    if closing.is_alive():
        return "the close hung"  # its thread is left behind, a daemon
    return f"the close raised {raised[0]!r}" if raised else None


def _futago_threads(before: set[threading.Thread]) -> list[str]:
    return [t.name for t in threading.enumerate() if t not in before and t.name.startswith("futago")]


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    import futago.api.server

    monkeypatch.setattr(futago.api.server, "create_api", lambda app: None)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)


def test_sigterm_while_the_app_starts_its_threads_closes_it_cleanly(
    tmp_path: Path, no_server: None, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(db=str(tmp_path / "futago.db"), data_root=str(tmp_path))
    app = build(settings)
    moments = _traced_start(app, None)  # an undisturbed start: where the threads are started
    app.close()
    assert len(moments) >= 100, moments  # a dozen threads, each a dozen lines of Thread.start and its waits

    caplog.set_level(logging.ERROR)
    failures = []
    for fire_at in range(1, len(moments) + 1, 2):  # every other one: the test keeps under half a minute
        if len(failures) == 3:  # a hang costs seconds each: three tell enough
            break
        before = set(threading.enumerate())
        app = build(settings)
        with pytest.raises(SystemExit) as exited:
            _traced_start(app, fire_at)
        wrong = _close_within(app, 10)
        deadline = time.monotonic() + 5  # the maintenance and pruning loops are told to end, not awaited
        while _futago_threads(before) and time.monotonic() < deadline:
            time.sleep(0.02)
        left = _futago_threads(before)
        if exited.value.code != 0 or wrong or left:
            failures.append(f"SIGTERM at line {moments[fire_at - 1]}: exit {exited.value.code}; {wrong}; left {left}")
    assert not failures, "\n".join(failures)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
