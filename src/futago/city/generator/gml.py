"""CityGML 2.0 + i-UR text as PLATEAU writes it: the same root namespaces and schemaLocation, tab
indentation, EPSG:6697 envelopes, and posLists in latitude-longitude-height order.

Strings, not a DOM: a building is a few f-strings, which is what makes a million of them feasible.
"""

from __future__ import annotations

from collections.abc import Sequence

SRS = "http://www.opengis.net/def/crs/EPSG/0/6697"

_NAMESPACES = (
    ("grp", "http://www.opengis.net/citygml/cityobjectgroup/2.0"),
    ("core", "http://www.opengis.net/citygml/2.0"),
    ("xsi", "http://www.w3.org/2001/XMLSchema-instance"),
    ("smil20lang", "http://www.w3.org/2001/SMIL20/Language"),
    ("pbase", "http://www.opengis.net/citygml/profiles/base/2.0"),
    ("smil20", "http://www.w3.org/2001/SMIL20/"),
    ("bldg", "http://www.opengis.net/citygml/building/2.0"),
    ("uro", "https://www.geospatial.jp/iur/uro/{v}"),
    ("xAL", "urn:oasis:names:tc:ciq:xsdschema:xAL:2.0"),
    ("luse", "http://www.opengis.net/citygml/landuse/2.0"),
    ("urf", "https://www.geospatial.jp/iur/urf/{v}"),
    ("app", "http://www.opengis.net/citygml/appearance/2.0"),
    ("gen", "http://www.opengis.net/citygml/generics/2.0"),
    ("dem", "http://www.opengis.net/citygml/relief/2.0"),
    ("tex", "http://www.opengis.net/citygml/texturedsurface/2.0"),
    ("xlink", "http://www.w3.org/1999/xlink"),
    ("tun", "http://www.opengis.net/citygml/tunnel/2.0"),
    ("veg", "http://www.opengis.net/citygml/vegetation/2.0"),
    ("sch", "http://www.ascc.net/xml/schematron"),
    ("frn", "http://www.opengis.net/citygml/cityfurniture/2.0"),
    ("gml", "http://www.opengis.net/gml"),
    ("tran", "http://www.opengis.net/citygml/transportation/2.0"),
    ("wtr", "http://www.opengis.net/citygml/waterbody/2.0"),
    ("brid", "http://www.opengis.net/citygml/bridge/2.0"),
)

_SCHEMAS = (
    ("https://www.geospatial.jp/iur/uro/{v}", "{up}schemas/iur/uro/{v}/urbanObject.xsd"),
    ("https://www.geospatial.jp/iur/urf/{v}", "{up}schemas/iur/urf/{v}/urbanFunction.xsd"),
    ("http://www.opengis.net/citygml/2.0", "http://schemas.opengis.net/citygml/2.0/cityGMLBase.xsd"),
    ("http://www.opengis.net/citygml/landuse/2.0", "http://schemas.opengis.net/citygml/landuse/2.0/landUse.xsd"),
    ("http://www.opengis.net/citygml/building/2.0", "http://schemas.opengis.net/citygml/building/2.0/building.xsd"),
    (
        "http://www.opengis.net/citygml/transportation/2.0",
        "http://schemas.opengis.net/citygml/transportation/2.0/transportation.xsd",
    ),
    ("http://www.opengis.net/citygml/generics/2.0", "http://schemas.opengis.net/citygml/generics/2.0/generics.xsd"),
    ("http://www.opengis.net/citygml/waterbody/2.0", "http://schemas.opengis.net/citygml/waterbody/2.0/waterBody.xsd"),
    ("http://www.opengis.net/citygml/relief/2.0", "http://schemas.opengis.net/citygml/relief/2.0/relief.xsd"),
    (
        "http://www.opengis.net/citygml/cityobjectgroup/2.0",
        "http://schemas.opengis.net/citygml/cityobjectgroup/2.0/cityObjectGroup.xsd",
    ),
    ("http://www.opengis.net/gml", "http://schemas.opengis.net/gml/3.1.1/base/gml.xsd"),
    (
        "http://www.opengis.net/citygml/appearance/2.0",
        "http://schemas.opengis.net/citygml/appearance/2.0/appearance.xsd",
    ),
)


def header(uro_version: str, up: str, envelope: tuple[float, float, float, float, float, float]) -> str:
    """XML declaration, the CityModel start tag and its gml:boundedBy.

    ``up`` is the relative path from the file's folder to the dataset root (``../../`` for
    udx/bldg), used by schemaLocation exactly as codeSpace uses it for codelists.
    ``envelope`` is (min_lat, min_lon, min_h, max_lat, max_lon, max_h).
    """
    xmlns = " ".join(f'xmlns:{p}="{uri.format(v=uro_version)}"' for p, uri in _NAMESPACES)
    location = "  ".join(f"{ns.format(v=uro_version)}  {loc.format(v=uro_version, up=up)}" for ns, loc in _SCHEMAS)
    lo = f"{envelope[0]!r} {envelope[1]!r} {envelope[2]!r}"
    hi = f"{envelope[3]!r} {envelope[4]!r} {envelope[5]!r}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<core:CityModel {xmlns} xsi:schemaLocation="{location}">\n'
        "\t<gml:boundedBy>\n"
        f'\t\t<gml:Envelope srsName="{SRS}" srsDimension="3">\n'
        f"\t\t\t<gml:lowerCorner>{lo}</gml:lowerCorner>\n"
        f"\t\t\t<gml:upperCorner>{hi}</gml:upperCorner>\n"
        "\t\t</gml:Envelope>\n"
        "\t</gml:boundedBy>\n"
    )


FOOTER = "</core:CityModel>\n"


def pos_list(points: Sequence[str]) -> str:
    """``points`` are pre-formatted 'lat lon h' triples; the ring is closed here."""
    return " ".join(points) + " " + points[0]


def polygon(indent: str, points: Sequence[str], gml_id: str | None = None) -> str:
    """A gml:surfaceMember holding one Polygon, its lines indented by ``indent``."""
    ident = f' gml:id="{gml_id}"' if gml_id else ""
    return (
        f"{indent}<gml:surfaceMember>\n"
        f"{indent}\t<gml:Polygon{ident}>\n"
        f"{indent}\t\t<gml:exterior>\n"
        f"{indent}\t\t\t<gml:LinearRing>\n"
        f"{indent}\t\t\t\t<gml:posList>{pos_list(points)}</gml:posList>\n"
        f"{indent}\t\t\t</gml:LinearRing>\n"
        f"{indent}\t\t</gml:exterior>\n"
        f"{indent}\t</gml:Polygon>\n"
        f"{indent}</gml:surfaceMember>\n"
    )


def multi_surface(indent: str, element: str, rings: Sequence[Sequence[str]]) -> str:
    """``<element><gml:MultiSurface>`` with one surfaceMember per ring."""
    inner = "".join(polygon(indent + "\t\t", ring) for ring in rings)
    return (
        f"{indent}<{element}>\n{indent}\t<gml:MultiSurface>\n{inner}"
        f"{indent}\t</gml:MultiSurface>\n{indent}</{element}>\n"
    )


def member(body: str) -> str:
    return f"\t<core:cityObjectMember>\n{body}\t</core:cityObjectMember>\n"


def code(indent: str, element: str, codelist: str, value: str | int, up: str) -> str:
    return f'{indent}<{element} codeSpace="{up}codelists/{codelist}.xml">{value}</{element}>\n'
