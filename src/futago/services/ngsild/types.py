"""NGSI-LD entity types <-> DTDL models.

A type that expands to a DTMI of an uploaded model (through a @context term, or written as the DTMI itself) is that
model: entities of it are validated by it. Any other type IRI gets a *derived* model, ``dtmi:ngsild:<name>;<n>``
whose ``displayName`` is the type IRI and whose contents each carry the attribute IRI in ``comment``: the model is
the mapping table between attribute IRIs and DTDL names. A derived model evolves like an ADT user upgrades
models: when an entity brings an attribute the latest version does not declare, or a value its schema does not
take, a new version is uploaded with the union of contents (the new value's schema winning), and that entity's
twin moves to it; twins not written keep their version. Pure planning: the service uploads what a plan asks for.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from futago.core.dtdl import ModelSet
from futago.core.dtdl.dtmi import deversioned
from futago.services.ngsild.attributes import LOCATION, VALUE_MEMBER, Instance
from futago.services.ngsild.context import DEFAULT_VOCAB
from futago.services.ngsild.errors import BadRequestData

DERIVED_PREFIX = "dtmi:ngsild:"
DTDL_CONTEXT = "dtmi:dtdl:context;3"
MAX_IRI = 512  # a derived model keeps IRIs in displayName and comment, which DTDL bounds to 512 characters
MAX_SCHEMA_DEPTH = 4  # DTDL allows 5 levels of complex schemas; one is kept for the Array/Object around a value
_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$")
_GEO_SCHEMA = {
    "Point": "point",
    "MultiPoint": "multiPoint",
    "LineString": "lineString",
    "MultiLineString": "multiLineString",
    "Polygon": "polygon",
    "MultiPolygon": "multiPolygon",
}
RELATIONSHIP_KINDS = frozenset({"Relationship"})


def local_name(iri: str) -> str:
    """A DTDL name for an IRI: its last segment, with what DTDL names may not hold replaced."""
    tail = re.split(r"[/#:]", iri.rstrip("/#:"))[-1] or "attribute"
    name = re.sub(r"[^A-Za-z0-9_]", "_", tail)
    if not name[0].isalpha():
        name = "a_" + name
    name = re.sub(r"_+$", "", name[:60]) or "attribute"
    return name


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def derived_base(type_iri: str) -> str:
    """The version-less DTMI of a type's derived model: the type's name, plus a digest unless it is a
    default-context type (so that two vocabularies' ``Building`` stay two models)."""
    name = local_name(type_iri)
    if type_iri == DEFAULT_VOCAB + name:
        return f"{DERIVED_PREFIX}{name}"
    return f"{DERIVED_PREFIX}{name}:h{_digest(type_iri)}"


def is_derived(model_id: str) -> bool:
    return model_id.startswith(DERIVED_PREFIX)


def version_of(model_id: str) -> int:
    _, _, version = model_id.partition(";")
    return int(version.split(".")[0]) if version else 0


def versions(models: ModelSet, base: str) -> list[str]:
    """Every version of a derived model, oldest first."""
    found = [m for m in models.documents if deversioned(m) == base]
    return sorted(found, key=version_of)


def type_of_model(models: ModelSet, model_id: str) -> str:
    """The NGSI-LD type IRI of a twin's model: a derived model's displayName, or the DTMI itself."""
    if is_derived(model_id):
        document = models.documents.get(model_id) or {}
        shown = document.get("displayName")
        if isinstance(shown, str):
            return shown
    return model_id


def names_of(models: ModelSet, model_id: str) -> dict[str, str]:
    """DTDL name -> attribute IRI, as a derived model records them; empty for other models."""
    document = models.documents.get(model_id) if is_derived(model_id) else None
    if not document:
        return {}
    return {
        c["name"]: c["comment"]
        for c in document.get("contents", ())
        if isinstance(c, dict) and isinstance(c.get("comment"), str) and isinstance(c.get("name"), str)
    }


def plain_value(instance: Instance) -> Any:
    """What the twin shows of an instance: its value, as DTDL and the query language see values."""
    return instance.get(VALUE_MEMBER[instance["type"]])


def schema_of(value: Any, depth: int = 0) -> Any:
    """A DTDL schema for a JSON value, or None where DTDL cannot type it (null, mixed arrays, odd keys)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "double"
    if isinstance(value, str):
        return "string"
    if depth >= MAX_SCHEMA_DEPTH:
        return None
    if isinstance(value, dict):
        geo = _GEO_SCHEMA.get(value.get("type", "")) if "coordinates" in value else None
        if geo is not None:
            return geo
        if not value or not all(isinstance(k, str) and _NAME.match(k) and len(k) <= 64 for k in value):
            return None
        fields = [{"name": k, "schema": schema_of(v, depth + 1)} for k, v in value.items()]
        if any(f["schema"] is None for f in fields):
            return None
        return {"@type": "Object", "fields": fields}
    if isinstance(value, list) and value:
        schemas = [schema_of(v, depth + 1) for v in value]
        first = schemas[0]
        if first is None or any(s != first for s in schemas[1:]):
            return None
        return {"@type": "Array", "elementSchema": first}
    return None


def _merged_schema(old: Any, new: Any) -> Any:
    """Objects keep the fields of both (the new one's schema for a field in both); anything else is replaced."""
    if isinstance(old, dict) and isinstance(new, dict) and old.get("@type") == new.get("@type") == "Object":
        fields = {f["name"]: f for f in old.get("fields", ())}
        fields.update({f["name"]: f for f in new["fields"]})
        return {"@type": "Object", "fields": list(fields.values())}
    return new


@dataclass
class ModelPlan:
    """Where an entity's twin goes: its model, the DTDL name of each attribute, and a model to upload first."""

    model: str
    names: dict[str, str] = field(default_factory=dict)  # attribute IRI -> DTDL name
    mirrored: set[str] = field(default_factory=set)  # attribute IRIs whose default instance the twin holds
    upload: dict[str, Any] | None = None


def plan(models: ModelSet, type_iri: str, attrs: Mapping[str, list[Instance]]) -> ModelPlan:
    """The model and names for an entity of ``type_iri`` with these attributes (see the module's docstring)."""
    if type_iri.startswith("dtmi:"):
        return _plan_uploaded(models, type_iri, attrs)
    if len(type_iri) > MAX_IRI:
        raise BadRequestData(f"an entity type IRI may have at most {MAX_IRI} characters")
    base = derived_base(type_iri)
    found = versions(models, base)
    latest = found[-1] if found else None
    document = models.documents.get(latest) if latest else None
    contents: dict[str, dict[str, Any]] = {c["name"]: dict(c) for c in (document or {}).get("contents", ())}
    iri_names = {c.get("comment"): n for n, c in contents.items()}
    interface = models[latest] if latest else None
    result = ModelPlan(latest or f"{base};1")
    changed = latest is None
    for iri, instances in attrs.items():
        if iri == LOCATION:
            continue  # the twin's geometry
        if len(iri) > MAX_IRI:
            raise BadRequestData(f"an attribute IRI may have at most {MAX_IRI} characters: {iri[:80]}...")
        name = iri_names.get(iri) or _free_name(iri, contents)
        result.names[iri] = name
        default = _default(instances)
        if default is None:
            continue
        wanted = _content(name, iri, default)
        if wanted is None:
            continue  # DTDL cannot type this value: it is kept in the NGSI-LD metadata only
        result.mirrored.add(iri)
        have = contents.get(name)
        if have is not None and _fits(have, wanted, default, interface, name):
            continue
        if have is not None and have.get("@type") == wanted["@type"] == "Property":
            wanted["schema"] = _merged_schema(have.get("schema"), wanted["schema"])
        contents[name] = wanted
        iri_names[iri] = name
        changed = True
    if changed:
        version = version_of(latest) + 1 if latest else 1
        result.model = f"{base};{version}"
        result.upload = {
            "@context": DTDL_CONTEXT,
            "@id": result.model,
            "@type": "Interface",
            "displayName": type_iri,
            "description": "An NGSI-LD entity type; derived by futago from the attributes its entities brought",
            "contents": list(contents.values()),
        }
    return result


def _default(instances: list[Instance]) -> Instance | None:
    """The instance the twin mirrors: the one without datasetId; for a Relationship any (each is a twin
    relationship)."""
    default = next((i for i in instances if "datasetId" not in i), None)
    if default is None:
        default = next((i for i in instances if i["type"] in RELATIONSHIP_KINDS), None)
    return default


def _free_name(iri: str, contents: Mapping[str, Any]) -> str:
    name = local_name(iri)
    if name in contents and contents[name].get("comment") != iri:
        name = f"{name[:50]}_{_digest(iri)}"
    return name


def _content(name: str, iri: str, instance: Instance) -> dict[str, Any] | None:
    if instance["type"] in RELATIONSHIP_KINDS:
        return {"@type": "Relationship", "name": name, "comment": iri, "writable": True}
    schema = schema_of(plain_value(instance))
    if schema is None:
        return None
    return {"@type": "Property", "name": name, "schema": schema, "writable": True, "comment": iri}


def _fits(have: dict[str, Any], wanted: dict[str, Any], instance: Instance, interface: Any, name: str) -> bool:
    if have.get("@type") != wanted["@type"]:
        return False
    if wanted["@type"] == "Relationship":
        return True
    declared = interface.properties.get(name) if interface is not None else None
    return declared is not None and not declared.schema.check(plain_value(instance), "")


def _plan_uploaded(models: ModelSet, model_id: str, attrs: Mapping[str, list[Instance]]) -> ModelPlan:
    if model_id not in models:
        raise BadRequestData(f"the entity type {model_id} is a DTMI, but no such model has been uploaded")
    interface = models[model_id]
    result = ModelPlan(model_id)
    for iri, instances in attrs.items():
        if iri == LOCATION:
            continue
        name = local_name(iri)
        result.names[iri] = name
        default = _default(instances)
        if default is None:
            continue
        if default["type"] in RELATIONSHIP_KINDS:
            if name not in interface.relationships:
                raise BadRequestData(f"'{name}' is not a relationship of {model_id}")
        elif name not in interface.properties:
            raise BadRequestData(
                f"'{name}' is not a property of {model_id}; it declares {', '.join(sorted(interface.properties))}"
            )
        result.mirrored.add(iri)
    return result
