"""An alert as a record: what a rule raises, as the alert store keeps it and the API answers it.

The record lives in core because the alert store's port (``core.ports.AlertStore``) takes and gives it; the rules
that raise alerts, and their lifecycle, are act's (``futago.act``), which re-exports these names in ``act.model``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from futago.core.records import JsonRecord

AlertState = Literal["raised", "acknowledged", "resolved"]
Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")


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
    history: list[dict[str, Any]] = field(default_factory=list)  # [{"at", "state" | "event", "by"?}]
