"""The audit's records: entries chained by SHA-256 over canonical JSON, and signed checkpoints of the chain's head.

Kept in core so that stores can persist them; signing, verifying and recording live in ``futago.security.audit``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from futago.core.records import JsonRecord, json_meta

GENESIS = "0" * 64  # the "previous hash" of the first entry


def canonical_json(value: Any) -> bytes:
    """Sorted keys, compact separators, UTF-8: the same value always gives the same bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


@dataclass(frozen=True, slots=True)
class AuditEntry(JsonRecord):
    json_case = "as_declared"

    seq: int
    ts: str
    actor: str
    action: str
    resource: str
    detail: dict[str, Any]
    prev: str
    hash: str = ""
    # ``canonical_json(detail)`` when the writer already made it (``AuditLog`` serializes each detail once, as it is
    # recorded): the hash covers these bytes and the store keeps them, so neither serializes a whole twin again.
    # Not part of the JSON; an entry read back from a store has none and hashes its parsed ``detail``.
    detail_json: bytes = field(default=b"", compare=False, repr=False, metadata=json_meta(skip=True))

    def body(self) -> dict[str, Any]:
        """What the hash covers: everything but the hash itself (not dataclasses.asdict: it deep-copies ``detail``,
        a whole twin for a create, which cost the audit thread more than the write it records)."""
        return {"seq": self.seq, "ts": self.ts, "actor": self.actor, "action": self.action,
                "resource": self.resource, "detail": self.detail, "prev": self.prev}  # fmt: skip

    def computed_hash(self) -> str:
        detail = self.detail_json or canonical_json(self.detail)
        return chain_hash(self.seq, self.ts, self.actor, self.action, self.resource, detail, self.prev)

    def stored_detail(self) -> str:
        """The detail as the store keeps it: the bytes the hash covered, when the writer made them."""
        return (self.detail_json or orjson.dumps(self.detail)).decode()


def chain_hash(seq: int, ts: str, actor: str, action: str, resource: str, detail_json: bytes, prev: str) -> str:
    """SHA-256 of an entry's canonical body, its detail given as canonical JSON already (``canonical_json(detail)``):
    spliced in unparsed, it gives the very bytes ``canonical_json(entry.body())`` gives, so that the hash is the
    same whichever way it was computed (and ``verify``, which parses stored rows, agrees with the writer)."""
    body = {"seq": seq, "ts": ts, "actor": actor, "action": action, "resource": resource,
            "detail": orjson.Fragment(detail_json), "prev": prev}  # fmt: skip
    return hashlib.sha256(canonical_json(body)).hexdigest()


# What a checkpoint marks besides the head (none: written while running, every N entries or T seconds).
FINAL = "final"  # written as the process closed the audit: it appended nothing after it
RESUMED = "resumed"  # the head a process found as it opened the audit for writing, before its first append


@dataclass(frozen=True, slots=True)
class Checkpoint(JsonRecord):
    """The chain's head at ``seq``, signed: what a third party keeps to prove what the log said.

    ``kind`` (FINAL, RESUMED or none) and ``writer`` (which process wrote it: a random id per opening) are signed
    too, so that a clean shutdown and the restart after it cannot be forged; a checkpoint without them (from
    before they existed) is signed as it always was."""

    json_case = "as_declared"

    seq: int
    hash: str
    ts: str
    public_key: str  # raw Ed25519, base64
    signature: str  # base64, over ``signed_bytes``
    kind: str = field(default="", metadata=json_meta(omit="empty"))  # left out when none, as it is signed
    writer: str = field(default="", metadata=json_meta(omit="empty"))

    def signed_bytes(self) -> bytes:
        signed: dict[str, Any] = {"seq": self.seq, "hash": self.hash, "ts": self.ts}
        return canonical_json({**signed, **self._marks()})

    def _marks(self) -> dict[str, str]:
        return {k: v for k, v in (("kind", self.kind), ("writer", self.writer)) if v}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint:
        # Not the plain inverse: a checkpoint may come from a file anyone could write, so each value is cast to
        # its type here and a wrong one fails (ValueError, KeyError) where the reader reports it.
        text = {name: str(data[name]) for name in ("hash", "ts", "public_key", "signature")}
        return cls(int(data["seq"]), **text, kind=str(data.get("kind", "")), writer=str(data.get("writer", "")))
