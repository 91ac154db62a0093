"""The posList fast path of ParseContext gives what the general path gives."""

from __future__ import annotations

from lxml import etree

from futago.city.citygml.geometry import ParseContext

_GML = "http://www.opengis.net/gml"


def _surface(body: str) -> etree._Element:
    return etree.fromstring(f'<r xmlns:gml="{_GML}"><gml:MultiSurface>{body}</gml:MultiSurface></r>')


def test_posList_3d_is_swapped_and_holes_kept() -> None:
    ring = "<gml:LinearRing><gml:posList>{}</gml:posList></gml:LinearRing>"
    outer = ring.format("35 139 1 35 140 2 36 140 3 35 139 1")
    inner = ring.format("35.1 139.1 4 35.1 139.2 5 35.2 139.2 6 35.1 139.1 4")
    root = _surface(
        f"<gml:surfaceMember><gml:Polygon><gml:exterior>{outer}</gml:exterior></gml:Polygon></gml:surfaceMember>"
        f"<gml:surfaceMember><gml:Polygon><gml:exterior>{outer}</gml:exterior>"
        f"<gml:interior>{inner}</gml:interior></gml:Polygon></gml:surfaceMember>"
    )
    polys = ParseContext(file="t").polygons(root)
    assert polys[0] == [[(139.0, 35.0, 1.0), (140.0, 35.0, 2.0), (140.0, 36.0, 3.0), (139.0, 35.0, 1.0)]]
    assert polys[1][0] == polys[0][0]
    assert polys[1][1][0] == (139.1, 35.1, 4.0)


def test_posList_2d_dimension_attribute_still_honoured() -> None:
    root = _surface(
        "<gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>"
        '<gml:posList srsDimension="2">35 139 35 140 36 140 35 139</gml:posList>'
        "</gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>"
    )
    assert ParseContext(file="t").polygons(root) == [[[(139.0, 35.0), (140.0, 35.0), (140.0, 36.0), (139.0, 35.0)]]]


def test_labels_are_cached_per_code_space_and_text() -> None:
    ctx = ParseContext(file="t")
    elem = etree.fromstring('<c codeSpace="x.xml"> 3002 </c>')
    assert ctx.label(elem) == ("3002", "3002")
    assert ctx.label(elem) == ("3002", "3002")
    assert ctx.label(etree.fromstring("<c>  </c>")) == (None, None)
