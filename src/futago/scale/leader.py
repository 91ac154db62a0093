"""Which process runs the stateful parts when several serve one store: the connectors (one subscription per
broker topic, not one per process), the behaviour schedules, the alert rules, notifications and maintenance.

The first process to lock a file beside the store leads; the others retry every few seconds and take over within
that time when the leader exits or dies (the operating system releases a dead process's lock). One machine's
processes share the file; across machines a lease in the database or in NATS would take its place (docs/scale.md).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


class Leadership:
    def __init__(self, lock_file: Path, on_lead: Callable[[], None], retry_s: float = 2.0) -> None:
        self.lock_file = lock_file
        self.on_lead = on_lead
        self.retry_s = retry_s
        self.leading = False
        self._handle: IO[str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Lead now if no one does, else stand by in a thread until the leader goes."""
        if self._try():
            return
        self._thread = threading.Thread(target=self._wait, name="futago-leadership", daemon=True)
        self._thread.start()

    def _try(self) -> bool:
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        handle = self.lock_file.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        if self._stop.is_set():  # closing: the lock is for a process that will run what it leads
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        self.leading = True
        log.info("process %d leads: connectors, behaviours, alerts and notifications run here", os.getpid())
        try:
            self.on_lead()
        except Exception:  # give the lock back, so that a healthy process leads instead of nobody
            log.exception("process %d could not start what it leads; it stands by again", os.getpid())
            self._release()
            return False
        return True

    def _wait(self) -> None:
        while not self._stop.wait(self.retry_s):
            if self._try():
                return

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.retry_s + 1)
        self._release()

    def _release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
        self.leading = False
