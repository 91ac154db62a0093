"""Spec editions without a real file at hand, written here: i-UR 3.x generic attributes with Japanese names,
LOD3 openings, building installations, i-UR 1.4 (kantei.go.jp) urf, roads with traffic areas, bridges,
vegetation, generic objects, CityGML 1.0, and values that are not numbers (warnings, never a failed file)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from futago.city.citygml import CityGmlError, iter_features
from futago.city.features import BuildingFeature, CityObjectFeature, ReadTally, RoadFeature
from tests.city.citygml_fixtures import polygon, ring

URO31 = "https://www.geospatial.jp/iur/uro/3.1"
URF30 = "https://www.geospatial.jp/iur/urf/3.0"
KANTEI = "http://www.kantei.go.jp/jp/singi/tiiki/toshisaisei/itoshisaisei/iur"


def _doc(body: str, *, citygml: str = "2.0", uro: str = URO31, urf: str = URF30, srs: str = "6697") -> str:
    modules = {
        "bldg": "building",
        "gen": "generics",
        "tran": "transportation",
        "brid": "bridge",
        "veg": "vegetation",
        "wtr": "waterbody",
        "frn": "cityfurniture",
        "luse": "landuse",
        "tun": "tunnel",
    }
    ns = " ".join(f'xmlns:{p}="http://www.opengis.net/citygml/{m}/{citygml}"' for p, m in modules.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<core:CityModel xmlns:core="http://www.opengis.net/citygml/{citygml}" xmlns:gml="http://www.opengis.net/gml"'
        f' {ns} xmlns:uro="{uro}" xmlns:urf="{urf}" xmlns:xlink="http://www.w3.org/1999/xlink">\n'
        f'<gml:boundedBy><gml:Envelope srsName="http://www.opengis.net/def/crs/EPSG/0/{srs}">'
        "<gml:lowerCorner>35.0 139.0 0</gml:lowerCorner><gml:upperCorner>35.1 139.1 50</gml:upperCorner>"
        "</gml:Envelope></gml:boundedBy>\n"
        f"{body}</core:CityModel>\n"
    )


def _read(tmp_path: Path, body: str, **kw: str) -> tuple[list, ReadTally]:
    path = tmp_path / "city.gml"
    path.write_text(_doc(body, **kw), encoding="utf-8")
    tally = ReadTally()
    return list(iter_features(path, tally=tally)), tally


def _box(lat: float, lon: float, bottom: float, top: float, d: float = 0.0001) -> str:
    """A closed box of six faces, outward-oriented, as MultiSurface members (lat lon h)."""
    c = [(lat, lon), (lat, lon + d), (lat + d, lon + d), (lat + d, lon)]

    def face(pts: list[tuple[float, float, float]]) -> str:
        return polygon(" ".join(f"{a} {b} {h}" for a, b, h in [*pts, pts[0]]))

    faces = [face([(a, b, bottom) for a, b in reversed(c)]), face([(a, b, top) for a, b in c])]
    for i in range(4):
        (a1, b1), (a2, b2) = c[i], c[(i + 1) % 4]
        faces.append(face([(a1, b1, bottom), (a2, b2, bottom), (a2, b2, top), (a1, b1, top)]))
    return "".join(faces)


GENERIC = """
<gen:stringAttribute name="図形ID"><gen:value>ZK-0042</gen:value></gen:stringAttribute>
<gen:intAttribute name="総建物階数"><gen:value>7</gen:value></gen:intAttribute>
<gen:doubleAttribute name="延床面積"><gen:value>1234.5</gen:value></gen:doubleAttribute>
<gen:dateAttribute name="調査日"><gen:value>2023-04-01</gen:value></gen:dateAttribute>
<gen:uriAttribute name="資料"><gen:value>https://example.jp/a</gen:value></gen:uriAttribute>
<gen:measureAttribute name="軒高"><gen:value uom="m">9.8</gen:value></gen:measureAttribute>
<gen:genericAttributeSet name="土砂災害" codeSpace="../../codelists/x.xml">
  <gen:stringAttribute name="区域区分"><gen:value>警戒区域</gen:value></gen:stringAttribute>
  <gen:genericAttributeSet name="詳細"><gen:intAttribute name="番号"><gen:value>十二</gen:value></gen:intAttribute>
  </gen:genericAttributeSet>
</gen:genericAttributeSet>
"""


def test_iur3_building_generic_attributes_installation_and_bad_values(tmp_path: Path) -> None:
    body = f"""<core:cityObjectMember><bldg:Building gml:id="B3">
<bldg:measuredHeight uom="m">about 12</bldg:measuredHeight>
<bldg:storeysAboveGround>three</bldg:storeysAboveGround>
<bldg:lod1Solid><gml:Solid><gml:exterior><gml:CompositeSurface>{_box(35.01, 139.01, 4.0, 16.0)}
</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod1Solid>
<bldg:outerBuildingInstallation><bldg:BuildingInstallation gml:id="BI1">
<bldg:function codeSpace="../../codelists/BuildingInstallation_function.xml">01</bldg:function>
<bldg:lod2Geometry><gml:MultiSurface>{_box(35.0101, 139.0101, 16.0, 18.5, 0.00002)}</gml:MultiSurface>
</bldg:lod2Geometry></bldg:BuildingInstallation></bldg:outerBuildingInstallation>
{GENERIC}
<uro:bldgKeyValuePairAttribute><uro:KeyValuePairAttribute><uro:key>k</uro:key><uro:codeValue>v</uro:codeValue>
</uro:KeyValuePairAttribute></uro:bldgKeyValuePairAttribute>
</bldg:Building></core:cityObjectMember>"""
    features, tally = _read(tmp_path, body)
    building, installation = features
    assert isinstance(building, BuildingFeature) and isinstance(installation, CityObjectFeature)
    assert building.measured_height is None and building.storeys_above_ground is None  # left out, not failed
    assert building.attributes == {"k": "v"}  # key-value pairs stay attributes; gen:* does not go there
    got = [(g.set, g.name, g.type, g.value, g.number, g.unit, g.code_space) for g in building.generic]
    code_space = "../../codelists/x.xml"
    assert got == [
        (None, "図形ID", "string", "ZK-0042", None, None, None),
        (None, "総建物階数", "int", "7", 7.0, None, None),
        (None, "延床面積", "double", "1234.5", 1234.5, None, None),
        (None, "調査日", "date", "2023-04-01", None, None, None),
        (None, "資料", "uri", "https://example.jp/a", None, None, None),
        (None, "軒高", "measure", "9.8", 9.8, "m", None),
        ("土砂災害", "区域区分", "string", "警戒区域", None, None, code_space),
        ("土砂災害/詳細", "番号", "int", "十二", None, None, code_space),  # kept as text, with a warning
    ]
    assert (installation.module, installation.kind, installation.parent_id) == ("bldg", "BuildingInstallation", "B3")
    assert installation.codes == {"function": "01"} and installation.lods == {2}
    assert installation.height == 2.5 and len(installation.polygons) == 1  # the outline of the box
    assert tally.features == Counter(Building=1)  # the installation is no top-level object
    assert tally.warning_count == 3
    paths = sorted(w.path.split(".gml:", 1)[1].split("/", 1)[1] for w in tally.warnings)  # file:line/path
    assert paths == [
        "Building/genericAttributeSet/genericAttributeSet/intAttribute/value",
        "Building/measuredHeight",
        "Building/storeysAboveGround",
    ]
    assert {w.feature_id for w in tally.warnings} == {"B3"}
    assert all(w.path.startswith(f"{tmp_path / 'city.gml'}:") for w in tally.warnings)
    assert any("about 12" in w.message for w in tally.warnings)


def test_lod3_building_with_windows_and_doors(tmp_path: Path) -> None:
    def surface(kind: str, gid: str, z: float, opening: str = "") -> str:
        return (
            f'<bldg:boundedBy><bldg:{kind} gml:id="{gid}"><bldg:lod3MultiSurface><gml:MultiSurface>'
            f"{polygon(ring(35.02, 139.02, z))}</gml:MultiSurface></bldg:lod3MultiSurface>{opening}"
            f"</bldg:{kind}></bldg:boundedBy>"
        )

    def opening(kind: str, gid: str, z: float) -> str:
        return (
            f'<bldg:opening><bldg:{kind} gml:id="{gid}"><bldg:lod3MultiSurface><gml:MultiSurface>'
            f"{polygon(ring(35.02, 139.02, z, 0.00001))}</gml:MultiSurface></bldg:lod3MultiSurface>"
            f"</bldg:{kind}></bldg:opening>"
        )

    openings = opening("Window", "W1", 3.0) + opening("Window", "W2", 6.0) + opening("Door", "D1", 1.0)
    body = (
        '<core:cityObjectMember><bldg:Building gml:id="L3">'
        + surface("GroundSurface", "G", 1.0)
        + surface("WallSurface", "WS", 2.0, openings)
        + surface("RoofSurface", "R", 9.0)
        + surface("OuterCeilingSurface", "OC", 8.0)
        + "</bldg:Building></core:cityObjectMember>"
    )
    (b,), _ = _read(tmp_path, body)
    assert isinstance(b, BuildingFeature) and b.lods == {3}
    assert [(s.kind, s.gml_id, s.lod) for s in b.surfaces] == [
        ("GroundSurface", "G", 3),
        ("WallSurface", "WS", 3),
        ("RoofSurface", "R", 3),
        ("OuterCeilingSurface", "OC", 3),
    ]
    wall = b.surfaces[1]
    assert [(o.kind, o.gml_id, o.lod) for o in wall.openings] == [
        ("Window", "W1", 3),
        ("Window", "W2", 3),
        ("Door", "D1", 3),
    ]
    assert wall.openings[2].polygons[0][0][0] == (139.02, 35.02, 1.0)  # 3D (lon, lat, h)
    assert b.lod2_roof == b.lod2_wall == []  # LOD3 surfaces do not pose as LOD2
    assert b.footprint == [[[(p[0], p[1]) for p in b.surfaces[0].polygons[0][0]]]]  # from the LOD3 ground
    assert b.ground_elevation == 1.0


def test_lod2_surfaces_fill_both_views(tmp_path: Path) -> None:
    body = (
        '<core:cityObjectMember><bldg:Building gml:id="L2">'
        '<bldg:boundedBy><bldg:ClosureSurface gml:id="C"><bldg:lod2MultiSurface><gml:MultiSurface>'
        f"{polygon(ring(35.0, 139.0, 5.0))}</gml:MultiSurface></bldg:lod2MultiSurface></bldg:ClosureSurface>"
        '</bldg:boundedBy><bldg:boundedBy><bldg:RoofSurface gml:id="R"><bldg:lod2MultiSurface><gml:MultiSurface>'
        f"{polygon(ring(35.0, 139.0, 9.0))}</gml:MultiSurface></bldg:lod2MultiSurface></bldg:RoofSurface>"
        "</bldg:boundedBy></bldg:Building></core:cityObjectMember>"
    )
    (b,), _ = _read(tmp_path, body)
    assert [(s.kind, s.lod) for s in b.surfaces] == [("ClosureSurface", 2), ("RoofSurface", 2)]
    assert b.lod2_other == b.surfaces[0].polygons and b.lod2_roof == b.surfaces[1].polygons


def test_iur14_kantei_urf_and_uro(tmp_path: Path) -> None:
    body = f"""<core:cityObjectMember><urf:UseDistrict gml:id="U14">
<urf:function codeSpace="Common_districtsAndZonesType.xml">5</urf:function>
<urf:floorAreaRate>3</urf:floorAreaRate><urf:buildingCoverageRate>0.8</urf:buildingCoverageRate>
<urf:lod1MultiSurface><gml:MultiSurface>{polygon(ring(35.03, 139.03, 0.0))}</gml:MultiSurface></urf:lod1MultiSurface>
</urf:UseDistrict></core:cityObjectMember>"""
    (zone,), tally = _read(tmp_path, body, uro=f"{KANTEI}/uro/1.4", urf=f"{KANTEI}/urf/1.4")
    assert isinstance(zone, CityObjectFeature)
    assert (zone.module, zone.kind, zone.gml_id) == ("urf", "UseDistrict", "U14")
    assert zone.properties == {"function": "5", "floorAreaRate": "3", "buildingCoverageRate": "0.8"}
    assert zone.polygons[0][0][0] == (139.03, 35.03) and zone.height is None
    assert tally.features == Counter(UseDistrict=1)


def test_road_with_traffic_areas(tmp_path: Path) -> None:
    body = f"""<core:cityObjectMember><tran:Road gml:id="RD">
<tran:function codeSpace="Road_function.xml">1</tran:function>
<tran:lod1MultiSurface><gml:MultiSurface>{polygon(ring(35.04, 139.04, 2.0))}</gml:MultiSurface></tran:lod1MultiSurface>
<tran:trafficArea><tran:TrafficArea gml:id="TA1">
<tran:function codeSpace="TrafficArea_function.xml">1000</tran:function>
<tran:surfaceMaterial codeSpace="TrafficArea_surfaceMaterial.xml">2</tran:surfaceMaterial>
<tran:lod2MultiSurface><gml:MultiSurface>{polygon(ring(35.04, 139.04, 2.0, 0.00005))}</gml:MultiSurface>
</tran:lod2MultiSurface></tran:TrafficArea></tran:trafficArea>
<tran:auxiliaryTrafficArea><tran:AuxiliaryTrafficArea gml:id="ATA1">
<tran:function codeSpace="AuxiliaryTrafficArea_function.xml">2000</tran:function>
</tran:AuxiliaryTrafficArea></tran:auxiliaryTrafficArea>
<gen:stringAttribute name="路線名"><gen:value>国道1号</gen:value></gen:stringAttribute>
</tran:Road></core:cityObjectMember>"""
    (road,), _ = _read(tmp_path, body)
    assert isinstance(road, RoadFeature) and road.function == "1" and road.lods == {1, 2}
    area, aux = road.parts
    assert (area.kind, area.parent_id, area.codes) == (
        "TrafficArea",
        "RD",
        {"function": "1000", "surfaceMaterial": "2"},
    )
    assert area.lods == {2} and len(area.polygons) == 1 and area.polygons[0][0][0] == (139.04, 35.04)
    assert (aux.kind, aux.gml_id, aux.codes["function"]) == ("AuxiliaryTrafficArea", "ATA1", "2000")
    assert [(g.name, g.value) for g in road.generic] == [("路線名", "国道1号")]


def test_bridge_with_part_vegetation_water_and_generic_object(tmp_path: Path) -> None:
    curve = "35.06 139.06 0 35.061 139.061 0"
    body = f"""<core:cityObjectMember><brid:Bridge gml:id="BR">
<gml:name>新橋</gml:name><brid:class codeSpace="Bridge_class.xml">01</brid:class>
<brid:lod2Solid><gml:Solid><gml:exterior><gml:CompositeSurface>{_box(35.05, 139.05, 10.0, 14.0)}
</gml:CompositeSurface></gml:exterior></gml:Solid></brid:lod2Solid>
<brid:consistsOfBridgePart><brid:BridgePart gml:id="BP">
<brid:lod2Solid><gml:Solid><gml:exterior><gml:CompositeSurface>{_box(35.0502, 139.0502, 0.0, 10.0, 0.00002)}
</gml:CompositeSurface></gml:exterior></gml:Solid></brid:lod2Solid></brid:BridgePart></brid:consistsOfBridgePart>
</brid:Bridge></core:cityObjectMember>
<core:cityObjectMember><veg:SolitaryVegetationObject gml:id="TREE">
<veg:height uom="m">8.5</veg:height>
<veg:lod1ImplicitRepresentation><core:ImplicitGeometry><core:referencePoint><gml:Point>
<gml:pos>35.07 139.07 3.0</gml:pos></gml:Point></core:referencePoint></core:ImplicitGeometry>
</veg:lod1ImplicitRepresentation></veg:SolitaryVegetationObject></core:cityObjectMember>
<core:cityObjectMember><wtr:WaterBody gml:id="RIVER"><gml:name>狩野川</gml:name>
<wtr:lod1MultiSurface><gml:MultiSurface>{polygon(ring(35.08, 139.08, 0.0))}</gml:MultiSurface></wtr:lod1MultiSurface>
</wtr:WaterBody></core:cityObjectMember>
<core:cityObjectMember><gen:GenericCityObject gml:id="GEN">
<gen:lod0Geometry><gml:MultiCurve><gml:curveMember><gml:LineString><gml:posList>{curve}</gml:posList>
</gml:LineString></gml:curveMember></gml:MultiCurve></gen:lod0Geometry>
<gen:stringAttribute name="名称"><gen:value>柵</gen:value></gen:stringAttribute>
</gen:GenericCityObject></core:cityObjectMember>"""
    features, tally = _read(tmp_path, body)
    bridge, tree, river, generic = features
    assert (bridge.module, bridge.kind, bridge.name, bridge.codes) == ("brid", "Bridge", "新橋", {"class": "01"})
    assert bridge.height == 4.0 and bridge.lods == {2}
    outline = bridge.polygons[0][0]
    assert len(bridge.polygons) == 1 and {(round(x, 6), round(y, 6)) for x, y in outline} == {
        (139.05, 35.05), (139.0501, 35.05), (139.0501, 35.0501), (139.05, 35.0501)
    }  # fmt: skip
    (part,) = bridge.parts
    assert (part.kind, part.parent_id, part.height) == ("BridgePart", "BR", 10.0)
    assert (tree.module, tree.kind, tree.height, tree.units) == (
        "veg",
        "SolitaryVegetationObject",
        8.5,
        {"height": "m"},
    )
    assert tree.points == [(139.07, 35.07, 3.0)] and tree.lods == {1} and tree.polygons == []
    assert (river.module, river.kind, river.name) == ("wtr", "WaterBody", "狩野川")  # a river, not a hazard zone
    assert river.polygons[0][0][0] == (139.08, 35.08)
    assert (generic.module, generic.kind) == ("gen", "GenericCityObject")
    assert generic.lines == [[(139.06, 35.06), (139.061, 35.061)]] and generic.generic[0].name == "名称"
    assert tally.features == Counter(Bridge=1, SolitaryVegetationObject=1, WaterBody=1, GenericCityObject=1)


def test_citygml_10_generic_attributes(tmp_path: Path) -> None:
    body = f"""<core:cityObjectMember><bldg:Building gml:id="OLD10">
<gen:stringAttribute name="名前"><gen:value>旧館</gen:value></gen:stringAttribute>
<gen:measureAttribute name="高さ"><gen:value uom="cm">950</gen:value></gen:measureAttribute>
<bldg:lod1Solid><gml:Solid><gml:exterior><gml:CompositeSurface>{_box(35.09, 139.09, 0.0, 9.5)}
</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod1Solid>
</bldg:Building></core:cityObjectMember>"""
    (b,), _ = _read(tmp_path, body, citygml="1.0")
    assert isinstance(b, BuildingFeature)
    assert [(g.name, g.type, g.number, g.unit) for g in b.generic] == [
        ("名前", "string", None, None),
        ("高さ", "measure", 950.0, "cm"),
    ]


def test_objects_without_id_are_skipped_with_a_reason_and_the_rest_is_read(tmp_path: Path) -> None:
    body = f"""<core:cityObjectMember><frn:CityFurniture><frn:function>1</frn:function></frn:CityFurniture>
</core:cityObjectMember><core:cityObjectMember><frn:CityFurniture gml:id="F2">
<frn:lod1Geometry><gml:MultiSurface>{_box(35.1, 139.1, 0.0, 1.0, 0.00001)}</gml:MultiSurface></frn:lod1Geometry>
</frn:CityFurniture></core:cityObjectMember>"""
    (furniture,), tally = _read(tmp_path, body)
    assert furniture.gml_id == "F2" and furniture.height == 1.0 and len(furniture.polygons) == 1
    assert tally.features == Counter(CityFurniture=2)
    assert tally.skipped == Counter({"CityFurniture without gml:id": 1})
    assert tally.skipped_examples["CityFurniture without gml:id"] == f"{tmp_path / 'city.gml'}:4"


def test_malformed_xml_still_names_file_and_line(tmp_path: Path) -> None:
    body = '<core:cityObjectMember><urf:UseDistrict gml:id="X">\n<urf:function>1</urf:functio>\n'
    path = tmp_path / "bad.gml"
    path.write_text(_doc(body), encoding="utf-8")
    with pytest.raises(CityGmlError) as caught:
        list(iter_features(path, tally=ReadTally()))
    assert caught.value.file == str(path) and caught.value.line == 5
