"""Input CRSs of PLATEAU and of surveying: EPSG:6697 (lat, lon, h), 6668 (lat, lon), the plane-rectangular zones
(northing, easting) and their compounds with JGD2011 height (EPSG:10162-10174), all read to (lon, lat[, h])."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyproj import Transformer

from futago.city.citygml import iter_features
from futago.city.crs import default_dimension, is_lat_lon, parse_srs_name
from futago.city.features import CityObjectFeature

LON, LAT = 139.767, 35.681  # Tokyo Station, plane zone IX (EPSG:6677)


def _zone(srs: str, dim: str | None, positions: str) -> str:
    dimension = f' srsDimension="{dim}"' if dim else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0" xmlns:gml="http://www.opengis.net/gml"'
        ' xmlns:urf="https://www.geospatial.jp/iur/urf/3.0">\n'
        f'<gml:boundedBy><gml:Envelope srsName="{srs}"{dimension}><gml:lowerCorner>0 0</gml:lowerCorner>'
        "<gml:upperCorner>1 1</gml:upperCorner></gml:Envelope></gml:boundedBy>\n"
        '<core:cityObjectMember><urf:UseDistrict gml:id="Z"><urf:lod1MultiSurface><gml:MultiSurface><gml:surfaceMember>'
        f"<gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>{positions}</gml:posList></gml:LinearRing>"
        "</gml:exterior></gml:Polygon></gml:surfaceMember></gml:MultiSurface></urf:lod1MultiSurface>"
        "</urf:UseDistrict></core:cityObjectMember>\n</core:CityModel>\n"
    )


def _square(first: float, second: float, step: float, height: float | None) -> str:
    corners = [(0, 0), (0, step), (step, step), (step, 0), (0, 0)]
    z = "" if height is None else f" {height}"
    return " ".join(f"{first + a} {second + b}{z}" for a, b in corners)


def _read(tmp_path: Path, text: str) -> tuple[CityObjectFeature, str]:
    path = tmp_path / "zone.gml"
    path.write_text(text, encoding="utf-8")
    reader = iter_features(path)
    (zone,) = list(reader)
    assert isinstance(zone, CityObjectFeature)
    return zone, reader.crs


@pytest.mark.parametrize(
    ("srs", "dim", "height"),
    [
        ("http://www.opengis.net/def/crs/EPSG/0/6668", None, None),  # PLATEAU's 2D files as named
        ("http://www.opengis.net/def/crs/EPSG/0/6668", "2", None),
        ("http://www.opengis.net/def/crs/EPSG/0/6697", "3", 0.0),  # what those files really say: z = 0
        ("urn:ogc:def:crs:EPSG::6697", None, 12.5),
    ],
)
def test_geographic_inputs(tmp_path: Path, srs: str, dim: str | None, height: float | None) -> None:
    zone, crs = _read(tmp_path, _zone(srs, dim, _square(LAT, LON, 0.001, height)))
    assert crs == parse_srs_name(srs) and is_lat_lon(crs)
    assert zone.polygons[0][0][0] == (LON, LAT)  # swapped to (lon, lat), 2D whatever the input dimension
    assert zone.polygons[0][0][2] == pytest.approx((LON + 0.001, LAT + 0.001))


@pytest.mark.parametrize(
    ("srs", "dim", "height"),
    [
        ("http://www.opengis.net/def/crs/EPSG/0/6677", None, None),  # plane zone IX: 2D by default
        ("http://www.opengis.net/def/crs/EPSG/0/10170", None, 20.0),  # zone IX + JGD2011 height: 3D by default
        ("urn:ogc:def:crs,crs:EPSG::6677,crs:EPSG::6695", None, 20.0),  # the same as a compound URN
    ],
)
def test_plane_rectangular_inputs(tmp_path: Path, srs: str, dim: str | None, height: float | None) -> None:
    easting, northing = Transformer.from_crs("EPSG:6668", "EPSG:6677", always_xy=True).transform(LON, LAT)
    zone, crs = _read(tmp_path, _zone(srs, dim, _square(northing, easting, 100.0, height)))  # (X north, Y east)
    assert not is_lat_lon(crs)
    lon, lat = zone.polygons[0][0][0]
    assert lon == pytest.approx(LON, abs=1e-8) and lat == pytest.approx(LAT, abs=1e-8)
    lon2, lat2 = zone.polygons[0][0][2]  # 100 m north and east
    assert (lat2 - lat) * 111_000 == pytest.approx(100, rel=0.01) and lon2 > lon


def test_default_dimensions() -> None:
    assert [default_dimension(f"EPSG:{c}") for c in (6697, 6668, 6669, 6677, 6687, 10162, 10174)] == [
        3,
        2,
        2,
        2,
        2,
        3,
        3,
    ]
    assert default_dimension("EPSG:6677+6695") == 3
