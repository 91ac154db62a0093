"""Looking inside arrays: ARRAY_CONTAINS (Cosmos DB semantics), ARRAY_LENGTH and EXISTS over an array's elements.

The twins carry PLATEAU generic attributes as futago's city layer keeps them: a list of
{name, type, value, number, unit} objects whose names are in any script.
"""

from __future__ import annotations

from typing import Any

import pytest

from futago.core.errors import InvalidInput
from futago.core.query import execute, parse
from futago.core.query.planner import make_plan
from futago.core.twins import PropertyFilter, Twin

from .memory_source import Catalog, MemorySource

BUILDING = "dtmi:futago:city:Building;1"


def attribute(name: str, kind: str, value: str, number: float | None = None, unit: str | None = None) -> dict:
    item: dict[str, Any] = {"name": name, "type": kind, "value": value}
    if number is not None:
        item["number"] = number
    if unit is not None:
        item["unit"] = unit
    return item


def twins() -> list[Twin]:
    return [
        Twin(
            "bldg_a",
            BUILDING,
            {
                "genericAttributes": [
                    attribute("総建物階数", "int", "5", 5),
                    attribute("図形ID", "string", "13101-bldg-2738"),
                    attribute("延床面積", "measure", "1520.5", 1520.5, "m2"),
                ],
                "tags": ["耐火", 3, True, None],
            },
        ),
        Twin("bldg_b", BUILDING, {"genericAttributes": [attribute("総建物階数", "int", "2", 2)], "tags": ["3"]}),
        Twin("bldg_c", BUILDING, {"genericAttributes": [attribute("KeyCode", "string", "642328")], "tags": []}),
        Twin("bldg_d", BUILDING, {"genericAttributes": {"総建物階数": 7}, "tags": "耐火"}),  # not arrays
        Twin("bldg_e", BUILDING, {}),
    ]


SOURCE = MemorySource(twins())
CATALOG = Catalog()


def ids(where: str, **kwargs: Any) -> list[str]:
    rows = execute(f"SELECT T.$dtId FROM DIGITALTWINS T WHERE {where}", SOURCE, CATALOG, **kwargs).items
    return [row["$dtId"] for row in rows]


def error_of(text: str) -> str:
    with pytest.raises(InvalidInput) as info:
        parse(text)
    assert info.value.problems[0].pointer == "/query"
    return info.value.problems[0].message


def test_array_contains_partial_object_matches_elements_with_those_members() -> None:
    assert ids("ARRAY_CONTAINS(T.genericAttributes, {'name': '総建物階数'}, true)") == ["bldg_a", "bldg_b"]
    assert ids('ARRAY_CONTAINS(T.genericAttributes, {"name": "総建物階数", "value": "5"}, true)') == ["bldg_a"]
    assert ids('ARRAY_CONTAINS(T.genericAttributes, {"name": "総建物階数", "number": 5.0}, true)') == ["bldg_a"]
    assert ids('ARRAY_CONTAINS(T.genericAttributes, {"name": "総建物階数", "number": "5"}, true)') == []


def test_array_contains_without_partial_needs_the_whole_element() -> None:
    assert ids("ARRAY_CONTAINS(T.genericAttributes, {'name': '総建物階数'})") == []
    assert ids("ARRAY_CONTAINS(T.genericAttributes, {'name': '総建物階数'}, false)") == []
    whole = '{"name": "図形ID", "type": "string", "value": "13101-bldg-2738"}'
    assert ids(f"ARRAY_CONTAINS(T.genericAttributes, {whole})") == ["bldg_a"]


def test_array_contains_scalars_keep_their_json_type() -> None:
    assert ids("ARRAY_CONTAINS(T.tags, '耐火')") == ["bldg_a"]  # bldg_d's string is not an array
    assert ids("ARRAY_CONTAINS(T.tags, 3)") == ["bldg_a"]  # the string '3' of bldg_b is not the number 3
    assert ids("ARRAY_CONTAINS(T.tags, '3')") == ["bldg_b"]
    assert ids("ARRAY_CONTAINS(T.tags, true)") == ["bldg_a"]
    assert ids("ARRAY_CONTAINS(T.tags, null)") == ["bldg_a"]
    assert ids("ARRAY_CONTAINS(['耐火', 'x'], T.tags)") == ["bldg_d"]


def test_array_contains_on_a_missing_or_non_array_value_is_undefined() -> None:
    # NOT keeps undefined undefined, so twins without an array never come back either way
    assert ids("NOT ARRAY_CONTAINS(T.tags, '耐火')") == ["bldg_b", "bldg_c"]
    assert ids("IS_NULL(ARRAY_CONTAINS(T.nothing, 1))") == []


def test_array_length_compares_as_a_number() -> None:
    assert ids("ARRAY_LENGTH(T.genericAttributes) = 3") == ["bldg_a"]
    assert ids("ARRAY_LENGTH(T.tags) < 2") == ["bldg_b", "bldg_c"]
    assert ids("ARRAY_LENGTH(T.tags) >= 0") == ["bldg_a", "bldg_b", "bldg_c"]  # bldg_d: a string has no length


def test_exists_compares_a_number_inside_one_element() -> None:
    floors = "EXISTS(SELECT VALUE a FROM a IN T.genericAttributes WHERE a.name = '総建物階数' AND a.number >= {})"
    assert ids(floors.format(3)) == ["bldg_a"]
    assert ids(floors.format(2)) == ["bldg_a", "bldg_b"]
    # both conditions must hold for the same element: 延床面積 is over 1000 but is not 総建物階数
    assert ids(floors.format(1000)) == []
    assert ids("EXISTS(SELECT VALUE a FROM a IN T.genericAttributes WHERE a.unit = 'm2')") == ["bldg_a"]
    assert ids("EXISTS(select value t from t in T.tags where t = 3 or t = '3')") == ["bldg_a", "bldg_b"]
    assert ids("EXISTS(SELECT VALUE t FROM t IN T.tags)") == ["bldg_a", "bldg_b"]  # non-empty arrays


def test_not_exists_is_true_without_the_array_as_in_cosmos_db() -> None:
    assert ids("NOT EXISTS(SELECT VALUE a FROM a IN T.genericAttributes WHERE a.number > 1)") == [
        "bldg_c",
        "bldg_d",
        "bldg_e",
    ]


def test_exists_nests_and_reads_joined_collections() -> None:
    parts = [{"name": "roof", "surfaces": [{"kind": "RoofSurface", "area": 40}]}, {"name": "wall", "surfaces": []}]
    source = MemorySource(
        [
            Twin("b", BUILDING, {"parts": parts, "wanted": "RoofSurface"}),
            Twin("z", "dtmi:x:Zone;1", {"kinds": ["RoofSurface", "WallSurface"]}),
        ],
    )
    nested = (
        "SELECT T.$dtId FROM DIGITALTWINS T WHERE EXISTS(SELECT VALUE p FROM p IN T.parts WHERE "
        "EXISTS(SELECT VALUE s FROM s IN p.surfaces WHERE s.kind = T.wanted AND s.area > 30))"
    )
    assert execute(nested, source, CATALOG).items == [{"$dtId": "b"}]
    # without an alias the element's name shadows a property of the same name
    bare = (
        "SELECT $dtId FROM DIGITALTWINS "
        "WHERE EXISTS(SELECT VALUE kinds FROM kinds IN kinds WHERE kinds = 'WallSurface')"
    )
    assert execute(bare, source, CATALOG).items == [{"$dtId": "z"}]


def test_exact_values_are_pushed_down_as_containment() -> None:
    def pushed(where: str) -> tuple[PropertyFilter, ...]:
        return make_plan(parse(f"SELECT T FROM DIGITALTWINS T WHERE {where}"), CATALOG).scan.properties

    assert pushed("ARRAY_CONTAINS(T.genericAttributes, {'name': '総建物階数'}, true)") == (
        PropertyFilter(("genericAttributes",), "array_contains_partial", '{"name": "総建物階数"}'),
    )
    assert pushed("ARRAY_CONTAINS(T.tags, 3)") == (PropertyFilter(("tags",), "array_contains", "3"),)
    exists = "EXISTS(SELECT VALUE a FROM a IN T.genericAttributes WHERE a.name = '図形ID' AND a.number > 3)"
    assert pushed(exists) == (PropertyFilter(("genericAttributes",), "array_contains_partial", '{"name": "図形ID"}'),)
    # nothing that could lose a row: OR, NOT, non-literal values, inequalities only
    assert pushed("ARRAY_CONTAINS(T.tags, 3) OR T.x = 1") == ()
    assert pushed("NOT ARRAY_CONTAINS(T.tags, 3)") == ()
    assert pushed("ARRAY_CONTAINS(T.tags, T.x)") == ()
    assert pushed("EXISTS(SELECT VALUE a FROM a IN T.genericAttributes WHERE a.number > 3)") == ()


def test_paging_delivers_every_match_once() -> None:
    many = [
        Twin(f"bldg_{i:03d}", BUILDING, {"genericAttributes": [attribute("総建物階数", "int", str(i % 7), i % 7)]})
        for i in range(120)
    ]
    source = MemorySource(many)
    text = (
        "SELECT T.$dtId FROM DIGITALTWINS T WHERE "
        "EXISTS(SELECT VALUE a FROM a IN T.genericAttributes WHERE a.name = '総建物階数' AND a.number >= 5)"
    )
    seen: list[str] = []
    token = None
    while True:
        page = execute(text, source, CATALOG, page_size=7, continuation=token)
        seen += [row["$dtId"] for row in page.items]
        token = page.continuation
        if token is None:
            break
    assert seen == [f"bldg_{i:03d}" for i in range(120) if i % 7 >= 5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ARRAY_CONTAINS(T.a, 1, 'yes')", "ARRAY_CONTAINS argument 3 at line 1 column 59: expected true or false"),
        ("ARRAY_CONTAINS(T.a)", "ARRAY_CONTAINS with 1 argument(s) at line 1 column 36: expected 2 or 3"),
        ("ARRAY_LENGTH(T.a, 1) > 0", "ARRAY_LENGTH with 2 argument(s) at line 1 column 36: expected 1"),
        ("EXISTS(SELECT a FROM a IN T.x)", "unexpected 'a' at line 1 column 50: expected SELECT VALUE <name>"),
        ("EXISTS(SELECT VALUE a FROM b IN T.x)", "unexpected 'b' at line 1 column 63: expected a (the name after"),
        ("EXISTS(SELECT VALUE T FROM T IN T.x)", "name 'T' declared twice at line 1 column 36"),
        ("EXISTS(SELECT VALUE a FROM a IN T.x WHERE a.y = 1", "unexpected end of query at line 1 column 85"),
        ("EXISTS(SELECT VALUE a FROM a IN T.x) AND a.y = 1", "unknown collection 'a' at line 1 column 77"),
        ("EXISTS(SELECT VALUE a FROM a IN a.x)", "unknown collection 'a' at line 1 column 68"),
        ("ARRAY_CONTAINS(T.a, {'k': 1,})", "unexpected '}' at line 1 column 64: expected a quoted member name"),
    ],
)
def test_bad_array_queries_say_where_and_what_was_expected(text: str, expected: str) -> None:
    assert error_of(f"SELECT T FROM DIGITALTWINS T WHERE {text}").startswith(expected)


def test_nested_exists_is_bounded_like_every_other_nesting() -> None:
    inner = "a0.x = 1"
    for depth in range(45):
        inner = f"EXISTS(SELECT VALUE a{depth + 1} FROM a{depth + 1} IN T.x WHERE {inner})"
    assert "nesting too deep" in error_of(f"SELECT T FROM DIGITALTWINS T WHERE {inner}")


def test_escaped_utf16_pairs_decode_and_lone_surrogates_are_refused() -> None:
    source = MemorySource([Twin("smile", BUILDING, {"tags": ["😀", "総"]})])
    text = "SELECT T.$dtId FROM DIGITALTWINS T WHERE ARRAY_CONTAINS(T.tags, '\\ud83d\\ude00')"
    assert execute(text, source, CATALOG).items == [{"$dtId": "smile"}]
    message = error_of("SELECT T FROM DIGITALTWINS T WHERE ARRAY_CONTAINS(T.tags, '\\ud800')")
    assert message == "string with a lone UTF-16 surrogate at line 1 column 59: expected valid Unicode text"
    assert "lone UTF-16 surrogate" in error_of("SELECT T FROM DIGITALTWINS T WHERE T.name = '\udc00'")
