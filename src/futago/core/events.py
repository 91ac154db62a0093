"""The in-process event bus: every change to the twin graph or its telemetry is published here.

Later stages (quality, behaviours, rules, the SSE stream) subscribe instead of calling into
each other. Publishing is synchronous and cheap; a subscriber that fails is isolated and
reported, never allowed to break the write that published the event.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Event types, in the style "<aggregate>.<change>".
TWIN_CREATED = "twin.created"
TWIN_UPDATED = "twin.updated"
TWIN_DELETED = "twin.deleted"
RELATIONSHIP_CREATED = "relationship.created"
RELATIONSHIP_UPDATED = "relationship.updated"
RELATIONSHIP_DELETED = "relationship.deleted"
TELEMETRY_APPENDED = "telemetry.appended"
MODEL_CREATED = "model.created"
MODEL_DELETED = "model.deleted"
DRIFT_SUSPECTED = "quality.drift_suspected"
EVENT_TYPES = (
    TWIN_CREATED,
    TWIN_UPDATED,
    TWIN_DELETED,
    RELATIONSHIP_CREATED,
    RELATIONSHIP_UPDATED,
    RELATIONSHIP_DELETED,
    TELEMETRY_APPENDED,
    MODEL_CREATED,
    MODEL_DELETED,
    DRIFT_SUSPECTED,
)

_sequence = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    time: str  # ISO 8601, UTC
    twin_id: str | None = None
    model: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    seq: int = field(default_factory=lambda: next(_sequence))
    # None for an event of this process; the publishing process's id for one relayed from another (futago.scale)
    origin: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.seq,
            "type": self.type,
            "time": self.time,
            "twinId": self.twin_id,
            "model": self.model,
            "data": self.data,
        }


Handler = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._lock = threading.Lock()
        self.failures = 0

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Register a handler; returns a function that unsubscribes it."""
        with self._lock:
            self._handlers = [*self._handlers, handler]

        def unsubscribe() -> None:
            with self._lock:
                self._handlers = [h for h in self._handlers if h is not handler]

        return unsubscribe

    def publish(self, event: Event) -> None:
        for handler in self._handlers:  # a copy-on-write list: safe to iterate without the lock
            try:
                handler(event)
            except Exception:
                self.failures += 1
                log.exception("event handler %r failed on %s", handler, event.type)
