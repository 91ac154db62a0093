"""The settings every process of a deployment must agree on, kept in one place: the NATS KV bucket ``futago-cluster``.

``partitions`` decides which subject (and so which consumer) holds a twin's messages: a server that published with 8
while a worker consumed with 16 would leave half the log unread, so a process whose configured count differs from
the stored one refuses to start. ``ack_wait_s`` and ``batch`` shape every partition's consumer; the first process
to find the bucket empty writes its values, a worker started with an explicit ``--ack-wait``/``--batch`` replaces
them (the operator's latest word), and every other process reads them: a server's start creates the consumers that
are missing and brings those that differ to the stored values, and never to defaults of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import orjson

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.protocols.nats.kv import (
    BucketNotFoundError,
    KeyNotFoundError,
    KeyValue,
    KeyValueConfig,
    KeyWrongLastSequenceError,
    NotFoundError,
)
from futago.protocols.nats.link import NatsLink

BUCKET = "futago-cluster"
KEY = "settings"
DEFAULT_ACK_WAIT_S = 30.0  # an unacknowledged batch is redelivered after this long (its worker died, say)
DEFAULT_BATCH = 500


@dataclass(frozen=True)
class ClusterSettings:
    partitions: int
    ack_wait_s: float = DEFAULT_ACK_WAIT_S
    batch: int = DEFAULT_BATCH

    def to_bytes(self) -> bytes:
        return orjson.dumps({"partitions": self.partitions, "ackWaitS": self.ack_wait_s, "batch": self.batch})

    @classmethod
    def from_bytes(cls, data: bytes) -> ClusterSettings:
        try:
            doc = orjson.loads(data)
            return cls(int(doc["partitions"]), float(doc["ackWaitS"]), int(doc["batch"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(
                [Problem("/scale", f"the cluster settings in NATS KV '{BUCKET}' are unreadable ({exc}); fix or "
                                   f"delete the key '{KEY}' (`nats kv del {BUCKET} {KEY}`)")]
            ) from exc  # fmt: skip


async def _bucket(link: NatsLink) -> KeyValue:
    try:
        return await link.js.key_value(BUCKET)
    except (BucketNotFoundError, NotFoundError):
        # history 1 and no expiry: the settings hold for as long as the log does; any process may be first
        return await link.js.create_key_value(KeyValueConfig(bucket=BUCKET, history=1))


def mismatch(configured: int, stored: int) -> InvalidInput:
    return InvalidInput(
        [Problem("/scale/partitions",
                 f"this process is configured with {configured} partitions but the cluster's ingestion log has "
                 f"{stored} (NATS KV '{BUCKET}'); a twin's messages would go to a partition nobody consumes. "
                 f"Set [scale] partitions / FUTAGO_PARTITIONS to {stored}")]
    )  # fmt: skip


async def _agree(
    link: NatsLink, partitions: int, ack_wait_s: float | None, batch: int | None
) -> tuple[ClusterSettings, bool]:
    kv = await _bucket(link)
    mine = ClusterSettings(partitions, ack_wait_s or DEFAULT_ACK_WAIT_S, batch or DEFAULT_BATCH)
    for _ in range(20):  # compare-and-set: another process may write between our read and our write
        try:
            entry = await kv.get(KEY)
        except KeyNotFoundError:
            try:
                await kv.create(KEY, mine.to_bytes())
                return mine, True
            except KeyWrongLastSequenceError:
                continue
        assert entry.value is not None and entry.revision is not None
        stored = ClusterSettings.from_bytes(entry.value)
        if stored.partitions != partitions:
            raise mismatch(partitions, stored.partitions)
        wanted = replace(stored, ack_wait_s=ack_wait_s or stored.ack_wait_s, batch=batch or stored.batch)
        if wanted == stored:
            return stored, False
        try:
            await kv.update(KEY, wanted.to_bytes(), last=entry.revision)
            return wanted, True
        except KeyWrongLastSequenceError:
            continue
    raise RuntimeError(f"could not agree on the cluster settings in NATS KV '{BUCKET}': too many concurrent writers")


def agree(
    link: NatsLink, partitions: int, ack_wait_s: float | None = None, batch: int | None = None
) -> tuple[ClusterSettings, bool]:
    """The cluster's settings, written first if there are none; ``ack_wait_s``/``batch`` (when given) replace the
    stored ones. Raises InvalidInput when ``partitions`` disagrees with the stored count. The flag: whether this
    call wrote them."""
    return link.call(_agree(link, partitions, ack_wait_s, batch))


async def current(link: NatsLink) -> ClusterSettings | None:
    """The stored settings (on the link's loop: a worker re-reads them as it renews its leases); None if none."""
    try:
        entry = await (await _bucket(link)).get(KEY)
    except KeyNotFoundError:
        return None
    assert entry.value is not None
    return ClusterSettings.from_bytes(entry.value)


def read(link: NatsLink) -> ClusterSettings | None:
    return link.call(current(link))
