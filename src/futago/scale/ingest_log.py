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
from futago.protocols.nats.kv import BadRequestError, NotFoundError
from futago.protocols.nats.link import NatsLink
from futago.scale.cluster_settings import DEFAULT_ACK_WAIT_S, DEFAULT_BATCH, ClusterSettings, agree

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


ACK_WAIT_S = DEFAULT_ACK_WAIT_S  # kept for callers of the static worker


def consumer_name(partition: int) -> str:
    return f"futago-p{partition}"


def consumer_config(partition: int, ack_wait_s: float = ACK_WAIT_S, batch: int = DEFAULT_BATCH) -> ConsumerConfig:
    """A partition's consumer: about one batch in flight at a time, each message acknowledged once stored."""
    return work_queue_consumer(consumer_name(partition), subject(partition), ack_wait_s, batch)


def ensure_stream(link: NatsLink, settings: ClusterSettings) -> None:
    """Create the stream if it is not there, and bring each partition's consumer to the cluster's settings: made
    when missing, updated when its ack wait or batch differs, left alone otherwise (any process may be first)."""
    ensure_work_queue(link, STREAM, [f"{SUBJECT}.*"], ())
    link.call(_ensure_consumers(link, settings))


async def _ensure_consumers(link: NatsLink, settings: ClusterSettings) -> None:
    for partition in range(settings.partitions):
        wanted = consumer_config(partition, settings.ack_wait_s, settings.batch)
        try:
            info = await link.js.consumer_info(STREAM, consumer_name(partition))
        except NotFoundError:
            info = None
        if (
            info is not None
            and info.config.ack_wait == wanted.ack_wait
            and (info.config.max_ack_pending == wanted.max_ack_pending)
        ):
            continue
        try:
            await link.js.add_consumer(STREAM, wanted)  # on an existing durable: an update of these two fields
        except BadRequestError:  # another process made it meanwhile, with the same stored settings
            continue


PUBLISH_WINDOW = 256  # publishes awaiting their ack at once, per call


class NatsIngestLog:
    """The sink of every connector of a process when the ingestion log is on: publish, wait for the stream to
    have stored each message, and only then report them taken (so an MQTT connector acks its broker after)."""

    def __init__(self, link: NatsLink, partitions: int = DEFAULT_PARTITIONS) -> None:
        self.link = link
        self.partitions = partitions
        self.settings, _ = agree(link, partitions)  # refuses a count the cluster does not use
        ensure_stream(link, self.settings)

    def publish(
        self, connection: str, partition_key: Callable[[str], str], messages: Sequence[RawMessage]
    ) -> IngestResult:
        async def publish_all() -> None:
            js = self.link.js
            # A bounded window in flight: thousands of publishes at once each wait for their ack behind all the
            # others, and on a loaded machine the last ones outlive the client's ack timeout though nothing failed.
            for start in range(0, len(messages), PUBLISH_WINDOW):
                await asyncio.gather(
                    *(
                        js.publish(
                            subject(partition_of(partition_key(m.source), self.partitions)), encode(connection, m)
                        )
                        for m in messages[start : start + PUBLISH_WINDOW]
                    )
                )

        self.link.call(publish_all())
        return IngestResult(stored=0)
