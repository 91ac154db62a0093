"""Invalid and valid DTDL v3 documents: each rule gets its own small inline case."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from futago.core.dtdl import ModelSet, load, validate
from futago.core.errors import InvalidInput

CTX = "dtmi:dtdl:context;3"
QT = "dtmi:dtdl:extension:quantitativeTypes;1"
ID = "dtmi:com:example:Thing;1"


def iface(*contents: dict[str, Any], **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": CTX, "@id": ID, "@type": "Interface", "contents": list(contents)}
    doc.update(extra)
    return doc


def prop(name: str = "p", schema: Any = "double", **extra: Any) -> dict[str, Any]:
    return {"@type": "Property", "name": name, "schema": schema, **extra}


def nest_arrays(levels: int) -> dict[str, Any]:
    schema: Any = "boolean"
    for _ in range(levels):
        schema = {"@type": "Array", "elementSchema": schema}
    return schema


VALID = {
    "minimal": {"@context": CTX, "@id": ID, "@type": "Interface"},
    "two-part version": {"@context": CTX, "@id": "dtmi:com:example:Thing;1.2", "@type": "Interface"},
    "no version": {"@context": CTX, "@id": "dtmi:com:example:Thing", "@type": "Interface"},
    "property and telemetry": iface(prop(writable=True), {"@type": "Telemetry", "name": "t", "schema": "long"}),
    "term DTMI forms": iface(
        {
            "@type": "dtmi:dtdl:class:Property;3",
            "dtmi:dtdl:property:name;3": "p",
            "schema": "dtmi:dtdl:instance:Schema:double;3",
        }
    ),
    "value objects": iface(prop(name={"@value": "p"}, writable={"@value": True, "@type": "xsd:boolean"})),
    "single-element arrays": iface(prop(name=["p"], schema=["double"])),
    "localized names": iface(displayName={"en": "Thing", "ja": "もの"}, description="A thing"),
    "command": iface(
        {
            "@type": "Command",
            "name": "reboot",
            "request": {"name": "delay", "schema": "duration"},
            "response": {"@type": "CommandResponse", "name": "at", "schema": "dateTime"},
        }
    ),
    "relationship": iface(
        {
            "@type": "Relationship",
            "name": "floor",
            "minMultiplicity": 0,
            "maxMultiplicity": 1,
            "target": "dtmi:com:example:Undeclared;1",
            "writable": True,
            "properties": [prop("since", "dateTime")],
        }
    ),
    "enum": iface(
        prop(
            schema={
                "@type": "Enum",
                "valueSchema": "integer",
                "enumValues": [{"name": "off", "enumValue": 0}, {"name": "on", "enumValue": 1}],
            }
        )
    ),
    "empty enum and object": iface(
        prop("a", {"@type": "Enum", "valueSchema": "string"}), prop("b", {"@type": "Object"})
    ),
    "map": iface(
        prop(
            schema={
                "@type": "Map",
                "mapKey": {"name": "k", "schema": "string"},
                "mapValue": {"name": "v", "schema": "integer"},
            }
        )
    ),
    "array in property (v3)": iface(prop(schema={"@type": "Array", "elementSchema": "string"})),
    "geospatial": iface({"@type": "Telemetry", "name": "loc", "schema": "point"}),
    "depth 5": iface(prop(schema=nest_arrays(6))),
    "reusable schema": iface(
        prop(schema="dtmi:com:example:Thing:vec;1"),
        schemas=[
            {
                "@id": "dtmi:com:example:Thing:vec;1",
                "@type": "Object",
                "fields": [{"name": "x", "schema": "double"}],
            }
        ],
    ),
    "semantic type": {
        "@context": [CTX, QT],
        "@id": ID,
        "@type": "Interface",
        "contents": [{"@type": ["Telemetry", "Temperature"], "name": "t", "schema": "double", "unit": "degreeCelsius"}],
    },
    "inline component": iface(
        {
            "@type": "Component",
            "name": "c",
            "schema": {"@id": "dtmi:com:example:Part;1", "@type": "Interface", "contents": [prop()]},
        }
    ),
    "comment": iface(comment="for authors"),
}


@pytest.mark.parametrize("doc", VALID.values(), ids=VALID.keys())
def test_valid_documents_have_no_problems(doc: dict[str, Any]) -> None:
    assert validate([doc]) == []


def _qt(*contents: dict[str, Any]) -> dict[str, Any]:
    return {"@context": [CTX, QT], "@id": ID, "@type": "Interface", "contents": list(contents)}


INVALID: list[tuple[str, Any, str, str]] = [
    ("no context", {"@id": ID, "@type": "Interface"}, "", "@context"),
    ("v4 context", {"@context": "dtmi:dtdl:context;4", "@id": ID, "@type": "Interface"}, "/@context", "v2"),
    ("bad context order", {"@context": [QT, CTX], "@id": ID, "@type": "Interface"}, "/@context/1", "before"),
    (
        "unknown extension",
        {"@context": [CTX, "dtmi:dtdl:extension:historization;1"], "@id": ID, "@type": "Interface"},
        "/@context",
        "not supported",
    ),
    ("not interface", {"@context": CTX, "@id": ID, "@type": "Telemetry"}, "/@type", "Interface"),
    ("missing id", {"@context": CTX, "@type": "Interface"}, "", "@id"),
    ("bad dtmi", {"@context": CTX, "@id": "dtmi:com:example:Thing;01", "@type": "Interface"}, "/@id", "DTMI"),
    (
        "dtmi trailing underscore",
        {"@context": CTX, "@id": "dtmi:com:thing_;1", "@type": "Interface"},
        "/@id",
        "DTMI",
    ),
    ("minor zero", {"@context": CTX, "@id": "dtmi:com:thing;1.0", "@type": "Interface"}, "/@id", "DTMI"),
    ("system segment", {"@context": CTX, "@id": "dtmi:com:_x;1", "@type": "Interface"}, "/@id", "DTMI"),
    (
        "interface id too long",
        {"@context": CTX, "@id": "dtmi:com:" + "a" * 130 + ";1", "@type": "Interface"},
        "/@id",
        "128",
    ),
    (
        "reserved prefix",
        {"@context": CTX, "@id": "dtmi:dtdl:thing;1", "@type": "Interface"},
        "/@id",
        "reserved",
    ),
    ("unknown member", iface(colour="red"), "/colour", "not allowed"),
    ("unknown keyword", iface(**{"@foo": 1}), "/@foo", "keyword"),
    ("display name too long", iface(displayName="x" * 513), "/displayName", "512"),
    ("description too long", iface(description={"en": "x" * 513}), "/description/en", "512"),
    ("bad language tag", iface(displayName={"english": "x"}), "/displayName/english", "language"),
    ("comment too long", iface(comment="x" * 513), "/comment", "512"),
    ("bad name", iface(prop(name="1abc")), "/contents/0/name", "letter"),
    ("name ends underscore", iface(prop(name="abc_")), "/contents/0/name", "letter"),
    ("name too long", iface(prop(name="a" * 513)), "/contents/0/name", "512"),
    ("duplicate name", iface(prop("x"), prop("x", "string")), "/contents/1/name", "unique"),
    ("missing schema", iface({"@type": "Property", "name": "p"}), "/contents/0", "'schema'"),
    ("missing content type", iface({"name": "p", "schema": "double"}), "/contents/0", "@type"),
    ("unknown schema", iface(prop(schema="int")), "/contents/0/schema", "unknown"),
    ("v4 schema in v3", iface(prop(schema="uuid")), "/contents/0/schema", "v4"),
    ("writable not bool", iface(prop(writable="yes")), "/contents/0/writable", "boolean"),
    (
        "telemetry writable",
        iface({"@type": "Telemetry", "name": "t", "schema": "double", "writable": True}),
        "/contents/0/writable",
        "not allowed",
    ),
    (
        "min multiplicity",
        iface({"@type": "Relationship", "name": "r", "minMultiplicity": 1}),
        "/contents/0/minMultiplicity",
        "0",
    ),
    (
        "max multiplicity",
        iface({"@type": "Relationship", "name": "r", "maxMultiplicity": 0}),
        "/contents/0/maxMultiplicity",
        ">= 1",
    ),
    (
        "bad target",
        iface({"@type": "Relationship", "name": "r", "target": "room"}),
        "/contents/0/target",
        "DTMI",
    ),
    (
        "duplicate relationship property",
        iface({"@type": "Relationship", "name": "r", "properties": [prop("a"), prop("a")]}),
        "/contents/0/properties/1/name",
        "unique",
    ),
    (
        "command request without schema",
        iface({"@type": "Command", "name": "c", "request": {"name": "x"}}),
        "/contents/0/request",
        "'schema'",
    ),
    (
        "nullable is v4",
        iface({"@type": "Command", "name": "c", "request": {"name": "x", "schema": "double", "nullable": True}}),
        "/contents/0/request/nullable",
        "not allowed",
    ),
    (
        "enum value schema",
        iface(prop(schema={"@type": "Enum", "valueSchema": "double"})),
        "/contents/0/schema/valueSchema",
        "integer",
    ),
    (
        "enum value type",
        iface(
            prop(
                schema={
                    "@type": "Enum",
                    "valueSchema": "integer",
                    "enumValues": [{"name": "a", "enumValue": "x"}],
                }
            )
        ),
        "/contents/0/schema/enumValues/0/enumValue",
        "integer",
    ),
    (
        "enum duplicate value",
        iface(
            prop(
                schema={
                    "@type": "Enum",
                    "valueSchema": "integer",
                    "enumValues": [{"name": "a", "enumValue": 1}, {"name": "b", "enumValue": 1}],
                }
            )
        ),
        "/contents/0/schema/enumValues/1/enumValue",
        "unique",
    ),
    (
        "enum duplicate name",
        iface(
            prop(
                schema={
                    "@type": "Enum",
                    "valueSchema": "integer",
                    "enumValues": [{"name": "a", "enumValue": 1}, {"name": "a", "enumValue": 2}],
                }
            )
        ),
        "/contents/0/schema/enumValues/1/name",
        "unique",
    ),
    (
        "map key not string",
        iface(
            prop(
                schema={
                    "@type": "Map",
                    "mapKey": {"name": "k", "schema": "integer"},
                    "mapValue": {"name": "v", "schema": "double"},
                }
            )
        ),
        "/contents/0/schema/mapKey/schema",
        "string",
    ),
    (
        "object duplicate field",
        iface(
            prop(
                schema={
                    "@type": "Object",
                    "fields": [{"name": "x", "schema": "double"}, {"name": "x", "schema": "double"}],
                }
            )
        ),
        "/contents/0/schema/fields/1/name",
        "unique",
    ),
    (
        "array without element schema",
        iface(prop(schema={"@type": "Array"})),
        "/contents/0/schema",
        "elementSchema",
    ),
    ("schema too deep", iface(prop(schema=nest_arrays(7))), "/contents/0/schema", "5"),
    (
        "undefined schema ref",
        iface(prop(schema="dtmi:com:example:Nope;1")),
        "/contents/0/schema",
        "not defined",
    ),
    ("schemas entry without id", iface(schemas=[{"@type": "Object"}]), "/schemas/0", "@id"),
    (
        "semantic type without extension",
        iface({"@type": ["Telemetry", "Temperature"], "name": "t", "schema": "double", "unit": "degreeCelsius"}),
        "/contents/0/@type/1",
        QT,
    ),
    (
        "unit does not fit",
        _qt({"@type": ["Telemetry", "Temperature"], "name": "t", "schema": "double", "unit": "metre"}),
        "/contents/0/unit",
        "degreeCelsius",
    ),
    (
        "unknown unit",
        _qt({"@type": ["Property", "Mass"], "name": "m", "schema": "double", "unit": "stone"}),
        "/contents/0/unit",
        "not a unit",
    ),
    (
        "semantic type needs number",
        _qt({"@type": ["Telemetry", "Temperature"], "name": "t", "schema": "string"}),
        "/contents/0/schema",
        "numeric",
    ),
    (
        "unit without semantic type",
        _qt({"@type": "Telemetry", "name": "t", "schema": "double", "unit": "metre"}),
        "/contents/0/unit",
        "semantic type",
    ),
    (
        "undefined co-type",
        iface({"@type": ["Telemetry", "Flavor"], "name": "t", "schema": "double"}),
        "/contents/0/@type/1",
        "not defined",
    ),
    ("duplicate element id", iface(prop(**{"@id": ID})), "/contents/0/@id", "unique"),
    (
        "term and dtmi both",
        iface(prop(**{"dtmi:dtdl:property:name;3": "q"})),
        "/contents/0/dtmi:dtdl:property:name;3",
        "twice",
    ),
    ("undefined extends", iface(extends="dtmi:com:example:Base;1"), "/extends", "not defined"),
    (
        "extends not interface",
        iface(prop(schema={"@id": "dtmi:com:example:o;1", "@type": "Object"}), extends="dtmi:com:example:o;1"),
        "/extends",
        "Interface",
    ),
    ("self extends", iface(extends=ID), "/extends", "cycle"),
    (
        "undefined component",
        iface({"@type": "Component", "name": "c", "schema": "dtmi:com:example:Nope;1"}),
        "/contents/0/schema",
        "not defined",
    ),
    (
        "self component",
        iface({"@type": "Component", "name": "c", "schema": ID}),
        "/contents/0/schema",
        "contains",
    ),
]


@pytest.mark.parametrize(("doc", "pointer", "needle"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_documents_name_the_problem(doc: dict[str, Any], pointer: str, needle: str) -> None:
    problems = validate([copy.deepcopy(doc)])
    assert problems, "expected at least one problem"
    assert any(p.pointer == pointer and needle in p.message for p in problems), problems


def test_problem_id_is_the_top_level_document_id() -> None:
    [problem] = validate([iface(prop(name="9"))])
    assert problem.id == ID


def _base(n: int, extends: Any = None, contents: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": CTX, "@id": f"dtmi:com:example:I{n};1", "@type": "Interface"}
    if extends is not None:
        doc["extends"] = extends
    if contents:
        doc["contents"] = contents
    return doc


def test_extends_cycle_across_documents() -> None:
    problems = validate([_base(1, "dtmi:com:example:I2;1"), _base(2, "dtmi:com:example:I1;1")])
    assert any("cycle" in p.message and p.pointer == "/extends" for p in problems)


def test_extends_depth_limit_is_ten() -> None:
    chain = [_base(0)] + [_base(i, f"dtmi:com:example:I{i - 1};1") for i in range(1, 11)]
    assert validate(chain) == []
    too_deep = [*chain, _base(11, "dtmi:com:example:I10;1")]
    problems = validate(too_deep)
    assert [p.id for p in problems] == ["dtmi:com:example:I11;1"]
    assert "10" in problems[0].message


def test_inherited_name_clash_is_reported_on_the_child() -> None:
    docs = [_base(1, contents=[prop("x")]), _base(2, "dtmi:com:example:I1;1", [prop("x")])]
    problems = validate(docs)
    assert [(p.id, p.pointer) for p in problems] == [("dtmi:com:example:I2;1", "/contents/0/name")]


def test_diamond_inheritance_is_not_a_clash() -> None:
    docs = [
        _base(1, contents=[prop("x")]),
        _base(2, "dtmi:com:example:I1;1"),
        _base(3, "dtmi:com:example:I1;1"),
        _base(4, ["dtmi:com:example:I2;1", "dtmi:com:example:I3;1"]),
    ]
    models = load(docs)
    assert set(models["dtmi:com:example:I4;1"].properties) == {"x"}


def test_two_bases_with_same_name_clash() -> None:
    docs = [
        _base(1, contents=[prop("x")]),
        _base(2, contents=[prop("x")]),
        _base(3, ["dtmi:com:example:I1;1", "dtmi:com:example:I2;1"]),
    ]
    problems = validate(docs)
    assert any(p.id == "dtmi:com:example:I3;1" and p.pointer == "/extends/1" and "'x'" in p.message for p in problems)


def test_nested_components_are_rejected() -> None:
    leaf = _base(1, contents=[prop()])
    middle = _base(2, contents=[{"@type": "Component", "name": "leaf", "schema": "dtmi:com:example:I1;1"}])
    top = _base(3, contents=[{"@type": "Component", "name": "mid", "schema": "dtmi:com:example:I2;1"}])
    problems = validate([leaf, middle, top])
    assert [(p.id, p.pointer) for p in problems] == [("dtmi:com:example:I3;1", "/contents/0/schema")]
    assert "nested Components" in problems[0].message


def test_component_through_inherited_component_is_rejected() -> None:
    leaf = _base(1)
    base = _base(2, contents=[{"@type": "Component", "name": "leaf", "schema": "dtmi:com:example:I1;1"}])
    child = _base(3, "dtmi:com:example:I2;1")
    top = _base(4, contents=[{"@type": "Component", "name": "c", "schema": "dtmi:com:example:I3;1"}])
    assert any(p.id == "dtmi:com:example:I4;1" for p in validate([leaf, base, child, top]))


def test_schema_reference_to_another_interface_is_not_allowed() -> None:
    owner = _base(1)
    owner["schemas"] = [{"@id": "dtmi:com:example:I1:s;1", "@type": "Enum", "valueSchema": "string"}]
    user = _base(2, contents=[prop(schema="dtmi:com:example:I1:s;1")])
    problems = validate([owner, user])
    assert [(p.id, p.pointer) for p in problems] == [("dtmi:com:example:I2;1", "/contents/0/schema")]
    assert "same Interface" in problems[0].message


def test_multiple_documents_in_one_array_report_their_own_ids() -> None:
    problems = validate([_base(1), _base(2, contents=[prop(name="_x")])])
    assert [p.id for p in problems] == ["dtmi:com:example:I2;1"]


def test_load_raises_invalid_input_with_problems() -> None:
    with pytest.raises(InvalidInput) as caught:
        load(iface(prop(schema="nope")))
    assert caught.value.problems[0].pointer == "/contents/0/schema"


def test_extend_references_existing_and_rejects_duplicates() -> None:
    models = load(_base(1, contents=[prop("x")]))
    bigger = models.extend([_base(2, "dtmi:com:example:I1;1")])
    assert set(bigger["dtmi:com:example:I2;1"].properties) == {"x"}
    assert "dtmi:com:example:I2;1" not in models
    assert validate([_base(3, "dtmi:com:example:I1;1")], existing=models) == []
    with pytest.raises(InvalidInput) as caught:
        bigger.extend([_base(1)])
    assert "already used" in caught.value.problems[0].message


def test_without_removes_and_refuses_while_used() -> None:
    models = load([_base(1), _base(2, "dtmi:com:example:I1;1")])
    with pytest.raises(Exception, match="still used"):
        models.without("dtmi:com:example:I1;1")
    smaller = models.without("dtmi:com:example:I2;1")
    assert len(smaller) == 1
    assert smaller.descendants("dtmi:com:example:I1;1") == frozenset({"dtmi:com:example:I1;1"})
    assert smaller.extend([_base(2)]) is not None


def test_descendants_and_is_of_model() -> None:
    models = load([_base(1), _base(2, "dtmi:com:example:I1;1"), _base(3, "dtmi:com:example:I2;1")])
    assert models.descendants("dtmi:com:example:I1;1") == {f"dtmi:com:example:I{i};1" for i in (1, 2, 3)}
    assert models.is_of_model("dtmi:com:example:I3;1", "dtmi:com:example:I1;1")
    assert not models.is_of_model("dtmi:com:example:I1;1", "dtmi:com:example:I3;1")


def test_resolved_interface_exposes_elements() -> None:
    doc = _qt(
        {
            "@type": ["Property", "Temperature"],
            "name": "setPoint",
            "schema": "double",
            "unit": "kelvin",
            "writable": True,
        },
        {"@type": "Command", "name": "go", "request": {"name": "speed", "schema": "integer"}},
        {
            "@type": "Relationship",
            "name": "feeds",
            "target": "dtmi:com:example:Other;1",
            "maxMultiplicity": 3,
        },
    )
    models = ModelSet.build([doc])
    thing = models[ID]
    assert thing.properties["setPoint"].unit == "kelvin"
    assert thing.properties["setPoint"].semantic_types == ("Temperature",)
    assert thing.properties["setPoint"].writable is True
    assert thing.commands["go"].request is not None and thing.commands["go"].request.schema.kind == "integer"
    assert thing.relationships["feeds"].max_multiplicity == 3
    assert thing.relationships["feeds"].target == "dtmi:com:example:Other;1"


def test_inline_component_interface_is_registered() -> None:
    models = load(VALID["inline component"])
    assert models[ID].components["c"].schema == "dtmi:com:example:Part;1"
    assert "p" in models["dtmi:com:example:Part;1"].properties


def test_load_accepts_json_text_with_bom_and_directories(tmp_path: Any) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.json").write_text(
        "\ufeff" + '{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:com:example:A;1", "@type": "Interface"}',
        encoding="utf-8",
    )
    text = (
        '[{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:com:example:B;1", "@type": "Interface", '
        '"extends": "dtmi:com:example:A;1"}]'
    )
    models = load(tmp_path, text)
    assert set(models.interfaces) == {"dtmi:com:example:A;1", "dtmi:com:example:B;1"}
