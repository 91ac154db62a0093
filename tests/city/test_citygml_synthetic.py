"""LOD2 boundaries, building parts, i-UR 3.x wrappers, relief and roads, on documents written here."""

from __future__ import annotations

from pathlib import Path

from futago.city.citygml import iter_features
from futago.city.features import BuildingFeature, ReliefFeature, RoadFeature
from tests.city.citygml_fixtures import HEAD, TAIL, polygon, ring

URO3 = "https://www.geospatial.jp/iur/uro/3.1"
URO14 = "http://www.kantei.go.jp/jp/singi/tiiki/toshisaisei/itoshisaisei/iur/uro/1.4"


def _lod2_building() -> str:
    surfaces = "".join(
        f"<bldg:boundedBy><bldg:{kind}><bldg:lod2MultiSurface><gml:MultiSurface>"
        f"{polygon(ring(35.01, 139.01, z), gid)}</gml:MultiSurface></bldg:lod2MultiSurface>"
        f"</bldg:{kind}></bldg:boundedBy>"
        for kind, z, gid in (("GroundSurface", 10.0, "g1"), ("WallSurface", 12.0, "w1"), ("RoofSurface", 20.0, "r1"))
    )
    return f"""<core:cityObjectMember><bldg:Building gml:id="B1">
<gml:name>Tower</gml:name>
<bldg:usage codeSpace="../../codelists/Building_usage.xml">401</bldg:usage>
<bldg:yearOfConstruction>1999</bldg:yearOfConstruction>
<bldg:measuredHeight uom="cm">1250</bldg:measuredHeight>
<bldg:storeysAboveGround>3</bldg:storeysAboveGround>
<bldg:storeysBelowGround>1</bldg:storeysBelowGround>
<bldg:lod2Solid><gml:Solid><gml:exterior><gml:CompositeSurface>
<gml:surfaceMember xlink:href="#g1"/><gml:surfaceMember xlink:href="#r1"/>
</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod2Solid>
{surfaces}
<gen:genericAttributeSet name="set"><gen:stringAttribute name="k"><gen:value>v</gen:value></gen:stringAttribute>
</gen:genericAttributeSet>
<uro:bldgIDAttribute><uro:BuildingIDAttribute><uro:buildingID>13101-bldg-1</uro:buildingID>
<uro:city codeSpace="../../codelists/Common_localPublicAuthorities.xml">13101</uro:city>
</uro:BuildingIDAttribute></uro:bldgIDAttribute>
<uro:bldgDisasterRiskAttribute><uro:RiverFloodingRiskAttribute>
<uro:description codeSpace="x.xml">1</uro:description><uro:rank codeSpace="r.xml">2</uro:rank>
<uro:depth uom="m">1.5</uro:depth><uro:duration uom="hour">12</uro:duration>
<uro:adminType codeSpace="a.xml">1</uro:adminType><uro:scale codeSpace="s.xml">L2</uro:scale>
</uro:RiverFloodingRiskAttribute></uro:bldgDisasterRiskAttribute>
<uro:bldgDisasterRiskAttribute><uro:LandSlideRiskAttribute>
<uro:description codeSpace="d.xml">1</uro:description><uro:areaType codeSpace="t.xml">2</uro:areaType>
</uro:LandSlideRiskAttribute></uro:bldgDisasterRiskAttribute>
<uro:bldgDisasterRiskAttribute><uro:TsunamiRiskAttribute><uro:rank>1</uro:rank><uro:depth uom="cm">80</uro:depth>
</uro:TsunamiRiskAttribute></uro:bldgDisasterRiskAttribute>
<uro:bldgKeyValuePairAttribute><uro:KeyValuePairAttribute><uro:key>owner</uro:key><uro:codeValue>city</uro:codeValue>
</uro:KeyValuePairAttribute></uro:bldgKeyValuePairAttribute>
<bldg:consistsOfBuildingPart><bldg:BuildingPart gml:id="P1">
<bldg:measuredHeight uom="m">5</bldg:measuredHeight>
<bldg:lod1Solid><gml:Solid><gml:exterior><gml:CompositeSurface>
{polygon(ring(35.02, 139.02, 3.0))}{polygon(ring(35.02, 139.02, 8.0))}
</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod1Solid>
</bldg:BuildingPart></bldg:consistsOfBuildingPart>
</bldg:Building></core:cityObjectMember>
"""


def test_lod2_parts_and_uro3(tmp_path: Path) -> None:
    path = tmp_path / "b.gml"
    path.write_text(HEAD.format(uro=URO3) + _lod2_building() + TAIL, encoding="utf-8")
    features = list(iter_features(path))
    assert [f.gml_id for f in features] == ["B1", "P1"]
    b, part = features
    assert isinstance(b, BuildingFeature) and isinstance(part, BuildingFeature)
    assert b.kind == "Building" and part.kind == "BuildingPart" and part.parent_id == "B1"
    assert b.name == "Tower" and b.usage == b.usage_code == "401"  # no codelists: the code stays
    assert b.measured_height == 12.5  # uom cm honoured
    assert (b.storeys_above_ground, b.storeys_below_ground, b.year_of_construction) == (3, 1, 1999)
    assert b.lods == {2}
    assert len(b.lod2_roof) == len(b.lod2_wall) == len(b.lod2_ground) == 1
    assert b.lod2_other == []  # xlink'd solid members are not duplicated
    assert b.lod2_roof[0][0][0] == (139.01, 35.01, 20.0)  # (lon, lat, h)
    assert b.footprint == [[[(p[0], p[1]) for p in b.lod2_ground[0][0]]]]
    assert b.ground_elevation == 10.0
    assert b.building_id == "13101-bldg-1"
    assert b.attributes["city"] == "13101" and b.attributes["owner"] == "city"
    assert "set.k" not in b.attributes  # generic attributes have their own list now
    assert [(g.set, g.name, g.type, g.value) for g in b.generic] == [("set", "k", "string", "v")]
    river, slide, tsunami = b.risks
    assert (river.kind, river.rank, river.depth, river.duration, river.scale) == (
        "river_flooding",
        "2",
        1.5,
        12.0,
        "L2",
    )
    assert (slide.kind, slide.area_type) == ("landslide", "2")
    assert (tsunami.kind, tsunami.depth) == ("tsunami", 0.8)
    assert part.measured_height == 5.0 and part.lods == {1}
    assert part.ground_elevation == 3.0
    assert len(part.footprint) == 1 and part.footprint[0][0][0] == (139.02, 35.02)  # the lowest face of the solid


def test_uro14_namespace_and_missing_height(tmp_path: Path) -> None:
    doc = f"""<core:cityObjectMember><bldg:Building gml:id="OLD">
<bldg:lod0FootPrint><gml:MultiSurface>{polygon(ring(35.05, 139.05, 0.0))}</gml:MultiSurface></bldg:lod0FootPrint>
<uro:buildingDisasterRiskAttribute><uro:BuildingHighTideRiskAttribute><uro:rank>1</uro:rank>
</uro:BuildingHighTideRiskAttribute></uro:buildingDisasterRiskAttribute>
<uro:buildingDisasterRiskAttribute><uro:BuildingInlandFloodingRiskAttribute><uro:depth uom="m">0.3</uro:depth>
</uro:BuildingInlandFloodingRiskAttribute></uro:buildingDisasterRiskAttribute>
<uro:extendedAttribute><uro:KeyValuePair><uro:key>k1</uro:key><uro:codeValue>v1</uro:codeValue></uro:KeyValuePair>
</uro:extendedAttribute>
</bldg:Building></core:cityObjectMember>"""
    path = tmp_path / "old.gml"
    path.write_text(HEAD.format(uro=URO14) + doc + TAIL, encoding="utf-8")
    (b,) = list(iter_features(path))
    assert isinstance(b, BuildingFeature)
    assert b.measured_height is None and b.lods == {0}
    assert [r.kind for r in b.risks] == ["high_tide", "inland_flooding"]
    assert b.attributes == {"k1": "v1"}
    assert b.footprint[0][0][0] == (139.05, 35.05)
    assert b.ground_elevation == 0.0


def test_relief_and_road(tmp_path: Path) -> None:
    tri = "".join(
        f"<gml:Triangle><gml:exterior><gml:LinearRing><gml:posList>35.0 139.0 {z} 35.0 139.001 {z} 35.001 139.0 {z} "
        f"35.0 139.0 {z}</gml:posList></gml:LinearRing></gml:exterior></gml:Triangle>"
        for z in range(5)
    )
    doc = f"""<core:cityObjectMember><dem:ReliefFeature gml:id="DEM1"><dem:lod>1</dem:lod><dem:reliefComponent>
<dem:TINRelief gml:id="TIN1"><dem:lod>1</dem:lod><dem:tin><gml:TriangulatedSurface><gml:trianglePatches>{tri}
</gml:trianglePatches></gml:TriangulatedSurface></dem:tin></dem:TINRelief></dem:reliefComponent></dem:ReliefFeature>
</core:cityObjectMember>
<core:cityObjectMember><tran:Road gml:id="R1"><tran:class codeSpace="c.xml">1000</tran:class>
<tran:function codeSpace="f.xml">1</tran:function>
<tran:lod1MultiSurface><gml:MultiSurface>{polygon(ring(35.03, 139.03, 2.0))}</gml:MultiSurface></tran:lod1MultiSurface>
</tran:Road></core:cityObjectMember>"""
    path = tmp_path / "dem.gml"
    path.write_text(HEAD.format(uro=URO3) + doc + TAIL, encoding="utf-8")
    relief, road = list(iter_features(path))
    assert isinstance(relief, ReliefFeature) and relief.gml_id == "DEM1"
    assert len(relief.triangles) == 5
    assert relief.triangles[4] == ((139.0, 35.0, 4.0), (139.001, 35.0, 4.0), (139.0, 35.001, 4.0))
    assert isinstance(road, RoadFeature)
    assert (road.road_class, road.function) == ("1000", "1")
    assert road.polygons[0][0][0] == (139.03, 35.03)
