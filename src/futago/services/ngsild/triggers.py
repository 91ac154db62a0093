"""What one change did to an entity, which ``notificationTrigger`` values it fires (GS CIM 009 V1.8.1 clause
5.2.12), and how a notification shows what is gone (the NGSI-LD Null of clause 4.5.x, ``deletedAt``, the
``previous*`` members of ``showChanges``) and only the members and instances a subscription asks for
(``pick``/``omit``, ``datasetId``).

- **Entity kinds.** A created twin is ``entityCreated`` and each of its attributes ``attributeCreated`` (so the
  default triggers, attributeCreated and attributeUpdated, notify a creation as before 1.6); the relationships
  that creation stores after the twin (``creating``) are attributeCreated only; a deleted twin is
  ``entityDeleted`` only; any other change is ``entityUpdated`` plus one attribute trigger per attribute touched.
- **watchedAttributes** narrow entityUpdated and the attribute triggers to those attributes; a creation or a
  deletion of a matching entity notifies whatever it watches. A deleted entity's attributes are deleted too
  (attributeDeleted for those watched), and its notification shows the watched ones as NGSI-LD Nulls.
- **Instances.** An attribute that keeps some instances (one ``datasetId`` deleted) is updated for what changed
  and deleted for the instances that went: the notification shows the instances left and a null for each gone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import orjson

from futago.core.events import Event
from futago.services.ngsild.attributes import VALUE_MEMBER, Rendering
from futago.services.ngsild.context import CORE_CONTEXT_URL, TermMap
from futago.services.ngsild.mapping import EntityState

NULL = "urn:ngsi-ld:null"
Instances = list[dict[str, Any]]


@dataclass(slots=True)
class Delta:
    """One change: ``entity`` is created, creating (the rest of a creation), updated or deleted; attribute IRIs
    created and updated, and the instances deleted per attribute IRI; ``deleted_at`` when something went."""

    entity: str
    created: set[str] = field(default_factory=set)
    updated: set[str] = field(default_factory=set)
    deleted: dict[str, Instances] = field(default_factory=dict)
    deleted_at: str | None = None

    @property
    def touched(self) -> set[str]:
        return self.created | self.updated | set(self.deleted)

    def then(self, later: Delta) -> Delta:
        """Two changes held in one throttle window, as one: an entity deleted stays deleted, an attribute's
        last word wins (created then deleted: deleted; deleted then created: updated)."""
        if later.entity == "deleted" or self.entity == "deleted":
            return later if later.entity == "deleted" else self
        entity = self.entity if self.entity in ("created", "creating") else later.entity
        deleted = {k: v for k, v in self.deleted.items() if k not in later.touched - set(later.deleted)}
        deleted.update(later.deleted)
        revived = set(self.deleted) & later.created
        created = (self.created | later.created) - set(deleted) - revived
        updated = (self.updated | later.updated | revived) - set(deleted) - created
        return Delta(entity, created, updated, deleted, later.deleted_at or self.deleted_at)


def _fingerprint(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS) if value is not None else b""


def attribute_delta(entity: str, now: dict[str, Instances], before: dict[str, Instances], at: str) -> Delta:
    """Compare two states' attributes, instance by instance (an instance is known by its datasetId)."""
    delta = Delta(entity, deleted_at=at)
    for iri in set(now) | set(before):
        old, new = before.get(iri), now.get(iri)
        if old is None:
            delta.created.add(iri)
        elif new is None:
            delta.deleted[iri] = list(old)
        elif _fingerprint(old) != _fingerprint(new):
            kept = {i.get("datasetId") for i in new}
            gone = [i for i in old if i.get("datasetId") not in kept]
            if gone:
                delta.deleted[iri] = gone
            remaining = [i for i in old if i.get("datasetId") in kept]
            if sorted(map(_fingerprint, remaining)) != sorted(map(_fingerprint, new)):
                delta.updated.add(iri)
    return delta


def delta_of(event: Event, entity: str, state: EntityState, previous: dict[str, list[Any]] | None) -> Delta:
    """What the change did: against the last state seen, else the attributes its patch touched (updated)."""
    if previous is not None:
        delta = attribute_delta(entity, state.attrs, previous, event.time)
        if delta.touched:
            return delta
    touched = _patched(event, state, previous)
    if entity != "updated":
        return Delta(entity, created=touched)
    return Delta(entity, updated=touched, deleted_at=event.time)


def _patched(event: Event, state: EntityState, previous: dict[str, list[Any]] | None) -> set[str]:
    """The attributes (IRIs) this change touched when the last state seen tells none: from the event's patch.

    The state is read when the event is handled, so two updates close together may both be in it already: the
    second event then finds no difference, and its own patch says what it touched (each update notifies)."""
    patch = event.data.get("patch") if event.type == "twin.updated" else None
    if not isinstance(patch, list):
        # created, a relationship, or a bulk write: every attribute is news, unless this state was seen already
        return set(state.attrs) if previous is None else set()
    touched = set()
    for op in patch:
        parts = str(op.get("path", "")).lstrip("/").split("/") if isinstance(op, dict) else [""]
        touched.add(parts[1] if parts[0] == "$ngsild" and len(parts) > 1 else parts[0])
    if "geometry" in touched:
        touched.add("location")
    return {iri for iri in state.attrs if iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1] in touched}


def selects(record: dict[str, Any], state: EntityState) -> bool:
    """Whether an entity is one of a subscription's ``entities`` (type, then id or idPattern)."""
    selectors = record.get("entities")
    if not selectors:
        return True
    types = {state.type, *state.extra_types}
    for selector in selectors:
        if selector["type"] not in types:
            continue
        if "id" in selector and selector["id"] != state.id:
            continue
        if "idPattern" in selector and "id" not in selector and not re.search(selector["idPattern"], state.id):
            continue
        return True
    return False


def fires(triggers: list[str] | tuple[str, ...], delta: Delta, watched: list[str] | None) -> bool:
    """Whether a subscription with these triggers and watchedAttributes is notified of this change."""
    watch = set(watched) if watched is not None else None

    def seen(names: set[str]) -> bool:
        return bool(names) and (watch is None or bool(names & watch))

    if delta.entity == "deleted":  # its attributes go with it: attributeDeleted for those watched
        return "entityDeleted" in triggers or ("attributeDeleted" in triggers and seen(set(delta.deleted)))
    if delta.entity == "created" and "entityCreated" in triggers:
        return True

    if delta.entity == "updated" and "entityUpdated" in triggers and seen(delta.touched):
        return True
    return (
        ("attributeCreated" in triggers and seen(delta.created))
        or ("attributeUpdated" in triggers and seen(delta.updated))
        or ("attributeDeleted" in triggers and seen(set(delta.deleted)))
    )


def in_datasets(state: EntityState, datasets: list[str] | None) -> EntityState:
    """The entity with only the instances of the subscription's datasetIds (``@none``: the default instance)."""
    if not datasets:
        return state
    wanted = set(datasets)
    attrs = {}
    for iri, instances in state.attrs.items():
        kept = [i for i in instances if i.get("datasetId", "@none") in wanted]
        if kept:
            attrs[iri] = kept
    return EntityState(
        state.id, state.type, attrs, state.created_at, state.modified_at, list(state.extra_types), state.model,
        state.etag, list(state.scope),
    )  # fmt: skip


def _previous_member(member: str) -> str:
    return "previous" + member[0].upper() + member[1:]


def _null_of(kind: str) -> Any:
    if kind == "LanguageProperty":
        return {"@none": NULL}
    if kind in ("ListProperty", "ListRelationship"):
        return [NULL]
    return NULL


def gone_instance(instance: dict[str, Any], rendering: Rendering, previous: bool, deleted_at: str | None) -> Any:
    """An instance that went, as a notification shows it: its NGSI-LD Null (and previous value)."""
    kind = str(instance.get("type", "Property"))
    member = VALUE_MEMBER.get(kind, "value")
    if rendering.form == "keyValues":
        return _null_of(kind)
    out: dict[str, Any] = {} if rendering.form == "concise" else {"type": kind}
    out[member] = _null_of(kind)
    if "datasetId" in instance:
        out["datasetId"] = instance["datasetId"]
    if rendering.sys_attrs:
        out.update({k: instance[k] for k in ("createdAt", "modifiedAt") if k in instance})
        if deleted_at is not None:
            out["deletedAt"] = deleted_at
    if previous:
        shown = Rendering(rendering.terms).instance(instance)
        if isinstance(shown, dict) and member in shown:
            out[_previous_member(member)] = shown[member]
    return out


def show_gone(
    rendered: dict[str, Any],
    deleted: dict[str, Instances],
    rendering: Rendering,
    previous: bool,
    deleted_at: str | None,
    keep: Any,
) -> None:
    """Add each deleted attribute (or deleted instances beside those left) to a rendered entity; ``keep(iri)``
    tells whether the notification shows that attribute (notification.attributes, pick, omit)."""
    for iri, instances in deleted.items():
        if not instances or not keep(iri):
            continue
        name = rendering.terms.compact(iri)
        nulls = [gone_instance(i, rendering, previous, deleted_at) for i in instances]
        left = rendered.get(name)
        if left is None:
            rendered[name] = nulls[0] if len(nulls) == 1 else nulls
        elif rendering.form != "keyValues":  # keyValues shows one value per attribute: the one left
            rendered[name] = [*(left if isinstance(left, list) else [left]), *nulls]


def add_previous(
    rendered: dict[str, Any], state: EntityState, before: dict[str, Instances], updated: set[str], terms: TermMap
) -> None:
    """showChanges: each updated attribute's previous value (``previousValue``, ``previousObject``,
    ``previousLanguageMap``, ...), from the instance the change replaced."""
    normalized = Rendering(terms)
    for iri in updated:
        old, name = before.get(iri), terms.compact(iri)
        target = rendered.get(name)
        if not old or not isinstance(target, dict) or iri not in state.attrs:
            continue
        dataset = target.get("datasetId")
        first = next((i for i in old if i.get("datasetId") == dataset), None)
        if first is None:
            continue
        member = VALUE_MEMBER.get(str(first.get("type")), "value")
        shown = normalized.instance(first)
        if isinstance(shown, dict) and member in shown:
            target[_previous_member(member)] = shown[member]


def bare(state: EntityState) -> EntityState:
    return EntityState(state.id, state.type, {}, state.created_at, state.modified_at, list(state.extra_types))


def projection(params: dict[str, Any]) -> tuple[set[str] | None, set[str] | None]:
    """The attributes a notification shows (attributes or pick) and the members it leaves out (omit; with pick,
    id and type unless picked), as ``render`` takes them."""
    if params.get("pick"):
        picked = set(params["pick"])
        return picked - {"id", "type"}, {"id", "type"} - picked
    if params.get("omit"):
        return None, set(params["omit"])
    return (set(params["attributes"]) if params.get("attributes") else None), None


# an entity as notified, its attributes before (None: not known), and what the change did (None: a periodic send)
Change = tuple[EntityState, dict[str, list[Any]] | None, Delta | None]


def then(before: Change, change: Change) -> Change:
    """Two changes of one entity held in one throttle window: the latest state, the first one's "before", and
    what both did."""
    first, later = before[2], change[2]
    delta = first.then(later) if first is not None and later is not None else later or first
    return (change[0], before[1], delta)


def links_follow(event: Event) -> bool:
    """Whether a twin update links a Relationship kept in the metadata until now (its target exists at last): the
    relationship is stored just after the twin, so the update is matched once it is, as a creation is (else the
    update alone would be told with that relationship gone, and the relationship next)."""
    patch = event.data.get("patch") if event.type == "twin.updated" else None
    return isinstance(patch, list) and any(
        isinstance(op, dict) and str(op.get("path", "")).endswith("/relId") and op.get("op") != "remove" for op in patch
    )


def q_text(q: str) -> str:
    """A subscription's ``q`` as the query language reads it: percent-escapes decoded, as they are in the q of a
    query URL, so that ``name=="Eiffel%20Tower"`` copied from a URL into a subscription means the same there."""
    return unquote(q) if "%" in q else q


def context_link(context: Any) -> str:
    """The URL a notification's Link header names: the subscription's context when it is one URL (alone or beside
    the core context, which every context includes anyway), else the core context (an inline context has no URL)."""
    urls = [context] if isinstance(context, str) else list(context) if isinstance(context, list) else [None]
    named = [u for u in urls if u != CORE_CONTEXT_URL]
    if not named:
        return CORE_CONTEXT_URL
    return named[0] if len(named) == 1 and isinstance(named[0], str) else CORE_CONTEXT_URL


def with_own_context(body: dict[str, Any], context: Any) -> None:
    """A JSON-LD notification carries its @context, and so does each entity in it, as an entity of a JSON-LD query
    answer does (one URL written as a string)."""
    body["@context"] = context
    one = context[0] if isinstance(context, list) and len(context) == 1 else context
    for entity in body["data"]:
        entity["@context"] = one
