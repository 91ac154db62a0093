"""ARRAY_CONTAINS and EXISTS over generic attributes answer the same on every adapter, pages included.

The adapters translate exact array membership into SQL (SQLite json_each, PostgreSQL JSONB containment); the query
engine re-checks every row, so the pushed-down condition may keep extra twins but must never lose one.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from futago.core.ports import Store
from futago.core.query import execute
from futago.core.twins import PropertyFilter, Twin, TwinScan
from tests.conftest import SHARED_DATA
from tests.core.query.memory_source import Catalog

BUILDING = "dtmi:futago:city:Building;1"
REAL_BUILDINGS = SHARED_DATA / "plateau" / "64413325_bldg_6697_op.gml"
NS = {
    "gml": "http://www.opengis.net/gml",
    "bldg": "http://www.opengis.net/citygml/building/2.0",
    "gen": "http://www.opengis.net/citygml/generics/2.0",
}


def floors(i: int) -> list[dict[str, Any]]:
    """Generic attributes as the PLATEAU specification writes them: Japanese names, an int, a measure with its uom,
    and names a JSON path cannot spell plainly."""
    return [
        {"name": "総建物階数", "type": "int", "value": str(i % 6), "number": i % 6},
        {"name": "延床面積", "type": "measure", "value": f"{i * 10.5}", "number": i * 10.5, "unit": "m2"},
        {"name": 'say "建物"', "type": "string", "value": "引用"}
        if i % 4 == 0
        else {"name": "図形ID", "value": f"g{i}"},
    ]


def all_rows(store: Store, text: str, page_size: int = 3) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    token = None
    while True:
        page = execute(text, store, Catalog(), page_size=page_size, continuation=token)
        rows += page.items
        token = page.continuation
        if token is None:
            return rows


def test_array_queries_agree_with_the_engine_on_every_adapter(store: Store) -> None:
    twins = [
        Twin(f"b{i:02d}", BUILDING, {"genericAttributes": floors(i), "tags": [i % 3, str(i % 3)]}) for i in range(30)
    ]
    twins.append(Twin("flat", BUILDING, {"genericAttributes": {"name": "総建物階数", "number": 5}}))  # not an array
    twins.append(Twin("mixed", BUILDING, {"tags": [True, None, {"k": [1, 2]}, [1, 2]]}))
    store.put_twins(twins)
    select = "SELECT T.$dtId FROM DIGITALTWINS T WHERE "

    def ids(where: str) -> list[str]:
        return [row["$dtId"] for row in all_rows(store, select + where)]

    five = [f"b{i:02d}" for i in range(30) if i % 6 == 5]
    assert ids("ARRAY_CONTAINS(T.genericAttributes, {'name': '総建物階数', 'number': 5}, true)") == five
    assert ids("ARRAY_CONTAINS(T.genericAttributes, {'name': '総建物階数', 'number': 5.0}, true)") == five
    assert ids("ARRAY_CONTAINS(T.genericAttributes, {'name': '総建物階数', 'value': 5}, true)") == []  # text '5'
    assert ids("ARRAY_CONTAINS(T.genericAttributes, {'name': '総建物階数', 'number': 5})") == []  # not the whole one
    whole = "{'name': '総建物階数', 'type': 'int', 'value': '5', 'number': 5}"
    assert ids(f"ARRAY_CONTAINS(T.genericAttributes, {whole})") == five
    quoted = [f"b{i:02d}" for i in range(30) if i % 4 == 0]
    assert ids("ARRAY_CONTAINS(T.genericAttributes, {'name': 'say \"建物\"'}, true)") == quoted
    assert ids("ARRAY_CONTAINS(T.tags, 2)") == [f"b{i:02d}" for i in range(30) if i % 3 == 2]
    assert ids("ARRAY_CONTAINS(T.tags, '2')") == [f"b{i:02d}" for i in range(30) if i % 3 == 2]
    assert ids("ARRAY_CONTAINS(T.tags, true)") == ids("ARRAY_CONTAINS(T.tags, null)") == ["mixed"]
    assert ids("ARRAY_CONTAINS(T.tags, [1, 2])") == ids("ARRAY_CONTAINS(T.tags, {'k': [1, 2]})") == ["mixed"]
    assert ids("ARRAY_CONTAINS(T.tags, [1])") == ids("ARRAY_CONTAINS(T.tags, '\\u0000')") == []
    big = "EXISTS(SELECT VALUE a FROM a IN T.genericAttributes WHERE a.name = '延床面積' AND a.number > 250)"
    assert ids(big) == [f"b{i:02d}" for i in range(24, 30)]
    assert ids("ARRAY_LENGTH(T.tags) = 4") == ["mixed"]
    assert all_rows(store, "SELECT COUNT() FROM DIGITALTWINS T WHERE " + big) == [{"COUNT": 6}]


def test_pushed_down_containment_narrows_the_scan_without_losing_a_twin(store: Store) -> None:
    store.put_twins([Twin(f"b{i:02d}", BUILDING, {"genericAttributes": floors(i)}) for i in range(12)])

    def scanned(op: str, wanted: str) -> list[str]:
        scan = TwinScan(properties=(PropertyFilter(("genericAttributes",), op, wanted),))
        return [t.id for t in store.scan_twins(scan)]

    assert scanned("array_contains_partial", '{"name": "総建物階数", "number": 3}') == ["b03", "b09"]
    assert scanned("array_contains", '{"name": "総建物階数", "type": "int", "value": "3", "number": 3}') == [
        "b03",
        "b09",
    ]
    assert scanned("array_contains_partial", '{"unit": "m2", "number": 52.5}') == ["b05"]
    assert scanned("array_contains_partial", '{"name": "図形ID", "value": "g7"}') == ["b07"]


@pytest.mark.skipif(not REAL_BUILDINGS.exists(), reason=f"real PLATEAU buildings missing: {REAL_BUILDINGS}")
def test_real_plateau_generic_attributes_are_found_by_name_and_value(store: Store) -> None:
    root = ET.parse(REAL_BUILDINGS).getroot()
    twins = []
    for building in root.iter(f"{{{NS['bldg']}}}Building"):
        attributes = [
            {"name": a.get("name"), "type": "string", "value": a.findtext("gen:value", namespaces=NS)}
            for a in building.findall("gen:stringAttribute", NS)
        ]
        height = float(building.findtext("bldg:measuredHeight", namespaces=NS) or "nan")
        attributes.append({"name": "measuredHeight", "type": "measure", "value": str(height), "number": height})
        twins.append(Twin(building.get(f"{{{NS['gml']}}}id", ""), BUILDING, {"genericAttributes": attributes}))
    assert len(twins) == 25
    store.put_twins(twins)
    by_key = {a["value"]: t.id for t in twins for a in t.properties["genericAttributes"] if a["name"] == "KeyCode"}
    found = all_rows(
        store,
        "SELECT T.$dtId FROM DIGITALTWINS T WHERE ARRAY_CONTAINS(T.genericAttributes, "
        "{'name': 'KeyCode', 'value': '642328'}, true)",
    )
    assert found == [{"$dtId": by_key["642328"]}]
    tall = all_rows(
        store,
        "SELECT T.$dtId FROM DIGITALTWINS T WHERE EXISTS(SELECT VALUE a FROM a IN T.genericAttributes "
        "WHERE a.name = 'measuredHeight' AND a.number >= 20)",
    )
    expected = sorted(t.id for t in twins if t.properties["genericAttributes"][-1]["number"] >= 20)
    assert [row["$dtId"] for row in tall] == expected and 0 < len(expected) < 25
