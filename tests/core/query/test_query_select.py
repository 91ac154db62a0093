"""SELECT forms, WHERE operators and functions, against a small known graph."""

from __future__ import annotations

from typing import Any

import pytest

from futago.core.query import QueryResult, execute
from futago.core.query.planner import MAX_PUSHED_PROPERTIES

from .graph import CATALOG, SENSOR, TEMP, build

SOURCE = build()


def run(query: str, **kwargs: Any) -> QueryResult:
    return execute(query, SOURCE, CATALOG, **kwargs)


def ids(query: str) -> list[str]:
    return [row["$dtId"] for row in run(query).items]


def test_select_star_returns_twin_documents_as_is() -> None:
    items = run("SELECT * FROM DIGITALTWINS WHERE $dtId = 's1'").items
    assert items == [SOURCE.twins["s1"].to_json()]


def test_select_collection_wraps_the_twin_under_its_name() -> None:
    items = run("select T from digitaltwins T where T.$dtId in ['s2', 's1']").items
    assert items == [{"T": SOURCE.twins["s1"].to_json()}, {"T": SOURCE.twins["s2"].to_json()}]


def test_select_properties_uses_last_segment_or_alias_and_omits_missing() -> None:
    q = "SELECT T.$dtId, T.meta.vendor, T.temperature AS t FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, '%s')"
    items = run(q % SENSOR).items
    assert items == [
        {"$dtId": "s1", "vendor": "acme", "t": 21.5},
        {"$dtId": "s2", "vendor": "bolt", "t": 18.0},
        {"$dtId": "s3", "t": 25},
        {"$dtId": "s4", "t": "n/a"},
        {"$dtId": "s5"},
    ]


def test_metadata_model_and_top() -> None:
    assert run("SELECT TOP(2) T.$metadata.$model AS m FROM DIGITALTWINS T").items == [
        {"m": "dtmi:x:Building;1"},
        {"m": "dtmi:x:Building;1"},
    ]
    assert ids(f"SELECT * FROM DIGITALTWINS T WHERE T.$metadata.$model = '{TEMP}'") == ["s1", "s2", "s5"]


def test_count_returns_adt_shape() -> None:
    assert run("SELECT COUNT() FROM DIGITALTWINS").items == [{"COUNT": 11}]
    assert run(f"SELECT COUNT() FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, '{SENSOR}')").items == [{"COUNT": 5}]
    assert run("SELECT COUNT() FROM DIGITALTWINS T WHERE T.$dtId = 'nope'").items == [{"COUNT": 0}]


def test_is_of_model_inheritance_and_exact() -> None:
    assert ids(f"SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('{SENSOR}')") == ["s1", "s2", "s3", "s4", "s5"]
    assert ids(f"SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, '{SENSOR}', exact)") == ["s3", "s4"]
    assert ids(f"SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, '{TEMP}')") == ["s1", "s2", "s5"]
    assert ids("SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:x:Unknown;1')") == []


def test_model_pushdown_reaches_the_store() -> None:
    SOURCE.scans.clear()
    run(f"SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, '{SENSOR}') AND T.temperature > 20")
    assert SOURCE.scans[0].model_ids == frozenset({SENSOR, TEMP})
    SOURCE.scans.clear()
    run("SELECT * FROM DIGITALTWINS T WHERE T.$dtId = 's1' OR T.$dtId = 's2'")
    assert SOURCE.scans[0].twin_ids is None  # OR is not pushed down, but still answers correctly


def test_property_pushdown_is_bounded_and_the_rest_still_filters() -> None:
    """A chain of 1000 ANDs pushed down whole went beyond SQLite's expression depth (a 500)."""
    conditions = " AND ".join(["T.temperature > 0"] * 1000 + ["T.temperature >= 21.5"])
    SOURCE.scans.clear()
    assert ids(f"SELECT * FROM DIGITALTWINS T WHERE {conditions}") == ["s1", "s3"]
    assert len(SOURCE.scans[0].properties) == MAX_PUSHED_PROPERTIES


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("T.temperature > 20", ["s1", "s3"]),
        ("T.temperature >= 21.5", ["s1", "s3"]),
        ("T.temperature < 20", ["s2"]),
        ("T.temperature <= 18", ["s2"]),
        ("T.temperature = 25", ["s3"]),
        ("T.temperature != 25", ["s1", "s2", "s4"]),
        ("T.temperature <> 25", ["s1", "s2", "s4"]),
        ("20 < T.temperature", ["s1", "s3"]),
        ("T.temperature = 'n/a'", ["s4"]),
        ('T.unit = "C" AND T.temperature > 20', ["s1"]),
        ("T.temperature > 20 OR T.unit = 'C'", ["s1", "s2", "s3"]),
        ("NOT (T.temperature > 20)", ["s2"]),  # missing/incomparable stay undefined under NOT
        ("NOT T.temperature > 20 AND IS_NUMBER(T.temperature)", ["s2"]),
        ("(T.temperature = 25 OR T.temperature = 18) AND NOT T.$dtId = 's2'", ["s3"]),
        ("T.temperature IN [18, 25, 'n/a']", ["s2", "s3", "s4"]),
        ("T.temperature NIN [18, 25]", ["s1", "s4"]),
        ("T.temperature NOT IN [18, 25]", ["s1", "s4"]),
        ("T.meta.ok = true", ["s1"]),
        ("T.meta.ok = false", ["s2"]),
        ("T.meta.ok", ["s1"]),
        ("T.meta = {'vendor': 'acme', 'ok': true}", ["s1"]),
        ("IS_DEFINED(T.label)", ["s3"]),
        ("NOT IS_DEFINED(T.temperature)", ["s5"]),
        ("IS_NULL(T.label)", ["s3"]),
        ("IS_BOOL(T.meta.ok)", ["s1", "s2"]),
        ("IS_NUMBER(T.temperature)", ["s1", "s2", "s3"]),
        ("IS_STRING(T.temperature)", ["s4"]),
        ("IS_OBJECT(T.meta)", ["s1", "s2"]),
        ("IS_PRIMITIVE(T.label)", ["s3"]),
        ("IS_PRIMITIVE(T.meta)", []),
        ("STARTSWITH(T.meta.vendor, 'ac')", ["s1"]),
        ("ENDSWITH(T.meta.vendor, 'olt')", ["s2"]),
        ("CONTAINS(T.temperature, '/')", ["s4"]),
        ("T.$dtId >= 's4'", ["s4", "s5"]),
    ],
)
def test_where_operators(where: str, expected: list[str]) -> None:
    assert ids(f"SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, '{SENSOR}') AND ({where})") == expected


def test_keywords_are_case_insensitive_and_comments_ignored() -> None:
    q = "sElEcT t.$dtId FrOm DiGiTaLtWiNs t -- a comment\n wHeRe t.temperature > 24 aNd NoT t.$dtId = 'x'"
    assert run(q).items == [{"$dtId": "s3"}]


def test_string_escapes() -> None:
    assert ids("SELECT * FROM DIGITALTWINS T WHERE T.name IN ['Nor\\u0074h', 'it\\'s']") == ["b1"]


def test_row_shaper_sees_every_row_and_can_drop_or_rewrite() -> None:
    seen: list[dict[str, Any]] = []

    def shaper(row: dict[str, Any]) -> dict[str, Any] | None:
        seen.append(row)
        return None if row.get("$dtId") == "s2" else {"id": row["$dtId"]}

    q = f"SELECT T.$dtId FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, '{TEMP}')"
    result = run(q, shape=shaper)
    assert result.items == [{"id": "s1"}, {"id": "s5"}]
    assert seen == [{"$dtId": "s1"}, {"$dtId": "s2"}, {"$dtId": "s5"}]
    count = run(f"SELECT COUNT() FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, '{TEMP}')", shape=shaper)
    assert count.items == [{"COUNT": 2}]
