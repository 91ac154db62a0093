"""The tamper-evident audit: an append-only log whose entries are chained by SHA-256, with Ed25519-signed checkpoints.

Each entry's hash covers its sequence number, time, actor, action, resource, detail and the previous entry's hash,
as canonical JSON (keys sorted, no insignificant whitespace, UTF-8). Changing, deleting, inserting or reordering an
entry breaks the chain at that entry, and ``verify`` names the first one that is wrong.

Someone able to rewrite the whole store can also recompute every hash after the change, delete the newest
entries, or delete the store's own checkpoints; a signed checkpoint (the head's sequence number and hash, signed
with the store's Ed25519 key) catches that as long as a copy of it is kept outside the store. So every checkpoint
also goes to a :class:`CheckpointSink`, an append-only file beside the store by default, written automatically
every ``checkpoint_every`` entries or ``checkpoint_interval_s`` seconds (whichever comes first, when anything new
was appended) and at shutdown, marked FINAL: after a clean shutdown the newest external checkpoint is the head,
so a log that no longer contains it has been rewritten or truncated. A process that opens the audit again signs
the head it found (RESUMED) before it appends, so a restart is told from entries written behind futago's back
while it was stopped: those make ``verify`` fail, as does a restart that found another head than the shutdown
left. Entries after the newest external checkpoint (``uncovered``) are otherwise a process still running, or one
that crashed. ``futago audit checkpoint --out`` still hands a copy to a third party.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from futago.core.audit import FINAL, GENESIS, RESUMED, AuditEntry, Checkpoint, canonical_json, chain_hash
from futago.core.ports import AuditStore
from futago.core.records import JsonRecord

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 1000  # entries between automatic checkpoints
CHECKPOINT_INTERVAL_S = 60.0  # at most this long between an append and the checkpoint that covers it


def signature_ok(checkpoint: Checkpoint) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(checkpoint.public_key))
        key.verify(base64.b64decode(checkpoint.signature), checkpoint.signed_bytes())
    except (InvalidSignature, ValueError):
        return False
    return True


def public_key_of(key: Ed25519PrivateKey) -> str:
    """The raw public key, base64: how a checkpoint names the key that signed it."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


class CheckpointSink:
    """Signed checkpoints outside the store: one JSON line each, in a file only ever appended to.

    Outside is the point: whoever rewrites or truncates the store (its triggers dropped) has not thereby
    rewritten this file, which an operator may also ship on to other storage (a log host, a WORM bucket)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, checkpoint: Checkpoint) -> None:
        line = orjson.dumps(checkpoint.to_json()) + b"\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(descriptor, line)  # one write of one line: appenders in several processes never interleave
            os.fsync(descriptor)  # a checkpoint is evidence: it must outlive a crash right after it
        finally:
            os.close(descriptor)

    def read(self) -> tuple[list[Checkpoint], list[str]]:
        """The checkpoints in the file, and a problem for each line that is not one (none when there is no file)."""
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return [], []
        checkpoints: list[Checkpoint] = []
        problems: list[str] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                checkpoints.append(Checkpoint.from_json(orjson.loads(line)))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                problems.append(f"line {number} of {self.path} is not a checkpoint")
        return checkpoints, problems


@dataclass(slots=True)
class Verification(JsonRecord):
    json_case = "as_declared"  # the keys of ``futago audit verify --json``

    entries: int = 0
    ok: bool = True
    first_bad: int | None = None
    reason: str | None = None
    head: str = GENESIS
    checkpoints_verified: int = 0
    checkpoint_problems: list[str] = field(default_factory=list)
    uncovered: int = 0  # entries newer than the newest external checkpoint
    truncated: bool = False  # a checkpoint names an entry beyond the end of the chain
    external_checkpoints: int = 0  # signed checkpoints found outside the store

    def fail(self, seq: int, reason: str) -> None:
        if self.ok:
            self.ok, self.first_bad, self.reason = False, seq, reason


def _untrusted(checkpoint: Checkpoint, public_key: str | None) -> str | None:
    """Why a checkpoint proves nothing, or None. A checkpoint names its own key, so anyone can sign one:
    only the store's key (``public_key``) makes it the store's word."""
    if not signature_ok(checkpoint):
        return f"checkpoint at {checkpoint.seq}: the signature does not verify"
    if public_key is not None and checkpoint.public_key != public_key:
        return f"checkpoint at {checkpoint.seq}: signed by another key than the store's"
    return None


def verify_entries(
    entries: Iterable[AuditEntry],
    checkpoints: Iterable[Checkpoint] = (),
    external: Iterable[Checkpoint] = (),
    public_key: str | None = None,
) -> Verification:
    """Walk the chain in stored order; the first entry whose number, link or hash is wrong is ``first_bad``.

    Every checkpoint (the store's own and ``external`` ones, kept outside the store) must be signed, by
    ``public_key`` when given, and the entry at its seq must carry its hash; one beyond the last entry means
    entries were removed from the end (``truncated``). Entries after the newest external checkpoint are
    ``uncovered``: nothing outside the store vouches for them yet."""
    result = Verification()
    in_order = list(dict.fromkeys(external))  # as written: a restart's RESUMED comes after the FINAL before it
    outside = set(in_order)
    everything = sorted(set(checkpoints) | outside, key=lambda c: (c.seq, c.ts))
    refused = {c: why for c in everything if (why := _untrusted(c, public_key)) is not None}
    result.checkpoint_problems.extend(refused.values())
    wanted: dict[int, list[Checkpoint]] = {}
    for checkpoint in everything:
        if checkpoint not in refused:
            wanted.setdefault(checkpoint.seq, []).append(checkpoint)
    result.external_checkpoints = sum(1 for c in outside if c not in refused)
    newest = max((c.seq for c in outside if c not in refused), default=0)
    expected_seq, prev, last = 1, GENESIS, 0
    for entry in entries:
        result.entries += 1
        if entry.seq != expected_seq:
            gap = "is missing" if entry.seq > expected_seq else "comes again or out of order"
            result.fail(entry.seq, f"entry {entry.seq} stands where entry {expected_seq} should: {expected_seq} {gap}")
        elif entry.prev != prev:
            result.fail(entry.seq, f"entry {entry.seq} does not link to the entry before it (inserted or reordered)")
        elif entry.computed_hash() != entry.hash:
            result.fail(entry.seq, f"entry {entry.seq} was modified: its content does not match its hash")
        for checkpoint in wanted.pop(entry.seq, ()):
            if checkpoint.hash != entry.hash:
                result.checkpoint_problems.append(f"checkpoint at {entry.seq}: the log's entry differs (rewritten)")
                result.fail(entry.seq, f"entry {entry.seq} differs from the signed checkpoint (the log was rewritten)")
            else:
                result.checkpoints_verified += 1
        if entry.seq > newest:
            result.uncovered += 1
        expected_seq, prev, last = entry.seq + 1, entry.hash, max(last, entry.seq)
    result.head = prev
    for seq in sorted(wanted):
        if seq > last:
            result.truncated = True
            result.checkpoint_problems.append(f"checkpoint at {seq}: the log ends at {last} (truncated)")
            result.fail(last + 1, f"entries from {last + 1} on were removed: a checkpoint names entry {seq}")
        else:  # a gap in the chain, already named above
            result.checkpoint_problems.append(f"checkpoint at {seq}: the log has no entry {seq} (deleted)")
            result.fail(seq, f"entry {seq} was removed: a checkpoint names it")
    _check_stops([c for c in in_order if c not in refused], last, result)
    if refused:
        first = min(c.seq for c in refused)
        result.fail(first, f"the checkpoint at {first} is not signed by the store's key")
    return result


def _check_stops(in_order: list[Checkpoint], last: int, result: Verification) -> None:
    """After a clean shutdown (a FINAL checkpoint) only a process that opens the audit again may append, and it
    first signs the head it found (RESUMED), which must be the head the shutdown left: entries after a clean
    shutdown that no resumed process vouches for, or a restart that found another head, were written behind
    futago's back. A crash leaves no FINAL, so whatever follows it is only ``uncovered``.

    With several processes writing one store, one of them stopping is not the server stopping: a FINAL counts
    only when no other writer that resumed before it signs anything after it. The head the stop left is the
    newest any checkpoint had vouched for by then (another writer may have signed past this one's last entry)."""
    first_resume: dict[str, int] = {}
    last_seen: dict[str, int] = {}
    for index, checkpoint in enumerate(in_order):
        if checkpoint.writer:
            if checkpoint.kind == RESUMED:
                first_resume.setdefault(checkpoint.writer, index)
            last_seen[checkpoint.writer] = index

    def others_live(index: int, writer: str) -> bool:
        return any(w != writer and at < index < last_seen[w] for w, at in first_resume.items())

    stopped: Checkpoint | None = None  # the head a clean shutdown left, until a process resumes
    newest: Checkpoint | None = None
    for index, checkpoint in enumerate(in_order):
        if checkpoint.kind == RESUMED:
            if stopped is not None and (checkpoint.seq, checkpoint.hash) != (stopped.seq, stopped.hash):
                at = min(checkpoint.seq, stopped.seq) + (checkpoint.seq != stopped.seq)
                result.fail(
                    at,
                    f"the log was changed while the server was stopped: it stopped cleanly at entry {stopped.seq}, "
                    f"but restarted at entry {checkpoint.seq} (appended, removed or rewritten meanwhile)",
                )
            stopped = None
        newest = checkpoint if newest is None or checkpoint.seq > newest.seq else newest
        if checkpoint.kind == FINAL and not others_live(index, checkpoint.writer):
            stopped = newest
    if stopped is not None and last > stopped.seq:
        result.fail(
            stopped.seq + 1,
            f"{last - stopped.seq} entries were appended after the server stopped cleanly at entry {stopped.seq}, "
            "and no process that started since vouches for them (written behind futago's back)",
        )


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
    detail: dict[str, Any]  # as recorded: what ``detail_json`` was made from, when it was made
    detail_json: bytes  # canonical JSON of the detail, made once as it was recorded: hashed and stored as it is

    def maker(self) -> Callable[[int, str], AuditEntry]:
        """What the store calls with the next seq and the head's hash, inside its transaction."""

        def make(seq: int, prev: str) -> AuditEntry:
            digest = chain_hash(seq, self.ts, self.actor, self.action, self.resource, self.detail_json, prev)
            return AuditEntry(seq, self.ts, self.actor, self.action, self.resource, self.detail, prev, digest,
                              self.detail_json)  # fmt: skip

        return make


class _NotPlain(TypeError):
    """Raised out of orjson's ``default`` for a value the one-pass serialization cannot write canonically."""


def _text_of(value: Any) -> str:
    if dataclasses.is_dataclass(value):  # orjson writes a dataclass's fields unsorted: the slow path sorts them
        raise _NotPlain(type(value).__name__)
    return str(value)


def _canonical(detail: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """The detail and its canonical JSON, the bytes the hash covers and the store keeps.

    One pass, no copy: sorted keys, unknown objects as text, exactly ``canonical_json(_plain(detail))``, which is
    also what ``verify`` computes from the stored row. What that pass cannot write the same way (non-string keys,
    integers beyond 64 bits, dataclasses) goes the old way, through a JSON copy of the detail."""
    try:
        option = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS
        return detail, orjson.dumps(detail, default=_text_of, option=option)
    except (orjson.JSONEncodeError, TypeError):
        plain = _plain(detail)
        return plain, canonical_json(plain)


def _plain(detail: dict[str, Any]) -> dict[str, Any]:
    """The detail as JSON holds it, the same for the hash and the stored row (one entry that cannot be stored
    would roll back its whole batch): non-string keys and unknown objects become text, integers beyond 64 bits too."""
    try:
        plain: dict[str, Any] = orjson.loads(orjson.dumps(detail, default=str, option=orjson.OPT_NON_STR_KEYS))
        return plain
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(detail, default=str)
        return dict(json.loads(text, parse_int=lambda t: int(t) if -(2**63) <= int(t) < 2**64 else t))


_second: tuple[int, str] = (-1, "")  # the last second an entry was stamped in, and its text up to the seconds


def _now() -> str:
    """The time now as ISO 8601 in UTC to the microsecond (``2026-01-01T00:00:00.000000Z``). Every audited change
    is stamped, a bulk write's thousand in a row: the date and time of day are formatted once a second, not each time.
    """
    global _second
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    cached = _second
    if cached[0] != seconds:
        cached = _second = (seconds, datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{cached[1]}.{micros:06d}Z"


class AuditLog:
    """Appends entries to the chain and checkpoints it; verifies a store's chain.

    ``record`` queues an entry and returns: one writer thread appends what has queued up in one transaction, so
    recording never holds up the change it records (a burst of 141 notifications is one write, not 141).
    ``flush`` waits until everything recorded so far is stored; ``close`` flushes, signs the head (when this log
    appended anything since its last checkpoint) and stops the writer.

    Checkpoints go to the store and to ``sink``, outside it; the writer signs the newest entry it appended every
    ``checkpoint_every`` entries or ``checkpoint_interval_s`` seconds after it, whichever comes first."""

    def __init__(
        self,
        store: AuditStore,
        key: Ed25519PrivateKey,
        checkpoint_every: int = CHECKPOINT_EVERY,
        sink: CheckpointSink | None = None,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
    ) -> None:
        self.store = store
        self.key = key
        self.public_key = public_key_of(key)
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval_s = checkpoint_interval_s
        self.sink = sink
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._start = threading.Lock()
        self._signing = threading.Lock()  # guards the two below: the writer and a caller of checkpoint() sign
        self._unsigned: AuditEntry | None = None  # the newest entry this log appended that no checkpoint covers
        self._unsigned_since = 0.0  # monotonic time of the first append that no checkpoint covers
        self.writer = os.urandom(8).hex()  # names this opening in its checkpoints (several processes may write)
        self._resumed = False  # whether this log has appended yet (and so signed the head it found)
        self._newest: AuditEntry | None = None  # the newest entry this log appended: what its FINAL vouches for

    def record(self, actor: str, action: str, resource: str, detail: dict[str, Any] | None = None) -> None:
        with self._start:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="futago-audit", daemon=True)
                self._writer.start()
        # Serialized here, on the caller's thread, as the detail is now: it may be changed after this returns.
        self._queue.put(_Pending(_now(), actor, action, resource, *_canonical(detail or {})))

    def _write(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=self._until_checkpoint_due())]
            except queue.Empty:  # quiet since an append that is still unsigned: sign it now
                self._sign_unsigned()
                continue
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
            if len(pending) < len(batch):  # closing: the head at shutdown is what the sink keeps last
                self._sign_final()
                return

    def _append(self, pending: list[_Pending]) -> None:
        makes = [item.maker() for item in pending]
        if not self._resumed:
            makes[0] = self._resuming(makes[0])
        entries = self.store.append_audit_batch(makes)
        if entries:
            self._newest = entries[-1]
            with self._signing:
                if self._unsigned is None:
                    self._unsigned_since = time.monotonic()
                self._unsigned = entries[-1]
        for entry in entries:
            if self.checkpoint_every and entry.seq % self.checkpoint_every == 0:
                self.checkpoint_at(entry)
        if self._until_checkpoint_due() == 0.0:  # under steady load the queue is never quiet for long
            self._sign_unsigned()

    def _until_checkpoint_due(self) -> float | None:
        """Seconds until the unsigned newest entry is due to be signed; None: nothing is waiting."""
        with self._signing:
            if self._unsigned is None or not self.checkpoint_interval_s:
                return None
            return max(0.0, self._unsigned_since + self.checkpoint_interval_s - time.monotonic())

    def _resuming(self, make: Callable[[int, str], AuditEntry]) -> Callable[[int, str], AuditEntry]:
        """``make``, first signing the head the store gives it as RESUMED: inside the store's transaction, so that
        it is the head this process found, and in the sink before this process's first entry is stored. Only the
        sink gets it (the store's transaction is busy appending); an empty log has no head to sign."""

        def first(seq: int, prev: str) -> AuditEntry:
            if not self._resumed:
                self._resumed = True
                if seq > 1 and self.sink is not None:
                    self._to_sink(self._sign(seq - 1, prev, RESUMED))
            return make(seq, prev)

        return first

    def _sign_final(self) -> None:
        """At close, the newest entry this log appended, as FINAL: nothing follows it unless a process resumes.
        A log that appended nothing leaves the last FINAL standing (``futago audit verify`` writes nothing)."""
        if self._newest is None:
            return
        try:
            self.checkpoint_at(self._newest, FINAL)
        except Exception:  # the entries are stored; a missing FINAL leaves them uncovered, and must be loud
            log.exception("could not sign the audit's final checkpoint at %d", self._newest.seq)

    def _sign_unsigned(self) -> None:
        with self._signing:
            entry = self._unsigned
        if entry is None:
            return
        try:
            self.checkpoint_at(entry)
        except Exception:  # the entries are stored; a missing checkpoint shows as uncovered, and must be loud
            log.exception("could not sign the audit checkpoint at %d", entry.seq)

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

    def checkpoint_at(self, entry: AuditEntry, kind: str = "") -> Checkpoint:
        """Sign ``entry`` as a head, store the checkpoint and append it to the sink."""
        checkpoint = self._sign(entry.seq, entry.hash, kind)
        self.store.put_audit_checkpoint(checkpoint)
        self._to_sink(checkpoint)
        with self._signing:
            if self._unsigned is not None and self._unsigned.seq <= entry.seq:
                self._unsigned = None
        return checkpoint

    def _sign(self, seq: int, head: str, kind: str) -> Checkpoint:
        unsigned = Checkpoint(seq, head, _now(), "", "", kind, self.writer)
        signature = base64.b64encode(self.key.sign(unsigned.signed_bytes())).decode()
        return Checkpoint(seq, head, unsigned.ts, self.public_key, signature, kind, self.writer)

    def _to_sink(self, checkpoint: Checkpoint) -> None:
        if self.sink is None:
            return
        try:
            self.sink.append(checkpoint)
        except OSError:  # the store keeps it still; verify will count what the sink lacks as uncovered
            log.exception("could not append the audit checkpoint at %d to %s", checkpoint.seq, self.sink.path)

    def checkpoint(self) -> Checkpoint | None:
        """Sign the head now (None for an empty log)."""
        self.flush()
        last = None
        for last in self.entries():  # noqa: B007 - the head is the last one
            pass
        return self.checkpoint_at(last) if last is not None else None

    def page(self, after: int = 0, limit: int = 100) -> list[tuple[int, AuditEntry]]:
        """The entries after position ``after``, with their positions; every entry recorded before is in."""
        self.flush()
        return self.store.scan_audit(after, limit)

    def checkpoints(self) -> list[Checkpoint]:
        """The signed checkpoints in the store, every entry recorded before included."""
        self.flush()
        return self.store.list_audit_checkpoints()

    def entries(self, page: int = 1000) -> Iterator[AuditEntry]:
        after = 0
        while True:
            batch = self.store.scan_audit(after, page)
            yield from (entry for _, entry in batch)
            if len(batch) < page:
                return
            after = batch[-1][0]

    def verify(self, extra_checkpoints: Iterable[Checkpoint] = ()) -> Verification:
        """Check the chain against the store's checkpoints, the sink's and ``extra_checkpoints`` (a third
        party's copies), all of which must be signed by this store's key."""
        self.flush()
        outside, problems = self.sink.read() if self.sink is not None else ([], [])
        stored = self.store.list_audit_checkpoints()
        result = verify_entries(self.entries(), stored, [*outside, *extra_checkpoints], self.public_key)
        result.checkpoint_problems.extend(problems)
        return result
