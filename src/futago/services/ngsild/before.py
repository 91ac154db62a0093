"""An entity as it was before one change, from what the change's event carries (``Event.previous``): the twin it
replaced or removed, or the relationship it created, changed or removed. The change may have been made on any
process (through NGSI-LD, the twin API or a bulk write) and the notifier need not have seen the entity before.

- **A twin replaced or removed.** Its properties and ``$ngsild`` are exact. Its relationships are not in the twin:
  those NGSI-LD wrote are recorded in ``$ngsild`` (relationship id and object), so they are read from there, as
  they were; relationships of names ``$ngsild`` records on neither side were made through the twin API, which a
  twin write does not change, so they are taken as they are now.
- **A relationship created, changed or removed.** The twin's relationships now, with the event undone: the one it
  created taken away, the one it replaced or removed put back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from futago.core.dtdl import ModelSet
from futago.core.events import Event
from futago.core.twin_rules import NGSILD_META as META
from futago.core.twins import Relationship, Twin
from futago.services.ngsild.mapping import EntityState, from_twin
from futago.services.ngsild.service import NgsiLdService

Ids = tuple[Callable[[str], str], Callable[[str], str]]  # a tenant's twin id -> entity id, entity id -> twin id


def _recorded(twin: Twin) -> dict[str, Any]:
    meta = twin.properties.get(META)
    attrs = meta.get("attrs") if isinstance(meta, dict) else None
    return attrs if isinstance(attrs, dict) else {}


def recorded_relationships(twin: Twin, to_twin_id: Callable[[str], str]) -> list[Relationship]:
    """The twin relationships its ``$ngsild`` says an NGSI-LD write made (``relId`` with the ``object``)."""
    found = []
    for name, entry in _recorded(twin).items():
        instances = entry.get("instances") if isinstance(entry, dict) else None
        for instance in instances if isinstance(instances, list) else ():
            if isinstance(instance, dict) and isinstance(instance.get("relId"), str):
                target = instance.get("object")
                if isinstance(target, str):
                    found.append(Relationship(twin.id, instance["relId"], name, to_twin_id(target)))
    return found


def twin_before(
    before: Twin, now: Twin | None, rels_now: list[Relationship], models: ModelSet, tenant_ids: Ids
) -> EntityState:
    """The entity a twin write replaced (``now``: the twin since, None when it was deleted)."""
    to_entity_id, to_twin_id = tenant_ids
    managed = set(_recorded(before)) | (set(_recorded(now)) if now is not None else set())
    rels = recorded_relationships(before, to_twin_id) + [r for r in rels_now if r.name not in managed]
    return from_twin(before, rels, models, to_entity_id)


def relationship_before(
    event: Event, twin: Twin, rels_now: list[Relationship], models: ModelSet, to_entity_id: Callable[[str], str]
) -> EntityState | None:
    """The entity before a ``relationship.*`` event, or None when the event does not say which relationship."""
    doc = event.data.get("relationship")
    rel_id = event.previous.id if isinstance(event.previous, Relationship) else None
    if rel_id is None and isinstance(doc, dict):
        rel_id = doc.get("$relationshipId")
    if not isinstance(rel_id, str):
        return None
    rels = [r for r in rels_now if r.id != rel_id]
    if isinstance(event.previous, Relationship):
        rels.append(event.previous)
    return from_twin(twin, rels, models, to_entity_id)


def change_before(
    event: Event, twin: Twin, rels: list[Relationship], seen: EntityState | None, models: ModelSet, ids: Ids
) -> EntityState | None:
    """The entity as a change found it: the twin the event replaced (exact, whichever process wrote it), else
    ``seen`` (the last state the caller saw), else the state with the relationship event undone."""
    if isinstance(event.previous, Twin):
        return twin_before(event.previous, twin, rels, models, ids)
    if seen is not None:
        return seen
    if event.type.startswith("relationship."):
        return relationship_before(event, twin, rels, models, ids[0])
    return None


def tenant_ids(ngsild: NgsiLdService, tenant: str) -> Ids:
    """A tenant's (``""``: the default) twin id -> entity id, and entity id -> twin id."""
    return (lambda t: ngsild.entity_id(tenant or None, t)), (lambda e: ngsild.tenant_twin_id(tenant or None, e))
