"""JOIN ... RELATED: multi-hop walks, relationship aliases and their properties."""

from __future__ import annotations

from typing import Any

import pytest

from futago.core.errors import InvalidInput
from futago.core.query import execute

from .graph import CATALOG, SENSOR, build

SOURCE = build()


def rows(query: str, **kwargs: Any) -> list[dict[str, Any]]:
    return execute(query, SOURCE, CATALOG, **kwargs).items


THREE_HOPS = """
SELECT S.$dtId AS site, B.name AS building, F.level, X.$dtId AS sensor, R.weight
FROM DIGITALTWINS S
JOIN B RELATED S.contains
JOIN F RELATED B.contains
JOIN X RELATED F.contains R
WHERE S.$dtId = 'site1'
"""


def test_three_hop_join_walks_every_path_in_order() -> None:
    assert rows(THREE_HOPS) == [
        {"site": "site1", "building": "North", "level": 1, "sensor": "s1", "weight": 1},
        {"site": "site1", "building": "North", "level": 1, "sensor": "s2", "weight": 5},
        {"site": "site1", "building": "North", "level": 2, "sensor": "s3", "weight": 3},
        {"site": "site1", "building": "South", "level": 1, "sensor": "s4", "weight": 9},
    ]


def test_relationship_property_filters_and_system_properties() -> None:
    q = THREE_HOPS.replace("WHERE", "WHERE R.weight >= 3 AND R.weight < 9 AND")
    assert [r["sensor"] for r in rows(q)] == ["s2", "s3"]
    q = (
        "SELECT R.$relationshipId, R.$sourceId, R.$targetId, R.$relationshipName, Rel.since "
        "FROM DIGITALTWINS S JOIN B RELATED S.contains Rel JOIN F RELATED B.contains R "
        "WHERE S.$dtId = 'site1' AND Rel.since > 2005"
    )
    assert rows(q) == [
        {
            "$relationshipId": "r-b2-f3",
            "$sourceId": "b2",
            "$targetId": "f3",
            "$relationshipName": "contains",
            "since": 2010,
        }
    ]


def test_projecting_several_collections() -> None:
    q = "SELECT B, R, F FROM DIGITALTWINS B JOIN F RELATED B.contains R WHERE B.$dtId = 'b2'"
    assert rows(q) == [
        {
            "B": SOURCE.twins["b2"].to_json(),
            "R": SOURCE.rels["b2"][0].to_json(),
            "F": SOURCE.twins["f3"].to_json(),
        }
    ]


def test_filters_on_joined_twins_and_their_models() -> None:
    q = (
        "SELECT X.$dtId FROM DIGITALTWINS F JOIN X RELATED F.contains "
        f"WHERE IS_OF_MODEL(X, '{SENSOR}', exact) AND X.temperature > 0"
    )
    assert rows(q) == [{"$dtId": "s3"}]


def test_relationship_name_is_respected_and_dangling_targets_skipped() -> None:
    q = "SELECT X.$dtId FROM DIGITALTWINS F JOIN X RELATED F.feeds WHERE F.$dtId IN ['f1', 'f3']"
    assert rows(q) == [{"$dtId": "s5"}]
    q = "SELECT X.$dtId FROM DIGITALTWINS B JOIN X RELATED B.contains WHERE B.$dtId = 'b1'"
    assert rows(q) == [{"$dtId": "f1"}, {"$dtId": "f2"}]  # the relationship to 'missing-twin' is dropped


def test_count_with_join_counts_rows() -> None:
    q = "SELECT COUNT() FROM DIGITALTWINS S JOIN B RELATED S.contains JOIN F RELATED B.contains"
    assert rows(q + " WHERE S.$dtId = 'site1'") == [{"COUNT": 3}]
    assert rows(q) == [{"COUNT": 7}]  # buildings are roots too: b1->f1->s1,s2; b1->f2->s3; b2->f3->s4


def test_join_rows_page_inside_one_root() -> None:
    q = THREE_HOPS
    first = execute(q, SOURCE, CATALOG, page_size=3)
    assert [r["sensor"] for r in first.items] == ["s1", "s2", "s3"]
    assert first.continuation is not None
    second = execute(q, SOURCE, CATALOG, page_size=3, continuation=first.continuation)
    assert [r["sensor"] for r in second.items] == ["s4"]
    assert second.continuation is None


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM DIGITALTWINS T JOIN X RELATED T.contains",
        "SELECT X FROM DIGITALTWINS T JOIN X RELATED Y.contains",
        "SELECT X FROM DIGITALTWINS T JOIN T RELATED T.contains",
        "SELECT X FROM DIGITALTWINS JOIN X RELATED T.contains",
        "SELECT X FROM DIGITALTWINS T JOIN X RELATED T.contains WHERE IS_OF_MODEL('dtmi:a;1')",
        "SELECT X FROM DIGITALTWINS T JOIN X RELATED T.contains R WHERE IS_OF_MODEL(R, 'dtmi:a;1')",
    ],
)
def test_invalid_joins(query: str) -> None:
    with pytest.raises(InvalidInput) as info:
        execute(query, SOURCE, CATALOG)
    assert info.value.problems[0].pointer == "/query"
    assert " at line 1 column " in info.value.problems[0].message
