"""The units of work of the notification service, and the count of work in flight that ``wait_idle`` waits on."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from futago.act.model import Alert
from futago.act.notify.channel import Message
from futago.core.notifications import Delivery


@dataclass
class Job:
    """One delivery ready to send: its record, the subscriber's channel entry and the rendered message."""

    record: Delivery  # this job's own copy: the dispatcher moves it on
    entry: dict[str, Any]  # the subscriber's channel entry
    message: Message
    first_attempt: int = 1  # a retried dead letter gets a fresh budget of attempts


@dataclass
class AlertItem:
    """An alert event waiting for the planner."""

    alert: Alert
    kind: str
    received_at: str


class InFlight:
    """Work in flight: alert events waiting, deliveries sending or waiting to retry, outcomes to record."""

    def __init__(self) -> None:
        self._pending = 0
        self._idle = threading.Condition()

    def more(self, count: int = 1) -> None:
        with self._idle:
            self._pending += count

    def done(self, count: int = 1) -> None:
        with self._idle:
            self._pending -= count
            if self._pending <= 0:
                self._idle.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True
