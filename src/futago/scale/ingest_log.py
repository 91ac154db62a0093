"""The ingestion log: connectors append raw messages to a JetStream stream, ingestion workers consume it.

Messages are spread over ``partitions`` subjects (``futago.ingest.<p>``) by the twin they speak for (or their
source, where only the payload names the twin), so that one partition holds all of a twin's messages in order and
one worker at a time consumes it, through the partition's durable consumer. The stream is a work queue: a message
leaves it once a worker has stored what it carried and acknowledged it; until then it is redelivered, which is why
appends must be idempotent.

On the wire a message is one line of JSON (connection, source, receive time in µs), a newline, and the payload as
the connector received it: JSON escapes newlines, so the first one ends the envelope.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable, Sequence
from typing import NamedTuple

import orjson

from futago.ingest.mapping import RawMessage
from futago.ingest.pipeline import IngestResult
from futago.protocols.nats.jetstream import ConsumerConfig, ensure_work_queue, work_queue_consumer
from futago.protocols.nats.link import NatsLink

STREAM = "FUTAGO_INGEST"
SUBJECT = "futago.ingest"
DEFAULT_PARTITIONS = 8


class LoggedMessage(NamedTuple):
    connection: str
    message: RawMessage


def subject(partition: int) -> str:
    return f"{SUBJECT}.{partition}"


def partition_of(key: str, partitions: int) -> int:
    return zlib.crc32(key.encode()) % partitions


def encode(connection: str, message: RawMessage) -> bytes:
    return orjson.dumps([connection, message.source, message.received_us]) + b"\n" + message.payload


def decode(data: bytes) -> LoggedMessage:
    envelope, _, payload = data.partition(b"\n")
    connection, source, received_us = orjson.loads(envelope)
    return LoggedMessage(connection, RawMessage(source, payload, received_us))


ACK_WAIT_S = 30.0  # an unacknowledged batch is redelivered after this long (its worker died, say)


def consumer_name(partition: int) -> str:
    return f"futago-p{partition}"


DEFAULT_BATCH = 500


def consumer_config(partition: int, ack_wait_s: float = ACK_WAIT_S, batch: int = DEFAULT_BATCH) -> ConsumerConfig:
    """A partition's consumer: about one batch in flight at a time, each message acknowledged once stored."""
    return work_queue_consumer(consumer_name(partition), subject(partition), ack_wait_s, batch)


def ensure_stream(link: NatsLink, partitions: int) -> None:
    """Create the stream and its partitions' consumers if they are not there (any process may be first)."""
    ensure_work_queue(link, STREAM, [f"{SUBJECT}.*"], (consumer_config(p) for p in range(partitions)))


class NatsIngestLog:
    """The sink of every connector of a process when the ingestion log is on: publish, wait for the stream to
    have stored each message, and only then report them taken (so an MQTT connector acks its broker after)."""

    def __init__(self, link: NatsLink, partitions: int = DEFAULT_PARTITIONS) -> None:
        self.link = link
        self.partitions = partitions
        ensure_stream(link, partitions)

    def publish(
        self, connection: str, partition_key: Callable[[str], str], messages: Sequence[RawMessage]
    ) -> IngestResult:
        async def publish_all() -> None:
            js = self.link.js
            await asyncio.gather(
                *(
                    js.publish(subject(partition_of(partition_key(m.source), self.partitions)), encode(connection, m))
                    for m in messages
                )
            )

        self.link.call(publish_all())
        return IngestResult(stored=0)
