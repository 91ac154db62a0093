"""The types the parts of ``act/`` share: alerts (what rules raise) and command proposals (what rules recommend).

The rule engine raises and resolves alerts; notification channels and the dashboard follow them through events on
the bus (``alert.raised``, ``alert.acknowledged``, ``alert.escalated``, ``alert.resolved``, each with the alert's
JSON as data); a rule that recommends an action hands a ``Proposal`` to the command service. So the three parts
depend on this module and on the bus, never on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from futago.core.events import ALERT_ACKNOWLEDGED as ALERT_ACKNOWLEDGED
from futago.core.events import ALERT_ESCALATED as ALERT_ESCALATED
from futago.core.events import ALERT_RAISED as ALERT_RAISED
from futago.core.events import ALERT_RESOLVED as ALERT_RESOLVED
from futago.core.events import COMMAND_APPROVED as COMMAND_APPROVED
from futago.core.events import COMMAND_COMPLETED as COMMAND_COMPLETED
from futago.core.events import COMMAND_FAILED as COMMAND_FAILED
from futago.core.events import COMMAND_PROPOSED as COMMAND_PROPOSED
from futago.core.events import COMMAND_REJECTED as COMMAND_REJECTED
from futago.core.events import COMMAND_SENT as COMMAND_SENT
from futago.core.records import JsonRecord

AlertState = Literal["raised", "acknowledged", "resolved"]
Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")

ALERT_EVENTS = (ALERT_RAISED, ALERT_ACKNOWLEDGED, ALERT_ESCALATED, ALERT_RESOLVED)


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


@dataclass(frozen=True)
class Proposal:
    """A command a rule or behaviour recommends: what to send to which twin, who proposed it and why."""

    twin_id: str
    command: str  # a DTDL Command of the twin's model
    payload: Any
    proposed_by: str  # e.g. "rule:flood-danger"
    evidence: dict[str, Any] = field(default_factory=dict)  # the alert or behaviour output behind it
    alert_id: str | None = None


class Proposer(Protocol):
    """The command service as rules see it: hand over a proposal; it applies the mode and the envelope."""

    def propose(self, proposal: Proposal) -> dict[str, Any]: ...
