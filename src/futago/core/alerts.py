"""An alert as a record: what a rule raises, as the alert store keeps it and the API answers it.

The record lives in core because the alert store's port (``core.ports.AlertStore``) takes and gives it; the rules
that raise alerts, and their lifecycle, are act's (``futago.act``), which re-exports these names in ``act.model``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from futago.core.records import JsonRecord, json_meta, record_to_json, to_json_value

AlertState = Literal["raised", "acknowledged", "resolved"]
Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")


@dataclass(frozen=True, slots=True)
class AlertHistoryEntry(JsonRecord):
    """One step of an alert's life, appended to its history: a transition (``state``) or something that happened
    while it was open (``event``: occurred, escalated, recommended, recommendFailed).

    An event carries its own values (``value``, ``level``, ``detail``, ``twinId``, ``command``, ``result``), kept in
    ``details`` and written beside the fixed keys in the JSON, so that the history reads as it always did:
    ``{"at": ..., "event": "occurred", "value": 3.2}``."""

    json_omit = "none"  # a key that does not apply to this step is left out, as it always was

    at: str  # ISO 8601 UTC
    state: AlertState | None = None
    event: str | None = None
    by: str | None = None  # who acknowledged or resolved it ("system" for the engine)
    note: str | None = None
    details: dict[str, Any] = field(default_factory=dict, metadata=json_meta(skip=True))

    def to_json(self) -> dict[str, Any]:
        return {**record_to_json(self), **to_json_value(self.details)}

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Self:
        """Unknown keys become ``details``; an entry without ``at`` (never written so) reads with an empty one
        rather than stopping the whole alert from being read."""
        fixed = {"at", "state", "event", "by", "note"}
        details = {k: v for k, v in body.items() if k not in fixed}
        return cls(str(body.get("at", "")), body.get("state"), body.get("event"), body.get("by"), body.get("note"),
                   details)  # fmt: skip


@dataclass
class Alert(JsonRecord):
    """One alert: a rule's condition holding for one twin. ``(rule, twin_id)`` is its de-duplication key: while
    an alert for that key is open, the rule firing again only counts (``occurrences``)."""

    id: str
    rule: str
    twin_id: str
    severity: Severity
    state: AlertState
    raised_at: str  # ISO 8601 UTC
    message: dict[str, str]  # {"ja": ..., "en": ...}
    evidence: dict[str, Any] = field(default_factory=dict)  # the values that tipped the rule
    #: Where it applies, for geo-targeted notification: {"zone": twin id} and/or {"twins": [ids]}.
    area: dict[str, Any] = field(default_factory=dict)
    occurrences: int = 1
    escalation: int = 0  # how many times it was escalated while unacknowledged
    acknowledged_at: str | None = None
    acknowledged_by: str | None = None
    resolved_at: str | None = None
    history: list[AlertHistoryEntry] = field(default_factory=list)  # oldest first
