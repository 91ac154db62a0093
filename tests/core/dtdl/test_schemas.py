"""Runtime value checks against schemas, with exact pointers."""

from __future__ import annotations

import pytest

from futago.core.dtdl import ArraySchema, EnumSchema, MapSchema, ObjectSchema, PrimitiveSchema

GOOD = [
    ("boolean", True),
    ("integer", 2**31 - 1),
    ("long", -(2**63)),
    ("double", 1),
    ("double", 2.5),
    ("float", 3.0e38),
    ("string", ""),
    ("date", "2024-02-29"),
    ("dateTime", "2024-05-01T13:45:00.123+09:00"),
    ("time", "13:45:00"),
    ("duration", "P1DT2H"),
    ("byte", -128),
    ("unsignedShort", 65535),
    ("uuid", "123e4567-e89b-12d3-a456-426614174000"),
    ("bytes", "aGVsbG8="),
    ("point", {"type": "Point", "coordinates": [1.0, 2.0]}),
]
BAD = [
    ("boolean", 1, "boolean"),
    ("integer", True, "integer"),
    ("integer", 2**31, "out of range"),
    ("integer", 1.5, "integer"),
    ("double", "1", "number"),
    ("double", float("nan"), "finite"),
    ("float", 1e39, "out of range"),
    ("date", "2024-02-30", "ISO 8601"),
    ("dateTime", "2024-05-01 13:45", "ISO 8601"),
    ("time", "25:00:00", "ISO 8601"),
    ("duration", "P", "ISO 8601"),
    ("unsignedByte", -1, "out of range"),
    ("uuid", "nope", "UUID"),
    ("bytes", "***", "base64"),
    ("point", {"type": "Polygon", "coordinates": []}, "Point"),
]


@pytest.mark.parametrize(("name", "value"), GOOD)
def test_primitive_accepts(name: str, value: object) -> None:
    assert PrimitiveSchema(name).check(value, "/x") == []


@pytest.mark.parametrize(("name", "value", "needle"), BAD)
def test_primitive_rejects(name: str, value: object, needle: str) -> None:
    [problem] = PrimitiveSchema(name).check(value, "/x")
    assert problem.pointer == "/x"
    assert needle in problem.message


def test_object_fields_are_optional_and_checked_with_pointers() -> None:
    schema = ObjectSchema({"x": PrimitiveSchema("double"), "tags": ArraySchema(PrimitiveSchema("string"))})
    assert schema.check({}, "/p") == []
    problems = schema.check({"x": "a", "tags": ["ok", 3], "zz": 1}, "/p")
    assert [p.pointer for p in problems] == ["/p/x", "/p/tags/1", "/p/zz"]


def test_map_keys_follow_the_name_rule() -> None:
    schema = MapSchema("string", PrimitiveSchema("integer"))
    assert schema.check({"a1": 1}, "") == []
    problems = schema.check({"1a": 1, "b/c": 2, "ok": "x"}, "/m")
    assert [p.pointer for p in problems] == ["/m/1a", "/m/b~1c", "/m/ok"]


def test_enum_accepts_only_its_values() -> None:
    schema = EnumSchema("integer", {"off": 0, "on": 1})
    assert schema.check(1, "") == []
    assert schema.check(True, "/e")[0].pointer == "/e"
    assert "not one of" in schema.check(2, "/e")[0].message
    assert schema.kind == "enum"
