"""The NGSI-LD use cases over the twin graph: entities and their attributes, read and written as twins.

Every write goes through the TwinService (validation by the model, ETags, events, personal data) and every
model through the ModelService, so the rest of futago (the twin API, queries, rules, the dashboard) sees the same
graph. Extension points for the other NGSI-LD parts: ``load``/``write`` (one entity's state and its storage,
for batch operations), ``scan`` (the twins of a query, before pick/omit), ``state_of`` (a twin as an entity, for
notifications), ``render`` (an entity in an answer format) and ``tenant_twin_id``/``entity_id`` (tenants).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from futago.core.errors import Conflict, InvalidInput
from futago.core.twin_rules import check_id
from futago.core.twins import Twin, TwinScan, now_iso
from futago.services.models import ModelService
from futago.services.ngsild.attributes import (
    ENTITY_MEMBERS,
    NULL,
    PATCHED_MEMBERS,
    TYPE_OF_MEMBER,
    VALUE_MEMBER,
    Instance,
    Rendering,
    check_scope,
    has_invisible,
    is_name,
    is_null,
    merge_instances,
    merge_patch,
    parse_attributes,
    refuse_nulls,
    stamp,
    without_null_subs,
)
from futago.services.ngsild.context import DEFAULT_VOCAB, ContextResolver, TermMap
from futago.services.ngsild.errors import (
    AlreadyExists,
    BadRequestData,
    NonexistentTenant,
    ResourceNotFound,
)
from futago.services.ngsild.mapping import EntityState, from_twin, telemetry_instance, to_twin
from futago.services.ngsild.types import derived_base, plan, versions
from futago.services.twins import TwinService

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")


def _readable_uri(entity_id: str) -> bool:
    """A URI that reads as itself (4.5.1): no hidden characters, and not NGSI-LD's null, which only deletes."""
    return bool(_URI.match(entity_id)) and not has_invisible(entity_id) and entity_id != NULL


_TENANT = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
Readable = Callable[[Twin], Twin | None]  # a twin as the caller may see it, or None (futago.api.access)


def _everything(twin: Twin) -> Twin | None:
    return twin


@dataclass
class Outcome:
    """What an attribute operation did: the attributes updated and those not, with why (a 207 when not empty)."""

    updated: list[str] = field(default_factory=list)
    not_updated: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class EntityQuery:
    """The minimal query of GET /entities; the query helper extends it (q, geo-queries, type expressions)."""

    types: list[str] | None = None  # expanded type IRIs (any of)
    ids: list[str] | None = None
    id_pattern: str | None = None
    attrs: list[str] | None = None  # expanded IRIs: entities having at least one of them
    limit: int = 20
    offset: int = 0
    count: bool = False
    type_sets: list[frozenset[str]] | None = None  # a type expression: any set, all its types (typeexpr.py)
    q: Any = None  # a parsed q (qlang.Node)
    geo: Any = None  # a geo-query (geoquery.GeoQuery)
    scope_q: Any = None  # a parsed scopeQ (scopeq.ScopeQuery)


class NgsiLdService:
    def __init__(
        self,
        twins: TwinService,
        models: ModelService,
        contexts: ContextResolver | None = None,
        source: Callable[[], str] | None = None,
    ) -> None:
        """``source``: the store's identity (``store_identity``), what names this broker the same from every
        process and across restarts; without one, a name of this service's own."""
        self.twins = twins
        self.models = models
        self.contexts = contexts or ContextResolver()
        self._source = source
        self._source_id: str | None = None

    def source_id(self) -> str:
        """What identifies this Context Source (5.15): read from the store once, it never changes."""
        if self._source_id is None:
            self._source_id = self._source() if self._source is not None else uuid.uuid4().hex
        return self._source_id

    # tenants ------------------------------------------------------------------------------------------------
    @staticmethod
    def tenant_twin_id(tenant: str | None, entity_id: str) -> str:
        """A tenant's entities are twins whose id is ``~<tenant>~<entity id>``; the default tenant's are the twin
        API's graph itself. Entity ids are URIs (a letter first), so no default-tenant entity starts with '~'."""
        return entity_id if tenant is None else f"~{tenant}~{entity_id}"

    @staticmethod
    def entity_id(tenant: str | None, twin_id: str) -> str:
        prefix = "" if tenant is None else f"~{tenant}~"
        return twin_id[len(prefix) :] if prefix and twin_id.startswith(prefix) else twin_id

    @staticmethod
    def check_tenant(tenant: str | None) -> None:
        if tenant is not None and not _TENANT.match(tenant):
            raise BadRequestData("NGSILD-Tenant: up to 64 letters, digits and '_', '.', ':', '-'")

    def tenant_exists(self, tenant: str | None) -> bool:
        if tenant is None:
            return True
        prefix = f"~{tenant}~"
        first = self.twins.store.scan_twins(TwinScan(after_id=prefix, limit=1))
        return bool(first) and first[0].id.startswith(prefix)

    def require_tenant(self, tenant: str | None) -> None:
        """Reads in a tenant nobody has written to are a 404 (NonexistentTenant), as GS CIM 009 says."""
        self.check_tenant(tenant)
        if not self.tenant_exists(tenant):
            raise NonexistentTenant(f"tenant '{tenant}' does not exist")

    # reading --------------------------------------------------------------------------------------------------
    def state_of(
        self, tenant: str | None, twin: Twin, may_read_twin: Callable[[str], bool] | None = None
    ) -> EntityState:
        """A twin as an entity; relationships to twins the caller may not read are left out."""
        rels = self.twins.store.list_relationships(twin.id)
        if may_read_twin is not None:
            rels = [r for r in rels if may_read_twin(r.target_id)]
        return from_twin(twin, rels, self.models.models, lambda t: self.entity_id(tenant, t))

    def load(
        self,
        tenant: str | None,
        entity_id: str,
        readable: Readable = _everything,
        may_read_twin: Callable[[str], bool] | None = None,
    ) -> EntityState:
        self.check_id(entity_id)
        twin = self.twins.store.get_twin(self.tenant_twin_id(tenant, entity_id))
        shown = readable(twin) if twin is not None else None
        if shown is None and not _readable_uri(entity_id):  # no twin by that name: an id NGSI-LD calls invalid
            raise BadRequestData(f"an entity id must be a URI (e.g. urn:ngsi-ld:Type:001), not {entity_id!r}")
        if shown is None:
            raise ResourceNotFound(f"entity '{entity_id}' does not exist")
        return self.state_of(tenant, shown, may_read_twin)

    def require_type(self, tenant: str | None, entity_id: str, type_expression: str | None, terms: TermMap) -> None:
        """The ``type`` selector of a write to one entity (4.17, 5.6.4.4, 5.6.6.4): an entity of no type it names
        is, for that request, an entity that does not exist."""
        if type_expression is None:
            return
        from futago.services.ngsild.typeexpr import parse_types

        wanted = parse_types(type_expression, terms.expand)
        state = self.load(tenant, entity_id)
        types = {state.type, *state.extra_types}
        if not any(one <= types for one in wanted):
            raise ResourceNotFound(f"entity '{entity_id}' is not of type {type_expression!r}")

    def with_telemetry(self, state: EntityState, twin_id: str) -> EntityState:
        """The entity with each telemetry's latest reading as a Property with observedAt (the temporal API
        answers the history: ``telemetry_instance`` maps each reading)."""
        for name, latest in sorted(self.twins.store.latest(twin_id).items()):
            iri = DEFAULT_VOCAB + name
            if iri not in state.attrs:
                state.attrs[iri] = [telemetry_instance(latest.ts, latest.value)]
        return state

    def scan(self, tenant: str | None, query: EntityQuery, readable: Readable = _everything) -> Iterator[Twin]:
        """The twins of ``query``'s type, ids and idPattern, in id order, as the caller may read them; a type
        matches an entity's model or any of its further types."""
        from futago.services.ngsild.querying import twin_pages

        models = self._model_ids(query.types)
        twin_ids = frozenset(self.tenant_twin_id(tenant, i) for i in query.ids) if query.ids else None
        extra = frozenset(query.types) if query.types else None
        scan = TwinScan(model_ids=models, twin_ids=twin_ids)
        for page in twin_pages(self, tenant, scan, extra, query.id_pattern):
            for twin in page:
                shown = readable(twin)
                if shown is not None:
                    yield shown

    def query(
        self,
        tenant: str | None,
        query: EntityQuery,
        readable: Readable = _everything,
        may_read_twin: Callable[[str], bool] | None = None,
    ) -> tuple[list[EntityState], int | None]:
        """One page of entities (offset, limit) and, when asked, how many match in all."""
        if query.q is not None or query.geo is not None or query.type_sets is not None or query.scope_q is not None:
            return self.query_entities(tenant, query, readable, may_read_twin)
        found: list[EntityState] = []
        total = 0
        for twin in self.scan(tenant, query, readable):
            if query.attrs is not None or (total >= query.offset and len(found) < query.limit):
                state = self.state_of(tenant, twin, may_read_twin)
                if query.attrs is not None and not any(a in state.attrs for a in query.attrs):
                    continue
                if total >= query.offset and len(found) < query.limit:
                    found.append(state)
            total += 1
            if not query.count and len(found) >= query.limit:
                break
        return found, total if query.count else None

    def query_entities(
        self,
        tenant: str | None,
        query: EntityQuery,
        readable: Readable = _everything,
        may_read_twin: Callable[[str], bool] | None = None,
    ) -> tuple[list[EntityState], int | None]:
        """Every query form (type expressions, q, geo-queries): narrowed in the store, decided exactly
        (querying.py); for GET /entities and POST /entityOperations/query."""
        from futago.services.ngsild.querying import run_query

        return run_query(self, tenant, query, readable, may_read_twin)

    def _model_ids(self, types: list[str] | None) -> frozenset[str] | None:
        if types is None:
            return None
        models = self.models.models
        ids: set[str] = set()
        for type_iri in types:
            if type_iri in models:
                ids |= models.descendants(type_iri)
            else:
                ids.update(versions(models, derived_base(type_iri)))
        return frozenset(ids)

    def render(
        self, state: EntityState, rendering: Rendering, attrs: set[str] | None = None, omit: set[str] | None = None
    ) -> dict[str, Any]:
        """The entity in an answer's format and context; ``attrs``/``omit`` are expanded IRIs (``id``/``type``
        may be omitted by their names)."""
        terms = rendering.terms
        out: dict[str, Any] = {}
        if omit is None or "id" not in omit:
            out["id"] = state.id
        if omit is None or "type" not in omit:
            types = [terms.compact(t) for t in (state.type, *state.extra_types)]
            out["type"] = types[0] if len(types) == 1 else types
        if state.scope and (omit is None or "scope" not in omit):
            out["scope"] = state.scope[0] if len(state.scope) == 1 else list(state.scope)
        if rendering.sys_attrs:  # keyValues too (the entity's own times; an attribute's need its object form)
            out["createdAt"] = state.created_at
            out["modifiedAt"] = state.modified_at
        for iri, instances in state.attrs.items():
            if (attrs is not None and iri not in attrs) or (omit is not None and iri in omit):
                continue
            out[terms.compact(iri)] = rendering.attribute(instances)
        return out

    # writing --------------------------------------------------------------------------------------------------
    @staticmethod
    def check_id(entity_id: Any, new: bool = False) -> str:
        """A new entity's id must be a URI; an existing twin's id is an entity id whatever it is (a twin made
        through the twin API, e.g. ``pump-1``, is an entity too), within the twin id rules."""
        if not isinstance(entity_id, str) or (new and not _readable_uri(entity_id)):
            raise BadRequestData(f"an entity id must be a URI (e.g. urn:ngsi-ld:Type:001), not {entity_id!r}")
        problems = check_id(entity_id, "/id", "entity")
        if problems:
            raise BadRequestData(problems[0].message, problems)
        return entity_id

    def parse_entity(
        self, document: Any, terms: TermMap, need_type: bool = True, keep_null: bool = False
    ) -> EntityState:
        if not isinstance(document, dict):
            raise BadRequestData("an entity is a JSON object with id and type")
        entity_id = self.check_id(document.get("id", document.get("@id")), new=need_type)
        expanded = types_of(document.get("type", document.get("@type")), terms)
        if need_type and not expanded:
            raise BadRequestData("an entity needs a type")
        state = EntityState(entity_id, expanded[0] if expanded else "", extra_types=expanded[1:])
        if "scope" in document:
            given = document["scope"]
            if not keep_null and NULL in (given if isinstance(given, list) else [given]):
                raise BadRequestData("'scope' is the NGSI-LD Null, which only a merge may send (5.2.1)")
            state.scope = scopes_of(document["scope"])
        state.attrs = parse_attributes(document, terms, ENTITY_MEMBERS, keep_null)
        return state

    def create(self, tenant: str | None, state: EntityState) -> None:
        self.check_tenant(tenant)
        twin_id = self.tenant_twin_id(tenant, state.id)
        if self.twins.store.get_twin(twin_id) is not None:
            raise AlreadyExists(f"entity '{state.id}' already exists")
        now = now_iso()
        state.created_at = now
        for instances in state.attrs.values():
            stamp(instances, now)
        self.write(tenant, state, None)

    def write(self, tenant: str | None, state: EntityState, previous: EntityState | None) -> Twin:
        """Store an entity: derive or evolve its model, then its twin and relationships, with ETag checks."""
        twin_id = self.tenant_twin_id(tenant, state.id)
        for _ in range(5):
            model_plan = plan(self.models.models, state.type, state.attrs)
            if model_plan.upload is not None:
                try:
                    self.models.add([model_plan.upload])
                except Conflict:  # another writer uploaded this version meanwhile: plan again over it
                    self.models.reload()
                    continue
            targets = {
                self.tenant_twin_id(tenant, i["object"])
                for instances in state.attrs.values()
                for i in instances
                if i["type"] == "Relationship"
            }
            existing = set(self.twins.store.get_twins(targets)) if targets else set()
            document, rels = to_twin(
                state,
                model_plan,
                twin_id,
                (existing | {twin_id}).__contains__,
                lambda e: self.tenant_twin_id(tenant, e),
            )
            try:
                if previous is None:
                    twin, _ = self.twins.put(twin_id, document, if_none_match="*")
                else:
                    twin, _ = self.twins.put(twin_id, document, if_match=previous.etag or None)
                self._sync_relationships(twin_id, rels)
            except InvalidInput as exc:  # the model refused it: an NGSI-LD BadRequestData (400), same pointers
                raise BadRequestData(exc.detail, exc.problems) from exc
            return twin
        raise Conflict(f"the model of entity '{state.id}' kept changing under this write; try again")

    def _sync_relationships(self, twin_id: str, wanted: list[Any]) -> None:
        have = {r.id: r for r in self.twins.store.list_relationships(twin_id)}
        keep = {r.id: r for r in wanted}
        for rel_id, rel in have.items():
            if rel_id not in keep or keep[rel_id].name != rel.name:
                self.twins.delete_relationship(twin_id, rel_id)
        for rel_id, rel in keep.items():
            old = have.get(rel_id)
            if old is None or old.name != rel.name or old.target_id != rel.target_id:
                self.twins.put_relationship(
                    twin_id, rel_id, {"$relationshipName": rel.name, "$targetId": rel.target_id}
                )

    def delete(self, tenant: str | None, entity_id: str) -> None:
        """Delete an entity's twin, its relationships, and relationships to it (NGSI-LD leaves those dangling;
        the twin graph cannot, so they go: a departure docs/ngsi-ld.md names)."""
        self.check_tenant(tenant)
        self.check_id(entity_id)
        twin_id = self.tenant_twin_id(tenant, entity_id)
        twin = self.twins.store.get_twin(twin_id)
        if twin is None:
            raise ResourceNotFound(f"entity '{entity_id}' does not exist")
        for rel in self.twins.store.list_relationships(twin_id):
            self.twins.delete_relationship(twin_id, rel.id)
        for rel in self.twins.store.list_incoming(twin_id):
            self.twins.delete_relationship(rel.source_id, rel.id)
        self.twins.delete(twin_id)

    def replace(self, tenant: str | None, entity_id: str, document: Any, terms: TermMap) -> None:
        previous = self.load(tenant, entity_id)
        body = dict(document) if isinstance(document, dict) else document
        if isinstance(body, dict):
            body.setdefault("id", entity_id)
        state = self.parse_entity(body, terms, need_type=False)
        if state.id != entity_id:
            raise BadRequestData(f"the body's id '{state.id}' differs from the URL's '{entity_id}'")
        if not state.type:
            state.type, state.extra_types = previous.type, previous.extra_types
        now = now_iso()
        state.created_at = previous.created_at
        for iri, instances in state.attrs.items():
            stamp(instances, now, previous.attrs.get(iri))
        state.etag = previous.etag
        self.write(tenant, state, previous)

    def merge(self, tenant: str | None, entity_id: str, document: Any, terms: TermMap) -> None:
        """PATCH /entities/{id}: attributes given are merged in; ``urn:ngsi-ld:null`` removes one."""
        previous = self.load(tenant, entity_id)
        if not isinstance(document, dict):
            raise BadRequestData("a merge is a JSON object of attributes")
        if "id" in document and document["id"] != entity_id:
            raise BadRequestData(f"the body's id '{document['id']}' differs from the URL's '{entity_id}'")
        fragment = {k: v for k, v in document.items() if not (v == NULL and k in ENTITY_MEMBERS)}
        state = self._copy(previous)
        merge_attributes(state, parse_attributes(fragment, terms, keep_null=True), now_iso())
        add_types(state, types_of(document.get("type"), terms))  # 4.16: a merge adds types, never removes one
        if "scope" in document:  # replaced (the NGSI-LD Null removes it)
            state.scope = scopes_of(document["scope"])
        self.write(tenant, state, previous)

    def append(
        self, tenant: str | None, entity_id: str, document: Any, terms: TermMap, overwrite: bool = True
    ) -> Outcome:
        """POST /entities/{id}/attrs: add attributes, replacing those there unless ``overwrite`` is off."""
        previous = self.load(tenant, entity_id)
        attrs = self._fragment(document, terms, entity_id)
        state = self._copy(previous)
        outcome = Outcome()
        now = now_iso()
        add_types(state, types_of(document.get("type"), terms))  # 5.6.3: types and scopes in a fragment are added
        if "scope" in document:
            state.scope = list(dict.fromkeys([*state.scope, *scopes_of(document["scope"])]))
        for iri, instances in attrs.items():
            old = state.attrs.get(iri, [])
            clashes = {i.get("datasetId") for i in old} & {i.get("datasetId") for i in instances}
            if clashes and not overwrite:
                outcome.not_updated.append((iri, "the attribute exists and noOverwrite was asked"))
                continue
            state.attrs[iri] = merge_instances(old, stamp(instances, now, old), overwrite)
            outcome.updated.append(iri)
        if outcome.updated or (state.extra_types, state.scope) != (previous.extra_types, previous.scope):
            self.write(tenant, state, previous)
        return outcome

    def update(self, tenant: str | None, entity_id: str, document: Any, terms: TermMap) -> Outcome:
        """PATCH /entities/{id}/attrs: replace attributes that exist; those that do not are reported."""
        previous = self.load(tenant, entity_id)
        attrs = self._fragment(document, terms, entity_id, keep_null=True)
        state = self._copy(previous)
        outcome = Outcome()
        now = now_iso()
        if "scope" in document:  # 5.6.2: the scope given replaces the entity's
            state.scope = scopes_of(document["scope"])
        for iri, instances in attrs.items():
            old = state.attrs.get(iri)
            missing = [i.get("datasetId") for i in instances if _same_dataset(old or [], i) is None]
            if old is None or missing:
                outcome.not_updated.append((iri, "the entity has no such attribute (or datasetId)"))
                continue
            if any(is_null(i) for i in instances):  # NGSI-LD Null as the value deletes the attribute (5.5.8)
                merge_attributes(state, {iri: instances}, now)
            else:
                given = [without_null_subs(i) for i in refuse_nulls({iri: instances}, deleting=True)[iri]]
                state.attrs[iri] = merge_instances(old, stamp(given, now, old))
            outcome.updated.append(iri)
        if outcome.updated or state.scope != previous.scope:
            self.write(tenant, state, previous)
        return outcome

    def patch_attribute(
        self, tenant: str | None, entity_id: str, attr: str, fragment: Any, terms: TermMap, replace: bool = False
    ) -> None:
        """PATCH (partial update: members merged) or PUT (replace) /entities/{id}/attrs/{attr}."""
        previous = self.load(tenant, entity_id)
        if attr == "scope":  # an entity member, not an attribute: changed by a merge or a replace (5.6.4.4)
            raise BadRequestData("'scope' is not an attribute to update on its own: merge or replace the entity")
        iri = terms.expand(attr)
        old = previous.attrs.get(iri)
        if old is None:
            raise ResourceNotFound(f"entity '{entity_id}' has no attribute '{attr}'")
        if not isinstance(fragment, dict):
            raise BadRequestData("an attribute fragment is a JSON object")
        if fragment.get("datasetId") == NULL:  # 5.5.8: a datasetId is not deleted this way
            raise BadRequestData("a datasetId cannot be set to urn:ngsi-ld:null: delete the instance instead")
        if not replace:
            fragment = _completed(fragment, old, terms)
        # NGSI-LD Null kept while parsing: as the whole value (or a sub-attribute's) it deletes what it names;
        # inside a value it is a 400, as only a merge patches into values (5.5.4)
        instances = parse_attributes({attr: fragment}, terms, frozenset(), keep_null=True).get(iri, [])
        refuse_nulls({iri: instances}, deleting=True)
        state = self._copy(previous)
        now = now_iso()
        result = []
        for instance in instances:
            current = _same_dataset(old, instance)
            if current is None:
                raise ResourceNotFound(f"attribute '{attr}' has no instance with datasetId {instance.get('datasetId')}")
            result.append(instance if replace or is_null(instance) else _merge_instance(current, instance))
        _put_or_null(state, iri, old, result, now)
        self.write(tenant, state, previous)

    def delete_attribute(
        self,
        tenant: str | None,
        entity_id: str,
        attr: str,
        terms: TermMap,
        dataset_id: str | None = None,
        delete_all: bool = False,
    ) -> None:
        previous = self.load(tenant, entity_id)
        if attr == "scope":  # 5.6.5.4: the scope is deleted as an attribute is
            if not previous.scope:
                raise ResourceNotFound(f"entity '{entity_id}' has no scope")
            state = self._copy(previous)
            state.scope = []
            self.write(tenant, state, previous)
            return
        iri = terms.expand(attr)
        old = previous.attrs.get(iri)
        dataset = terms.expand(dataset_id) if dataset_id is not None else None
        if old is None or (not delete_all and not any(i.get("datasetId") == dataset for i in old)):
            raise ResourceNotFound(f"entity '{entity_id}' has no attribute '{attr}'" + (
                f" with datasetId {dataset_id}" if dataset_id else ""))  # fmt: skip
        state = self._copy(previous)
        left = [] if delete_all else [i for i in old if i.get("datasetId") != dataset]
        if left:
            state.attrs[iri] = left
        else:
            del state.attrs[iri]
        self.write(tenant, state, previous)

    def _fragment(
        self, document: Any, terms: TermMap, entity_id: str, keep_null: bool = False
    ) -> dict[str, list[Instance]]:
        if not isinstance(document, dict):
            raise BadRequestData("the attributes are a JSON object")
        if "id" in document and document["id"] != entity_id:
            raise BadRequestData(f"the body's id '{document['id']}' differs from the URL's '{entity_id}'")
        return parse_attributes(document, terms, keep_null=keep_null)

    @staticmethod
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


def types_of(kind: Any, terms: TermMap) -> list[str]:
    """An entity's ``type`` member (a name or an array of them, 4.6.2 names), expanded, each once."""
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    if not all(isinstance(k, str) and k for k in kinds):
        raise BadRequestData("an entity's type is a name or an array of names")
    if not all(is_name(k) for k in kinds):  # 4.6.2: BadRequestData for any other character
        raise BadRequestData(f"{kind!r}: a type is a letter, then letters, digits or '_'")
    return list(dict.fromkeys(terms.expand(k) for k in kinds))


def add_types(state: EntityState, types: list[str]) -> None:
    """Types an entity gains (append, merge: 4.16): the first stays its model's, the others are further types."""
    for type_iri in types:
        if not state.type:
            state.type = type_iri
        elif type_iri != state.type and type_iri not in state.extra_types:
            state.extra_types.append(type_iri)


def scopes_of(scope: Any) -> list[str]:
    """An entity's ``scope`` member (4.18) as a list, each once; the NGSI-LD Null alone is no scope."""
    scopes = [s for s in (scope if isinstance(scope, list) else [scope]) if s != NULL]
    if scopes:
        check_scope(scopes)
    return list(dict.fromkeys(scopes))


def merge_attributes(state: EntityState, given: dict[str, list[Instance]], now: str) -> None:
    """Merge-patch semantics (5.6.17) into ``state``: an instance set to NGSI-LD Null deletes the attribute (of
    its datasetId); the others are merged member by member, their JSON object values by RFC 7396."""
    for iri, instances in given.items():
        old = state.attrs.get(iri, [])
        gone = {i.get("datasetId") for i in instances if is_null(i)}
        kept = [i for i in old if i.get("datasetId") not in gone]
        merged = [patch_instance(_same_dataset(kept, i), i, now) for i in instances if not is_null(i)]
        after = merge_instances(kept, stamp(merged, now, kept)) if merged else kept
        if after:
            state.attrs[iri] = after
        else:
            state.attrs.pop(iri, None)


def patch_instance(current: Instance | None, new: Instance, now: str) -> Instance:
    """One instance merged into the one there (``new`` parsed with NGSI-LD Null kept): members replaced, object
    values merge-patched, sub-attributes merged the same way (Null deletes one)."""
    same_kind = current is not None and current.get("type") == new.get("type")
    merged = _merge_instance(current, {k: v for k, v in new.items() if k != "sub"})
    for member in PATCHED_MEMBERS:
        if member in new:
            merged[member] = merge_patch(current.get(member) if same_kind and current else None, new[member])
    subs: dict[str, list[Instance]] = dict((current or {}).get("sub") or {}) if same_kind else {}
    holder = EntityState("", "", subs)
    merge_attributes(holder, new.get("sub") or {}, now)
    if holder.attrs:
        merged["sub"] = holder.attrs
    else:
        merged.pop("sub", None)
    return merged


def _completed(fragment: dict[str, Any], old: list[Instance], terms: TermMap) -> dict[str, Any]:
    """A partial update's fragment holds members of the attribute (5.6.4): one without a type or a value member
    (``{"unitCode": ...}``) keeps those of the instance it updates, rather than reading as a bare value."""
    if "type" in fragment or any(m in fragment for m in TYPE_OF_MEMBER):
        return fragment
    dataset = fragment.get("datasetId")
    current = next((i for i in old if i.get("datasetId") == (terms.expand(dataset) if dataset else None)), None)
    if current is None:
        return fragment
    member = VALUE_MEMBER[current["type"]]
    return {"type": current["type"], member: current[member], **fragment}


def _put_or_null(state: EntityState, iri: str, old: list[Instance], given: list[Instance], now: str) -> None:
    """A partial update's or replacement's instances into the entity: those set to NGSI-LD Null are deleted (by
    datasetId), the rest put over the instances there."""
    nulled = {i.get("datasetId") for i in given if is_null(i)}
    kept = [i for i in given if not is_null(i)]
    result = merge_instances(old, stamp(kept, now, old)) if kept else list(old)
    result = [i for i in result if i.get("datasetId") not in nulled]
    if result:
        state.attrs[iri] = result
    else:
        state.attrs.pop(iri, None)


def _same_dataset(instances: list[Instance], instance: Instance) -> Instance | None:
    return next((i for i in instances if i.get("datasetId") == instance.get("datasetId")), None)


def _merge_instance(current: Instance | None, new: Instance) -> Instance:
    """A partial update of one instance: the members sent replace those there; sub-attributes are merged."""
    if current is None:
        return new
    merged = {**current, **{k: v for k, v in new.items() if k != "sub"}}
    if current.get("type") != new.get("type") and "type" in new:
        merged = {**{k: v for k, v in current.items() if k in ("createdAt",)}, **new}
    subs = {**(current.get("sub") or {}), **(new.get("sub") or {})}
    subs = {k: v for k, v in subs.items() if not any(is_null(i) for i in v)}  # a sub-attribute set to Null goes
    if subs:
        merged["sub"] = subs
    else:
        merged.pop("sub", None)
    return merged


def _pattern(text: str | None) -> re.Pattern[str] | None:
    if text is None:
        return None
    from futago.services.ngsild.qlang import safe_id_pattern

    return safe_id_pattern(text)
