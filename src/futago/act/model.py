"""The types the parts of ``act/`` share: alerts (what rules raise) and command proposals (what rules recommend).

The rule engine raises and resolves alerts; notification channels and the dashboard follow them through events on
the bus (``alert.raised``, ``alert.acknowledged``, ``alert.escalated``, ``alert.resolved``, each with the alert's
JSON as data); a rule that recommends an action hands a ``Proposal`` to the command service. So the three parts
depend on this module and on the bus, never on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from futago.core.alerts import SEVERITIES as SEVERITIES
from futago.core.alerts import Alert as Alert  # the record is core's: the alert store's port takes and gives it
from futago.core.alerts import AlertState as AlertState
from futago.core.alerts import Severity as Severity
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
from futago.core.events import COMMAND_WITHDRAWN as COMMAND_WITHDRAWN

ALERT_EVENTS = (ALERT_RAISED, ALERT_ACKNOWLEDGED, ALERT_ESCALATED, ALERT_RESOLVED)


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
