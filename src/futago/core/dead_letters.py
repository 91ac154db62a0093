"""Dead letters: messages that could not become readings, kept with the reason, never dropped.

A connector hands every raw message to the ingest pipeline. Whatever cannot be mapped (bad
payload, wrong type, unknown twin, a value that fails the model, an incompatible unit) is
kept here with the raw bytes, so that a person can see why and replay it once fixed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeadLetter:
    connection: str  # the connection's name ("http" for the REST API, "file" for replays)
    source: str  # where it came from: an MQTT topic, an OPC UA node id, file:line
    payload: bytes  # the raw message, exactly as received
    reason: str  # a sentence: what is wrong and what would be accepted
    pointer: str = ""  # JSON Pointer into the payload, when one element was at fault
    received: str = ""  # ISO 8601, UTC
    id: int | None = None  # assigned by the store
    # What makes a letter idempotent: the same message failing again (redelivered after a crash, a batch taken
    # apart after repeated failures) is kept once. None: every letter is new (a replay from the API, say).
    key: str | None = None


def letter_key(connection: str, source: str, payload: bytes, position: int | str) -> str:
    """The stable key of a message that could not become readings: its connection, source and raw bytes, and where
    it was received (the time its connector stamped on it, which the ingestion log carries unchanged), so that a
    redelivery of the same message maps to the same key while a new message with the same bytes does not."""
    digest = hashlib.sha256()
    for part in (connection.encode(), source.encode(), str(position).encode()):
        digest.update(len(part).to_bytes(4, "big") + part)  # length-prefixed: no two splits hash alike
    digest.update(payload)
    return digest.hexdigest()
