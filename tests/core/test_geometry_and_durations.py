from __future__ import annotations

import pytest

from futago.core.errors import InvalidInput
from futago.core.geometry import check_geometry, geometry_bounds
from futago.core.telemetry import parse_duration


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("1m", 60_000_000),
        ("15min", 900_000_000),
        ("2h", 7_200_000_000),
        ("1d", 86_400_000_000),
        ("30s", 30_000_000),
        ("500ms", 500_000),
        ("PT5M", 300_000_000),
        ("P1DT1H", 90_000_000_000),
        ("1w", 604_800_000_000),
        ("90", 90_000),
    ],
)
def test_durations(text: str, micros: int) -> None:
    assert parse_duration(text) == micros


@pytest.mark.parametrize("text", ["", "fortnight", "0s", "-1m", "PT", "1y"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InvalidInput, match="duration"):
        parse_duration(text)


def test_geometry_checks_point_at_the_position() -> None:
    assert check_geometry({"type": "Point", "coordinates": [139.7671, 35.6812]}) == []
    swapped = check_geometry({"type": "Point", "coordinates": [35.6812, 139.7671]})
    assert [p.pointer for p in swapped] == ["/geometry/coordinates/1"]
    ring = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, "x"], [0, 0]]]}
    assert [p.pointer for p in check_geometry(ring)] == ["/geometry/coordinates/0/2"]
    assert check_geometry({"type": "Circle"})[0].pointer == "/geometry/type"
    assert check_geometry("POINT(1 2)")[0].pointer == "/geometry"


def test_bounds() -> None:
    polygon = {
        "type": "Polygon",
        "coordinates": [[[139.0, 35.0], [140.0, 35.5], [139.5, 36.0], [139.0, 35.0]]],
    }
    assert geometry_bounds(polygon) == (139.0, 35.0, 140.0, 36.0)
    collection = {
        "type": "GeometryCollection",
        "geometries": [polygon, {"type": "Point", "coordinates": [141, 34]}],
    }
    assert geometry_bounds(collection) == (139.0, 34.0, 141.0, 36.0)
