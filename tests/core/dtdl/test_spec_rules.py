"""Rules from the normative DTDL v3 specification that earlier versions of the parser got wrong.

Each case is a small hand-written document exercising one rule of the specification
(DTDL.Specification.v3.md): optional members that take "an array containing no more than one"
value, the deprecated Command member ``commandType``, and the v2 DTMI spellings the
specification lists for an Enum's ``valueSchema`` and a MapKey's ``schema``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from futago.core.dtdl import EnumSchema, load, validate

CTX = "dtmi:dtdl:context;3"
ID = "dtmi:com:example:Spec;1"


def iface(*contents: dict[str, Any], **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": CTX, "@id": ID, "@type": "Interface", "contents": list(contents)}
    doc.update(extra)
    return doc


def command(**extra: Any) -> dict[str, Any]:
    return {"@type": "Command", "name": "run", **extra}


def relationship(**extra: Any) -> dict[str, Any]:
    return {"@type": "Relationship", "name": "rel", **extra}


def enum(value_schema: Any) -> dict[str, Any]:
    return {
        "@id": "dtmi:com:example:Spec:mode;1",
        "@type": "Enum",
        "valueSchema": value_schema,
        "enumValues": [{"name": "on", "enumValue": 1 if "integer" in str(value_schema) else "on"}],
    }


def map_with_key(key_schema: Any) -> dict[str, Any]:
    return {
        "@id": "dtmi:com:example:Spec:table;1",
        "@type": "Map",
        "mapKey": {"name": "key", "schema": key_schema},
        "mapValue": {"name": "value", "schema": "double"},
    }


VALID = {
    # "an array containing no more than one ...": an empty array is the member left out.
    "writable empty array": iface({"@type": "Property", "name": "p", "schema": "double", "writable": []}),
    "relationship writable empty array": iface(relationship(writable=[])),
    "target empty array": iface(relationship(target=[])),
    "maxMultiplicity empty array": iface(relationship(maxMultiplicity=[])),
    "minMultiplicity empty array": iface(relationship(minMultiplicity=[])),
    "request empty array": iface(command(request=[])),
    "response empty array": iface(command(response=[])),
    "comment empty array": iface(comment=[]),
    # commandType is deprecated but still part of DTDL v3.
    "commandType synchronous": iface(command(commandType="synchronous")),
    "commandType asynchronous in array": iface(command(commandType=["asynchronous"])),
    "commandType as DTMIs": iface(
        command(**{"dtmi:dtdl:property:commandType;3": "dtmi:dtdl:instance:CommandType:asynchronous;3"})
    ),
    "commandType value object": iface(command(commandType={"@value": "synchronous"})),
    "commandType empty array": iface(command(commandType=[])),
    # Enum valueSchema and MapKey schema list both the v3 and the v2 DTMI spellings.
    "enum valueSchema v3 DTMI": iface(schemas=[enum("dtmi:dtdl:instance:Schema:integer;3")]),
    "enum valueSchema v2 DTMI": iface(schemas=[enum("dtmi:dtdl:instance:Schema:integer;2")]),
    "enum valueSchema v2 string DTMI": iface(schemas=[enum("dtmi:dtdl:instance:Schema:string;2")]),
    "map key v3 DTMI": iface(schemas=[map_with_key("dtmi:dtdl:instance:Schema:string;3")]),
    "map key v2 DTMI": iface(schemas=[map_with_key("dtmi:dtdl:instance:Schema:string;2")]),
    "map key v2 DTMI in array": iface(schemas=[map_with_key(["dtmi:dtdl:instance:Schema:string;2"])]),
}


@pytest.mark.parametrize("doc", VALID.values(), ids=VALID.keys())
def test_spec_allows(doc: dict[str, Any]) -> None:
    assert validate([copy.deepcopy(doc)]) == []


INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("writable two values", iface(relationship(writable=[True, False])), "/contents/0/writable", "writable"),
    (
        "target two values",
        iface(relationship(target=["dtmi:a;1", "dtmi:b;1"])),
        "/contents/0/target",
        "target",
    ),
    (
        "maxMultiplicity two values",
        iface(relationship(maxMultiplicity=[2, 3])),
        "/contents/0/maxMultiplicity",
        "maxMultiplicity",
    ),
    (
        "request two values",
        iface(command(request=[{"name": "a", "schema": "double"}, {"name": "b", "schema": "double"}])),
        "/contents/0/request",
        "request",
    ),
    ("comment two values", iface(comment=["a", "b"]), "/comment", "comment"),
    (
        "commandType unknown",
        iface(command(commandType="eventually")),
        "/contents/0/commandType",
        "commandType",
    ),
    (
        "commandType two values",
        iface(command(commandType=["synchronous", "asynchronous"])),
        "/contents/0/commandType",
        "commandType",
    ),
    ("commandType number", iface(command(commandType=1)), "/contents/0/commandType", "commandType"),
    (
        "commandType v2 DTMI",
        iface(command(commandType="dtmi:dtdl:instance:CommandType:synchronous;2")),
        "/contents/0/commandType",
        "commandType",
    ),
    (
        "commandType on a Property",
        iface({"@type": "Property", "name": "p", "schema": "double", "commandType": "synchronous"}),
        "/contents/0/commandType",
        "not allowed",
    ),
    (
        "enum valueSchema v2 double DTMI",
        iface(schemas=[enum("dtmi:dtdl:instance:Schema:double;2")]),
        "/schemas/0/valueSchema",
        "valueSchema",
    ),
    (
        "enum valueSchema v4 DTMI",
        iface(schemas=[enum("dtmi:dtdl:instance:Schema:integer;4")]),
        "/schemas/0/valueSchema",
        "valueSchema",
    ),
    (
        "map key v2 integer DTMI",
        iface(schemas=[map_with_key("dtmi:dtdl:instance:Schema:integer;2")]),
        "/schemas/0/mapKey/schema",
        "MapKey",
    ),
]


@pytest.mark.parametrize(("doc", "pointer", "needle"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_spec_forbids(doc: dict[str, Any], pointer: str, needle: str) -> None:
    problems = validate([copy.deepcopy(doc)])
    assert problems, "expected at least one problem"
    assert any(p.pointer == pointer and needle in p.message for p in problems), problems


def test_empty_optional_arrays_leave_defaults() -> None:
    models = load([iface(relationship(target=[], writable=[], maxMultiplicity=[]))])
    rel = models.interfaces[ID].relationships["rel"]
    assert rel.target is None
    assert rel.writable is False
    assert rel.max_multiplicity is None


def test_enum_with_v2_value_schema_dtmi_resolves_to_the_term() -> None:
    models = load([iface({"@type": "Property", "name": "p", "schema": enum("dtmi:dtdl:instance:Schema:integer;2")})])
    schema = models.interfaces[ID].properties["p"].schema
    assert isinstance(schema, EnumSchema)
    assert schema.value_schema == "integer"
