"""Model use cases: upload, list, decommission and delete DTDL models.

The service keeps the parsed ModelSet of every stored model in memory, because every twin
write and every query consults it; the store keeps the documents as given.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import orjson

from futago.core.dtdl import Interface, ModelSet
from futago.core.dtdl import load as load_models
from futago.core.errors import Conflict, InvalidInput, NotFound
from futago.core.events import MODEL_CREATED, MODEL_DELETED, Event, EventBus
from futago.core.ports import ModelRecord, TwinStore
from futago.core.problems import Problem
from futago.core.twins import now_iso


class ModelService:
    def __init__(self, store: TwinStore, bus: EventBus) -> None:
        self.store = store
        self.bus = bus
        self._lock = threading.Lock()
        self.reload()
        bus.subscribe(self._on_event)

    def reload(self) -> None:
        """Read the models from the store again (another process changed them)."""
        records = self.store.list_models()
        with self._lock:
            self._decommissioned = {r.id for r in records if r.decommissioned}
            self.models: ModelSet = load_models([r.document for r in records])

    def _on_event(self, event: Event) -> None:
        if event.origin is not None and event.type in (MODEL_CREATED, MODEL_DELETED):
            self.reload()

    def interface(self, model_id: str) -> Interface:
        if model_id not in self.models:
            raise NotFound(f"model '{model_id}' does not exist; upload it to /models first")
        return self.models[model_id]

    def is_decommissioned(self, model_id: str) -> bool:
        return model_id in self._decommissioned

    def add(self, documents: Sequence[dict[str, Any]]) -> list[str]:
        """Validate documents against the stored models, then store them as one set."""
        docs = list(documents)
        if not docs:
            raise InvalidInput([Problem("", "send a DTDL Interface or a JSON array of Interfaces")])
        for i, doc in enumerate(docs):
            if not isinstance(doc, dict):
                raise InvalidInput([Problem(f"/{i}", "each model must be a JSON object (a DTDL Interface)")])
        with self._lock:
            # Only a string can name a stored model; any other @id (a list, an object: unhashable)
            # is left for the DTDL validator to point at, rather than failing the lookup with a 500.
            existing = [d["@id"] for d in docs if isinstance(d.get("@id"), str) and d["@id"] in self.models.documents]
            if existing:
                raise Conflict(f"model '{existing[0]}' already exists; models are immutable, upload a new version")
            extended = self.models.extend(docs)
            self.store.put_models(docs, now_iso())
            self.models = extended
        ids = [str(d["@id"]) for d in docs]
        for model_id in ids:
            self.bus.publish(Event(MODEL_CREATED, now_iso(), model=model_id))
        return ids

    def add_missing(self, documents: Sequence[dict[str, Any]]) -> list[str]:
        """Add those of ``documents`` not stored yet (a sample set, a city's models); returns the ids added."""
        missing = [d for d in documents if d.get("@id") not in self.models.documents]
        if not missing:
            return []
        try:
            return self.add(missing)
        except Conflict:  # another thread added some meanwhile: add what is still missing
            return self.add_missing(documents)

    def differing(self, documents: Sequence[dict[str, Any]]) -> list[str]:
        """The ids of ``documents`` that are stored with other content: models are immutable, so a bundled set
        that changed without a new version (``;2``) cannot replace what a store made by another futago holds."""
        stored = self.models.documents
        return [
            str(d["@id"])
            for d in documents
            if d.get("@id") in stored
            and orjson.dumps(stored[d["@id"]], option=orjson.OPT_SORT_KEYS)
            != orjson.dumps(d, option=orjson.OPT_SORT_KEYS)
        ]

    def list_models(self) -> list[ModelRecord]:
        return self.store.list_models()

    def get(self, model_id: str) -> ModelRecord:
        record = self.store.get_model(model_id)
        if record is None:
            raise NotFound(f"model '{model_id}' does not exist")
        return record

    def set_decommissioned(self, model_id: str, decommissioned: bool) -> None:
        with self._lock:
            self.store.set_model_decommissioned(model_id, decommissioned)
            if decommissioned:
                self._decommissioned.add(model_id)
            else:
                self._decommissioned.discard(model_id)

    def delete(self, model_id: str) -> None:
        """Delete a model no twin uses and no other model depends on."""
        with self._lock:
            if model_id not in self.models.documents:
                raise NotFound(f"model '{model_id}' does not exist")
            users = self.store.count_twins_of_models([model_id])
            if users:
                raise Conflict(f"model '{model_id}' is used by {users} twin(s); delete or migrate them first")
            remaining = self.models.without(model_id)  # raises InvalidInput when others depend on it
            self.store.delete_model(model_id)
            self.models = remaining
            self._decommissioned.discard(model_id)
        self.bus.publish(Event(MODEL_DELETED, now_iso(), model=model_id))
