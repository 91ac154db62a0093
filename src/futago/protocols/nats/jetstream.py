"""JetStream work queues: a stream whose messages leave once a consumer has acknowledged them, and the pull
consumers that take them. ``futago.scale.ingest_log`` names the stream, its subjects and its partitions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from futago.protocols.nats.link import NatsLink

__all__ = ["ConsumerConfig", "ensure_work_queue", "work_queue_consumer"]


def work_queue_consumer(durable: str, subject: str, ack_wait_s: float, max_ack_pending: int) -> ConsumerConfig:
    """A durable pull consumer of one subject, each message acknowledged on its own.

    Not AckPolicy.ALL, although one ack a batch would be cheaper: a message delivered into a fetch that had just
    expired, or to a worker that died, stays unacknowledged while newer ones are delivered, and acknowledging
    those would acknowledge it too, unstored. (The kill test caught exactly that.) The cost: after a crash, a
    twin's redelivered readings may be stored after newer ones; the store keeps each timestamp's value whatever
    the order, and "latest" follows the newest timestamp.
    """
    return ConsumerConfig(
        durable_name=durable,
        filter_subject=subject,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait_s,
        max_ack_pending=max_ack_pending,
    )


def ensure_work_queue(link: NatsLink, stream: str, subjects: list[str], consumers: Iterable[ConsumerConfig]) -> None:
    """Create the stream and its consumers if they are not there (any process may be first)."""
    config = StreamConfig(
        name=stream,
        subjects=subjects,
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=120.0,
    )
    with contextlib.suppress(BadRequestError):  # it exists, perhaps with other limits an operator set: keep them
        link.call(link.js.add_stream(config))
    for consumer in consumers:
        with contextlib.suppress(BadRequestError):
            link.call(link.js.add_consumer(stream, consumer))
