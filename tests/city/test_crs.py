"""Plane-zone choice and axis order against known places."""

from __future__ import annotations

import pytest
import shapely

from futago.city.crs import is_lat_lon, metric_transformer, parse_srs_name, plane_zone, plane_zone_epsg, to_metric


@pytest.mark.parametrize(
    ("place", "lon", "lat", "epsg"),
    [
        ("Sapporo TV tower", 141.356, 43.061, 6680),
        ("fixture 64413325", 141.44, 42.94, 6680),
        ("Hakodate", 140.73, 41.77, 6679),
        ("Otaru", 141.0, 43.19, 6679),
        ("Kushiro", 144.38, 42.98, 6681),
        ("Numazu", 138.86, 35.10, 6676),
        ("Tokyo Station", 139.767, 35.681, 6677),
        ("Shinjuku", 139.70, 35.69, 6677),
        ("Yokohama", 139.64, 35.45, 6677),
        ("Osaka", 135.50, 34.69, 6674),
        ("Nagoya", 136.91, 35.18, 6675),
        ("Kyoto", 135.77, 35.01, 6674),
        ("Kobe", 135.18, 34.69, 6673),
        ("Hiroshima", 132.46, 34.39, 6671),
        ("Matsuyama", 132.77, 33.84, 6672),
        ("Fukuoka", 130.40, 33.59, 6670),
        ("Nagasaki", 129.87, 32.75, 6669),
        ("Sendai", 140.87, 38.27, 6678),
        ("Naha", 127.68, 26.21, 6683),
        ("Ishigaki", 124.16, 24.34, 6684),
        ("Chichijima", 142.19, 27.09, 6682),
        ("Hachijojima", 139.79, 33.11, 6677),
    ],
)
def test_plane_zone(place: str, lon: float, lat: float, epsg: int) -> None:
    assert plane_zone_epsg(lon, lat) == epsg, place
    assert plane_zone(lon, lat) == epsg - 6668


def test_axis_order_and_metres() -> None:
    proj = to_metric(141.356, 43.061)
    assert proj.epsg == 6680
    x, y = proj.forward(141.356, 43.061)  # zone XII origin: 142.25E, 44N → west and south of it
    assert -80_000 < x < -65_000 and -110_000 < y < -95_000
    lon, lat = proj.inverse(x, y)
    assert abs(lon - 141.356) < 1e-9 and abs(lat - 43.061) < 1e-9
    square = shapely.box(141.356, 43.061, 141.357, 43.062)
    area = proj.project(square).area  # 0.001° × 0.001° at 43°N ≈ 81 m × 111 m
    assert 8_500 < area < 9_500
    assert shapely.equals_exact(proj.unproject(proj.project(square)), square, tolerance=1e-9)
    assert metric_transformer(141.356, 43.061).transform(141.356, 43.061) == pytest.approx((x, y))


def test_srs_names() -> None:
    assert parse_srs_name("http://www.opengis.net/def/crs/EPSG/0/6697") == "EPSG:6697"
    assert parse_srs_name("urn:ogc:def:crs:EPSG::6668") == "EPSG:6668"
    assert parse_srs_name("urn:ogc:def:crs,crs:EPSG::6668,crs:EPSG::6695") == "EPSG:6668+6695"
    assert parse_srs_name("local") is None
    assert is_lat_lon("EPSG:6697") and is_lat_lon("EPSG:6668+6695") and not is_lat_lon("EPSG:6677")
