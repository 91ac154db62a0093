"""Events fanned out to every process over NATS: a change made by a worker or by another API server reaches this
process's bus (its SSE clients, caches, alert rules and behaviours) as if it had happened here.

Each process publishes its own events (``origin`` None) to ``futago.events.<type>`` and re-publishes, with the
sender's id as ``origin``, those of the others; handlers that record what this process did (the audit) skip events
with an origin. Plain NATS, not JetStream: like the SSE stream it serves, the fan-out is live, and what a process
misses while down it reads from the store. Incoming events are handed to the bus by one thread, in order.

Events leave in batches: those published while the previous batch was being sent go together, one NATS message
per event type holding a JSON array (a worker's append of 500 series is then a few messages, not 500).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import uuid
from typing import Any

import orjson

from futago.core.events import Event, EventBus
from futago.protocols.nats.link import Msg, NatsLink

log = logging.getLogger(__name__)

SUBJECT = "futago.events"
# What an ingestion worker needs to hear of the others: changes to models and twins (its caches), not their readings.
STRUCTURE_EVENTS = ("model.>", "twin.>", "relationship.>")


def encode(events: list[Event], origin: str) -> bytes:
    """One NATS message: a JSON array of the events' wire forms (``Event.to_wire``)."""
    return orjson.dumps([e.to_wire(origin) for e in events], default=str, option=orjson.OPT_SERIALIZE_NUMPY)


def decode(data: bytes) -> list[Event]:
    docs: list[dict[str, Any]] = orjson.loads(data)
    return [Event.from_wire(d) for d in docs]


class EventRelay:
    def __init__(self, bus: EventBus, link: NatsLink, follow: tuple[str, ...] = (">",)) -> None:
        """``follow``: the event types (NATS wildcards: ``twin.>``) to receive from the others; all by default."""
        self.bus = bus
        self.link = link
        self.origin = uuid.uuid4().hex
        self.received = 0
        self._inbox: queue.Queue[list[Event] | None] = queue.Queue()
        self._outbox: list[Event] = []
        self._sending = False  # a send is scheduled on the loop and will take what is in the outbox
        self._lock = threading.Lock()
        self._dispatcher = threading.Thread(target=self._dispatch, name="futago-event-relay", daemon=True)
        self._dispatcher.start()
        self._subscriptions = [link.call(link.client.subscribe(f"{SUBJECT}.{t}", cb=self._incoming)) for t in follow]
        self._unsubscribe = bus.subscribe(self._outgoing)

    def _outgoing(self, event: Event) -> None:
        if event.origin is not None:  # relayed here: its own process has sent it to everyone
            return
        with self._lock:
            self._outbox.append(event)
            if self._sending:
                return
            self._sending = True
        self.link.loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._send()))

    async def _send(self) -> None:
        with self._lock:
            events, self._outbox, self._sending = self._outbox, [], False
        by_type: dict[str, list[Event]] = {}
        for event in events:
            by_type.setdefault(event.type, []).append(event)
        for kind, batch in by_type.items():
            try:
                await self.link.client.publish(f"{SUBJECT}.{kind}", encode(batch, self.origin))
            except Exception:  # one type's trouble (an unencodable event) does not hold back the others
                log.exception("could not relay %d %s events to the other processes", len(batch), kind)

    async def _incoming(self, msg: Msg) -> None:
        try:
            events = decode(msg.data)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("an event on %s is not futago's; ignored", msg.subject)
            return
        if events and events[0].origin != self.origin:
            self._inbox.put(events)

    def _dispatch(self) -> None:
        while (events := self._inbox.get()) is not None:
            for event in events:
                self.received += 1
                self.bus.publish(event)

    def close(self) -> None:
        self._unsubscribe()
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):  # the link may be gone already; nothing more arrives either way
                self.link.call(subscription.unsubscribe(), timeout=5)
        self._inbox.put(None)
        self._dispatcher.join(timeout=5)
