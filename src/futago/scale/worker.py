"""An ingestion worker: consumes partitions of the ingestion log and runs each message through the same pipeline
a connector in the server would (mapping, units, signatures, quality, store, events).

Each partition has one durable JetStream pull consumer. Workers share the partitions through leases in NATS KV
(``futago.scale.assignment``): they join and leave without configuration, and each partition (each twin) is
consumed in order by one of them at a time. Started with ``--index i --of N`` a worker takes the partitions ``p``
with ``p % N == i`` instead, without leases (static mode, as before). The two modes do not mix on one log: the
cluster settings record the mode in use, and a worker of the other one refuses to start while workers of that one run.
A batch is acknowledged only after its readings are committed: a worker killed mid-batch leaves the batch
unacknowledged, and whoever consumes the partition next gets it again. Appends are idempotent on (twin, telemetry,
timestamp), so the redelivery stores nothing twice.
A restarted worker resumes its durable consumers where they were.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from futago.core.dead_letters import DeadLetter, letter_key
from futago.core.errors import InvalidInput, NotFound
from futago.core.records import JsonRecord, json_meta
from futago.core.twins import now_iso
from futago.ingest.connections import ConnectionManager
from futago.ingest.mapping import RawMessage
from futago.ingest.pipeline import IngestPipeline
from futago.protocols.nats.kv import JetStreamContext
from futago.protocols.nats.link import NatsLink
from futago.scale.assignment import RENEW_S, PartitionLeases, workers_bucket
from futago.scale.cluster_settings import ClusterSettings, current
from futago.scale.ingest_log import STREAM, consumer_name, decode, ensure_stream

log = logging.getLogger(__name__)

POISON_AFTER = 5  # deliveries of a failing batch before its messages are taken one at a time


def _deliveries(reply: str) -> int:
    """How often JetStream has delivered a message, read from its ack subject without parsing all of its metadata:
    $JS.ACK.<stream>.<consumer>.<delivered>... or, with a domain and account, $JS.ACK.<domain>.<account>.<stream>..."""
    tokens = reply.split(".")
    return int(tokens[4] if len(tokens) == 9 else tokens[6])


def partitions_of(index: int, of: int, partitions: int) -> list[int]:
    if not 0 <= index < of:
        raise ValueError(f"worker index {index} is not in 0..{of - 1}")
    return [p for p in range(partitions) if p % of == index]


@dataclass
class WorkerCounters(JsonRecord):
    messages: int = 0
    batches: int = 0
    redelivered: int = 0
    partitions: list[int] = field(default_factory=list)  # every partition it consumed at some time
    by_partition: dict[int, int] = field(default_factory=dict, metadata=json_meta(skip=True))  # not reported


class IngestWorker:
    def __init__(
        self,
        link: NatsLink,
        connections: ConnectionManager,
        pipeline: IngestPipeline,
        settings: ClusterSettings,
        partitions: list[int] | None = None,
        on_change: Callable[[set[int]], None] | None = None,
        worker_id: str | None = None,
        presence: str | None = None,
    ) -> None:
        """``partitions``: a static share (``--index/--of``); None: shared with the other workers through leases.
        ``on_change``: told the partitions this worker consumes whenever they change (dynamic mode). ``worker_id``:
        its id among leased workers (the one it agreed the cluster settings with). ``presence``: a static worker's
        key in ``futago-workers``, renewed while it runs so that no leased worker starts beside it
        (futago.scale.cluster_settings)."""
        self.link = link
        self.connections = connections
        self.pipeline = pipeline
        self.settings = settings
        self.batch = settings.batch
        self.partitions = partitions
        self.leases = None if partitions is not None else PartitionLeases(link, settings.partitions, worker_id)
        self.presence = presence if partitions is not None else None
        self.on_change = on_change
        self.counters = WorkerCounters()
        # One thread does the pipeline's work for every partition, a batch at a time: that work is Python (the GIL),
        # and more threads only contend for it. NATS I/O carries on in the loop's thread meanwhile. More throughput
        # comes from more worker processes, one a core.
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="futago-ingest")
        self._stop = threading.Event()
        ensure_stream(link, settings)

    @property
    def id(self) -> str | None:
        return None if self.leases is None else self.leases.id

    def run(self) -> None:
        """Consume until ``stop`` (from another thread or a signal handler)."""
        loops = [self._coordinate()] if self.partitions is None else [self._consume(p) for p in self.partitions]
        if self.presence is not None:
            loops.append(self._present(self.presence))
        tasks = [asyncio.run_coroutine_threadsafe(loop, self.link.loop) for loop in loops]
        try:
            # A partition whose loop died would otherwise go unconsumed while the worker looks healthy.
            done, _ = concurrent.futures.wait(tasks, return_when=concurrent.futures.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            self._stop.set()
            concurrent.futures.wait(tasks)  # every loop has finished its batch in hand (stored and acknowledged)
            self._executor.shutdown(wait=True)

    def stop(self) -> None:
        self._stop.set()

    def _may_consume(self, partition: int) -> bool:
        return not self._stop.is_set() and (self.leases is None or self.leases.consumable(partition))

    async def _coordinate(self) -> None:
        """Dynamic mode: renew and rebalance the leases, and run one consumer loop per partition held."""
        assert self.leases is not None
        tasks: dict[int, asyncio.Future[None]] = {}
        reported: set[int] = set()
        try:
            while not self._stop.is_set():
                for partition, task in list(tasks.items()):
                    if task.done():  # released or lost (its loop saw it), or failed: then the worker fails
                        del tasks[partition]
                        task.result()
                try:
                    wanted = await self.leases.tick(set(tasks))
                    stored = await current(self.link)
                except Exception:  # NATS away: the loops stop by themselves once their leases are stale
                    log.exception("renewing worker %s's partition leases failed", self.leases.id)
                    wanted = set(tasks)
                    stored = None
                if stored is not None:
                    self.batch = stored.batch  # the one stored setting, changed by a later worker's --batch
                for partition in sorted(wanted - set(tasks)):
                    tasks[partition] = asyncio.ensure_future(self._consume(partition))
                if self.on_change is not None and set(tasks) != reported:
                    reported = set(tasks)
                    self.on_change(reported)
                await self._pause(RENEW_S)
        finally:
            self._stop.set()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            try:
                await self.leases.release_all()  # the others take over at once, not after the lease expires
            except Exception:
                log.warning("could not release worker %s's leases; they expire by themselves", self.leases.id)

    async def _present(self, key: str) -> None:
        """Static mode: renew this worker's presence (the mode it shows to workers starting), gone when it stops."""
        kv = await workers_bucket(self.link)
        try:
            while not self._stop.is_set():
                try:
                    await kv.put(key, b"")
                except Exception:  # NATS away: the consumer loops notice it themselves
                    log.warning("could not renew worker presence %s", key, exc_info=True)
                await self._pause(RENEW_S)
        finally:
            with contextlib.suppress(Exception):
                await kv.delete(key)

    async def _pause(self, seconds: float) -> None:
        deadline = self.link.loop.time() + seconds
        while not self._stop.is_set() and self.link.loop.time() < deadline:
            await asyncio.sleep(0.1)

    async def _consume(self, partition: int) -> None:
        # The consumer is the partition's own, made with the stream and shaped by the cluster's settings.
        sub = await self.link.js.pull_subscribe_bind(consumer_name(partition), STREAM)
        if partition not in self.counters.partitions:
            self.counters.partitions.append(partition)
        try:
            await self._consume_from(partition, sub)
        finally:
            with contextlib.suppress(Exception):  # the link may be closing; the consumer stays on the server
                await sub.unsubscribe()

    async def _consume_from(self, partition: int, sub: JetStreamContext.PullSubscription) -> None:
        while self._may_consume(partition):
            try:
                msgs = await sub.fetch(self.batch, timeout=0.5)
            except TimeoutError:  # nothing in the partition just now (nats-py raises asyncio's or its own)
                continue
            except Exception:  # the server restarting, say: wait and fetch again
                log.exception("fetching partition %d failed", partition)
                await asyncio.sleep(1.0)
                continue
            if not msgs:  # a status reply (the request expired): nothing delivered
                continue
            data = [m.data for m in msgs]
            # A batch that failed again and again holds a message the pipeline cannot take: one at a time, then.
            process = self._process_singly if max(_deliveries(m.reply) for m in msgs) >= POISON_AFTER else self._process
            try:
                # The pipeline's work blocks (database writes): off the loop, one batch of a partition at a time.
                await self.link.loop.run_in_executor(self._executor, process, data)
            except Exception:
                # Not acknowledged: delivered again shortly (the store may be back); nothing is lost.
                log.exception("a batch of partition %d failed and will be delivered again", partition)
                for msg in msgs:
                    await msg.nak(delay=1.0)
                continue
            for msg in msgs:  # stored: each may go (one by one, not gathered: a task each would cost more)
                await msg.ack()
            self.counters.messages += len(msgs)
            self.counters.batches += 1
            self.counters.redelivered += sum(1 for m in msgs if _deliveries(m.reply) > 1)
            self.counters.by_partition[partition] = self.counters.by_partition.get(partition, 0) + len(msgs)

    def _process_singly(self, data: list[bytes]) -> None:
        """Each message on its own; one that still fails becomes a dead letter with the error (the rest are stored).
        If the dead letter cannot be stored either (the store is down), the batch fails and comes again."""
        for item in data:
            try:
                self._process([item])
            except Exception as exc:
                reason = f"the ingestion pipeline failed on this message {POISON_AFTER} times: {exc!r}"[:2000]
                self.pipeline.store.add_dead_letters([_log_letter(item, reason)])

    def _process(self, data: list[bytes]) -> None:
        """Run the messages through the pipeline, a connection's run at a time, in the order they came."""
        run: list[RawMessage] = []
        current: str | None = None
        unreadable: list[DeadLetter] = []
        for item in data:
            try:
                logged = decode(item)
            except (ValueError, TypeError):  # not written by futago's log: kept, not dropped
                reason = "the ingestion log holds a message that is not a futago envelope"
                unreadable.append(_log_letter(item, reason))
                continue
            if logged.connection != current and run:
                self._ingest(current, run)
                run = []
            current = logged.connection
            run.append(logged.message)
        if run:
            self._ingest(current, run)
        if unreadable:
            self.pipeline.store.add_dead_letters(unreadable)

    def _ingest(self, connection: str | None, messages: list[RawMessage]) -> None:
        assert connection is not None
        try:
            spec = self.connections.current_spec(connection)
        except (NotFound, InvalidInput) as exc:  # deleted, or changed into something invalid, since it was logged
            reason = f"connection '{connection}' cannot map this message now: {exc.detail}"
            self.pipeline.store.add_dead_letters([_message_letter(connection, m, reason) for m in messages])
            return
        self.pipeline.ingest(spec.name, spec.mapper, messages, spec.provision_model, spec.signing)


def _log_letter(item: bytes, reason: str) -> DeadLetter:
    """A message of the log kept whole; keyed on its bytes (the envelope holds when it was received), so that
    its redelivery after a crash is not a second letter."""
    return DeadLetter("ingest-log", STREAM, item, reason, "", now_iso(), key=letter_key("ingest-log", STREAM, item, ""))


def _message_letter(connection: str, message: RawMessage, reason: str) -> DeadLetter:
    key = letter_key(connection, message.source, message.payload, message.received_us)
    return DeadLetter(connection, message.source, message.payload, reason, "", now_iso(), key=key)
