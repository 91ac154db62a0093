"""The ingest pipeline: raw messages → mapping → (provisioning) → readings in the store.

Every connector hands its messages here. Nothing is dropped silently: a message that cannot
be mapped, or a reading the model refuses, becomes a dead letter with its reason, and the
connector carries on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from futago.core.dead_letters import DeadLetter, letter_key
from futago.core.ports import DeadLetterStore
from futago.core.records import JsonRecord
from futago.core.telemetry import Reading
from futago.core.twins import now_iso
from futago.ingest.mapping import MappedReading, Mapper, MappingError, RawMessage
from futago.ingest.signing import Signing

# (twin id, telemetry, unit given, value) → value in the model's unit; raises MappingError.
UnitConverter = Callable[[str, str, str, Any], Any]
# Creates a twin of the given model when a message names an unknown twin.
Provisioner = Callable[[Sequence[str], str], None]


class ReadingWriter(Protocol):
    """Where mapped readings are stored: the telemetry use case (``services.telemetry``), which the composition
    root passes in, so that this stage names no service."""

    def append_valid(self, rows: Sequence[Reading]) -> tuple[int, list[tuple[int, str]]]:
        """Store the valid rows; return (stored, [(row index, reason)] of the rejected ones)."""
        ...


@dataclass
class IngestCounters(JsonRecord):
    messages: int = 0
    readings: int = 0
    dead_letters: int = 0


@dataclass
class IngestResult:
    stored: int
    dead: list[DeadLetter] = field(default_factory=list)


class IngestPipeline:
    def __init__(
        self,
        telemetry: ReadingWriter,
        store: DeadLetterStore,
        convert_unit: UnitConverter | None = None,
        provision: Provisioner | None = None,
    ) -> None:
        self.telemetry = telemetry
        self.store = store
        self.convert_unit = convert_unit
        self.provision = provision
        self.counters: dict[str, IngestCounters] = {}
        self._lock = threading.Lock()

    def ingest(
        self,
        connection: str,
        mapper: Mapper,
        messages: Sequence[RawMessage],
        provision_model: str | None = None,
        signing: Signing | None = None,
    ) -> IngestResult:
        dead: list[DeadLetter] = []
        readings: list[Reading] = []
        origin: list[RawMessage] = []  # the message each reading came from
        for message in messages:
            try:
                mapped = mapper.map(message)
                if signing is not None:  # the devices the message speaks for must have signed it
                    signing.verify(message, (m.reading.twin_id for m in mapped))
                converted = [self._in_model_unit(m) for m in mapped]
            except MappingError as exc:
                dead.append(_dead(connection, message, exc.reason, exc.pointer))
                continue
            readings.extend(converted)
            origin.extend([message] * len(converted))
        if provision_model and self.provision and readings:
            self.provision(sorted({r.twin_id for r in readings}), provision_model)
        stored, rejected = self.telemetry.append_valid(readings) if readings else (0, [])
        for index, reason in rejected:
            reading = readings[index]
            dead.append(_dead(connection, origin[index], f"{reading.twin_id}/{reading.name}: {reason}"))
        if dead:
            self.store.add_dead_letters(dead)
        with self._lock:
            counters = self.counters.setdefault(connection, IngestCounters())
            counters.messages += len(messages)
            counters.readings += stored
            counters.dead_letters += len(dead)
        return IngestResult(stored, dead)

    def _in_model_unit(self, mapped: MappedReading) -> Reading:
        reading, unit = mapped
        if unit is None or self.convert_unit is None:
            return reading
        value = self.convert_unit(reading.twin_id, reading.name, unit, reading.value)
        return reading._replace(value=value)


def _dead(connection: str, message: RawMessage, reason: str, pointer: str = "") -> DeadLetter:
    # keyed on the message, so that its redelivery (the ingestion log after a crash) is not a second letter
    key = letter_key(connection, message.source, message.payload, message.received_us)
    return DeadLetter(connection, message.source, message.payload, reason, pointer, now_iso(), key=key)
