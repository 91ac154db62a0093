"""The in-process event bus: every change to the twin graph or its telemetry is published here.

Later stages (quality, behaviours, rules, the SSE stream) subscribe instead of calling into
each other. Publishing is synchronous and cheap; a subscriber that fails is isolated and
reported, never allowed to break the write that published the event.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from futago.core.twins import Relationship, Twin

log = logging.getLogger(__name__)

# Event types, in the style "<aggregate>.<change>". Every type any stage publishes is declared here, so that one
# table (CONCERNS) says what each is about and the SSE stream (api/events.py) can decide who may see it.
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
ALERT_RAISED = "alert.raised"
ALERT_ACKNOWLEDGED = "alert.acknowledged"
ALERT_ESCALATED = "alert.escalated"
ALERT_RESOLVED = "alert.resolved"
COMMAND_PROPOSED = "command.proposed"
COMMAND_APPROVED = "command.approved"
COMMAND_REJECTED = "command.rejected"
COMMAND_REFUSED = "command.refused"
COMMAND_WITHDRAWN = "command.withdrawn"  # a proposal whose alert resolved undecided
COMMAND_SENT = "command.sent"
COMMAND_COMPLETED = "command.completed"
COMMAND_FAILED = "command.failed"
NOTIFICATION_SENT = "notification.sent"
NOTIFICATION_FAILED = "notification.failed"
BEHAVIOUR_RAN = "behaviour.ran"
BEHAVIOUR_FAILED = "behaviour.failed"
CITY_IMPORTED = "city.imported"
# An NGSI-LD subscription created, updated or deleted (``data``: tenant, subscriptionId, change): how the leading
# process hears at once of one written through another (over NATS), instead of at its next safety read.
NGSILD_SUBSCRIPTION_CHANGED = "ngsild_subscription.changed"

# What each type is about, as the kinds of resource (the first segment of a policy path) it must name: its twin
# (``twins``, or ``telemetry`` for the twin's telemetry), its model, and what its publisher names in ``about``. A
# caller sees an event only when it may READ every resource the event names; an event of an unknown type, or one
# that lacks a kind its type requires, names nothing and is for administrators only (fail closed).
_ALERT = ("twins", "alerts")
_COMMAND = ("twins", "commands")
_NOTIFICATION = ("twins", "alerts", "notifications")
_BEHAVIOUR = ("twins", "behaviours")
CONCERNS: dict[str, tuple[str, ...]] = {
    TWIN_CREATED: ("twins",),
    TWIN_UPDATED: ("twins",),
    TWIN_DELETED: ("twins",),
    RELATIONSHIP_CREATED: ("twins", "twins"),  # its source and its target
    RELATIONSHIP_UPDATED: ("twins", "twins"),
    RELATIONSHIP_DELETED: ("twins", "twins"),
    TELEMETRY_APPENDED: ("telemetry",),
    MODEL_CREATED: ("models",),
    MODEL_DELETED: ("models",),
    DRIFT_SUSPECTED: ("telemetry", "telemetry"),  # the drifting series and its reference
    ALERT_RAISED: _ALERT,
    ALERT_ACKNOWLEDGED: _ALERT,
    ALERT_ESCALATED: _ALERT,
    ALERT_RESOLVED: _ALERT,
    COMMAND_PROPOSED: _COMMAND,
    COMMAND_APPROVED: _COMMAND,
    COMMAND_REJECTED: _COMMAND,
    COMMAND_REFUSED: _COMMAND,
    COMMAND_WITHDRAWN: _COMMAND,
    COMMAND_SENT: _COMMAND,
    COMMAND_COMPLETED: _COMMAND,
    COMMAND_FAILED: _COMMAND,
    NOTIFICATION_SENT: _NOTIFICATION,
    NOTIFICATION_FAILED: _NOTIFICATION,
    BEHAVIOUR_RAN: _BEHAVIOUR,
    BEHAVIOUR_FAILED: _BEHAVIOUR,
    CITY_IMPORTED: ("city",),
    NGSILD_SUBSCRIPTION_CHANGED: ("subscriptions",),
}
EVENT_TYPES = tuple(CONCERNS)
# Types whose twin is named by its telemetry (``twins/<id>/telemetry``), and types about their model.
TELEMETRY_EVENTS = frozenset({TELEMETRY_APPENDED, DRIFT_SUSPECTED})
MODEL_EVENTS = frozenset({MODEL_CREATED, MODEL_DELETED})


def twin_resource(twin_id: str) -> str:
    """A twin as a policy path: what GET /twins/{id} is asked about."""
    return f"twins/{twin_id}"


def telemetry_resource(twin_id: str) -> str:
    """A twin's telemetry as a policy path: what GET /twins/{id}/telemetry is asked about."""
    return f"twins/{twin_id}/telemetry"


def _kind(resource: str) -> str:
    return "telemetry" if resource.startswith("twins/") and resource.endswith("/telemetry") else resource.split("/")[0]


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
    # What else the event is about, as policy paths (``alerts/<id>``, ``twins/<target>``): see CONCERNS
    about: tuple[str, ...] = ()
    # What the change replaced or removed, where its publisher had it: the twin before a ``twin.updated`` or
    # ``twin.deleted``, the relationship before a ``relationship.updated`` or ``relationship.deleted``. For those who
    # tell what changed (NGSI-LD subscriptions), on any process: it travels in ``to_wire``, but stays out of
    # ``to_json`` (the SSE stream and the audit show ``data`` only). In this process it is the stored object itself,
    # never copied, so it costs a bulk write nothing.
    previous: Twin | Relationship | None = None

    def resources(self) -> tuple[str, ...]:
        """Every resource this event is about (policy paths), or () when it does not name what its type requires:
        a caller may see the event only if it may read each of them."""
        named = list(self.about)
        if self.twin_id is not None:
            of_twin = telemetry_resource if self.type in TELEMETRY_EVENTS else twin_resource
            named.append(of_twin(self.twin_id))
        if self.model is not None and self.type in MODEL_EVENTS:
            named.append(f"models/{self.model}")
        required = Counter(CONCERNS.get(self.type, ()))
        if not required or required - Counter(_kind(r) for r in named):
            return ()
        return tuple(named)

    def to_json(self) -> dict[str, Any]:
        # Written out rather than a core.records JsonRecord: every event goes to every SSE client, so its JSON
        # passes ``data`` through as it is (uncopied, unwalked), and ``id`` (the sequence) leads.
        return {
            "id": self.seq,
            "type": self.type,
            "time": self.time,
            "twinId": self.twin_id,
            "model": self.model,
            "data": self.data,
        }

    def to_wire(self, origin: str) -> dict[str, Any]:
        """The event as it travels to the other processes (futago.scale.relay): its JSON without the sequence,
        which is this process's (the receiver numbers the event anew), with the sending process as ``origin`` and
        what the event is ``about``, without which a relayed event would name less than it is about."""
        wire = self.to_json()
        del wire["id"]
        wire["origin"] = origin
        wire["about"] = self.about
        if self.previous is not None:
            wire["previous"] = self.previous.to_json()
        return wire

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Event:
        """The event another process sent (``to_wire``), as relayed here: with its sender as ``origin``."""
        return cls(
            wire["type"], wire["time"], wire.get("twinId"), wire.get("model"), wire.get("data") or {},
            origin=str(wire["origin"]), about=tuple(wire.get("about") or ()), previous=_previous_of(wire),
        )  # fmt: skip


def _previous_of(wire: Mapping[str, Any]) -> Twin | Relationship | None:
    doc = wire.get("previous")
    if not isinstance(doc, dict):
        return None
    if str(wire["type"]).startswith("relationship."):
        return Relationship.from_json(doc, str(doc.get("$sourceId", "")), str(doc.get("$relationshipId", "")))
    return Twin.from_json(doc)


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
