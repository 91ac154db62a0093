"""A command's record: its states, its camelCase JSON (the audit of every transition), and the event of each."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from futago.act.model import (
    COMMAND_APPROVED,
    COMMAND_COMPLETED,
    COMMAND_FAILED,
    COMMAND_PROPOSED,
    COMMAND_REJECTED,
    COMMAND_SENT,
)
from futago.core.events import COMMAND_REFUSED, Event  # refused: turned down by the safety envelope
from futago.core.records import JsonRecord

Mode = Literal["recommend", "autonomous"]
CommandState = Literal["proposed", "approved", "rejected", "refused", "sent", "completed", "failed"]
STATES: tuple[CommandState, ...] = ("proposed", "approved", "rejected", "refused", "sent", "completed", "failed")
FINAL: frozenset[str] = frozenset({"rejected", "refused", "completed", "failed"})
EVENT_OF_STATE = {
    "proposed": COMMAND_PROPOSED,
    "approved": COMMAND_APPROVED,
    "rejected": COMMAND_REJECTED,
    "refused": COMMAND_REFUSED,
    "sent": COMMAND_SENT,
    "completed": COMMAND_COMPLETED,
    "failed": COMMAND_FAILED,
}
AUTONOMOUS = "autonomous"  # who approves a command in autonomous mode


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
    reasons: list[dict[str, str]] = field(default_factory=list)  # why it was refused or rejected
    sent: dict[str, Any] | None = None  # exactly what went to the device, and how
    sent_at: str | None = None
    response: Any = None  # the device's answer
    result_state: Any = None  # the state after acting: the node read back, or what the device reports
    completed_at: str | None = None
    failed_at: str | None = None
    error: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # [{at, state, by?}]


def now_stamp() -> tuple[int, str]:
    """The wall clock as epoch microseconds and as the records' ISO text."""
    us = time.time_ns() // 1000
    return us, iso(us)


def iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def command_event(record: CommandRecord) -> Event:
    """The event of the record's state (``command.<state>``), carrying the record."""
    about = (f"commands/{record.id}",)
    return Event(
        EVENT_OF_STATE[record.state], now_stamp()[1], twin_id=record.twin_id, data=record.to_json(), about=about
    )
