"""The command records as the service moves them: one lock for every check-then-move, a compare-and-set on the state
for each transition, its event queued under the lock and published after it."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

from futago.act.commands.record import FINAL, CommandRecord, CommandState, command_event, now_stamp
from futago.core.errors import Conflict, NotFound
from futago.core.events import Event, EventBus
from futago.core.ports import CommandStore

POLL_S = 0.25  # how often a wait reads the record again


class CommandLedger:
    def __init__(self, records: CommandStore, bus: EventBus) -> None:
        self.records = records
        self.bus = bus
        # One lock for every check-then-move, so that two approvals cannot both pass one rate limit.
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)

    def record(self, command_id: str) -> CommandRecord:
        record = self.records.get_command(command_id)
        if record is None:
            raise NotFound(f"command '{command_id}' does not exist")
        return record

    def add(self, record: CommandRecord, events: list[Event]) -> None:
        """Store a new record and queue its event. The caller holds the lock."""
        self.records.add_command(record)
        events.append(command_event(record))

    def move(
        self,
        record: CommandRecord,
        to: CommandState,
        by: str | None,
        events: list[Event],
        reason: str | None = None,
        **changes: Any,
    ) -> CommandRecord:
        """Store a transition (compare-and-set on the state) and queue its event; ``reason`` goes into the history
        entry (the audit trail says why, e.g. of a withdrawal). The caller holds the lock."""
        _, at = now_stamp()
        entry = {"at": at, "state": to, **({"by": by} if by else {}), **({"reason": reason} if reason else {})}
        updated = replace(record, state=to, history=[*record.history, entry], **changes)
        if not self.records.update_command(updated, record.state):
            raise Conflict(f"command '{record.id}' changed meanwhile; read it again")
        events.append(command_event(updated))
        self._changed.notify_all()
        return updated

    def publish(self, events: list[Event]) -> None:
        # Outside the lock: a subscriber (a rule, the SSE stream) may call back into the service.
        for event in events:
            self.bus.publish(event)

    def wait(self, command_id: str, timeout_s: float) -> dict[str, Any]:
        """The record once it is final, or waits for a person (proposed), or after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                record = self.record(command_id)
                left = deadline - time.monotonic()
                if record.state in FINAL or record.state == "proposed" or left <= 0:
                    return record.to_json()
                # Not only woken: scaled out, the leader moves a command approved through this process, and
                # nothing here hears it but the store.
                self._changed.wait(min(left, POLL_S))
