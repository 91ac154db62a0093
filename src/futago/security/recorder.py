"""What goes into the audit from the event bus: every change to twins and relationships, every step of a command,
every decision on an alert and every notification sent. Telemetry is not audited reading by reading (its volume
would drown the log; the ingest keeps its own dead letters); who wrote it through the API is (``api/audit.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from futago.core.events import Event, EventBus
from futago.security.audit import AuditLog

log = logging.getLogger(__name__)

AUDITED = ("twin.", "relationship.", "model.", "command.", "alert.acknowledged", "alert.resolved", "notification.")
_ACTOR_KEYS = ("by", "actor", "approvedBy", "rejectedBy", "requestedBy", "proposedBy", "acknowledgedBy", "resolvedBy")


def actor_of(data: dict[str, Any]) -> str:
    """The person or service an event names as having acted; ``system`` when none."""
    for key in _ACTOR_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return "system"


class AuditRecorder:
    """Subscribes an audit log to the bus for as long as it lives."""

    def __init__(self, audit: AuditLog, bus: EventBus) -> None:
        self.audit = audit
        self.unsubscribe: Callable[[], None] = bus.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.origin is not None or not event.type.startswith(AUDITED):  # another process audits its own
            return
        if event.twin_id:
            resource = f"twins/{event.twin_id}"
        elif event.type.startswith("model.") and event.model:
            resource = f"models/{event.model}"
        else:
            resource = event.type.split(".", 1)[0]
        detail = {"model": event.model, "data": event.data} if event.model else {"data": event.data}
        try:
            self.audit.record(actor_of(event.data), event.type, resource, detail)
        except Exception:  # the change itself has happened; a failing audit must be loud, not break the caller
            log.exception("could not audit %s of %s", event.type, resource)
