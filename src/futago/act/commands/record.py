"""A command's record (``core.commands``) as act moves it: the event of each state, and the clock of its stamps."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from futago.act.model import (
    COMMAND_APPROVED,
    COMMAND_COMPLETED,
    COMMAND_FAILED,
    COMMAND_PROPOSED,
    COMMAND_REJECTED,
    COMMAND_SENT,
    COMMAND_WITHDRAWN,
)
from futago.core.commands import FINAL as FINAL
from futago.core.commands import STATES as STATES
from futago.core.commands import CommandRecord as CommandRecord  # core's: the command store's port takes and gives it
from futago.core.commands import CommandState as CommandState
from futago.core.commands import Mode as Mode
from futago.core.events import COMMAND_REFUSED, Event  # refused: turned down by the safety envelope

EVENT_OF_STATE = {
    "proposed": COMMAND_PROPOSED,
    "approved": COMMAND_APPROVED,
    "rejected": COMMAND_REJECTED,
    "refused": COMMAND_REFUSED,
    "withdrawn": COMMAND_WITHDRAWN,
    "sent": COMMAND_SENT,
    "completed": COMMAND_COMPLETED,
    "failed": COMMAND_FAILED,
}
AUTONOMOUS = "autonomous"  # who approves a command in autonomous mode


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
