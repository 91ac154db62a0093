"""Twin graph use cases: validate against the model, store with ETag checks, publish events."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol, overload

import jsonpatch

from futago.core.errors import Conflict, InvalidInput, NotFound
from futago.core.events import (
    RELATIONSHIP_CREATED,
    RELATIONSHIP_DELETED,
    RELATIONSHIP_UPDATED,
    TWIN_CREATED,
    TWIN_DELETED,
    TWIN_UPDATED,
    Event,
    EventBus,
    twin_resource,
)
from futago.core.ports import TelemetryStore, TwinStore
from futago.core.problems import Problem
from futago.core.query import GraphSource, QueryResult, RowShaper, execute
from futago.core.telemetry import format_timestamp
from futago.core.twin_rules import check_relationship, check_twin
from futago.core.twins import Relationship, Twin, TwinScan, now_iso
from futago.security.views import ReadableGraph
from futago.services.models import ModelService

_PATCH_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})
TwinFilter = Callable[[str], bool]  # whether a caller may read the twin of this id


def _every(twin_id: str) -> bool:
    return True


def apply_json_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    """Apply an RFC 6902 patch; every failure becomes a problem pointing at the operation."""
    if not isinstance(operations, list):
        raise InvalidInput([Problem("", "a JSON Patch is a JSON array of operations (RFC 6902)")])
    for i, op in enumerate(operations):
        # 'op' is checked to be a string first: any JSON value may arrive, and a list or an
        # object is not hashable, so a bare set lookup raised TypeError (a 500).
        if not isinstance(op, dict) or not isinstance(op.get("op"), str) or op["op"] not in _PATCH_OPS:
            raise InvalidInput(
                [Problem(f"/{i}/op", "each operation needs 'op': add, remove, replace, move, copy or test")]
            )
        path = op.get("path")
        if not isinstance(path, str) or not (path == "" or path.startswith("/")):
            raise InvalidInput([Problem(f"/{i}/path", "'path' must be a JSON Pointer such as /temperature")])
        if path.startswith("/$"):
            raise InvalidInput([Problem(f"/{i}/path", f"system member {path} cannot be patched")])
    try:
        patched = jsonpatch.JsonPatch(operations).apply(document)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        index = _failing_operation(document, operations)
        raise InvalidInput([Problem(f"/{index}", f"the patch cannot be applied: {exc}")]) from exc
    if not isinstance(patched, dict):
        raise InvalidInput([Problem("", "the patch must leave a JSON object")])
    return patched


def _failing_operation(document: dict[str, Any], operations: list[Any]) -> int:
    for i in range(len(operations)):
        try:
            jsonpatch.JsonPatch(operations[: i + 1]).apply(document)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
            return i
    return 0


class TwinServiceStore(TwinStore, TelemetryStore, Protocol):
    """The roles the twin service uses: the twin graph, and the telemetry a twin's latest values come from and
    that goes with a deleted twin."""


class TwinService:
    def __init__(
        self,
        store: TwinServiceStore,
        models: ModelService,
        bus: EventBus,
        personal_split: Callable[[Twin], Twin] | None = None,
    ) -> None:
        self.store = store
        self.models = models
        self.bus = bus
        # Takes a validated twin's personal properties away (sealed elsewhere) before it is stored or published.
        self.personal_split = personal_split

    def _without_personal(self, twin: Twin) -> tuple[Twin, set[str]]:
        if self.personal_split is None:
            return twin, set()
        before = set(twin.properties)
        twin = self.personal_split(twin)
        return twin, before - set(twin.properties)

    # twins --------------------------------------------------------------------------------
    def get(self, twin_id: str) -> Twin:
        twin = self.store.get_twin(twin_id)
        if twin is None:
            raise NotFound(f"twin '{twin_id}' does not exist")
        return twin

    def get_json(self, twin_id: str) -> dict[str, Any]:
        """The twin's JSON plus the latest value of each of its telemetry."""
        doc = self.get(twin_id).to_json()
        latest = self.store.latest(twin_id)
        doc["$telemetry"] = {
            name: {"ts": format_timestamp(r.ts), "value": r.value, "quality": r.quality}
            for name, r in sorted(latest.items())
        }
        return doc

    def put(
        self,
        twin_id: str,
        document: dict[str, Any],
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> tuple[Twin, bool]:
        """Create or replace; returns the stored twin and whether it was created."""
        if not isinstance(document, dict):
            raise InvalidInput([Problem("", "a twin is a JSON object with $metadata.$model")])
        if "$dtId" in document and document["$dtId"] != twin_id:
            raise InvalidInput([Problem("/$dtId", f"$dtId '{document['$dtId']}' differs from the URL's '{twin_id}'")])
        twin = Twin.from_json(document, twin_id)
        previous = self.store.get_twin(twin_id)
        if previous is None and self.models.is_decommissioned(twin.model):
            raise InvalidInput([Problem("/$metadata/$model", f"model '{twin.model}' is decommissioned")])
        problems = check_twin(twin, self.models.models, previous)
        if problems:
            raise InvalidInput(problems)
        twin, _ = self._without_personal(twin)
        stored = self.store.put_twin(twin, if_match=if_match, if_none_match=if_none_match)
        if previous is None:
            self._publish(TWIN_CREATED, stored, {"twin": stored.to_json()})
        else:
            patch = jsonpatch.make_patch(_body(previous), _body(stored)).patch
            self._publish(TWIN_UPDATED, stored, {"patch": patch}, previous=previous)
        return stored, previous is None

    def import_twins(
        self,
        documents: list[tuple[str, dict[str, Any]]],
        publish: bool = True,
        previous: dict[str, Twin] | None = None,
    ) -> list[Twin]:
        """Validate and create or replace many twins in one transaction: the bulk path for imports.

        Nothing is stored when any twin is invalid; problems point at ``/<index>/...``. A bulk
        importer that announces its work with one summary event passes ``publish=False``. ``previous``:
        the stored twins of these ids, where the caller has just read them (spares reading them again).
        """
        twins = [Twin.from_json(doc, twin_id) for twin_id, doc in documents]
        if previous is None:
            previous = self.store.get_twins(t.id for t in twins)
        problems = [
            Problem(f"/{i}{p.pointer}", p.message, twin.id)
            for i, twin in enumerate(twins)
            for p in check_twin(twin, self.models.models, previous.get(twin.id))
        ]
        if problems:
            raise InvalidInput(problems)
        split = self.personal_split  # what it hides is not needed here: these events carry no patch
        stored = self.store.put_twins(twins if split is None else [split(twin) for twin in twins])
        if not publish:
            return stored
        now = now_iso()  # one transaction, one instant: every event of the batch carries its time
        for twin in stored:
            before = previous.get(twin.id)
            if before is not None:
                self._publish(TWIN_UPDATED, twin, {}, time=now, previous=before)
            else:
                self._publish(TWIN_CREATED, twin, {"twin": twin.to_json()}, time=now)
        return stored

    def patch(self, twin_id: str, operations: Any, if_match: str | None = None) -> Twin:
        current = self.get(twin_id)
        patched = apply_json_patch(_body(current), operations)
        twin = Twin(twin_id, current.model, {k: v for k, v in patched.items() if k != "geometry"})
        twin.geometry = patched.get("geometry")
        problems = check_twin(twin, self.models.models, current)
        if problems:
            raise InvalidInput(problems)
        twin, hidden = self._without_personal(twin)
        stored = self.store.put_twin(twin, if_match=if_match if if_match is not None else current.etag)
        public = [op for op in operations if str(op.get("path", "")).lstrip("/").split("/", 1)[0] not in hidden]
        self._publish(TWIN_UPDATED, stored, {"patch": public}, previous=current)
        return stored

    def delete(self, twin_id: str, if_match: str | None = None) -> None:
        twin = self.get(twin_id)
        outgoing = self.store.list_relationships(twin_id)
        incoming = self.store.list_incoming(twin_id)
        if outgoing or incoming:
            raise Conflict(
                f"twin '{twin_id}' still has {len(outgoing)} outgoing and {len(incoming)} incoming "
                "relationship(s); delete them first"
            )
        # The twin and its history go together or not at all (the store's delete_twin also deletes its NGSI-LD
        # temporal instances), whichever door deletes it: a twin made later with this id starts with none.
        with self._transaction():
            self.store.delete_twin(twin_id, if_match=if_match)
            self.store.delete_series(twin_id)
        self._publish(TWIN_DELETED, twin, {}, previous=twin)

    def list_twins(self, model: str | None = None, after: str | None = None, limit: int = 100) -> list[Twin]:
        models = self.models.models.descendants(model) if model else None
        return self.store.scan_twins(TwinScan(model_ids=models, after_id=after, limit=limit))

    # relationships ------------------------------------------------------------------------
    def get_relationship(self, source_id: str, rel_id: str, readable: TwinFilter = _every) -> Relationship:
        """``readable``: whether the caller may read a twin; a relationship to one it may not is not there."""
        rel = self.store.get_relationship(source_id, rel_id)
        if rel is None or not readable(rel.target_id):
            raise NotFound(f"relationship '{rel_id}' of twin '{source_id}' does not exist")
        return rel

    def put_relationship(
        self,
        source_id: str,
        rel_id: str,
        document: dict[str, Any],
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> tuple[Relationship, bool]:
        if not isinstance(document, dict):
            raise InvalidInput([Problem("", "a relationship is a JSON object with $relationshipName and $targetId")])
        for key in ("$relationshipName", "$targetId"):
            if not isinstance(document.get(key), str) or not document[key]:
                raise InvalidInput([Problem(f"/{key}", f"a relationship needs {key} as a non-empty string")])
        source = self.get(source_id)
        rel = Relationship.from_json(document, source_id, rel_id)
        previous = self.store.get_relationship(source_id, rel_id)
        if previous is not None and previous.name != rel.name:
            raise InvalidInput([Problem("/$relationshipName", "a relationship's name cannot change; delete it first")])
        self._validate_relationship(rel, source, previous)
        stored = self.store.put_relationship(rel, if_match=if_match, if_none_match=if_none_match)
        kind = RELATIONSHIP_CREATED if previous is None else RELATIONSHIP_UPDATED
        self._publish(kind, source, {"relationship": stored.to_json()}, about=_target(stored), previous=previous)
        return stored, previous is None

    def import_relationships(self, rels: list[Relationship], known: dict[str, Twin] | None = None) -> None:
        """Validate and store many relationships at once (bulk imports; no per-relationship events).

        ``known`` holds twins the caller already has (those it just imported), to spare lookups.
        Nothing is stored when any relationship is invalid.
        """
        twins = dict(known or {})
        wanted = {r.source_id for r in rels} | {r.target_id for r in rels}
        twins.update(self.store.get_twins(wanted - twins.keys()))
        counts: dict[tuple[str, str], int] = {}
        ids = {(r.source_id, r.id) for r in rels}
        for existing in self.store.list_relationships_of({r.source_id for r in rels}):
            if (existing.source_id, existing.id) not in ids:
                counts[(existing.source_id, existing.name)] = counts.get((existing.source_id, existing.name), 0) + 1
        problems: list[Problem] = []
        for i, rel in enumerate(rels):
            source = twins.get(rel.source_id)
            if source is None:
                problems.append(Problem(f"/{i}/$sourceId", f"twin '{rel.source_id}' does not exist", rel.source_id))
                continue
            key = (rel.source_id, rel.name)
            found = check_relationship(rel, source, twins.get(rel.target_id), self.models.models, counts.get(key, 0))
            problems += [Problem(f"/{i}{p.pointer}", p.message, rel.source_id) for p in found]
            counts[key] = counts.get(key, 0) + 1
        if problems:
            raise InvalidInput(problems)
        self.store.put_relationships(rels)

    def patch_relationship(
        self, source_id: str, rel_id: str, operations: Any, if_match: str | None = None
    ) -> Relationship:
        current = self.get_relationship(source_id, rel_id)
        patched = apply_json_patch(dict(current.properties), operations)
        rel = Relationship(source_id, rel_id, current.name, current.target_id, patched)
        self._validate_relationship(rel, self.get(source_id), current)
        stored = self.store.put_relationship(rel, if_match=if_match if if_match is not None else current.etag)
        data = {"relationship": stored.to_json()}
        self._publish(RELATIONSHIP_UPDATED, self.get(source_id), data, about=_target(stored), previous=current)
        return stored

    def _validate_relationship(self, rel: Relationship, source: Twin, previous: Relationship | None) -> None:
        others = sum(1 for r in self.store.list_relationships(source.id, rel.name) if r.id != rel.id)
        target = self.store.get_twin(rel.target_id)
        problems = check_relationship(rel, source, target, self.models.models, others, previous)
        if problems:
            raise InvalidInput(problems)

    def delete_relationship(self, source_id: str, rel_id: str, if_match: str | None = None) -> None:
        rel = self.get_relationship(source_id, rel_id)
        self.store.delete_relationship(source_id, rel_id, if_match=if_match)
        source = self.store.get_twin(source_id)
        data = {"relationship": rel.to_json()}
        self._publish(RELATIONSHIP_DELETED, source, data, source_id, _target(rel), previous=rel)

    def list_relationships(
        self, source_id: str, name: str | None = None, readable: TwinFilter = _every
    ) -> list[Relationship]:
        """``readable``: whether the caller may read a twin; relationships to twins it may not are left out."""
        self.get(source_id)
        return [r for r in self.store.list_relationships(source_id, name) if readable(r.target_id)]

    def list_incoming(self, target_id: str, readable: TwinFilter = _every) -> list[Relationship]:
        """``readable``: as for list_relationships; relationships from twins the caller may not read are left out."""
        self.get(target_id)
        return [r for r in self.store.list_incoming(target_id) if readable(r.source_id)]

    @overload
    def graph(self, readable: None = None) -> TwinStore: ...
    @overload
    def graph(self, readable: Callable[[Twin], Twin | None]) -> ReadableGraph: ...
    def graph(self, readable: Callable[[Twin], Twin | None] | None = None) -> TwinStore | ReadableGraph:
        """The twin graph to read exports and queries from: the store itself, or with ``readable`` (the twin as a
        caller may see it, or None) only what that caller may read, twin by twin and property by property."""
        return self.store if readable is None else ReadableGraph(self.store, readable)

    # query --------------------------------------------------------------------------------
    def query(
        self,
        text: str,
        continuation: str | None = None,
        page_size: int = 1000,
        shape: RowShaper | None = None,
        source: GraphSource | None = None,
    ) -> QueryResult:
        """``source``: the graph as the caller may read it (the store itself when None)."""
        graph = self.store if source is None else source
        return execute(text, graph, self.models.models, page_size=page_size, continuation=continuation, shape=shape)

    def _transaction(self) -> AbstractContextManager[None]:
        """One store transaction where the store has them (both SQL adapters), else each call on its own."""
        begin = getattr(self.store, "transaction", None)
        return begin() if callable(begin) else nullcontext()

    def _publish(
        self,
        kind: str,
        twin: Twin | None,
        data: dict[str, Any],
        twin_id: str | None = None,
        about: tuple[str, ...] = (),
        time: str | None = None,
        previous: Twin | Relationship | None = None,
    ) -> None:
        """``time``: when the change happened, where the caller has it (a bulk write's one instant); now if not.
        ``previous``: what the change replaced or removed (``Event.previous``)."""
        self.bus.publish(
            Event(
                kind,
                time or now_iso(),
                twin_id=twin.id if twin else twin_id,
                model=twin.model if twin else None,
                data=data,
                about=about,
                previous=previous,
            )
        )


def _target(rel: Relationship) -> tuple[str, ...]:
    """What a relationship event is about besides its source: its target (a reader must see both ends)."""
    return (twin_resource(rel.target_id),)


def _body(twin: Twin) -> dict[str, Any]:
    """The patchable part of a twin: its properties and geometry."""
    body = dict(twin.properties)
    if twin.geometry is not None:
        body["geometry"] = twin.geometry
    return body
