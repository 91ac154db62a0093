"""Events fanned out between processes over NATS: a change made by a worker or by another API server reaches this
process's bus (its SSE clients, caches, alert rules and behaviours) as if it had happened here.

Routed by subject: an event travels on ``futago.events.<type>.<scope>``, the scope being one of ``SCOPES`` shards of
its twin id (``_`` for none), and a process subscribes only to what it needs: the structure events that keep its
caches right, everything while it leads (its rules and behaviours), and what its SSE clients ask for (``want``),
subscriptions made and removed as clients come and go. A process with no client watching a type does not receive
it. A shard rather than the twin id itself: ids are not all valid subject tokens, and a worker's batch of readings
for 500 twins stays a bounded number of messages (an SSE client of one twin filters the rest of its shard).

Each process publishes its own events (``origin`` None) and re-publishes, with the sender's id as ``origin``, those
of the others; handlers that record what this process did (the audit) skip events with an origin. Plain NATS, not
JetStream: like the SSE stream it serves, the fan-out is live, and what a process misses while down it reads from
the store. Incoming events are handed to the bus by one thread, in order. Overlapping subscriptions (a client of
``twin`` beside a client of one twin) would deliver a message twice: each carries an id and a repeat is dropped.

Events leave in batches: those published while the previous batch was being sent go together, one NATS message
per (type, scope) holding a JSON array. Dashboards at city scale take the roll-up instead: every ``ROLLUP_S`` each
process publishes, per event type it sent, one message on ``futago.rollup.<type>`` with counts only (events,
distinct twins), so a dashboard gets at most one message a second per type and publishing process.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import queue
import re
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from futago.core.events import Event, EventBus
from futago.protocols.nats.kv import Subscription
from futago.protocols.nats.link import Msg, NatsLink

log = logging.getLogger(__name__)

SUBJECT = "futago.events"
ROLLUP_SUBJECT = "futago.rollup"
SCOPES = 128
ROLLUP_S = 1.0
ID_HEADER = "Futago-Msg"
# What every process needs of the others: changes to models and twins (its caches), not their readings.
STRUCTURE_EVENTS = ("model.>", "twin.>", "relationship.>")
EVERYTHING = (">",)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def scope_of(twin_id: str | None) -> str:
    return "_" if twin_id is None else f"s{zlib.crc32(twin_id.encode()) % SCOPES}"


def event_subject(event_type: str, twin_id: str | None) -> str:
    return f"{SUBJECT}.{event_type}.{scope_of(twin_id)}"


def interest(types: Iterable[str] = (), twin_ids: Iterable[str] = ()) -> list[str]:
    """The subjects that carry the events of these types (full types, ``twin.created``, or first parts, ``twin``)
    about these twins; empty means any. A type that is no valid subject matches no event and needs none."""
    scopes = sorted({scope_of(t) for t in twin_ids}) or ["*"]
    kinds = sorted(set(types))
    if not kinds:
        return [f"{SUBJECT}.>"] if scopes == ["*"] else [f"{SUBJECT}.*.*.{s}" for s in scopes]
    patterns: list[str] = []
    for kind in kinds:
        parts = kind.split(".")
        if not all(_TOKEN.match(p) for p in parts) or len(parts) > 2:
            continue
        pattern = kind if len(parts) == 2 else f"{kind}.*"
        patterns.extend(f"{SUBJECT}.{pattern}.{s}" for s in scopes)
    return patterns


def follow_subjects(follow: Iterable[str]) -> list[str]:
    """``follow``'s event-type wildcards (``twin.>``, ``>``) as subjects of every scope."""
    return [f"{SUBJECT}.{f}" for f in follow]


def encode(events: list[Event], origin: str) -> bytes:
    """One NATS message: a JSON array of the events' wire forms (``Event.to_wire``)."""
    return orjson.dumps([e.to_wire(origin) for e in events], default=str, option=orjson.OPT_SERIALIZE_NUMPY)


def decode(data: bytes) -> list[Event]:
    docs: list[dict[str, Any]] = orjson.loads(data)
    return [Event.from_wire(d) for d in docs]


class EventRelay:
    def __init__(self, bus: EventBus, link: NatsLink, follow: tuple[str, ...] = EVERYTHING) -> None:
        """``follow``: the event types (NATS wildcards: ``twin.>``) this process always receives from the others."""
        self.bus = bus
        self.link = link
        self.origin = uuid.uuid4().hex
        self.received = 0
        self._inbox: queue.Queue[list[Event] | None] = queue.Queue()
        self._outbox: list[Event] = []
        self._sending = False  # a send is scheduled on the loop and will take what is in the outbox
        self._lock = threading.Lock()
        self._wanted: collections.Counter[str] = collections.Counter()  # subject -> how many want it
        self._subscriptions: dict[str, Subscription] = {}  # on the loop: what NATS has been asked for
        self._reconciling: asyncio.Lock | None = None
        self._ids = itertools.count()
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._rolled: dict[str, tuple[int, set[str]]] = {}  # type -> (events, twins) since the last roll-up
        self._rollups = threading.Event()
        self._dispatcher = threading.Thread(target=self._dispatch, name="futago-event-relay", daemon=True)
        self._dispatcher.start()
        self._release_follow = self.want(follow_subjects(follow))
        self.settle()  # the standing subscriptions are in place before the first event is sent
        self._roller = asyncio.run_coroutine_threadsafe(self._roll_up(), link.loop)
        self._unsubscribe = bus.subscribe(self._outgoing)

    # -- what this process receives ---------------------------------------------------------------
    def want(self, subjects: Iterable[str]) -> Callable[[], None]:
        """Receive the events on ``subjects`` (``interest``) until the returned function is called; subscriptions
        are shared between those who want the same subject. Returns at once (from any thread)."""
        wanted = list(subjects)
        with self._lock:
            self._wanted.update(wanted)
        self._schedule_reconcile()
        released = threading.Event()

        def release() -> None:
            if released.is_set():
                return
            released.set()
            with self._lock:
                self._wanted.subtract(wanted)
                self._wanted = +self._wanted  # drop the subjects nobody wants any more
            self._schedule_reconcile()

        return release

    def route(self, types: Iterable[str], twin_ids: Iterable[str]) -> Callable[[], None]:
        """An SSE client's filters as subscriptions (``interest``): held until the returned function is called."""
        return self.want(interest(types, twin_ids))

    def settle(self) -> None:
        """Wait until the subscriptions are those wanted (not from the link's own thread)."""
        self.link.call(self._reconcile(), timeout=10)

    def subjects(self) -> set[str]:
        """The subjects this process is subscribed to now."""
        return set(self._subscriptions)

    def _schedule_reconcile(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the link is gone, nothing more arrives
            asyncio.run_coroutine_threadsafe(self._reconcile(), self.link.loop)

    async def _reconcile(self) -> None:
        if self._reconciling is None:
            self._reconciling = asyncio.Lock()
        async with self._reconciling:  # one change at a time, in the order they were asked for
            with self._lock:
                wanted = set(self._wanted)
            everything = f"{SUBJECT}.>"
            if everything in wanted:  # it covers the rest: one subscription, no repeats to drop
                wanted = {everything}
            for subject in set(self._subscriptions) - wanted:
                with contextlib.suppress(Exception):
                    await self._subscriptions.pop(subject).unsubscribe()
            for subject in sorted(wanted - set(self._subscriptions)):
                self._subscriptions[subject] = await self.link.client.subscribe(subject, cb=self._incoming)

    # -- sending ------------------------------------------------------------------------------------
    def _outgoing(self, event: Event) -> None:
        if event.origin is not None:  # relayed here: its own process has sent it to everyone
            return
        with self._lock:
            self._outbox.append(event)
            count, twins = self._rolled.get(event.type, (0, set()))
            if event.twin_id is not None:
                twins.add(event.twin_id)
            self._rolled[event.type] = (count + 1, twins)
            if self._sending:
                return
            self._sending = True
        self.link.loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._send()))

    async def _send(self) -> None:
        with self._lock:
            events, self._outbox, self._sending = self._outbox, [], False
        by_subject: dict[str, list[Event]] = {}
        for event in events:
            by_subject.setdefault(event_subject(event.type, event.twin_id), []).append(event)
        for subject, batch in by_subject.items():
            try:
                headers = {ID_HEADER: f"{self.origin}.{next(self._ids)}"}
                await self.link.client.publish(subject, encode(batch, self.origin), headers=headers)
            except Exception:  # one type's trouble (an unencodable event) does not hold back the others
                log.exception("could not relay %d events on %s to the other processes", len(batch), subject)

    async def _roll_up(self) -> None:
        while not self._rollups.is_set():
            await asyncio.sleep(ROLLUP_S)
            with self._lock:
                rolled, self._rolled = self._rolled, {}
            end = time.time()
            for kind, (count, twins) in rolled.items():
                doc = {"type": kind, "count": count, "twins": len(twins), "seconds": ROLLUP_S, "until": end,
                       "origin": self.origin}  # fmt: skip
                with contextlib.suppress(Exception):  # a roll-up missed is the next one's to make up for
                    await self.link.client.publish(f"{ROLLUP_SUBJECT}.{kind}", orjson.dumps(doc))

    def watch_rollups(self, types: Iterable[str], deliver: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Hand ``deliver`` (on the link's thread) each roll-up of these types (first parts too; none: all) until
        the returned function is called."""
        patterns = [f"{ROLLUP_SUBJECT}.{t}" if "." in t else f"{ROLLUP_SUBJECT}.{t}.*" for t in set(types)] or [
            f"{ROLLUP_SUBJECT}.>"
        ]

        async def incoming(msg: Msg) -> None:
            with contextlib.suppress(ValueError):
                deliver(orjson.loads(msg.data))

        async def subscribe() -> list[Subscription]:
            return [await self.link.client.subscribe(p, cb=incoming) for p in patterns if _valid(p)]

        subscriptions = self.link.call(subscribe(), timeout=10)

        def release() -> None:
            async def unsubscribe() -> None:
                for subscription in subscriptions:
                    with contextlib.suppress(Exception):
                        await subscription.unsubscribe()

            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(unsubscribe(), self.link.loop)

        return release

    # -- receiving ----------------------------------------------------------------------------------
    async def _incoming(self, msg: Msg) -> None:
        ident = (msg.headers or {}).get(ID_HEADER)
        if ident is not None:
            if ident in self._seen:  # the same message through a second, overlapping subscription
                return
            self._seen[ident] = None
            if len(self._seen) > 4096:
                self._seen.popitem(last=False)
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
        self._rollups.set()
        self._roller.cancel()

        async def unsubscribe_all() -> None:
            for subscription in list(self._subscriptions.values()):
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()
            self._subscriptions.clear()

        with contextlib.suppress(Exception):  # the link may be gone already; nothing more arrives either way
            self.link.call(unsubscribe_all(), timeout=5)
        self._inbox.put(None)
        self._dispatcher.join(timeout=5)


def _valid(subject: str) -> bool:
    return all(_TOKEN.match(p) or p in ("*", ">") for p in subject.split("."))
