"""What leaves the alert service once its lock is released: the alert events for the bus and the proposals for the
command service, and the snapshots of alerts that they carry."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from futago.act.model import Alert, Proposal
from futago.core.events import Event
from futago.core.telemetry import format_timestamp
from futago.core.twins import Twin

Key = tuple[str, str]  # (rule, twin id): the de-duplication key


def iso(us: int) -> str:
    return format_timestamp(us)


def wall_clock() -> int:
    return time.time_ns() // 1000


def snapshot(alert: Alert) -> Alert:
    """A copy to hand out: the open alert itself changes under the service's lock."""
    return Alert.from_json(alert.to_json())


@dataclass
class Effects:
    """What a locked section decided, carried out after the lock is released."""

    events: list[Event] = field(default_factory=list)
    proposals: list[tuple[Alert, Proposal | None, str | None]] = field(default_factory=list)


class AlertEvents:
    """Builds the event that announces an alert's transition (``alert.raised`` …, data = the alert's JSON)."""

    def __init__(self, twin: Callable[[str], Twin | None], clock: Callable[[], int]) -> None:
        self.twin = twin
        self.clock = clock

    def of(self, kind: str, alert: Alert) -> Event:
        twin = self.twin(alert.twin_id)
        return Event(
            kind,
            iso(self.clock()),
            twin_id=alert.twin_id,
            model=twin.model if twin is not None else None,
            data=snapshot(alert).to_json(),  # as it is now: the live alert moves on while the event is queued
            about=(f"alerts/{alert.id}",),
        )
