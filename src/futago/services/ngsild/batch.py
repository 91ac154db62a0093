"""NGSI-LD batch operations (GS CIM 009 5.6.7 - 5.6.10, 5.6.20): many entities per request, on a bulk write path.

A batch is planned in memory and written in one transaction: the entities' previous twins and relationships are
read with one query each, every entity's new state and model plan are computed (``types.plan`` and
``mapping.to_twin`` are pure; a derived model version is uploaded once, when the first entity needing it is
planned), and the twins go to ``TwinService.import_twins`` together, which validates each against its model and
publishes the usual twin events. An entity that fails (bad body, no right to write it, refused by its model) is
an error of its own in the answer; the others are written. An entity named more than once in a batch is
written once per occurrence, in order (later occurrences in a later round), so the last one wins.

The batch is checked against the store when it starts: a write to one of its entities by another request
meanwhile is overwritten (the bulk write has no per-entity ETag precondition), a departure docs/ngsi-ld.md names.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import orjson

from futago.core.dtdl import ModelSet
from futago.core.errors import Conflict, Forbidden, FutagoError, InvalidInput
from futago.core.problems import Problem
from futago.core.twin_rules import NGSILD_META as META
from futago.core.twins import Relationship, Twin, now_iso
from futago.services.ngsild.attributes import (
    ENTITY_MEMBERS,
    LOCATION,
    VALUE_MEMBER,
    Instance,
    is_null,
    merge_instances,
    refuse_nulls,
    stamp,
    without_null_subs,
)
from futago.services.ngsild.context import TermMap
from futago.services.ngsild.errors import AlreadyExists, BadRequestData, ResourceNotFound
from futago.services.ngsild.mapping import EntityState, from_twin, recorded_instances, to_twin
from futago.services.ngsild.service import NULL, NgsiLdService, add_types, merge_attributes
from futago.services.ngsild.types import ModelPlan, plan, schema_of

T = TypeVar("T")
MAX_BATCH = 1000  # entities per request: bounds one transaction's size and the memory of one answer
Operation = Literal["create", "upsert-replace", "upsert-update", "update", "update-keep", "merge"]
MayWrite = Callable[[str], bool]  # whether the caller may write the twin of this id


@dataclass
class BatchResult:
    """A BatchOperationResult: the entity ids written, and those not with why; ``created`` among the written."""

    success: list[str] = field(default_factory=list)
    errors: list[tuple[str, FutagoError]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)


@dataclass
class Item:
    """One entity of a batch body, with the term map of its @context."""

    document: Any
    terms: TermMap


@dataclass
class _Job:
    state: EntityState
    created: bool
    plan: ModelPlan | None = None
    document: dict[str, Any] = field(default_factory=dict)
    rels: list[Relationship] = field(default_factory=list)


def check_size(count: int) -> None:
    if count > MAX_BATCH:
        raise BadRequestData(f"a batch may hold at most {MAX_BATCH} entities, not {count}: split it")


def entity_id_of(document: Any) -> str:
    """The id an error names: the document's id, or an empty string where it has none."""
    found = document.get("id", document.get("@id")) if isinstance(document, dict) else None
    return found if isinstance(found, str) else ""


class BatchService:
    def __init__(self, ngsild: NgsiLdService) -> None:
        self.ngsild = ngsild
        self._plans: dict[tuple[Any, ...], ModelPlan] = {}
        self._plans_of: ModelSet | None = None  # the model set the cached plans were made over

    # operations ---------------------------------------------------------------------------------------------
    def write(
        self, tenant: str | None, items: Sequence[Item], operation: Operation, may_write: MayWrite
    ) -> BatchResult:
        """create, upsert (replace or update), update (overwrite or keep) or merge many entities."""
        self.ngsild.check_tenant(tenant)
        check_size(len(items))
        result = BatchResult()
        parsed: list[tuple[EntityState, Item]] = []
        for item in items:
            try:
                state = self._parse(item, operation)
                if not may_write(self.ngsild.tenant_twin_id(tenant, state.id)):
                    raise Forbidden(f"the caller may not WRITE entity '{state.id}'")
                parsed.append((state, item))
            except FutagoError as exc:
                result.errors.append((entity_id_of(item.document), exc))
        with no_cyclic_gc():
            for round_ in _rounds(parsed):
                self._round(tenant, round_, operation, result)
        return result

    def delete(self, tenant: str | None, entity_ids: Sequence[Any], may_write: MayWrite) -> BatchResult:
        self.ngsild.check_tenant(tenant)
        check_size(len(entity_ids))
        result = BatchResult()
        for entity_id in entity_ids:
            shown = entity_id if isinstance(entity_id, str) else ""
            try:
                self.ngsild.check_id(entity_id)
                if not may_write(self.ngsild.tenant_twin_id(tenant, entity_id)):
                    raise Forbidden(f"the caller may not WRITE entity '{entity_id}'")
                self.ngsild.delete(tenant, entity_id)
                result.success.append(entity_id)
            except FutagoError as exc:
                result.errors.append((shown, exc))
        return result

    # planning -----------------------------------------------------------------------------------------------
    def _parse(self, item: Item, operation: Operation) -> EntityState:
        new = operation in ("create", "upsert-replace", "upsert-update")
        document = item.document
        nulls = operation in ("merge", "update", "update-keep")  # where NGSI-LD Null deletes an attribute
        if nulls and isinstance(document, dict):  # ... not an entity member
            document = {k: v for k, v in document.items() if not (v == NULL and k in ENTITY_MEMBERS)}
        return self.ngsild.parse_entity(document, item.terms, need_type=new, keep_null=nulls)

    def _round(
        self, tenant: str | None, round_: list[tuple[EntityState, Item]], operation: Operation, result: BatchResult
    ) -> None:
        twins = self.ngsild.twins.store.get_twins(self.ngsild.tenant_twin_id(tenant, s.id) for s, _ in round_)
        light = operation in ("create", "upsert-replace")  # these need only what existed and when it was created
        previous = self._times_of(tenant, twins) if light else self._load_many(tenant, twins)
        jobs: list[_Job] = []
        now = now_iso()
        for state, item in round_:
            try:
                jobs.append(_next_state(state, item, previous.get(state.id), operation, now))
            except FutagoError as exc:
                result.errors.append((state.id, exc))
        if jobs:
            self._store(tenant, jobs, result, twins)

    def _times_of(self, tenant: str | None, twins: dict[str, Twin]) -> dict[str, EntityState]:
        """The entities there already, with only their creation times (of the entity and of each attribute
        instance, by datasetId), read from the twins' NGSI-LD metadata: what a replacement keeps."""
        found = {}
        for twin_id, twin in twins.items():
            meta = twin.properties.get(META)
            created = meta.get("createdAt") if isinstance(meta, dict) else None
            entity = self.ngsild.entity_id(tenant, twin_id)
            state = EntityState(entity, "", created_at=str(created or twin.last_updated))
            state.attrs = recorded_instances(meta, state.created_at)  # ``stamp`` takes datasetId and createdAt
            found[state.id] = state
        return found

    def _load_many(self, tenant: str | None, twins: dict[str, Twin]) -> dict[str, EntityState]:
        """The entities there already, with one more query for the whole batch (their relationships)."""
        store = self.ngsild.twins.store
        rels: dict[str, list[Relationship]] = {}
        for rel in store.list_relationships_of(twins) if twins else ():
            rels.setdefault(rel.source_id, []).append(rel)
        models = self.ngsild.models.models
        found = {}
        for twin_id, twin in twins.items():
            state = from_twin(twin, rels.get(twin_id, []), models, lambda t: self.ngsild.entity_id(tenant, t))
            found[state.id] = state
        return found

    def _plan(self, job: _Job) -> None:
        """The entity's model plan; a derived model version it needs is uploaded now (once: the next entity of the
        type plans over it). Entities of one type whose attributes have the same names, kinds and value schemas
        share a plan, computed once per model set."""
        models = self.ngsild.models
        for _ in range(5):
            if self._plans_of is not models.models:
                self._plans, self._plans_of = {}, models.models
            key = _signature(job.state)
            cached = self._plans.get(key) if key is not None else None
            if cached is not None:
                job.plan = cached
                return
            job.plan = plan(models.models, job.state.type, job.state.attrs)
            if job.plan.upload is None:
                if key is not None:
                    self._plans[key] = job.plan
                return
            try:
                models.add([job.plan.upload])
            except Conflict:  # another writer uploaded this version meanwhile: plan again over it
                models.reload()
        raise Conflict(f"the model of entity '{job.state.id}' kept changing under this write; try again")

    # writing ------------------------------------------------------------------------------------------------
    def _store(self, tenant: str | None, jobs: list[_Job], result: BatchResult, previous: dict[str, Twin]) -> None:
        planned: list[_Job] = []
        for job in jobs:
            try:
                self._plan(job)
                assert job.plan is not None
                if job.created and self.ngsild.models.is_decommissioned(job.plan.model):
                    raise BadRequestData(f"model '{job.plan.model}' is decommissioned: no new twins of it")
                planned.append(job)
            except FutagoError as exc:
                result.errors.append((job.state.id, exc))
        twin_of = {self.ngsild.tenant_twin_id(tenant, job.state.id): job for job in planned}
        existing = self._existing_targets(tenant, planned) | twin_of.keys()
        for twin_id, job in twin_of.items():
            assert job.plan is not None
            job.document, job.rels = to_twin(
                job.state, job.plan, twin_id, existing.__contains__, lambda e: self.ngsild.tenant_twin_id(tenant, e)
            )
        written = self._import(twin_of, result, previous)
        self._sync_relationships({t: twin_of[t] for t in written}, result)

    def _existing_targets(self, tenant: str | None, jobs: Iterable[_Job]) -> set[str]:
        targets = {
            self.ngsild.tenant_twin_id(tenant, i["object"])
            for job in jobs
            for instances in job.state.attrs.values()
            for i in instances
            if i["type"] == "Relationship"
        }
        return set(self.ngsild.twins.store.get_twins(targets)) if targets else set()

    def _import(self, twin_of: dict[str, _Job], result: BatchResult, previous: dict[str, Twin]) -> list[str]:
        """Write the twins in one transaction; twins their model refuses are errors and the rest is written."""
        pending = dict(twin_of)
        while pending:
            try:
                documents = [(t, job.document) for t, job in pending.items()]
                self.ngsild.twins.import_twins(documents, previous={t: previous[t] for t in pending if t in previous})
                return list(pending)
            except InvalidInput as exc:
                refused = _refused(exc, list(pending))
                for twin_id, problems in refused.items():
                    job = pending.pop(twin_id)
                    message = problems[0].message if problems else exc.detail
                    result.errors.append((job.state.id, BadRequestData(message, problems)))
                if not refused:  # a problem that names no twin: the batch as a whole is refused
                    for job in pending.values():
                        result.errors.append((job.state.id, BadRequestData(exc.detail, exc.problems)))
                    return []
        return []

    def _sync_relationships(self, written: dict[str, _Job], result: BatchResult) -> None:
        """Each written twin's relationships as its entity says: removed ones deleted, new ones written together."""
        twins = self.ngsild.twins
        have: dict[str, dict[str, Relationship]] = {t: {} for t in written}
        existed = [t for t, job in written.items() if not job.created]  # a new twin has no relationships yet
        for rel in twins.store.list_relationships_of(existed) if existed else ():
            have[rel.source_id][rel.id] = rel
        wanted: list[Relationship] = []
        failed: set[str] = set()
        for twin_id, job in written.items():
            keep = {r.id: r for r in job.rels}
            try:
                for rel_id, rel in have[twin_id].items():
                    if rel_id not in keep or keep[rel_id].name != rel.name:
                        twins.delete_relationship(twin_id, rel_id)
            except FutagoError as exc:
                failed.add(twin_id)
                result.errors.append((job.state.id, exc))
                continue
            wanted += [
                rel
                for rel_id, rel in keep.items()
                if (old := have[twin_id].get(rel_id)) is None or old.name != rel.name or old.target_id != rel.target_id
            ]
        failed |= self._put_relationships(wanted, written, result)
        for twin_id, job in written.items():
            if twin_id not in failed:
                result.success.append(job.state.id)
                if job.created:
                    result.created.append(job.state.id)

    def _put_relationships(self, rels: list[Relationship], written: dict[str, _Job], result: BatchResult) -> set[str]:
        """Write relationships in one go; when their model refuses some, one by one to tell whose they are (the
        twin stays written, as a single entity write leaves it)."""
        if not rels:
            return set()
        twins = self.ngsild.twins
        try:
            twins.import_relationships(rels)
            return set()
        except InvalidInput:
            pass
        failed: set[str] = set()
        for rel in rels:
            try:
                twins.put_relationship(
                    rel.source_id, rel.id, {"$relationshipName": rel.name, "$targetId": rel.target_id}
                )
            except InvalidInput as exc:
                if rel.source_id not in failed:
                    result.errors.append((written[rel.source_id].state.id, BadRequestData(exc.detail, exc.problems)))
                failed.add(rel.source_id)
        return failed


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """A batch allocates hundreds of thousands of short-lived objects and makes no reference cycles: the cyclic
    collector, triggered again and again by those allocations, only walks the whole heap meanwhile (a fifth of a
    batch's time, measured). Reference counting still frees everything; the collector resumes afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def without_cyclic_gc(run: Callable[[], T]) -> Callable[[], T]:
    """``run`` under ``no_cyclic_gc`` (for the route that parses a batch's body and writes it)."""

    def running() -> T:
        with no_cyclic_gc():
            return run()

    return running


def _signature(state: EntityState) -> tuple[Any, ...] | None:
    """What a derived model's plan depends on: the type, and per attribute its IRI, whether it has a default
    instance, that instance's kind and its value's DTDL schema. None for a type that is a DTMI (not cached).
    Computed for every entity of a batch, so the usual attribute (one instance, a scalar value) takes a short way."""
    if state.type.startswith("dtmi:"):
        return None
    parts: list[Any] = [state.type]
    for iri, instances in state.attrs.items():
        first = instances[0] if instances else None
        if first is not None and len(instances) == 1 and "datasetId" not in first:
            default: Instance | None = first
        else:
            default = next((i for i in instances if "datasetId" not in i), None) or next(
                (i for i in instances if i["type"] == "Relationship"), None
            )
        if default is None:
            parts.append((iri, None))
            continue
        kind = default["type"]
        if kind == "Relationship" or iri == LOCATION:
            parts.append((iri, kind))
        else:
            value = default.get(VALUE_MEMBER[kind])
            scalar = _SCALAR_SCHEMAS.get(type(value))
            parts.append((iri, kind, scalar if scalar is not None else _schema_key(value)))
    return tuple(parts)


_SCALAR_SCHEMAS: dict[type, str] = {bool: "boolean", int: "double", float: "double", str: "string"}


def _schema_key(value: Any) -> Any:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "double"
    if isinstance(value, str):
        return "string"
    schema = schema_of(value)
    return orjson.dumps(schema, option=orjson.OPT_SORT_KEYS) if schema is not None else None


def _rounds(parsed: list[tuple[EntityState, Item]]) -> list[list[tuple[EntityState, Item]]]:
    """The k-th occurrence of each entity id goes to round k, so that each round names an entity once."""
    rounds: list[list[tuple[EntityState, Item]]] = []
    seen: dict[str, int] = {}
    for entry in parsed:
        k = seen.get(entry[0].id, 0)
        seen[entry[0].id] = k + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(entry)
    return rounds


def _refused(exc: InvalidInput, twin_ids: list[str]) -> dict[str, list[Problem]]:
    """The problems of an import by the twin they are about (named by id, or by the index in ``/<i>/...``), each
    pointing inside its entity (``/height``), as a single write's problem does."""
    found: dict[str, list[Problem]] = {}
    for problem in exc.problems:
        index, _, rest = problem.pointer[1:].partition("/")
        twin_id = problem.id
        if twin_id is None and index.isdigit() and int(index) < len(twin_ids):
            twin_id = twin_ids[int(index)]
        if twin_id is not None:
            pointer = "/" + rest if index.isdigit() else problem.pointer
            found.setdefault(twin_id, []).append(Problem(pointer, problem.message))
    return found


def _next_state(state: EntityState, item: Item, previous: EntityState | None, operation: Operation, now: str) -> _Job:
    """The entity after the operation, from what it was (pure)."""
    if previous is None:
        if operation in ("update", "update-keep", "merge"):
            raise ResourceNotFound(f"entity '{state.id}' does not exist")
        state.created_at = now
        for instances in state.attrs.values():
            stamp(instances, now)
        return _Job(state, created=True)
    if operation == "create":
        raise AlreadyExists(f"entity '{state.id}' already exists")
    if operation == "upsert-replace":
        state.created_at = previous.created_at
        for iri, instances in state.attrs.items():
            stamp(instances, now, previous.attrs.get(iri))
        return _Job(state, created=False)
    after = _copy(previous)
    if operation == "merge":
        _merge_into(after, state, item, now)
    else:
        for iri, instances in state.attrs.items():
            old = after.attrs.get(iri, [])
            if operation in ("update", "update-keep") and any(is_null(i) for i in instances):  # 5.6.2 per entity
                merge_attributes(after, {iri: instances}, now)
                continue
            given = instances
            if operation in ("update", "update-keep"):  # parsed with the Null kept: as a sub-attribute it deletes
                given = [without_null_subs(i) for i in refuse_nulls({iri: instances}, deleting=True)[iri]]
            after.attrs[iri] = merge_instances(old, stamp(given, now, old), operation != "update-keep")
    if operation in ("merge", "upsert-update"):  # types are added (4.16), the first staying the model's
        add_types(after, [state.type, *state.extra_types] if state.type else [])
    if isinstance(item.document, dict) and "scope" in item.document:
        # merge and update replace the scope; an upsert's update appends to it, as an append does (5.6.3)
        scopes = state.scope
        after.scope = list(dict.fromkeys([*after.scope, *scopes])) if operation == "upsert-update" else scopes
    return _Job(after, created=False)


def _merge_into(after: EntityState, given: EntityState, item: Item, now: str) -> None:
    """Merge-patch semantics (5.6.17), as PATCH /entities/{id} applies them (service.merge_attributes)."""
    merge_attributes(after, given.attrs, now)


def _copy(state: EntityState) -> EntityState:
    return EntityState(
        state.id,
        state.type,
        {k: list(v) for k, v in state.attrs.items()},
        state.created_at,
        state.modified_at,
        list(state.extra_types),
        state.model,
        state.etag,
        list(state.scope),
    )


__all__ = ["MAX_BATCH", "BatchResult", "BatchService", "Item", "check_size", "no_cyclic_gc", "without_cyclic_gc"]
