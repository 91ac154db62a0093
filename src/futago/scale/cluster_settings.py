"""The settings every process of a deployment must agree on, kept in one place: the NATS KV bucket ``futago-cluster``.

``partitions`` decides which subject (and so which consumer) holds a twin's messages: a server that published with 8
while a worker consumed with 16 would leave half the log unread, so a process whose configured count differs from
the stored one refuses to start. ``ack_wait_s`` and ``batch`` shape every partition's consumer; the first process
to find the bucket empty writes its values, a worker started with an explicit ``--ack-wait``/``--batch`` replaces
them (the operator's latest word), and every other process reads them: a server's start creates the consumers that
are missing and brings those that differ to the stored values, and never to defaults of its own.

``workers`` records how the workers share the partitions: ``leased`` (they join and leave through leases,
futago.scale.assignment) or ``static`` with its ``--of`` (a fixed share each). The two cannot mix on one log: a
static worker consumes its partitions whatever the leases say, so it and a leased worker would both consume them,
out of order. A worker of another mode than the recorded one refuses to start, naming the mode in use, for as long
as a worker of that mode is alive (its presence key in ``futago-workers``, written before it agrees and renewed
while it runs, expires 6 s after it stops); once none is, the newcomer's mode replaces the record: changing mode
is stopping every worker of the old one. Servers leave the record alone.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

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
from futago.scale.assignment import live_keys, workers_bucket

BUCKET = "futago-cluster"
KEY = "settings"
DEFAULT_ACK_WAIT_S = 30.0  # an unacknowledged batch is redelivered after this long (its worker died, say)
DEFAULT_BATCH = 500


@dataclass(frozen=True)
class WorkerMode:
    """How the workers share the partitions: ``static_of`` None for leases, else the ``--of`` of a fixed share."""

    static_of: int | None = None

    @property
    def name(self) -> str:
        return "leased" if self.static_of is None else "static"

    def describe(self) -> str:
        if self.static_of is None:
            return "leased mode (`futago worker` without --index/--of: the workers share the partitions by leases)"
        return f"static mode with --of {self.static_of} (`futago worker --index i --of {self.static_of}`)"

    def presence_key(self, worker: str) -> str:
        """The key a live worker of this mode renews in ``futago-workers`` (``worker``: its id, or its index)."""
        return f"member.{worker}" if self.static_of is None else f"{self._static_prefix()}{worker}"

    def is_presence(self, key: str) -> bool:
        return key.startswith("member." if self.static_of is None else self._static_prefix())

    def _static_prefix(self) -> str:
        return f"static.{self.static_of}."

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.name, **({"of": self.static_of} if self.static_of is not None else {})}

    @classmethod
    def from_json(cls, doc: Any) -> WorkerMode | None:
        if doc is None:
            return None
        if doc["mode"] == "leased":
            return cls()
        if doc["mode"] == "static":
            return cls(int(doc["of"]))
        raise ValueError(f"unknown worker mode {doc['mode']!r}")


@dataclass(frozen=True)
class ClusterSettings:
    partitions: int
    ack_wait_s: float = DEFAULT_ACK_WAIT_S
    batch: int = DEFAULT_BATCH
    workers: WorkerMode | None = None  # None: no worker has started yet

    def to_bytes(self) -> bytes:
        doc: dict[str, Any] = {"partitions": self.partitions, "ackWaitS": self.ack_wait_s, "batch": self.batch}
        if self.workers is not None:
            doc["workers"] = self.workers.to_json()
        return orjson.dumps(doc)

    @classmethod
    def from_bytes(cls, data: bytes) -> ClusterSettings:
        try:
            doc = orjson.loads(data)
            workers = WorkerMode.from_json(doc.get("workers"))
            return cls(int(doc["partitions"]), float(doc["ackWaitS"]), int(doc["batch"]), workers)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
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


def other_mode(stored: WorkerMode, mine: WorkerMode, live: int) -> InvalidInput:
    return InvalidInput(
        [Problem("/scale/workers",
                 f"the cluster's workers run in {stored.describe()}, and {live} such worker(s) are alive; a worker "
                 f"in {mine.describe()} would consume the same partitions as they do. Start this one in "
                 f"{stored.name} mode too, or stop every {stored.name} worker first (the mode is free 6 s after the "
                 "last one stops)")]
    )  # fmt: skip


async def _other_mode_live(link: NatsLink, stored: WorkerMode) -> int:
    """How many workers of ``stored`` mode are alive (their presence keys not expired)."""
    return sum(1 for key in await live_keys(await workers_bucket(link)) if stored.is_presence(key))


async def _agree(
    link: NatsLink,
    partitions: int,
    ack_wait_s: float | None,
    batch: int | None,
    workers: WorkerMode | None = None,
    presence: str | None = None,
) -> tuple[ClusterSettings, bool]:
    kv = await _bucket(link)
    if presence is not None:  # before the check: a worker of another mode starting meanwhile sees this one
        await (await workers_bucket(link)).put(presence, b"")
    mine = ClusterSettings(partitions, ack_wait_s or DEFAULT_ACK_WAIT_S, batch or DEFAULT_BATCH, workers)
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
        if workers is not None and stored.workers != workers:
            if stored.workers is not None and (live := await _other_mode_live(link, stored.workers)):
                raise other_mode(stored.workers, workers, live)
            wanted = replace(wanted, workers=workers)  # none of the recorded mode is alive: the mode changes
        if wanted == stored:
            return stored, False
        try:
            await kv.update(KEY, wanted.to_bytes(), last=entry.revision)
            return wanted, True
        except KeyWrongLastSequenceError:
            continue
    raise RuntimeError(f"could not agree on the cluster settings in NATS KV '{BUCKET}': too many concurrent writers")


def agree(
    link: NatsLink,
    partitions: int,
    ack_wait_s: float | None = None,
    batch: int | None = None,
    workers: WorkerMode | None = None,
    worker: str | None = None,
) -> tuple[ClusterSettings, bool]:
    """The cluster's settings, written first if there are none; ``ack_wait_s``/``batch`` (when given) replace the
    stored ones. Raises InvalidInput when ``partitions`` disagrees with the stored count. A worker gives its mode
    and its id (``worker``, its index in static mode): its presence is written first, and InvalidInput names the mode
    in use when workers of another mode are alive (its presence is then taken back). The flag: whether this call
    wrote them."""
    presence = workers.presence_key(worker) if workers is not None and worker is not None else None
    try:
        return link.call(_agree(link, partitions, ack_wait_s, batch, workers, presence))
    except InvalidInput:
        if presence is not None:  # refused: it must not hold the mode it was refused against
            with contextlib.suppress(Exception):
                link.call(_absent(link, presence), timeout=5)
        raise


async def _absent(link: NatsLink, presence: str) -> None:
    await (await workers_bucket(link)).delete(presence)


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
