"""Sending approved commands to devices on worker threads, and recording what became of each."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from futago.act.commands.binding import Binding
from futago.act.commands.ledger import CommandLedger
from futago.act.commands.record import CommandRecord, now_stamp
from futago.act.transport import OnSent, Outcome, OutgoingCommand, TransportSpec
from futago.core.errors import Conflict
from futago.core.events import Event
from futago.core.fence import OPEN, Fence, Fenced, acting, refused
from futago.core.problems import Problem

log = logging.getLogger(__name__)


class Transports(Protocol):
    """How commands reach devices (``act/transport.py``: CommandTransports)."""

    def check(self, spec: TransportSpec, pointer: str = "/transport") -> list[Problem]: ...
    def send(self, spec: TransportSpec, command: OutgoingCommand, on_sent: OnSent) -> Outcome: ...
    def close(self) -> None: ...


class CommandDispatcher:
    def __init__(self, ledger: CommandLedger, transports: Transports, workers: int = 4, fence: Fence = OPEN) -> None:
        self.fence = fence  # scaled out: a command leaves only while this process holds the lead
        self.ledger = ledger
        self.transports = transports
        # Sending waits for the device (up to the transport's timeout): never on the caller's thread, which may be
        # the rule engine on the bus or an API request.
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="futago-command")

    def submit(self, record: CommandRecord, binding: Binding) -> None:
        self._executor.submit(self._dispatch, record, binding)

    def close(self) -> None:
        """Stop sending: queued commands stay approved (the next start fails them), in-flight ones fail."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.transports.close()  # wakes every command waiting for an answer
        self._executor.shutdown(wait=True)

    def _dispatch(self, record: CommandRecord, binding: Binding) -> None:
        try:
            self._send(record, binding)
        except Exception:  # on a worker nobody would see it: say so, the record stays where it got to
            log.exception("command %s: recording its outcome failed", record.id)

    def _send(self, record: CommandRecord, binding: Binding) -> None:
        """On a worker: send, record ``sent`` when it leaves futago, then the outcome."""
        outgoing = OutgoingCommand(record.id, record.twin_id, record.command, record.payload)
        try:  # asked of the database, not the cache: a command to a device cannot be taken back
            token = self.fence.confirm(f"sending command {record.id}")
        except Fenced as exc:  # it stays approved, for the leader to send (or fail) once
            log.warning("command %s was not sent: %s", record.id, exc.detail)
            return
        current = self.ledger.record(record.id)
        if current.state != "approved":  # resolved meanwhile (failed by a leader taking over): not to be sent now
            log.warning("command %s was not sent: it is %s", record.id, current.state)
            return
        try:
            with acting(token):  # every move it makes is written with (and checked against) this token
                self._transmit(record, binding, outgoing, token)
        except Fenced as exc:  # the lease went meanwhile: the record stays where the store last had it
            refused("command", exc.detail)

    def _transmit(self, record: CommandRecord, binding: Binding, outgoing: OutgoingCommand, token: int) -> None:
        left = threading.Event()

        def on_sent(sent: dict[str, Any]) -> None:
            # Recorded before the transport writes to an OPC UA device (after an MQTT publish): a stale token's
            # Fenced stops that write. On the transport's thread, so the token is set here again.
            events: list[Event] = []
            with acting(token), self.ledger.lock:
                current = self.ledger.record(record.id)
                if current.state != "approved":  # failed meanwhile by a leader taking over: an OPC UA write stops
                    raise Conflict(f"command {record.id} is {current.state} now; it was not sent")
                _, at = now_stamp()
                self.ledger.move(current, "sent", None, events, sent=sent, sent_at=at)
            left.set()
            self.ledger.publish(events)

        try:
            outcome = self.transports.send(binding.transport, outgoing, on_sent)
        except Exception as exc:  # a bug in a transport must still end the command
            log.exception("command %s: the transport failed", record.id)
            outcome = Outcome(False, error=f"the transport failed: {type(exc).__name__}: {exc}")
        events: list[Event] = []
        with self.ledger.lock:
            current = self.ledger.record(record.id)
            if current.state not in ("approved", "sent"):  # resolved by a leader taking over: its record stands
                return
            _, at = now_stamp()
            common = {"response": outcome.response, "result_state": outcome.state}
            if outcome.ok and left.is_set():
                self.ledger.move(current, "completed", None, events, completed_at=at, **common)
            else:
                # Nothing left futago: it does not count against the rate limit or the rate of change.
                admitted = current.admitted_us if left.is_set() else None
                error = outcome.error or "the transport ended without sending"
                self.ledger.move(
                    current, "failed", None, events, failed_at=at, error=error, admitted_us=admitted, **common
                )
        self.ledger.publish(events)
