"""Dead letters of ingest: what the pipeline could not take in, listed, replayed through its mapping, discarded.

Replaying is a use case over three parts (the dead-letter store, the connection's mapping, the pipeline), so it
lives here rather than in a route."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from futago.core.dead_letters import DeadLetter
from futago.core.errors import InvalidInput, NotFound
from futago.core.ports import DeadLetterStore
from futago.core.problems import Problem
from futago.core.records import JsonRecord
from futago.ingest.connections import ConnectionManager
from futago.ingest.mapping import RawMessage
from futago.ingest.pipeline import IngestPipeline


@dataclass(frozen=True, slots=True)
class ReplayOutcome(JsonRecord):
    """One replayed letter: how many readings it gave, and the reasons of the dead letters it gave again."""

    id: int | None
    stored: int
    dead_letters: list[str]


class DeadLetterService:
    def __init__(self, store: DeadLetterStore, connections: ConnectionManager, ingest: IngestPipeline) -> None:
        self.store = store
        self.connections = connections
        self.ingest = ingest

    def letters(self, connection: str | None = None, after: int | None = None, limit: int = 100) -> list[DeadLetter]:
        return self.store.list_dead_letters(connection, after, limit)

    def counts(self) -> dict[str, int]:
        """Dead letters per connection."""
        return self.store.count_dead_letters()

    def replay(self, ids: Sequence[int]) -> list[ReplayOutcome]:
        """Each replayed letter is removed; one that fails again comes back as a new dead letter. Unknown ids are
        a 422 (at /ids) before anything is replayed."""
        letters = self.store.get_dead_letters(ids)
        missing = sorted(set(ids) - {d.id for d in letters if d.id is not None})
        if missing:
            raise InvalidInput([Problem("/ids", f"no dead letters with ids {missing[:20]}")])
        outcomes: list[ReplayOutcome] = []
        now_us = time.time_ns() // 1000
        for letter in letters:
            spec = self.connections.spec(letter.connection)
            message = RawMessage(letter.source, letter.payload, now_us)
            result = self.ingest.ingest(letter.connection, spec.mapper, [message])
            outcomes.append(ReplayOutcome(letter.id, result.stored, [d.reason for d in result.dead]))
        self.store.delete_dead_letters(ids)
        return outcomes

    def letter(self, letter_id: int) -> DeadLetter:
        found = self.store.get_dead_letters([letter_id])
        if not found:
            raise NotFound(f"dead letter {letter_id} does not exist")
        return found[0]

    def discard(self, letter_id: int) -> None:
        if self.store.delete_dead_letters([letter_id]) == 0:
            raise NotFound(f"dead letter {letter_id} does not exist")
