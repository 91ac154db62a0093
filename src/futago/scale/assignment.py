"""Which worker consumes which partition, decided by the workers themselves through leases in NATS KV.

The bucket ``futago-workers`` expires every key ``LEASE_S`` after its last write (by the NATS server's clock, so
the hosts' clocks need not agree). Each worker renews, every ``RENEW_S``:

- ``member.<id>``: it is alive; the live workers are the members present (a static worker, ``--index/--of``,
  renews ``static.<of>.<index>`` instead: it takes no part in the sharing, but shows that its mode is in use);
- ``partition.<p>``: it owns partition p; written with compare-and-set on the revision it last wrote, so a renewal
  after the key expired (the worker paused past its lease) or was taken fails, and the worker stops consuming p.

A worker owns at most ``ceil(partitions / live workers)``: when a worker joins, the others' share falls, each
releases what it holds beyond it (after the batch in hand is stored and acknowledged) and the newcomer claims the
free keys; when a worker dies, its keys expire and the survivors' share grows. One partition is so consumed by one
worker at a time, and a twin's messages are ingested in order. A worker consumes a partition only while its last
successful renewal is younger than ``FENCE_S`` (less than the lease): a worker that stalls stops before its key
can expire and another take it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import uuid
import zlib

from futago.protocols.nats.kv import (
    APIError,
    BucketNotFoundError,
    KeyValue,
    KeyValueConfig,
    KeyWrongLastSequenceError,
    NoKeysError,
    NotFoundError,
    StorageType,
)
from futago.protocols.nats.link import NatsLink

log = logging.getLogger(__name__)

BUCKET = "futago-workers"
LEASE_S = 6.0  # a dead worker's partitions are free this long after its last renewal
RENEW_S = 1.5
FENCE_S = LEASE_S * 0.75  # consume only this long after the last renewal was sent


async def workers_bucket(link: NatsLink) -> KeyValue:
    """The bucket of the workers' leases and presence, made by whoever comes first."""
    try:
        return await link.js.key_value(BUCKET)
    except (BucketNotFoundError, NotFoundError):
        config = KeyValueConfig(bucket=BUCKET, history=1, ttl=LEASE_S, storage=StorageType.MEMORY)
        return await link.js.create_key_value(config)


async def live_keys(kv: KeyValue) -> list[str]:
    """The keys not yet expired: each a live worker's presence or lease."""
    try:
        return list(await kv.keys())
    except NoKeysError:
        return []


def share(partitions: int, live: int) -> int:
    """The most partitions one of ``live`` workers may hold."""
    return math.ceil(partitions / max(live, 1))


class PartitionLeases:
    """One worker's leases; every method runs on the link's loop (the worker's coordinator calls them)."""

    def __init__(self, link: NatsLink, partitions: int, worker_id: str | None = None) -> None:
        self.link = link
        self.partitions = partitions
        self.id = worker_id or uuid.uuid4().hex[:12]
        self.held: dict[int, int] = {}  # partition -> revision of our last write
        self.renewed_at: dict[int, float] = {}  # partition -> monotonic time the last successful renewal was sent
        self.releasing: set[int] = set()
        self.live = 1
        self._kv: KeyValue | None = None
        # Where this worker starts looking for free partitions: spread, so that joiners do not race for the same key
        self._offset = zlib.crc32(self.id.encode()) % max(partitions, 1)

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await workers_bucket(self.link)
        return self._kv

    def consumable(self, partition: int) -> bool:
        """Whether this worker may fetch from ``partition`` now: held, not being released, renewed recently."""
        renewed = self.renewed_at.get(partition)
        return (
            partition in self.held
            and partition not in self.releasing
            and renewed is not None
            and time.monotonic() - renewed < FENCE_S
        )

    async def tick(self, running: set[int]) -> set[int]:
        """Renew, release beyond the share, claim up to it. ``running``: the partitions whose consumer loop still
        runs (a partition being released is deleted only once its loop has finished). Returns the partitions to
        consume."""
        kv = await self._bucket()
        await kv.put(f"member.{self.id}", b"")
        keys = await self._keys(kv)
        self.live = sum(1 for k in keys if k.startswith("member.")) or 1
        await self._renew(kv)
        quota = share(self.partitions, self.live)
        keep = sorted(p for p in self.held if p not in self.releasing)
        self.releasing.update(keep[quota:])  # the highest numbered go: a stable choice between ticks
        for partition in sorted(self.releasing - running):
            await self._release(kv, partition)
        taken = {int(k.split(".", 1)[1]) for k in keys if k.startswith("partition.")}
        await self._claim(kv, taken, quota)
        return {p for p in self.held if p not in self.releasing}

    async def _keys(self, kv: KeyValue) -> list[str]:
        return await live_keys(kv)

    async def _renew(self, kv: KeyValue) -> None:
        for partition, revision in list(self.held.items()):
            sent = time.monotonic()
            try:
                self.held[partition] = await kv.update(f"partition.{partition}", self.id.encode(), last=revision)
                self.renewed_at[partition] = sent
            except KeyWrongLastSequenceError:  # expired (we stalled) or taken meanwhile: not ours any more
                log.warning("worker %s lost its lease on partition %d", self.id, partition)
                self._forget(partition)

    async def _claim(self, kv: KeyValue, taken: set[int], quota: int) -> None:
        for step in range(self.partitions):
            if len(self.held) - len(self.releasing) >= quota:
                return
            partition = (self._offset + step) % self.partitions
            if partition in taken or partition in self.held:
                continue
            sent = time.monotonic()
            try:
                self.held[partition] = await kv.create(f"partition.{partition}", self.id.encode())
                self.renewed_at[partition] = sent
            except KeyWrongLastSequenceError:  # another worker was quicker
                continue

    async def _release(self, kv: KeyValue, partition: int) -> None:
        revision = self.held.get(partition)
        self._forget(partition)
        if revision is None:
            return
        # Only if still ours (else: wrong last sequence): a delete after our key expired and another took it
        # would free that one's lease.
        with contextlib.suppress(APIError):
            await kv.delete(f"partition.{partition}", last=revision)

    def _forget(self, partition: int) -> None:
        self.held.pop(partition, None)
        self.renewed_at.pop(partition, None)
        self.releasing.discard(partition)

    async def release_all(self) -> None:
        """On a graceful stop, once every loop has finished: free the partitions at once rather than at expiry."""
        kv = await self._bucket()
        for partition in list(self.held):
            await self._release(kv, partition)
        await kv.delete(f"member.{self.id}")
