"""A command's record: the audit of one command (who proposed it, who approved it, what was sent, the device's
answer, the resulting state), as the command store keeps it and the API answers it.

The record lives in core because the command store's port (``core.ports.CommandStore``) takes and gives it; the
lifecycle that moves it (the envelope, approval, sending) is act's (``futago.act.commands``), which re-exports
these names from ``act.commands.record``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from futago.core.records import JsonRecord

Mode = Literal["recommend", "autonomous"]
CommandState = Literal["proposed", "approved", "rejected", "refused", "withdrawn", "sent", "completed", "failed"]
STATES: tuple[CommandState, ...] = (
    "proposed", "approved", "rejected", "refused", "withdrawn", "sent", "completed", "failed",
)  # fmt: skip
# withdrawn: a proposal whose alert resolved before anyone decided it; nothing was sent
FINAL: frozenset[str] = frozenset({"rejected", "refused", "withdrawn", "completed", "failed"})


@dataclass
class CommandRecord(JsonRecord):
    """One command and its audit trail. Its JSON uses camelCase (``twinId``, ``approvedBy``)."""

    id: str
    twin_id: str
    command: str
    payload: Any
    mode: Mode
    state: CommandState
    proposed_by: str
    proposed_at: str
    evidence: dict[str, Any] = field(default_factory=dict)  # the rule's or behaviour's output behind it
    alert_id: str | None = None
    note: str | None = None
    binding: dict[str, Any] | None = None  # the binding in force when it was last checked
    checks: list[dict[str, Any]] = field(default_factory=list)  # every envelope check: when, stage, reasons
    approved_by: str | None = None
    approved_at: str | None = None
    admitted_us: int | None = None  # when it passed the envelope (µs); rate limits count these
    rejected_by: str | None = None
    rejected_at: str | None = None
    reasons: list[dict[str, str]] = field(default_factory=list)  # why it was refused, rejected or withdrawn
    withdrawn_at: str | None = None
    sent: dict[str, Any] | None = None  # exactly what went to the device, and how
    sent_at: str | None = None
    response: Any = None  # the device's answer
    result_state: Any = None  # the state after acting: the node read back, or what the device reports
    completed_at: str | None = None
    failed_at: str | None = None
    error: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # [{at, state, by?}]
