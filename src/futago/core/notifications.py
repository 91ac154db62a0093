"""The records of notification: a subscriber, a delivery of one alert event to one of its channels, and the dead
letter a delivery becomes when it cannot be sent.

They live in core because the notification store's port (``core.ports.NotificationStore``) takes and gives them;
geo-targeting, planning and sending are act's (``futago.act.notify``), which re-exports ``Subscriber`` from
``act.notify.subscribers``. Each record's JSON is what the store keeps and what the API answers.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from futago.core.alerts import SEVERITIES, Alert, Severity
from futago.core.records import JsonRecord, json_meta, record_from_json
from futago.core.secrets import conceal

Language = Literal["ja", "en"]
LANGUAGES: tuple[Language, ...] = ("ja", "en")
EVENT_KINDS = ("raised", "acknowledged", "escalated", "resolved")
DEFAULT_EVENTS = frozenset({"raised", "escalated", "resolved"})
DeliveryOutcome = Literal["queued", "retrying", "sent", "failed"]


def _in_event_order(events: frozenset[str]) -> list[str]:
    return sorted(events, key=EVENT_KINDS.index)


def _point(value: Any) -> tuple[float, float] | None:
    return (float(value[0]), float(value[1])) if value is not None else None


def _concealed(channels: Any) -> tuple[dict[str, Any], ...]:
    return tuple(conceal(dict(c)) for c in channels)


@dataclass(frozen=True)
class Subscriber(JsonRecord):
    """Who may be notified: a language, one or more channels, and optionally a place (a ``home`` twin or a
    ``point`` [lon, lat]); ``rules``, ``min_severity`` and ``events`` narrow what it gets."""

    # The JSON names what every subscriber has first, then the optional place and rules.
    json_order = ("id", "name", "language", "channels", "min_severity", "events", "home", "point", "rules")

    id: str
    name: str
    language: Language
    # each has a unique "name" and a "type"; secrets concealed as they are read
    channels: tuple[dict[str, Any], ...] = field(metadata=json_meta(decode=_concealed))
    home: str | None = field(default=None, metadata=json_meta(omit="none"))
    point: tuple[float, float] | None = field(default=None, metadata=json_meta(omit="none", decode=_point))
    rules: tuple[str, ...] = field(default=(), metadata=json_meta(omit="empty"))
    min_severity: Severity = "info"
    events: frozenset[str] = field(default=DEFAULT_EVENTS, metadata=json_meta(encode=_in_event_order))

    @property
    def located(self) -> bool:
        return self.home is not None or self.point is not None

    def wants(self, alert: Alert, kind: str) -> bool:
        """The subscriber's own filters (not the place): event kind, severity and rules."""
        if kind not in self.events:
            return False
        if SEVERITIES.index(alert.severity) < SEVERITIES.index(self.min_severity):
            return False
        return not self.rules or any(fnmatch.fnmatchcase(alert.rule, pattern) for pattern in self.rules)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Subscriber:
        # Not the plain inverse: a stored document may leave out what has a default only here (the name is the id).
        return record_from_json(cls, {"name": doc["id"], "language": "ja", "channels": (), **doc})


@dataclass
class Delivery(JsonRecord):
    """One delivery of an alert event to one channel of one subscriber, as the delivery log keeps it. Mutable: the
    dispatcher moves it from ``queued`` through ``retrying`` to ``sent`` or ``failed``, on the job's own copy.

    Its JSON always holds the planned keys (``sentAt``, ``confirmedAt`` and ``error`` as null until known); the
    keys of an attempt appear once there is one: ``lastAttemptAt``, ``nextAttemptAt`` only while ``retrying``,
    ``detail`` once sent; ``seq``, its place in the log, only as the store gives it back."""

    json_order = (
        "id", "alert_id", "event", "escalation", "rule", "twin_id", "subscriber_id", "channel", "channel_type",
        "target", "language", "subject", "text", "why", "zone", "depth", "received_at", "queued_at", "sent_at",
        "confirmed_at", "outcome", "attempts", "error", "last_attempt_at", "next_attempt_at", "detail", "seq",
    )  # fmt: skip

    id: str
    alert_id: str
    event: str  # "alert.raised", "alert.escalated", ...
    subscriber_id: str
    channel: str  # the name of the subscriber's channel entry
    channel_type: str
    queued_at: str
    outcome: DeliveryOutcome = "queued"
    escalation: int = 0  # which escalation of the alert, for "alert.escalated"
    rule: str = ""
    twin_id: str = ""
    target: str = ""  # where it goes (an address, a URL, a topic), never a secret
    language: str = "ja"
    subject: str = ""
    text: str = ""
    why: str = ""  # how the alert reached the subscriber: "inFloodZone", "point", "rule", ...
    zone: str | None = None
    depth: float | None = None
    received_at: str = ""  # when the alert event reached the notification service
    sent_at: str | None = None
    confirmed_at: str | None = None
    attempts: int = 0
    error: str | None = None
    last_attempt_at: str | None = field(default=None, metadata=json_meta(omit="none"))
    next_attempt_at: str | None = field(default=None, metadata=json_meta(omit="none"))
    detail: str | None = field(default=None, metadata=json_meta(omit="none"))  # what the peer said, once sent
    seq: int | None = field(default=None, metadata=json_meta(omit="none"))  # assigned by the store


@dataclass(frozen=True)
class LetterMessage(JsonRecord):
    """What a dead letter keeps of the rendered message, so that a retry sends the same words."""

    subject: str
    text: str
    body: dict[str, Any]  # the JSON a machine receives (webhook body, MQTT payload)


@dataclass(frozen=True)
class NotificationDeadLetter(JsonRecord):
    """A delivery that could not be sent after its last attempt (or at once, when trying again could not help)."""

    delivery_id: str
    alert_id: str
    event: str
    subscriber_id: str
    channel: str
    channel_type: str
    target: str
    reason: str  # why the last attempt failed, in a sentence
    attempts: int
    failed_at: str
    message: LetterMessage
    id: int | None = field(default=None, metadata=json_meta(omit="none"))  # assigned by the store


@dataclass(frozen=True)
class PendingDelivery:
    """A delivery not yet sent (``queued``, or ``retrying`` until ``next_attempt_at``) with the body its channel
    sends, as the store keeps it for the next leader to resume: the subscriber's channel entry is read again then
    (it holds secrets, which the outbox does not), and the words stay those that were rendered."""

    record: Delivery
    body: dict[str, Any]
