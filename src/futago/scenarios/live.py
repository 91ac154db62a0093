"""Scenarios running live beside a server (``futago demo``): each on its own thread until stopped.

A live scenario is a side show of the demo: when it fails, it logs why and keeps the reason in ``error``, and
the server goes on serving.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class LiveScenario:
    """Subclasses implement ``run_live`` (checking ``stopping`` between steps) and may release things in
    ``release``."""

    name = "scenario"

    def __init__(self) -> None:
        self.error: str | None = None
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._guarded, name=f"futago-live-{self.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=30)
        self.release()

    def run_live(self) -> None:
        raise NotImplementedError

    def release(self) -> None:
        """What to let go of after the thread has stopped (a broker, a plant process)."""

    def _guarded(self) -> None:
        try:
            self.run_live()
        except Exception as error:  # a demo side show must not take the server down; it says why
            self.error = f"{type(error).__name__}: {error}"
            log.error("the live %s scenario stopped: %s", self.name, self.error)
