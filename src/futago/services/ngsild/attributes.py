"""NGSI-LD attributes: read any request form into expanded instances, and write them back in any answer format.

An *instance* is one attribute value as futago keeps it: a dict with ``type`` (Property, Relationship,
GeoProperty, LanguageProperty, JsonProperty, ListProperty, ListRelationship, VocabProperty), the member that holds
its value (``value``, ``object``, ``languageMap``, ``json``, ``valueList``, ``objectList``, ``vocab``), the optional
``datasetId``, ``observedAt``, ``unitCode``, ``createdAt``, ``modifiedAt``, and its sub-attributes under ``sub``
(expanded IRI -> list of instances). An attribute is a list of instances: one per datasetId (multi-attributes).
Pure functions; the @context is a TermMap.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import orjson

from futago.services.ngsild.context import TermMap
from futago.services.ngsild.errors import BadRequestData

Instance = dict[str, Any]

#: Each attribute type and the member holding its value.
VALUE_MEMBER = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "JsonProperty": "json",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
    "VocabProperty": "vocab",
}
#: In the concise form the type is left out; the value member says which it is.
TYPE_OF_MEMBER = {
    "object": "Relationship",
    "languageMap": "LanguageProperty",
    "json": "JsonProperty",
    "valueList": "ListProperty",
    "objectList": "ListRelationship",
    "vocab": "VocabProperty",
    "value": "Property",
}
META_MEMBERS = frozenset({"datasetId", "observedAt", "unitCode", "createdAt", "modifiedAt", "objectType", "lang"})
SEALED = ("entityIdSealed", "entityTypeSealed")  # non-reified members of the ngsildproof Property only (4.5.2.2)
PROOF = "ngsildproof"
RESERVED = frozenset({"type", *VALUE_MEMBER.values(), *META_MEMBERS, *SEALED, "instanceId", "@context"})
#: Members only answers carry (showChanges, inline retrieval): a request that sends one is invalid (4.5.2.2, 4.5.3.2).
OUTPUT_ONLY = frozenset(
    {"previousValue", "previousObject", "previousLanguageMap", "previousJson", "previousValueList"}
    | {"previousObjectList", "previousVocab", "entity", "entityList"}
)
#: Core terms that are non-reified Properties: never an attribute's name (4.5.1).
NOT_ATTRIBUTE_NAMES = frozenset(
    {"datasetId", "instanceId", "observedAt", "unitCode", "objectType", "deletedAt", "valueType", "lang", *SEALED}
)
#: The kinds that have no unit (4.5.3.2, 4.5.22.2, 4.5.24.2).
UNITLESS = frozenset({"Relationship", "ListRelationship", "JsonProperty"})
#: A DateTime as 4.6.3 writes it: always UTC, always with the trailing Z.
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?Z$")
#: A Scope (4.18): ``[/] level *(/ level)``, each level a letter then letters, digits or '_'.
_SCOPE = re.compile(r"^/?[^\W\d_]\w*(/[^\W\d_]\w*)*$")
ENTITY_MEMBERS = frozenset({"id", "type", "@context", "scope", "createdAt", "modifiedAt", "@id", "@type"})
#: The geometries a GeoProperty may hold: GeoJSON's, GeometryCollection excepted (4.6.3, 4.7.1).
GEO_TYPES = frozenset({"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"})
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
#: The cross-domain attributes that are GeoProperties by definition (4.7.1): never another kind.
GEO_ATTRIBUTES = frozenset(
    {LOCATION, "https://uri.etsi.org/ngsi-ld/observationSpace", "https://uri.etsi.org/ngsi-ld/operationSpace"}
)
#: What a LanguageProperty's valueType may say (Table 5.2.32-1): langString, as a term or expanded.
LANG_STRING = frozenset({"langString", "rdf:langString", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"})
SYSTEM_TIMES = frozenset({"createdAt", "modifiedAt"})
NULL = "urn:ngsi-ld:null"  # NGSI-LD Null: deletes in a merge or partial update, refused elsewhere (5.2.1)
#: The value members whose JSON objects follow merge-patch rules for NGSI-LD Null (a JsonProperty's json is opaque).
PATCHED_MEMBERS = ("value", "languageMap")


def is_geometry(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in GEO_TYPES and "coordinates" in value


_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp"})
_BLANK_LOOKING = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800})  # fillers that render as nothing


def has_invisible(text: str) -> bool:
    """Whether an identifier holds a character that does not show (spaces, controls, format and bidi characters,
    variation selectors, noncharacters, fillers): such an id reads as another one in logs and UIs (4.5.1)."""
    if text.isascii():
        return not text.isprintable() or " " in text
    for char in text:
        point = ord(char)
        if (
            unicodedata.category(char) in _HIDDEN_CATEGORIES
            or point in _BLANK_LOOKING
            or 0xFE00 <= point <= 0xFE0F
            or 0xE0100 <= point <= 0xE01EF
        ):
            return True
    return False


_RELATION_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_NAME = re.compile(r"^([^\W\d_]\w*:)?[^\W\d_]\w*$")  # 4.6.2, with the optional 'prefix:'
_IRI = _RELATION_URI  # an expanded name, or a URI such as a DTDL model's dtmi: (the twin API's types)


def is_name(name: str) -> bool:
    """A type or attribute name as 4.6.2 allows it (``prefix:name`` included), or an already expanded IRI."""
    return bool(_NAME.match(name) or _IRI.match(name))


def check_scope(scope: Any) -> None:
    """An entity's scope (a Scope or an array of them) in the 4.18 grammar; ``urn:ngsi-ld:null`` only deletes one."""
    scopes = scope if isinstance(scope, list) else [scope]
    for one in scopes:
        if not isinstance(one, str) or not _SCOPE.match(one):
            raise BadRequestData(f"{one!r} is not a scope: '/'-separated levels of a letter then letters, digits, '_'")


def check_observed_at(name: str, given: Any) -> str:
    if not isinstance(given, str) or not DATETIME.match(given):
        raise BadRequestData(f"'observedAt' of attribute '{name}' must be a UTC DateTime ending in Z, not {given!r}")
    return given


def parse_attribute(name: str, data: Any, terms: TermMap, pointer: str) -> list[Instance]:
    """An attribute as sent (normalized, concise or a bare value; an array of instances for multi-attributes)."""
    if type(data) is dict and data.get("type") == "Property" and data.keys() <= _FLAT_MEMBERS and name != PROOF:
        return [_flat_property(name, data)]
    if isinstance(data, list) and data and all(isinstance(d, dict) and _is_instance(d) for d in data):
        instances = [parse_instance(name, d, terms, f"{pointer}/{i}") for i, d in enumerate(data)]
    else:
        instances = [parse_instance(name, data, terms, pointer)]
    if len(instances) == 1:  # the usual attribute: nothing to compare
        return instances
    seen: set[str | None] = set()
    for instance in instances:
        dataset = instance.get("datasetId")
        if dataset in seen:
            raise BadRequestData(f"attribute '{name}' has two instances with the datasetId {dataset!r}")
        seen.add(dataset)
    return instances


#: The members of the usual attribute: a Property with a value, perhaps observed at a time, perhaps with a unit.
_FLAT_MEMBERS = frozenset({"type", "value", "observedAt", "unitCode"})


def _flat_property(name: str, data: dict[str, Any]) -> Instance:
    """What ``parse_instance`` makes of a Property with no members but ``_FLAT_MEMBERS``, the short way: a batch
    parses ten of them per entity, and the general walk (sub-attributes, kinds, datasetIds) cost a tenth of it."""
    value = data.get("value")
    if value is None:
        raise BadRequestData(f"attribute '{name}' of type Property needs 'value'")
    instance: Instance = {"type": "Property", "value": value}
    if len(data) > 2:
        for key in ("observedAt", "unitCode"):  # the order parse_instance writes them in
            if key in data:
                given = data[key]
                if not isinstance(given, str) or not given:
                    raise BadRequestData(f"'{key}' of attribute '{name}' must be a non-empty string")
                instance[key] = check_observed_at(name, given) if key == "observedAt" else given
    return instance


def _is_instance(data: dict[str, Any]) -> bool:
    kind = data.get("type")  # any JSON: only a string can name a kind (a dict would not even hash)
    return (isinstance(kind, str) and kind in VALUE_MEMBER) or any(m in data for m in TYPE_OF_MEMBER)


def parse_instance(name: str, data: Any, terms: TermMap, pointer: str) -> Instance:
    if data is None:
        raise BadRequestData(f"attribute '{name}' has no value (null): use DELETE to remove it")
    if not isinstance(data, dict) or not _is_instance(data):
        return {"type": "GeoProperty" if is_geometry(data) else "Property", "value": data}
    kind: Any = data.get("type")
    if kind is None:
        kind = next(TYPE_OF_MEMBER[m] for m in TYPE_OF_MEMBER if m in data)
        if kind == "Property" and is_geometry(data["value"]):  # 4.5.2.3: a geometry value makes a GeoProperty
            kind = "GeoProperty"
    if not isinstance(kind, str) or kind not in VALUE_MEMBER:
        raise BadRequestData(f"'{pointer}/type': {kind!r} is not an NGSI-LD attribute type")
    member = VALUE_MEMBER[kind]
    if member not in data or data[member] is None:
        raise BadRequestData(f"attribute '{name}' of type {kind} needs '{member}'")
    _check_members(name, kind, member, data)
    instance: Instance = {"type": kind, member: _checked_value(kind, data[member], name, terms)}
    for key in ("datasetId", "observedAt", "unitCode", "objectType"):
        if key in data and not (key == "datasetId" and data[key] == "@none"):  # "@none": the default (4.5.5)
            if not isinstance(data[key], str) or not data[key]:
                raise BadRequestData(f"'{key}' of attribute '{name}' must be a non-empty string")
            instance[key] = terms.expand(data[key]) if key == "datasetId" else data[key]
    if "observedAt" in instance:
        check_observed_at(name, instance["observedAt"])
    if name == PROOF:
        _check_proof(data, instance)
    sub: dict[str, list[Instance]] = {}
    for key, item in data.items():
        if key in RESERVED:
            continue
        sub[terms.expand(key)] = parse_attribute(key, item, terms, f"{pointer}/{key}")
    if sub:
        instance["sub"] = sub
    return instance


_VALUE_MEMBERS = frozenset(VALUE_MEMBER.values())


def _check_members(name: str, kind: str, member: str, data: dict[str, Any]) -> None:
    """The members an attribute of ``kind`` shall never hold (4.5.1, 4.5.2.2, 4.5.3.2 and the other kinds)."""
    for key in data:
        if (key in _VALUE_MEMBERS and key != member) or key in OUTPUT_ONLY:
            raise BadRequestData(f"attribute '{name}' of type {kind} may not hold '{key}'")
        if key == "@context":
            raise BadRequestData(f"attribute '{name}' may not embed an @context: send it with the entity (5.5.7)")
        if key in SEALED and name != PROOF:
            raise BadRequestData(f"'{key}' belongs to the {PROOF} Property only, not to '{name}'")
    if kind == "LanguageProperty" and data.get("valueType", "langString") not in LANG_STRING:
        raise BadRequestData(f"the valueType of LanguageProperty '{name}' can only be langString (5.2.32)")
    if "unitCode" in data and kind in UNITLESS:
        raise BadRequestData(f"attribute '{name}' of type {kind} has no unit: send no 'unitCode'")


def _check_proof(data: dict[str, Any], instance: Instance) -> None:
    """ngsildproof (4.5.2.2): a Property whose value is the W3C proof object, with its sealed id and type."""
    if instance["type"] != "Property" or not isinstance(instance.get("value"), dict):
        raise BadRequestData(f"the value of '{PROOF}' must be a Data Integrity proof object")
    for key in SEALED:
        if key in data:
            if not isinstance(data[key], str) or not data[key]:
                raise BadRequestData(f"'{key}' of '{PROOF}' must be a non-empty string")
            instance[key] = data[key]


def _checked_value(kind: str, value: Any, name: str, terms: TermMap) -> Any:
    if kind == "GeoProperty" and isinstance(value, str):
        value = _geometry_text(value)
    if kind == "GeoProperty" and not is_geometry(value):
        raise BadRequestData(f"the value of GeoProperty '{name}' must be a GeoJSON geometry")
    if kind == "Relationship" and (not isinstance(value, str) or ":" not in value):
        raise BadRequestData(f"the object of Relationship '{name}' must be a URI")
    if kind == "ListRelationship":
        return _object_list(value, name)
    if kind == "JsonProperty" and not (
        isinstance(value, dict) or (isinstance(value, list) and all(isinstance(v, dict) for v in value))
    ):
        raise BadRequestData(f"the json of '{name}' must be a JSON object or an array of objects")
    if kind == "LanguageProperty":
        _check_language_map(value, name)
    if kind in ("ListProperty",) and not isinstance(value, list):
        raise BadRequestData(f"the valueList of '{name}' must be an array")
    if kind == "VocabProperty":
        if isinstance(value, str):
            return terms.expand(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [terms.expand(v) for v in value]
        raise BadRequestData(f"the vocab of '{name}' must be a term or an array of terms")
    return value


def _geometry_text(value: str) -> Any:
    """A geometry sent as its JSON text (4.7.2): taken when it parses into an object, left as is otherwise."""
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def _check_language_map(value: Any, name: str) -> None:
    """A languageMap (4.6.5, 5.2.32): non-empty language tags (or ``@none``) to strings or arrays of strings."""
    if not isinstance(value, dict):
        raise BadRequestData(f"the languageMap of '{name}' must map language tags to strings")
    for tag, text in value.items():
        if not tag or not isinstance(tag, str):
            raise BadRequestData(f"the languageMap of '{name}' has an empty language tag")
        if not (isinstance(text, str) or (isinstance(text, list) and all(isinstance(t, str) for t in text))):
            raise BadRequestData(f"the languageMap of '{name}' maps {tag!r} to {text!r}: a string or strings only")


def _object_list(value: Any, name: str) -> list[dict[str, str]]:
    """An objectList as 4.5.22.2 keeps it: ``{"object": URI}`` entries, whether sent so or as bare URIs."""
    if not isinstance(value, list):
        raise BadRequestData(f"the objectList of '{name}' must be an array of URIs")
    entries = []
    for entry in value:
        uri = entry.get("object") if isinstance(entry, dict) else entry
        if not isinstance(uri, str) or not _RELATION_URI.match(uri):
            raise BadRequestData(f"the objectList of '{name}' holds {entry!r}, which is not a URI")
        entries.append({"object": uri})
    return entries


_BAD_NAME = re.compile("[<>\"'=;()]")  # characters no attribute name may hold
# Names that passed the check above: every entity of a batch names the same attributes again. Bounded: a stream of
# distinct names only starts the set afresh.
_GOOD_NAMES: set[str] = set()
_MAX_GOOD_NAMES = 4096


def parse_attributes(
    document: dict[str, Any], terms: TermMap, skip: frozenset[str] = ENTITY_MEMBERS, keep_null: bool = False
) -> dict[str, list[Instance]]:
    """Every attribute of an entity fragment, by expanded IRI. The NGSI-LD Null anywhere is a 400 (5.2.1), but for
    a merge or an update (``keep_null``), where it deletes what it names."""
    attrs: dict[str, list[Instance]] = {}
    for key, data in document.items():
        if key in skip:
            continue
        if key not in _GOOD_NAMES:
            if not isinstance(key, str) or not key or _BAD_NAME.search(key) or key.isspace():
                raise BadRequestData(f"{key!r} is not a valid attribute name")
            if not is_name(key):
                raise BadRequestData(f"{key!r} is not an NGSI-LD name: a letter, then letters, digits or '_' (4.6.2)")
            if key in NOT_ATTRIBUTE_NAMES:
                raise BadRequestData(f"'{key}' is a core term, not an attribute name (GS CIM 009 4.5.1)")
            if len(_GOOD_NAMES) >= _MAX_GOOD_NAMES:
                _GOOD_NAMES.clear()
            _GOOD_NAMES.add(key)
        iri = terms.expand(key)
        instances = parse_attribute(key, data, terms, f"/{key}")
        if iri in GEO_ATTRIBUTES and not all(i["type"] == "GeoProperty" or is_null(i) for i in instances):
            raise BadRequestData(f"'{key}' is a GeoProperty (4.7.1): its value must be a GeoJSON geometry")
        found = attrs.get(iri)
        if found is None:
            attrs[iri] = instances
        else:
            found.extend(instances)
    return attrs if keep_null else refuse_nulls(attrs)


# -- answers ----------------------------------------------------------------------------------------------------


class Rendering:
    """How one answer writes attributes: its format, the caller's context, sysAttrs and the language asked for."""

    def __init__(self, terms: TermMap, form: str = "normalized", sys_attrs: bool = False, lang: str | None = None):
        self.terms = terms
        self.form = form  # normalized | concise | keyValues
        self.sys_attrs = sys_attrs
        self.lang = lang

    def attribute(self, instances: list[Instance]) -> Any:
        shown = [self.instance(i) for i in instances]
        if self.form == "keyValues" and any("datasetId" in i for i in instances):
            # 4.5.4: a multi-attribute simplified is one map of its instances by datasetId, "@none" the default
            keys = [self.terms.compact(i["datasetId"]) if "datasetId" in i else "@none" for i in instances]
            return {"dataset": dict(zip(keys, shown, strict=True))}
        return shown[0] if len(shown) == 1 else shown

    def instance(self, instance: Instance) -> Any:
        kind = instance["type"]
        member = VALUE_MEMBER[kind]
        value = instance.get(member)
        if kind == "VocabProperty":
            value = (
                [self.terms.compact(v) for v in value] if isinstance(value, list) else self.terms.compact(str(value))
            )
        if kind == "LanguageProperty" and self.lang is not None:
            return self._language_pick(instance, value)
        if self.form == "keyValues":
            return _simplified(kind, member, value)
        out: dict[str, Any] = {} if self.form == "concise" else {"type": kind}
        out[member] = value
        self._members(instance, out)
        if self.form == "concise" and list(out) == ["value"] and not isinstance(value, dict | list):
            return value
        return out

    def _language_pick(self, instance: Instance, value: Any) -> Any:
        """A LanguageProperty asked for in one language (``lang``): a Property with the string and its ``lang``."""
        languages = value if isinstance(value, dict) else {}
        chosen = choose_language(self.lang or "", languages)
        if chosen is None:  # 4.15: no language matches, so any the property has
            chosen = "@none" if "@none" in languages else next(iter(languages), None)
        text = languages.get(chosen) if chosen is not None else None
        if self.form == "keyValues":
            return text
        out: dict[str, Any] = {} if self.form == "concise" else {"type": "Property"}
        out["value"] = text
        if chosen is not None and chosen != "@none":
            out["lang"] = chosen
        self._members(instance, out)
        return out

    def _members(self, instance: Instance, out: dict[str, Any]) -> None:
        for key in ("datasetId", "observedAt", "unitCode", "objectType", *SEALED):
            if key in instance:
                out[key] = self.terms.compact(instance[key]) if key == "datasetId" else instance[key]
        if self.sys_attrs:
            for key in SYSTEM_TIMES:
                if key in instance:
                    out[key] = instance[key]
        for iri, instances in (instance.get("sub") or {}).items():
            out[self.terms.compact(iri)] = self.attribute(instances)


def _simplified(kind: str, member: str, value: Any) -> Any:
    """An instance's value in the simplified form (4.5.4): the bare value, object or list, but a LanguageProperty,
    JsonProperty or VocabProperty keeps its member's name around it (``{"languageMap": {...}}``), so it is not
    read back as a Property whose value is an object or a string."""
    if kind in ("LanguageProperty", "JsonProperty", "VocabProperty"):
        return {member: value}
    if kind == "ListRelationship" and isinstance(value, list):
        return [o.get("object") if isinstance(o, dict) else o for o in value]
    return value


def choose_language(accept: str, languages: dict[str, Any]) -> str | None:
    """The key of ``languages`` a ``lang`` filter picks (4.15): its ranges in order of quality value (RFC 9110
    12.4.2; equal ones as written, ``q=0`` never), each matched as RFC 4647 lookup does, case-insensitively: the
    tag itself, then the range cut back a subtag at a time (``nl-BE`` finds ``nl``), then a longer tag it is the
    prefix of (``en`` finds ``en-US``); ``*`` any. None when nothing matches."""
    keys = {k.lower(): k for k in languages if k != "@none"}
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        tag, *params = [p.strip() for p in part.split(";")]
        weight = 1.0
        for param in params:
            name, _, given = param.partition("=")
            if name.strip().lower() == "q":
                with contextlib.suppress(ValueError):
                    weight = float(given)
        if tag and weight > 0:
            ranges.append((-weight, position, tag.lower()))
    for _, _, tag in sorted(ranges):
        if tag == "*":
            return next(iter(languages), None)
        probe = tag
        while probe:
            if probe in keys:
                return keys[probe]
            probe = probe.rpartition("-")[0]
        longer = next((key for low, key in keys.items() if low.startswith(tag + "-")), None)
        if longer is not None:
            return longer
    return None


def stamp(instances: list[Instance], now: str, previous: list[Instance] | None = None) -> list[Instance]:
    """createdAt and modifiedAt of each instance: kept from the instance of the same datasetId before."""
    if not previous:  # a new attribute (every one of a new entity): nothing to keep, the short way
        for instance in instances:
            instance["createdAt"] = instance["modifiedAt"] = now
            if instance.get("sub"):
                _stamp_sub(instance, now)
        return instances
    before = {i.get("datasetId"): i for i in previous}
    for instance in instances:
        old = before.get(instance.get("datasetId"))
        instance["createdAt"] = old.get("createdAt", now) if old is not None else now
        instance["modifiedAt"] = now
        _stamp_sub(instance, now)
    return instances


def _stamp_sub(instance: Instance, now: str) -> None:
    for sub in (instance.get("sub") or {}).values():
        for item in sub:
            item.setdefault("createdAt", now)
            item["modifiedAt"] = now
            _stamp_sub(item, now)


def merge_instances(old: list[Instance], new: list[Instance], overwrite: bool = True) -> list[Instance]:
    """Instances of one attribute after a write: a new instance replaces the one of its datasetId."""
    by_dataset: dict[str | None, Instance] = {i.get("datasetId"): i for i in old}
    for instance in new:
        key = instance.get("datasetId")
        if key in by_dataset and not overwrite:
            continue
        by_dataset[key] = instance
    return list(by_dataset.values())


def holds_null(value: Any) -> bool:
    """Whether a value is NGSI-LD Null or holds it as an object member, at any depth (arrays are values)."""
    if value == NULL:
        return True
    return type(value) is dict and any(holds_null(v) for v in value.values())


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 with NGSI-LD Null as its null: objects merge member by member, Null removes a member."""
    if type(patch) is not dict:
        return patch
    merged = dict(target) if type(target) is dict else {}
    for key, given in patch.items():
        if given == NULL:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), given)
    return merged


def is_null(instance: Instance) -> bool:
    """An instance whose value is NGSI-LD Null (GS CIM 009 4.5.x: the string, a language map of it under ``@none``,
    a list of it alone): in an update or a merge, the attribute (of that datasetId) is deleted."""
    value = instance.get(VALUE_MEMBER.get(instance.get("type", ""), "value"))
    return value == NULL or value == {"@none": NULL} or value == [NULL]


_NULL_SHAPES = (dict, list, type(None))  # what a value may be when the instance is the Null (is_null)


def refuse_nulls(attrs: dict[str, list[Instance]], deleting: bool = False) -> dict[str, list[Instance]]:
    """``attrs`` unchanged, or a 400 where an instance (a sub-attribute too) is NGSI-LD Null or holds it in a
    Property value or languageMap: outside a merge, the Null is invalid (5.2.1, 5.5.4). In an update or a partial
    update (``deleting``) an instance that is the Null deletes what it names; one that holds it inside its value is
    still invalid. A JsonProperty's json is a JSON literal and may hold anything."""
    for iri, instances in attrs.items():
        for instance in instances:
            # the usual instance, a Property of a number or a text, is settled by its first test: a batch meets ten
            # of them per entity
            value = instance.get("value", instance.get("languageMap"))
            if value == NULL or (type(value) in _NULL_SHAPES and is_null(instance)):
                bad = not deleting
            else:
                bad = type(value) is dict and holds_null(value)
            if bad:
                name = iri.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
                raise BadRequestData(f"attribute '{name}' holds the NGSI-LD Null, which only merges and updates send")
            if "sub" in instance:
                refuse_nulls(instance["sub"], deleting)
    return attrs


def without_null_subs(instance: Instance) -> Instance:
    """An updated instance without the sub-attributes an update set to NGSI-LD Null (they are deleted)."""
    subs = instance.get("sub")
    if not subs:
        return instance
    kept = {k: [without_null_subs(i) for i in v if not is_null(i)] for k, v in subs.items()}
    kept = {k: v for k, v in kept.items() if v}
    return {**{k: v for k, v in instance.items() if k != "sub"}, **({"sub": kept} if kept else {})}


def walk_values(instances: list[Instance], visit: Callable[[Instance], None]) -> None:
    for instance in instances:
        visit(instance)
        for sub in (instance.get("sub") or {}).values():
            walk_values(sub, visit)
