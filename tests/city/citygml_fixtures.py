"""Paths to the real PLATEAU files, and small CityGML documents the reader tests write themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

PLATEAU = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "plateau"
BLDG = "64413325_bldg_6697_op.gml"
FLD = "52385721_fld_6697_l1_op.gml"
TNM = "523855_tnm_6697_op.gml"


def plateau_dir() -> Path:
    """The fixture folder, or a skip that says where it was looked for."""
    if not (PLATEAU / BLDG).is_file():
        pytest.skip(f"real PLATEAU fixtures not found at {PLATEAU.resolve()} (../shared/data/plateau)")
    return PLATEAU


HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0" xmlns:gml="http://www.opengis.net/gml"'
    ' xmlns:bldg="http://www.opengis.net/citygml/building/2.0" xmlns:gen="http://www.opengis.net/citygml/generics/2.0"'
    ' xmlns:uro="{uro}" xmlns:xlink="http://www.w3.org/1999/xlink"'
    ' xmlns:dem="http://www.opengis.net/citygml/relief/2.0"'
    ' xmlns:tran="http://www.opengis.net/citygml/transportation/2.0">\n'
    '<gml:boundedBy><gml:Envelope srsName="http://www.opengis.net/def/crs/EPSG/0/6697" srsDimension="3">'
    "<gml:lowerCorner>35.0 139.0 0</gml:lowerCorner><gml:upperCorner>35.1 139.1 50</gml:upperCorner>"
    "</gml:Envelope></gml:boundedBy>\n"
)
TAIL = "</core:CityModel>\n"


def ring(lat: float, lon: float, z: float, d: float = 0.0001) -> str:
    pts = [(lat, lon), (lat, lon + d), (lat + d, lon + d), (lat + d, lon), (lat, lon)]
    return " ".join(f"{a} {b} {z}" for a, b in pts)


def polygon(text: str, gid: str = "") -> str:
    attr = f' gml:id="{gid}"' if gid else ""
    return (
        f"<gml:surfaceMember><gml:Polygon{attr}><gml:exterior><gml:LinearRing><gml:posList>{text}"
        "</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>"
    )
