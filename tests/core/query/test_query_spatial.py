"""ST_WITHIN and ST_DISTANCE, with known coordinates and the bbox pushed to the store."""

from __future__ import annotations

import pytest

from futago.core.errors import InvalidInput
from futago.core.query import execute
from futago.core.query.spatial import circle_bbox, haversine_m
from futago.core.twins import Twin

from .memory_source import Catalog, MemorySource

TOKYO = (139.7671, 35.6812)
SHINJUKU = (139.7005, 35.6896)


def pt(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def square(lon: float, lat: float, half: float) -> dict:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


SOURCE = MemorySource(
    [
        Twin("tokyo", "dtmi:x:Station;1", {}, pt(*TOKYO)),
        Twin("shinjuku", "dtmi:x:Station;1", {}, pt(*SHINJUKU)),
        Twin("osaka", "dtmi:x:Station;1", {}, pt(135.4959, 34.7025)),
        # the Imperial Palace area, roughly: a polygon ~1.1 km east-west
        Twin("park", "dtmi:x:Area;1", {}, square(139.7528, 35.6852, 0.005)),
        Twin("nogeo", "dtmi:x:Station;1", {}),
        Twin("broken", "dtmi:x:Station;1", {}, {"type": "Point", "coordinates": "x"}),
    ]
)
CATALOG = Catalog()


def ids(query: str) -> list[str]:
    return [r["$dtId"] for r in execute(query, SOURCE, CATALOG).items]


def test_haversine_tokyo_shinjuku_is_about_six_km() -> None:
    d = haversine_m(*TOKYO, *SHINJUKU)
    assert 6000 < d < 6150
    assert haversine_m(*TOKYO, *TOKYO) == 0


def test_st_distance_thresholds_and_pushdown_bbox() -> None:
    near = f"SELECT * FROM DIGITALTWINS T WHERE ST_DISTANCE(T.geometry, [{TOKYO[0]}, {TOKYO[1]}]) < 6000"
    SOURCE.scans.clear()
    assert ids(near) == ["park", "tokyo"]
    bbox = SOURCE.scans[0].bbox
    assert bbox is not None and bbox[0] < TOKYO[0] < bbox[2] and bbox[1] < TOKYO[1] < bbox[3]
    assert bbox[0] > SHINJUKU[0]  # the 6 km box around Tokyo Station stops short of Shinjuku
    far = near.replace("< 6000", "<= 6200")
    assert ids(far) == ["park", "shinjuku", "tokyo"]
    geo = '{"type": "Point", "coordinates": [139.7671, 35.6812]}'
    assert ids(f"SELECT * FROM DIGITALTWINS T WHERE ST_DISTANCE(T.geometry, {geo}) > 6200") == ["osaka"]
    assert ids(f"SELECT * FROM DIGITALTWINS T WHERE 100 > ST_DISTANCE(T.geometry, {geo})") == ["tokyo"]


def test_st_distance_to_polygon_uses_the_nearest_point() -> None:
    q = "SELECT T.$dtId, ST_DISTANCE(T.geometry, [139.7671, 35.6812]) < 1000 AS near FROM DIGITALTWINS T"
    with pytest.raises(InvalidInput):  # projections are paths, not expressions
        execute(q, SOURCE, CATALOG)
    # the park's east edge is at lon 139.7578, about 840 m west of the point; Tokyo Station is ~980 m away
    assert ids("SELECT * FROM DIGITALTWINS T WHERE ST_DISTANCE(T.geometry, [139.7671, 35.6900]) < 850") == ["park"]
    assert ids("SELECT * FROM DIGITALTWINS T WHERE ST_DISTANCE(T.geometry, [139.7671, 35.6900]) < 830") == []
    assert ids("SELECT * FROM DIGITALTWINS T WHERE ST_DISTANCE(T.geometry, [139.7528, 35.6852]) = 0") == ["park"]


def test_st_within_bbox_and_polygon() -> None:
    tokyo_box = "[139.6, 35.6, 139.8, 35.75]"
    SOURCE.scans.clear()
    assert ids(f"SELECT * FROM DIGITALTWINS T WHERE ST_WITHIN(T.geometry, {tokyo_box})") == [
        "park",
        "shinjuku",
        "tokyo",
    ]
    assert SOURCE.scans[0].bbox == (139.6, 35.6, 139.8, 35.75)
    east = (
        '{"type": "Polygon", "coordinates": [[[139.72, 35.6], [139.8, 35.6], [139.8, 35.7], '
        "[139.72, 35.7], [139.72, 35.6]]]}"
    )
    assert ids(f"SELECT * FROM DIGITALTWINS T WHERE ST_WITHIN(T.geometry, {east})") == ["park", "tokyo"]
    outside = f"SELECT * FROM DIGITALTWINS T WHERE NOT ST_WITHIN(T.geometry, {tokyo_box})"
    assert ids(outside) == ["osaka"]  # a missing or malformed geometry is undefined, even under NOT


def test_two_spatial_filters_intersect_their_boxes() -> None:
    q = (
        "SELECT * FROM DIGITALTWINS T WHERE ST_WITHIN(T.geometry, [139.6, 35.6, 139.8, 35.75]) "
        "AND ST_WITHIN(T.geometry, [140, 35, 141, 36])"
    )
    assert ids(q) == []


def test_circle_bbox_contains_the_circle() -> None:
    for lat in (0.0, 35.0, 60.0, -45.0):
        box = circle_bbox(10.0, lat, 5000)
        for lon, lat2 in ((box[0], lat), (box[2], lat), (10.0, box[1]), (10.0, box[3])):
            assert haversine_m(10.0, lat, lon, lat2) >= 4999.9
    assert circle_bbox(179.99, 0.0, 5000)[0] == -180.0
    assert circle_bbox(0.0, 89.99, 5000) == (-180.0, circle_bbox(0.0, 89.99, 5000)[1], 180.0, 90.0)


@pytest.mark.parametrize(
    "arg",
    [
        "[1, 2, 3]",
        "[2, 2, 1, 1]",
        '{"type": "Point", "coordinates": [1, 2]}',
        "T.geometry",
        "[200, 0, 201, 1]",
    ],
)
def test_st_within_rejects_bad_regions(arg: str) -> None:
    with pytest.raises(InvalidInput) as info:
        execute(f"SELECT * FROM DIGITALTWINS T WHERE ST_WITHIN(T.geometry, {arg})", SOURCE, CATALOG)
    assert "at line 1 column" in info.value.problems[0].message


def test_st_distance_rejects_bad_points() -> None:
    with pytest.raises(InvalidInput):
        execute("SELECT * FROM DIGITALTWINS T WHERE ST_DISTANCE(T.geometry, [1]) < 5", SOURCE, CATALOG)
