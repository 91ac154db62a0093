"""Writing a city import: twins and relationships a batch at a time, and the gml:ids it has taken.

The ids of one import are remembered as 64-bit hashes in sorted numpy arrays (8 bytes and a file index of
4 bytes each), not as a dict of strings: at a million features that is 12 MB instead of about 100 MB. A hash
that is met again is confirmed against the twins written or pending, so a collision never skips a feature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from futago.city.twins import DISTRICT
from futago.core.twins import Relationship, Twin
from futago.services.twins import TwinService

BATCH = 2_000
_MERGE = 65_536  # recent claims kept in a dict before they are merged into the sorted arrays

Warn = Callable[[str, str, str], None]


class Claims:
    """gml:id -> the index of the file that took it first, for every id of one import."""

    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.int64)
        self._files = np.empty(0, dtype=np.int32)
        self._recent: dict[int, int] = {}

    def get(self, twin_id: str) -> int | None:
        key = hash(twin_id)
        hit = self._recent.get(key)
        if hit is not None or not len(self._keys):
            return hit
        i = int(np.searchsorted(self._keys, key))
        return int(self._files[i]) if i < len(self._keys) and self._keys[i] == key else None

    def add(self, twin_id: str, file: int) -> None:
        self._recent[hash(twin_id)] = file
        if len(self._recent) >= _MERGE:
            keys = np.concatenate([self._keys, np.fromiter(self._recent.keys(), np.int64, len(self._recent))])
            files = np.concatenate([self._files, np.fromiter(self._recent.values(), np.int32, len(self._recent))])
            order = np.argsort(keys, kind="stable")
            self._keys, self._files = keys[order], files[order]
            self._recent = {}


class Batch:
    """Twins and their relationships, written a batch at a time."""

    def __init__(self, twins: TwinService) -> None:
        self.twins = twins
        self.documents: list[tuple[str, dict[str, Any]]] = []
        self.relationships: list[Relationship] = []
        self.districts: set[str] = set()
        self.written = 0  # twins created or updated
        self._pending: set[str] = set()
        self._claims = Claims()
        self._files: dict[str, int] = {}
        self._file_names: list[str] = []

    def claim(self, twin_id: str, source: str) -> str | None:
        """Take ``twin_id`` for the feature at ``source`` (file:line); None, or the file that took it first."""
        first = self._claims.get(twin_id)
        if first is not None and (twin_id in self._pending or self.twins.store.get_twin(twin_id) is not None):
            return self._file_names[first]
        file = source.rpartition(":")[0] or source
        index = self._files.get(file)
        if index is None:
            index = self._files[file] = len(self._file_names)
            self._file_names.append(file)
        self._claims.add(twin_id, index)
        return None

    def twin(self, twin_id: str, document: dict[str, Any]) -> None:
        self.documents.append((twin_id, document))
        self._pending.add(twin_id)
        if len(self.documents) >= BATCH:
            self.flush()

    def link(self, source_id: str, name: str, target_id: str, properties: dict[str, Any] | None = None) -> None:
        rel_id = name if name in ("partOf", "locatedIn") else f"{name}-{target_id}"
        self.relationships.append(Relationship(source_id, rel_id, name, target_id, properties or {}))

    def district(self, twin_id: str, district: str) -> None:
        """``twin_id`` is locatedIn the district of its file, created the first time it is met."""
        if district not in self.districts:
            if self.claim(district, district) is not None:  # a feature of the import took the id first
                return
            self.districts.add(district)
            self.twin(district, {"$metadata": {"$model": DISTRICT}, "meshCode": district.split("-")[-1]})
        self.link(twin_id, "locatedIn", district)

    def flush(self) -> None:
        if self.documents:
            stored = self.twins.import_twins(self.documents, publish=False)
            self.written += len(stored)
            known: dict[str, Twin] = {t.id: t for t in stored}
            self.documents = []
            self._pending = set()
            # a part may come before its parent is flushed: keep those for the next flush
            is_ready = [r.source_id in known or r.target_id in known for r in self.relationships]
            ready = [r for r, ok in zip(self.relationships, is_ready, strict=True) if ok]
            waiting = [r for r, ok in zip(self.relationships, is_ready, strict=True) if not ok]
            if ready:
                self.twins.import_relationships(ready, known)
            self.relationships = waiting
        elif self.relationships:
            self.twins.import_relationships(self.relationships)
            self.relationships = []

    def finish(self, warn: Warn) -> None:
        """The last flush; a relationship whose parent never came (a dangling xlink) is reported, not fatal."""
        if self.documents:
            self.flush()
        if not self.relationships:
            return
        ids = {r.source_id for r in self.relationships} | {r.target_id for r in self.relationships}
        present = self.twins.store.get_twins(ids)
        kept = []
        for rel in self.relationships:
            if rel.source_id in present and rel.target_id in present:
                kept.append(rel)
            else:
                warn(rel.source_id, rel.name, f"{rel.name} {rel.target_id!r}: no such city object in the import")
        self.relationships = []
        if kept:
            self.twins.import_relationships(kept)
