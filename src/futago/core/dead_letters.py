"""Dead letters: messages that could not become readings, kept with the reason, never dropped.

A connector hands every raw message to the ingest pipeline. Whatever cannot be mapped (bad
payload, wrong type, unknown twin, a value that fails the model, an incompatible unit) is
kept here with the raw bytes, so that a person can see why and replay it once fixed.
"""

from __future__ import annotations

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
