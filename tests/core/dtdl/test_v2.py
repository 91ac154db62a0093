"""DTDL v2 documents ("@context": "dtmi:dtdl:context;2") are accepted and checked by the v2 rules.

Each case is a small hand-written document exercising one rule of DTDL.Specification.v2.md
where DTDL v2 differs from v3: shorter names and display names, 300 contents and 2 extends per
Interface, built-in semantic types with a mandatory unit, no Arrays or geospatial schemas in a
Property, CommandPayload, undefined co-types, and the ";2" DTMI spellings of the vocabulary.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from futago.core.dtdl import load, validate

V2 = "dtmi:dtdl:context;2"
V3 = "dtmi:dtdl:context;3"
QT = "dtmi:dtdl:extension:quantitativeTypes;1"
ID = "dtmi:com:example:Legacy;1"


def iface(*contents: dict[str, Any], **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": V2, "@id": ID, "@type": "Interface", "contents": list(contents)}
    doc.update(extra)
    return doc


def prop(name: str = "p", schema: Any = "double", **extra: Any) -> dict[str, Any]:
    return {"@type": "Property", "name": name, "schema": schema, **extra}


def tele(name: str = "t", schema: Any = "double", **extra: Any) -> dict[str, Any]:
    return {"@type": "Telemetry", "name": name, "schema": schema, **extra}


def base(dtmi: str, *names: str, context: str = V2) -> dict[str, Any]:
    return {
        "@context": context,
        "@id": dtmi,
        "@type": "Interface",
        "contents": [prop(n) for n in names],
    }


ARRAY = {"@type": "Array", "elementSchema": "double"}

VALID: dict[str, list[dict[str, Any]]] = {
    "minimal": [{"@context": V2, "@id": ID, "@type": "Interface"}],
    "thermostat": [iface(tele("temp"), prop("setPointTemp", writable=True))],
    "semantic type built in": [iface(tele(**{"@type": ["Telemetry", "Temperature"]}, unit="degreeCelsius"))],
    "semantic type on property": [iface(prop(**{"@type": ["Property", "Pressure"]}, unit="kilopascal", writable=True))],
    "semantic type and unit as DTMIs": [
        iface(
            tele(
                **{"@type": ["Telemetry", "dtmi:standard:class:Temperature;2"]},
                unit="dtmi:standard:unit:kelvin;2",
            )
        )
    ],
    "name of 64 characters": [iface(prop("p" * 64))],
    "displayName of 64 characters": [iface(displayName="d" * 64)],
    "description of 512 characters": [iface(description="d" * 512)],
    "v2 term DTMIs": [
        iface(
            {
                "@type": "dtmi:dtdl:class:Property;2",
                "dtmi:dtdl:property:name;2": "p",
                "schema": "dtmi:dtdl:instance:Schema:double;2",
            }
        )
    ],
    "array in telemetry": [iface(tele(schema=ARRAY))],
    "geospatial in telemetry": [iface(tele(schema="point"))],
    "geospatial DTMI in telemetry": [iface(tele(schema="dtmi:standard:schema:geospatial:polygon;2"))],
    "map and object in property": [
        iface(
            prop(
                schema={
                    "@type": "Map",
                    "mapKey": {"name": "k", "schema": "string"},
                    "mapValue": {
                        "name": "v",
                        "schema": {"@type": "Object", "fields": [{"name": "x", "schema": "double"}]},
                    },
                }
            )
        )
    ],
    "command with payloads": [
        iface(
            {
                "@type": "Command",
                "name": "reboot",
                "commandType": "synchronous",
                "request": {"@type": "CommandPayload", "name": "delay", "schema": "integer"},
                "response": {"name": "scheduledTime", "schema": "dateTime"},
            }
        )
    ],
    "commandType v2 DTMI": [
        iface({"@type": "Command", "name": "c", "commandType": "dtmi:dtdl:instance:CommandType:asynchronous;2"})
    ],
    "relationship with properties": [
        iface(
            {
                "@type": "Relationship",
                "name": "cleanedBy",
                "minMultiplicity": 0,
                "maxMultiplicity": 500,
                "writable": True,
                "target": "dtmi:com:example:Cleaner;1",
                "properties": [prop("lastCleaned", "dateTime")],
            }
        )
    ],
    "undefined co-type with undefined member": [
        iface(prop(**{"@type": ["Property", "Commercial"]}, brand="Honeywell"))
    ],
    # Not a v2 semantic type nor a v2 reserved word: an undefined co-type, which permits "unit".
    "v3-only semantic type is an undefined co-type": [
        iface(tele(**{"@type": ["Telemetry", "ApparentPower"]}, unit="voltAmpere"))
    ],
    "co-type with colon": [iface(prop(**{"@type": ["Property", "ex:Thing"]}, **{"ex:brand": "x"}))],
    "extends two": [
        base("dtmi:com:example:A;1", "a"),
        base("dtmi:com:example:B;1", "b"),
        iface(extends=["dtmi:com:example:A;1", "dtmi:com:example:B;1"]),
    ],
    "300 contents including inherited": [
        base("dtmi:com:example:A;1", *[f"a{i}" for i in range(150)]),
        iface(*[prop(f"b{i}") for i in range(150)], extends="dtmi:com:example:A;1"),
    ],
    "component of a v2 interface": [
        base("dtmi:com:example:Part;1", "a"),
        iface({"@type": "Component", "name": "part", "schema": "dtmi:com:example:Part;1"}),
    ],
    "v3 extends v2": [
        base("dtmi:com:example:A;1", "a"),
        base("dtmi:com:example:New;1", "b", context=V3) | {"extends": "dtmi:com:example:A;1"},
    ],
    "v3 component of v2": [
        base("dtmi:com:example:Part;1", "a"),
        {
            "@context": V3,
            "@id": "dtmi:com:example:New;1",
            "@type": "Interface",
            "contents": [{"@type": "Component", "name": "part", "schema": "dtmi:com:example:Part;1"}],
        },
    ],
    "inline v2 element in v3 document": [
        {
            "@context": V3,
            "@id": "dtmi:com:example:New;1",
            "@type": "Interface",
            "contents": [
                {
                    "@context": V2,
                    "@type": ["Telemetry", "Temperature"],
                    "name": "temp",
                    "schema": "double",
                    "unit": "degreeCelsius",
                }
            ],
        }
    ],
    "inline v2 interface in v3 extends": [
        {
            "@context": V3,
            "@id": "dtmi:com:example:New;1",
            "@type": "Interface",
            "extends": {**base("dtmi:com:example:Old;1", "a"), "@context": V2},
        }
    ],
}


@pytest.mark.parametrize("docs", list(VALID.values()), ids=list(VALID))
def test_valid_v2_documents_have_no_problems(docs: list[dict[str, Any]]) -> None:
    assert validate(copy.deepcopy(docs)) == []


INVALID: list[tuple[str, list[dict[str, Any]], str, str]] = [
    ("name over 64", [iface(prop("p" * 65))], "/contents/0/name", "64"),
    ("displayName over 64", [iface(displayName="d" * 65)], "/displayName", "64"),
    ("description over 512", [iface(description="d" * 513)], "/description", "512"),
    (
        "content displayName over 64",
        [iface(prop(displayName={"en": "d" * 65}))],
        "/contents/0/displayName/en",
        "64",
    ),
    (
        "semantic type without unit",
        [iface(tele(**{"@type": ["Telemetry", "Temperature"]}))],
        "/contents/0",
        "unit",
    ),
    (
        "unit of another semantic type",
        [iface(tele(**{"@type": ["Telemetry", "Temperature"]}, unit="metre"))],
        "/contents/0/unit",
        "does not fit",
    ),
    (
        "unit only in v3",
        [iface(tele(**{"@type": ["Telemetry", "Current"]}, unit="kiloampere"))],
        "/contents/0/unit",
        "not a DTDL v2 unit",
    ),
    (
        "semantic type on a field",
        [
            iface(
                tele(
                    schema={
                        "@type": "Object",
                        "fields": [
                            {
                                "@type": ["Field", "Temperature"],
                                "name": "x",
                                "schema": "double",
                                "unit": "kelvin",
                            }
                        ],
                    }
                )
            )
        ],
        "/contents/0/schema/fields/0/@type/1",
        "cannot co-type",
    ),
    (
        "semantic type with string schema",
        [iface(tele(**{"@type": ["Telemetry", "Temperature"]}, unit="kelvin", schema="string"))],
        "/contents/0/schema",
        "numeric",
    ),
    (
        "unit without semantic type",
        [iface(tele(unit="kelvin"))],
        "/contents/0/unit",
        "semantic type",
    ),
    ("quantitativeTypes extension", [iface(**{"@context": [V2, QT]})], "/@context", "not supported"),
    ("array in property", [iface(prop(schema=ARRAY))], "/contents/0/schema", "Array"),
    (
        "array nested in property object",
        [iface(prop(schema={"@type": "Object", "fields": [{"name": "xs", "schema": ARRAY}]}))],
        "/contents/0/schema",
        "Array",
    ),
    (
        "array by reference in property",
        [
            iface(
                prop(schema="dtmi:com:example:Legacy:xs;1"),
                schemas=[{"@id": "dtmi:com:example:Legacy:xs;1", **ARRAY}],
            )
        ],
        "/contents/0/schema",
        "Array",
    ),
    ("geospatial in property", [iface(prop(schema="point"))], "/contents/0/schema", "geospatial"),
    (
        "array in relationship property",
        [iface({"@type": "Relationship", "name": "r", "properties": [prop(schema=ARRAY)]})],
        "/contents/0/properties/0/schema",
        "Array",
    ),
    (
        "minMultiplicity 1",
        [iface({"@type": "Relationship", "name": "r", "minMultiplicity": 1})],
        "/contents/0/minMultiplicity",
        "must be 0",
    ),
    (
        "maxMultiplicity over 500",
        [iface({"@type": "Relationship", "name": "r", "maxMultiplicity": 501})],
        "/contents/0/maxMultiplicity",
        "500",
    ),
    (
        "three extends",
        [
            base("dtmi:com:example:A;1", "a"),
            base("dtmi:com:example:B;1", "b"),
            base("dtmi:com:example:C;1", "c"),
            iface(extends=["dtmi:com:example:A;1", "dtmi:com:example:B;1", "dtmi:com:example:C;1"]),
        ],
        "/extends",
        "at most 2",
    ),
    (
        "301 contents including inherited",
        [
            base("dtmi:com:example:A;1", *[f"a{i}" for i in range(150)]),
            iface(*[prop(f"b{i}") for i in range(151)], extends="dtmi:com:example:A;1"),
        ],
        "",
        "300",
    ),
    (
        "v3 class DTMI",
        [iface({"@type": "dtmi:dtdl:class:Property;3", "name": "p", "schema": "double"})],
        "/contents/0/@type",
        "Telemetry",
    ),
    (
        "v3 schema DTMI",
        [iface(prop(schema="dtmi:dtdl:instance:Schema:double;3"))],
        "/contents/0/schema",
        "not defined",
    ),
    ("v4 schema", [iface(prop(schema="uuid"))], "/contents/0/schema", "v4"),
    ("scaledDecimal", [iface(prop(schema="scaledDecimal"))], "/contents/0/schema", "unknown"),
    (
        "CommandRequest is not a v2 class",
        [
            iface(
                {
                    "@type": "Command",
                    "name": "c",
                    "request": {"@type": "CommandRequest", "name": "x", "schema": "double"},
                }
            )
        ],
        "/contents/0/request/@type",
        "CommandPayload",
    ),
    ("undefined member without co-type", [iface(prop(brand="x"))], "/contents/0/brand", "not allowed"),
    (
        "reserved co-type",
        [iface(prop(**{"@type": ["Property", "Telemetry"]}))],
        "/contents/0/@type/1",
        "cannot be combined",
    ),
    (
        "undefined DTMI co-type",
        [iface(prop(**{"@type": ["Property", "dtmi:com:example:Flavor;1"]}))],
        "/contents/0/@type/1",
        "not defined by DTDL v2",
    ),
    ("@graph", [iface(**{"@graph": []})], "/@graph", "@graph"),
    ("interface id over 128", [iface(**{"@id": "dtmi:com:" + "a" * 120 + ";1"})], "/@id", "128"),
    (
        "nested component",
        [
            {"@context": V2, "@id": "dtmi:com:example:Inner;1", "@type": "Interface"},
            {
                "@context": V2,
                "@id": "dtmi:com:example:Mid;1",
                "@type": "Interface",
                "contents": [{"@type": "Component", "name": "i", "schema": "dtmi:com:example:Inner;1"}],
            },
            iface({"@type": "Component", "name": "m", "schema": "dtmi:com:example:Mid;1"}),
        ],
        "/contents/0/schema",
        "nested",
    ),
]


@pytest.mark.parametrize(("docs", "pointer", "needle"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_v2_documents_name_the_problem(docs: list[dict[str, Any]], pointer: str, needle: str) -> None:
    problems = validate(copy.deepcopy(docs))
    assert problems, "expected at least one problem"
    assert any(p.pointer == pointer and needle in p.message for p in problems), problems


def test_v2_model_loads_with_semantic_unit() -> None:
    models = load([iface(tele(**{"@type": ["Telemetry", "Temperature"]}, unit="degreeCelsius"))])
    telemetry = models[ID].telemetry["t"]
    assert telemetry.semantic_types == ("Temperature",)
    assert telemetry.unit == "degreeCelsius"


def test_v3_rules_unchanged_for_v3_documents() -> None:
    doc = {
        "@context": V3,
        "@id": ID,
        "@type": "Interface",
        "contents": [prop("p" * 65, displayName="d" * 65)],
    }
    assert validate([doc]) == []
    undefined = {**doc, "contents": [prop(**{"@type": ["Property", "Commercial"]})]}
    assert validate([undefined]) != []
