"""The audit's records: entries chained by SHA-256 over canonical JSON, and signed checkpoints of the chain's head.

Kept in core so that stores can persist them; signing, verifying and recording live in ``futago.security.audit``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import orjson

GENESIS = "0" * 64  # the "previous hash" of the first entry


def canonical_json(value: Any) -> bytes:
    """Sorted keys, compact separators, UTF-8: the same value always gives the same bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    ts: str
    actor: str
    action: str
    resource: str
    detail: dict[str, Any]
    prev: str
    hash: str = ""

    def body(self) -> dict[str, Any]:
        """What the hash covers: everything but the hash itself."""
        return {k: v for k, v in asdict(self).items() if k != "hash"}

    def computed_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.body())).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain's head at ``seq``, signed: what a third party keeps to prove what the log said."""

    seq: int
    hash: str
    ts: str
    public_key: str  # raw Ed25519, base64
    signature: str  # base64, over ``signed_bytes``

    def signed_bytes(self) -> bytes:
        return canonical_json({"seq": self.seq, "hash": self.hash, "ts": self.ts})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        fields = ("seq", "hash", "ts", "public_key", "signature")
        return cls(int(data["seq"]), *(str(data[name]) for name in fields[1:]))
