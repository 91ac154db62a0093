"""An ingestion worker: consumes partitions of the ingestion log and runs each message through the same pipeline
a connector in the server would (mapping, units, signatures, quality, store, events).

Each partition has one durable JetStream consumer; a worker takes the partitions ``p`` with
``p % of == index``, so N workers started with ``--index 0..N-1 --of N`` share the log without talking to each
other, and each partition (each twin) is consumed in order by one of them. A batch is acknowledged only after its
readings are committed: a worker killed mid-batch leaves the batch unacknowledged, and whoever consumes the partition
next gets it again. Appends are idempotent on (twin, telemetry, timestamp), so the redelivery stores nothing twice.
A restarted worker resumes its durable consumers where they were.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from dataclasses import dataclass, field

from futago.core.dead_letters import DeadLetter, letter_key
from futago.core.errors import InvalidInput, NotFound
from futago.core.records import JsonRecord, json_meta
from futago.core.twins import now_iso
from futago.ingest.connections import ConnectionManager
from futago.ingest.mapping import RawMessage
from futago.ingest.pipeline import IngestPipeline
from futago.protocols.nats.link import NatsLink
from futago.scale.ingest_log import ACK_WAIT_S, STREAM, consumer_config, consumer_name, decode, ensure_stream

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
    by_partition: dict[int, int] = field(default_factory=dict, metadata=json_meta(skip=True))  # not reported


class IngestWorker:
    def __init__(
        self,
        link: NatsLink,
        connections: ConnectionManager,
        pipeline: IngestPipeline,
        partitions: list[int],
        batch: int = 500,
        ack_wait_s: float = ACK_WAIT_S,
    ) -> None:
        self.link = link
        self.connections = connections
        self.pipeline = pipeline
        self.partitions = partitions
        self.batch = batch
        self.ack_wait_s = ack_wait_s
        self.counters = WorkerCounters()
        # One thread does the pipeline's work for every partition, a batch at a time: that work is Python (the GIL),
        # and more threads only contend for it. NATS I/O carries on in the loop's thread meanwhile. More throughput
        # comes from more worker processes, one a core.
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="futago-ingest")
        self._stop = threading.Event()
        ensure_stream(link, max(partitions, default=-1) + 1)

    def run(self) -> None:
        """Consume until ``stop`` (from another thread or a signal handler)."""
        tasks = [asyncio.run_coroutine_threadsafe(self._consume(p), self.link.loop) for p in self.partitions]
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

    async def _consume(self, partition: int) -> None:
        # The consumer is the partition's own, made with the stream; the worker's ack wait applies to it.
        await self.link.js.add_consumer(STREAM, consumer_config(partition, self.ack_wait_s, self.batch))
        sub = await self.link.js.pull_subscribe_bind(consumer_name(partition), STREAM)
        while not self._stop.is_set():
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
