"""One graph, two doors: an NGSI-LD entity <-> a futago twin and its relationships.

The twin holds what DTDL can see: each attribute's default instance (no datasetId) as a plain property value, the
``location`` GeoProperty as the twin's geometry, and Relationships as twin relationships where the target twin
exists. Everything NGSI-LD says besides (attribute types, datasetId instances, observedAt, unitCode,
sub-attributes, createdAt/modifiedAt, values DTDL cannot type, relationships to entities that do not exist) is
kept in the reserved twin property ``$ngsild`` (``META``). On the way back the twin wins: a value changed through
the twin API is the value NGSI-LD answers, and a property removed there is an attribute gone.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from futago.core.dtdl import ModelSet
from futago.core.telemetry import format_timestamp
from futago.core.twin_rules import NGSILD_META as META
from futago.core.twins import Relationship, Twin
from futago.services.ngsild.attributes import LOCATION, VALUE_MEMBER, Instance
from futago.services.ngsild.context import DEFAULT_VOCAB
from futago.services.ngsild.types import ModelPlan, names_of, type_of_model

REL_DATASET = "urn:futago:relationship:"  # the datasetId of a twin relationship beyond the first of its name


@dataclass
class EntityState:
    """An entity as the service works on it: expanded attribute IRIs -> instances."""

    id: str  # the entity id (without the tenant's prefix)
    type: str  # the type IRI
    attrs: dict[str, list[Instance]] = field(default_factory=dict)
    created_at: str = ""
    modified_at: str = ""
    extra_types: list[str] = field(default_factory=list)
    model: str = ""
    etag: str = ""
    scope: list[str] = field(default_factory=list)  # 4.18: '/'-separated hierarchical scopes


Targets = Callable[[str], str]  # entity id -> twin id (the tenant's prefix)


def to_twin(
    state: EntityState, plan: ModelPlan, twin_id: str, existing: Callable[[str], bool], to_twin_id: Targets
) -> tuple[dict[str, Any], list[Relationship]]:
    """The twin document and relationships of an entity. ``existing``: whether a twin id exists (a relationship
    to an entity that does not is kept in the metadata only)."""
    document: dict[str, Any] = {"$metadata": {"$model": plan.model}}
    meta_attrs: dict[str, Any] = {}
    relationships: list[Relationship] = []
    created = state.created_at
    for iri, instances in state.attrs.items():
        if iri == LOCATION:
            name = "location"
            default = next((i for i in instances if "datasetId" not in i), None)
            if default is not None and default["type"] == "GeoProperty":
                document["geometry"] = default["value"]
        else:
            name = plan.names[iri]
        in_twin = iri in plan.mirrored
        kept = []
        for instance in instances:
            stored = dict(instance)
            if stored.get("createdAt") == created:
                del stored["createdAt"]  # the entity's: from_twin restores it (a smaller twin, stored and audited)
            kind = instance["type"]
            if kind == "Relationship" and in_twin:
                target = to_twin_id(instance["object"])
                rel_id = _rel_id(name, instance.get("datasetId"))
                if existing(target):
                    relationships.append(Relationship(twin_id, rel_id, name, target))
                    stored["relId"] = rel_id
            elif in_twin and "datasetId" not in instance:
                member = VALUE_MEMBER[kind]
                document[name] = instance.get(member)  # plain_value, inline: ten times per entity of a batch
                stored.pop(member, None)  # the twin's property holds it (and wins)
            elif iri != LOCATION or "datasetId" in instance:
                stored["kept"] = True  # not in the twin: always answered from the metadata
            elif "geometry" in document and instance["type"] == "GeoProperty":
                del stored["value"]  # the twin's geometry holds it
            kept.append(stored)
        meta_attrs[name] = {"instances": kept} if iri == _default_iri(name) else {"iri": iri, "instances": kept}
    meta: dict[str, Any] = {"createdAt": created, "attrs": meta_attrs}
    if state.extra_types:
        meta["types"] = state.extra_types
    if state.scope:
        meta["scope"] = state.scope
    document[META] = meta
    return document, relationships


def _default_iri(name: str) -> str:
    """The IRI an attribute record without ``iri`` has: the core context's expansion of its name."""
    return LOCATION if name == "location" else DEFAULT_VOCAB + name


def _rel_id(name: str, dataset: str | None) -> str:
    if dataset is None:
        return name
    tail = "".join(c if c.isalnum() or c in "-_.:" else "_" for c in dataset)[-120:]
    return f"{name}.{tail}"


def from_twin(
    twin: Twin,
    relationships: list[Relationship],
    models: ModelSet,
    to_entity_id: Callable[[str], str],
) -> EntityState:
    """The entity of a twin: its metadata where it has any, the twin's values always."""
    found = twin.properties.get(META)
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    attrs = meta.get("attrs")
    recorded: dict[str, Any] = attrs if isinstance(attrs, dict) else {}
    names = names_of(models, twin.model)
    state = EntityState(
        id=to_entity_id(twin.id),
        type=type_of_model(models, twin.model),
        created_at=str(meta.get("createdAt") or twin.last_updated),
        modified_at=twin.last_updated,
        extra_types=[t for t in meta.get("types", ()) if isinstance(t, str)],
        model=twin.model,
        etag=twin.etag,
        scope=[s for s in meta.get("scope", ()) if isinstance(s, str)],
    )
    rels_by_name: dict[str, list[Relationship]] = {}
    for rel in relationships:
        rels_by_name.setdefault(rel.name, []).append(rel)
    for name, entry in recorded.items():
        instances = _instances(entry, state.created_at)
        if instances is None:
            continue
        iri = entry.get("iri") or _default_iri(name)
        if name == "location" and iri == LOCATION:
            shown = _location(instances, twin.geometry)
        else:
            shown = _merge_twin(instances, twin.properties, name, rels_by_name.pop(name, []), to_entity_id)
        if shown:
            state.attrs[iri] = shown
    for name, value in twin.properties.items():  # set through the twin API: plain Properties
        if name == META or name in recorded:
            continue
        state.attrs[names.get(name) or DEFAULT_VOCAB + name] = [{"type": "Property", "value": value}]
    for name, rels in rels_by_name.items():
        state.attrs[names.get(name) or DEFAULT_VOCAB + name] = [
            _relationship(rel, to_entity_id, i) for i, rel in enumerate(sorted(rels, key=lambda r: r.id))
        ]
    if twin.geometry is not None and LOCATION not in state.attrs:
        state.attrs[LOCATION] = [{"type": "GeoProperty", "value": twin.geometry}]
    return state


def _instances(entry: Any, created_at: str) -> list[Instance] | None:
    """The recorded instances of an attribute, or None where the metadata is not what futago wrote (set by hand
    through the twin API): such metadata is ignored rather than trusted. An instance recorded without createdAt
    was created with its entity (``to_twin`` leaves that out)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("iri", ""), str):
        return None
    instances = entry.get("instances")
    if not isinstance(instances, list):
        return None
    good = copy.deepcopy([i for i in instances if isinstance(i, dict) and i.get("type") in VALUE_MEMBER])
    for instance in good:
        instance.setdefault("createdAt", created_at)
    return good


def recorded_instances(meta: Any, created: str) -> dict[str, list[Instance]]:
    """Attribute IRI -> the instances ``$ngsild`` records, not copied (read them only), values of mirrored instances
    left out as stored: what a replacement keeps of an entity (datasetIds and createdAt). ``created``: the
    entity's createdAt, which an instance recorded without one has."""
    meta = meta if isinstance(meta, dict) else {}
    recorded = meta.get("attrs")
    found: dict[str, list[Instance]] = {}
    for name, entry in recorded.items() if isinstance(recorded, dict) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("instances"), list):
            continue
        iri = entry.get("iri") or _default_iri(name)
        if isinstance(iri, str):
            found[iri] = [
                i if "createdAt" in i else {**i, "createdAt": created}
                for i in entry["instances"]
                if isinstance(i, dict)
            ]
    return found


def _location(instances: list[Instance], geometry: Any) -> list[Instance]:
    shown = [i for i in instances if "datasetId" in i]
    default = next((i for i in instances if "datasetId" not in i), None)
    if geometry is not None:
        default = default if default is not None and default.get("type") == "GeoProperty" else {"type": "GeoProperty"}
        default["value"] = geometry
        shown.insert(0, default)
    return shown


def _merge_twin(
    instances: list[Instance],
    properties: Mapping[str, Any],
    name: str,
    rels: list[Relationship],
    to_entity_id: Callable[[str], str],
) -> list[Instance]:
    rel_ids = {r.id: r for r in rels}
    shown = []
    for instance in instances:
        kept = instance.pop("kept", False)
        rel_id = instance.pop("relId", None)
        if rel_id is not None:
            rel = rel_ids.pop(rel_id, None)
            if rel is None:
                continue  # the relationship was deleted through the twin API
            instance["object"] = to_entity_id(rel.target_id)
        elif not kept and "datasetId" not in instance and instance["type"] != "Relationship":
            if name not in properties:
                continue  # the property was removed through the twin API
            instance[VALUE_MEMBER[instance["type"]]] = properties[name]
        shown.append(instance)
    for i, rel in enumerate(sorted(rel_ids.values(), key=lambda r: r.id)):
        shown.append(_relationship(rel, to_entity_id, i + len(shown)))
    return shown


def _relationship(rel: Relationship, to_entity_id: Callable[[str], str], index: int) -> Instance:
    instance: Instance = {"type": "Relationship", "object": to_entity_id(rel.target_id)}
    if index:
        instance["datasetId"] = REL_DATASET + rel.id
    return instance


def telemetry_instance(ts_us: int, value: Any, unit: str | None = None) -> Instance:
    """A telemetry reading as an NGSI-LD Property instance: its value, observed at its time (a temporal value)."""
    instance: Instance = {"type": "Property", "value": value, "observedAt": format_timestamp(ts_us)}
    if unit:
        instance["unitCode"] = unit
    return instance
