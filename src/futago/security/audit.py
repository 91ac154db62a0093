"""The tamper-evident audit: an append-only log whose entries are chained by SHA-256, with Ed25519-signed checkpoints.

Each entry's hash covers its sequence number, time, actor, action, resource, detail and the previous entry's hash,
as canonical JSON (keys sorted, no insignificant whitespace, UTF-8). Changing, deleting, inserting or reordering an
entry breaks the chain at that entry, and ``verify`` names the first one that is wrong.

Someone able to rewrite the whole store can also recompute every hash after the change; a signed checkpoint
(the head's sequence number and hash, signed with the store's Ed25519 key) catches that as long as a copy of the
checkpoint is kept elsewhere (``futago audit checkpoint --out``): it is the third party's proof of what the log
said at that point, and a log that no longer contains it has been rewritten or truncated.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from futago.core.audit import GENESIS, AuditEntry, Checkpoint
from futago.store.port import AuditStore

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 1000  # entries between automatic checkpoints


def signature_ok(checkpoint: Checkpoint) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(checkpoint.public_key))
        key.verify(base64.b64decode(checkpoint.signature), checkpoint.signed_bytes())
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(slots=True)
class Verification:
    entries: int = 0
    ok: bool = True
    first_bad: int | None = None
    reason: str | None = None
    head: str = GENESIS
    checkpoints_verified: int = 0
    checkpoint_problems: list[str] = field(default_factory=list)

    def fail(self, seq: int, reason: str) -> None:
        if self.ok:
            self.ok, self.first_bad, self.reason = False, seq, reason

    def to_json(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "ok": self.ok,
            "first_bad": self.first_bad,
            "reason": self.reason,
            "head": self.head,
            "checkpoints_verified": self.checkpoints_verified,
            "checkpoint_problems": self.checkpoint_problems,
        }


def verify_entries(entries: Iterable[AuditEntry], checkpoints: Iterable[Checkpoint] = ()) -> Verification:
    """Walk the chain in stored order; the first entry whose number, link or hash is wrong is ``first_bad``.

    A checkpoint must be signed by its key, and the entry at its seq must carry its hash; one beyond the
    last entry means entries were removed from the end."""
    result = Verification()
    wanted = {c.seq: c for c in checkpoints}
    forged = sorted(seq for seq, c in wanted.items() if not signature_ok(c))
    for seq in forged:
        result.checkpoint_problems.append(f"checkpoint at {seq}: the signature does not verify")
    expected_seq, prev = 1, GENESIS
    for entry in entries:
        result.entries += 1
        if entry.seq != expected_seq:
            gap = "is missing" if entry.seq > expected_seq else "comes again or out of order"
            result.fail(entry.seq, f"entry {entry.seq} stands where entry {expected_seq} should: {expected_seq} {gap}")
        elif entry.prev != prev:
            result.fail(entry.seq, f"entry {entry.seq} does not link to the entry before it (inserted or reordered)")
        elif entry.computed_hash() != entry.hash:
            result.fail(entry.seq, f"entry {entry.seq} was modified: its content does not match its hash")
        checkpoint = wanted.pop(entry.seq, None)
        if checkpoint is not None:
            if checkpoint.hash != entry.hash:
                result.checkpoint_problems.append(f"checkpoint at {entry.seq}: the log's entry differs (rewritten)")
                result.fail(entry.seq, f"entry {entry.seq} differs from the signed checkpoint (the log was rewritten)")
            elif signature_ok(checkpoint):
                result.checkpoints_verified += 1
        expected_seq, prev = entry.seq + 1, entry.hash
    result.head = prev
    for seq in sorted(wanted):
        result.checkpoint_problems.append(f"checkpoint at {seq}: the log ends at {expected_seq - 1} (truncated)")
        result.fail(expected_seq, f"entries from {expected_seq} on were removed: a checkpoint names entry {seq}")
    if forged:
        result.fail(forged[0], f"the checkpoint at {forged[0]} is not signed by its key")
    return result


def load_signing_key(path: Path | None) -> Ed25519PrivateKey:
    """The store's Ed25519 key: read from ``path`` (PEM, PKCS#8), created there (mode 0600) if missing;
    an in-memory store gets a key for the life of the process."""
    if path is None:
        return Ed25519PrivateKey.generate()
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name and linked into place: processes starting together (a scaled-out
    # deployment's) agree on whichever key got there first, and none reads a half-written file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return load_signing_key(path)
    finally:
        temporary.unlink()
    return key


@dataclass(frozen=True, slots=True)
class _Pending:
    ts: str
    actor: str
    action: str
    resource: str
    detail: dict[str, Any]

    def maker(self) -> Callable[[int, str], AuditEntry]:
        """What the store calls with the next seq and the head's hash, inside its transaction."""

        def make(seq: int, prev: str) -> AuditEntry:
            entry = AuditEntry(seq, self.ts, self.actor, self.action, self.resource, self.detail, prev)
            return AuditEntry(**{**entry.to_json(), "hash": entry.computed_hash()})

        return make


def _plain(detail: dict[str, Any]) -> dict[str, Any]:
    """The detail as JSON holds it, the same for the hash and the stored row (one entry that cannot be stored
    would roll back its whole batch): non-string keys and unknown objects become text, integers beyond 64 bits too."""
    try:
        plain: dict[str, Any] = orjson.loads(orjson.dumps(detail, default=str, option=orjson.OPT_NON_STR_KEYS))
        return plain
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(detail, default=str)
        return dict(json.loads(text, parse_int=lambda t: int(t) if -(2**63) <= int(t) < 2**64 else t))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class AuditLog:
    """Appends entries to the chain and checkpoints it; verifies a store's chain.

    ``record`` queues an entry and returns: one writer thread appends what has queued up in one transaction, so
    recording never holds up the change it records (a burst of 141 notifications is one write, not 141).
    ``flush`` waits until everything recorded so far is stored; ``close`` flushes and stops the writer."""

    def __init__(self, store: AuditStore, key: Ed25519PrivateKey, checkpoint_every: int = CHECKPOINT_EVERY) -> None:
        self.store = store
        self.key = key
        self.checkpoint_every = checkpoint_every
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._start = threading.Lock()

    def record(self, actor: str, action: str, resource: str, detail: dict[str, Any] | None = None) -> None:
        with self._start:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="futago-audit", daemon=True)
                self._writer.start()
        self._queue.put(_Pending(_now(), actor, action, resource, _plain(detail or {})))

    def _write(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            pending = [item for item in batch if item is not None]
            try:
                if pending:
                    self._append(pending)
            except Exception:  # the changes happened; losing their record must be loud
                log.exception("could not append %d audit entries", len(pending))
            finally:
                for _ in batch:
                    self._queue.task_done()
            if len(pending) < len(batch):
                return

    def _append(self, pending: list[_Pending]) -> None:
        entries = self.store.append_audit_batch([item.maker() for item in pending])
        for entry in entries:
            if self.checkpoint_every and entry.seq % self.checkpoint_every == 0:
                self.checkpoint_at(entry)

    def flush(self) -> None:
        """Wait until every entry recorded so far is in the store."""
        if self._writer is not None:
            self._queue.join()

    def close(self) -> None:
        with self._start:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._queue.put(None)
            writer.join()

    def checkpoint_at(self, entry: AuditEntry) -> Checkpoint:
        ts = _now()
        unsigned = Checkpoint(entry.seq, entry.hash, ts, "", "")
        public = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        checkpoint = Checkpoint(
            entry.seq,
            entry.hash,
            ts,
            base64.b64encode(public).decode(),
            base64.b64encode(self.key.sign(unsigned.signed_bytes())).decode(),
        )
        self.store.put_audit_checkpoint(checkpoint)
        return checkpoint

    def checkpoint(self) -> Checkpoint | None:
        """Sign the head now (None for an empty log)."""
        self.flush()
        last = None
        for last in self.entries():  # noqa: B007 - the head is the last one
            pass
        return self.checkpoint_at(last) if last is not None else None

    def entries(self, page: int = 1000) -> Iterator[AuditEntry]:
        after = 0
        while True:
            batch = self.store.scan_audit(after, page)
            yield from (entry for _, entry in batch)
            if len(batch) < page:
                return
            after = batch[-1][0]

    def verify(self, extra_checkpoints: Iterable[Checkpoint] = ()) -> Verification:
        self.flush()
        checkpoints = {c.seq: c for c in self.store.list_audit_checkpoints()}
        for checkpoint in extra_checkpoints:  # a third party's copy wins over the store's own
            checkpoints[checkpoint.seq] = checkpoint
        return verify_entries(self.entries(), checkpoints.values())
