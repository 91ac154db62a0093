"""The synthetic district: PLATEAU's layout and shape, and true figures that match the XML."""

from __future__ import annotations

import importlib.util
import posixpath
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from shapely.geometry import Point, Polygon

from futago.city.generator import DistrictSpec, GeneratedDistrict, generate_district

NS = {
    "core": "http://www.opengis.net/citygml/2.0",
    "bldg": "http://www.opengis.net/citygml/building/2.0",
    "gml": "http://www.opengis.net/gml",
    "uro": "https://www.geospatial.jp/iur/uro/2.0",
    "wtr": "http://www.opengis.net/citygml/waterbody/2.0",
    "dem": "http://www.opengis.net/citygml/relief/2.0",
}
SPEC = DistrictSpec(buildings=300, seed=3, lod2_share=0.2, parts_share=0.1)


@pytest.fixture(scope="module")
def zipped(tmp_path_factory: pytest.TempPathFactory) -> GeneratedDistrict:
    return generate_district(SPEC, tmp_path_factory.mktemp("zip") / "district.zip")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> GeneratedDistrict:
    return generate_district(SPEC, tmp_path_factory.mktemp("dir") / "district", layout="dir")


def _members(district: GeneratedDistrict) -> dict[str, bytes]:
    if district.layout == "zip":
        with zipfile.ZipFile(district.path) as zf:
            return {name: zf.read(name) for name in zf.namelist()}
    return {p.relative_to(district.path).as_posix(): p.read_bytes() for p in district.path.rglob("*") if p.is_file()}


def _trees(district: GeneratedDistrict, folder: str) -> dict[str, etree._Element]:
    return {
        name: etree.fromstring(data) for name, data in _members(district).items() if name.startswith(f"udx/{folder}/")
    }


def test_plateau_layout(zipped: GeneratedDistrict) -> None:
    names = set(_members(zipped))
    assert names == set(zipped.files)
    bldg = sorted(n for n in names if n.startswith("udx/bldg/"))
    assert len(bldg) >= 2, "a 300-building district around the origin spans several 1 km meshes"
    assert all(re.fullmatch(r"udx/bldg/\d{8}_bldg_6697_op\.gml", n) for n in bldg)
    assert [n[9:17] for n in bldg] == zipped.mesh_codes
    assert any(re.fullmatch(r"udx/fld/pref/[^/]+/\d{8}_fld_6697_l1_op\.gml", n) for n in names)
    assert any(re.fullmatch(r"udx/fld/pref/[^/]+/\d{8}_fld_6697_l2_op\.gml", n) for n in names)
    assert any(re.fullmatch(r"udx/dem/\d{6}_dem_6697_op\.gml", n) for n in names)
    risk = "BuildingRiverFloodingRiskAttribute"
    for codelist in ("Building_usage", "Building_class", f"{risk}_rank", f"{risk}_description", f"{risk}_adminType",
                     f"{risk}_scale", "WaterBodyRiverFloodingRiskAttribute_rank"):  # fmt: skip
        assert f"codelists/{codelist}.xml" in names


def test_every_file_is_well_formed_and_every_code_space_resolves(zipped: GeneratedDistrict) -> None:
    members = _members(zipped)
    for name, data in members.items():
        root = etree.fromstring(data)
        if not name.endswith(".gml"):
            continue
        assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        envelope = root.find("gml:boundedBy/gml:Envelope", NS)
        assert envelope is not None and envelope.get("srsName") == "http://www.opengis.net/def/crs/EPSG/0/6697"
        folder = name.rsplit("/", 1)[0]
        for el in root.iterfind(".//*[@codeSpace]"):
            resolved = posixpath.normpath(posixpath.join(folder, el.get("codeSpace", "")))
            assert resolved in members, f"{name}: codeSpace {el.get('codeSpace')} has no codelist"
            codes = etree.fromstring(members[resolved]).xpath("//gml:Definition/gml:name/text()", namespaces=NS)
            assert el.text in codes, f"{name}: code {el.text} missing from {resolved}"


def test_true_figures_equal_what_the_xml_holds(zipped: GeneratedDistrict) -> None:
    trees = _trees(zipped, "bldg").values()
    buildings = [b for t in trees for b in t.xpath("//bldg:Building", namespaces=NS)]
    heights = [float(h) for t in trees for h in t.xpath("//bldg:Building/bldg:measuredHeight/text()", namespaces=NS)]
    parts = sum(int(t.xpath("count(//bldg:BuildingPart)", namespaces=NS)) for t in trees)
    flooded = [b for b in buildings if b.find("uro:buildingDisasterRiskAttribute", NS) is not None]
    lod2 = sum(int(t.xpath("count(//bldg:Building[.//bldg:RoofSurface])", namespaces=NS)) for t in trees)
    assert len(buildings) == zipped.building_count == 300
    assert parts == zipped.building_part_count > 0
    assert len(heights) == zipped.measured_heights
    assert 0.8 * 300 < len(heights) < 300, "about one building in ten has no measuredHeight"
    assert sum(heights) == pytest.approx(zipped.height_sum)
    assert max(heights) == zipped.height_max
    assert len(flooded) == zipped.flood_risk_buildings
    assert lod2 == zipped.lod2_buildings > 0
    assert all(b.find("bldg:lod0RoofEdge", NS) is not None for b in buildings)
    for b in buildings:  # a Building has its own solid, or its parts carry theirs
        assert (b.find("bldg:lod1Solid", NS) is not None) != (b.find("bldg:consistsOfBuildingPart", NS) is not None)


def test_coordinates_are_lat_lon_inside_the_bbox_and_the_file_mesh(zipped: GeneratedDistrict) -> None:
    min_lon, min_lat, max_lon, max_lat = zipped.bbox_wgs84
    assert 138.0 < min_lon < max_lon < 140.0 and 34.5 < min_lat < max_lat < 35.5
    for name, tree in _trees(zipped, "bldg").items():
        mesh = name[9:17]
        for text in tree.xpath("//bldg:Building/bldg:lod0RoofEdge//gml:posList/text()", namespaces=NS):
            v = [float(x) for x in text.split()]
            lats, lons = v[0::3], v[1::3]
            assert all(min_lat <= a <= max_lat for a in lats) and all(min_lon <= o <= max_lon for o in lons)
            assert lats[0] == lats[-1] and lons[0] == lons[-1], "rings are closed"
            lat_c, lon_c = sum(lats[:-1]) / 4, sum(lons[:-1]) / 4
            iy, ix = int(lat_c * 120), int((lon_c - 100) * 80)
            code = f"{iy // 80:02d}{ix // 80:02d}{(iy % 80) // 10}{(ix % 80) // 10}{iy % 10}{ix % 10}"
            assert code == mesh


def test_flood_attributes_agree_with_the_flood_zone_polygons(zipped: GeneratedDistrict) -> None:
    l2 = [Polygon(ring) for z in zipped.flood_zones if z.scale == "L2" for ring in z.polygons]
    assert {z.rank for z in zipped.flood_zones} >= {1, 2, 3}
    for tree in _trees(zipped, "bldg").values():
        for b in tree.xpath("//bldg:Building", namespaces=NS):
            v = [float(x) for x in b.find("bldg:lod0RoofEdge//gml:posList", NS).text.split()]
            centre = Point(sum(v[1:12:3]) / 4, sum(v[0:12:3]) / 4)
            scales = b.xpath(".//uro:BuildingRiverFloodingRiskAttribute/uro:scale/text()", namespaces=NS)
            assert ("2" in scales) == any(p.contains(centre) for p in l2)
    fld = _trees(zipped, "fld")
    ranks = {r for t in fld.values() for r in t.xpath("//uro:WaterBodyRiverFloodingRiskAttribute/uro:rank/text()",
                                                      namespaces=NS)}  # fmt: skip
    assert ranks >= {"1", "2", "3"}


def test_zip_and_folder_hold_the_same_files(zipped: GeneratedDistrict, folder: GeneratedDistrict) -> None:
    assert _members(zipped) == _members(folder)


def test_same_seed_same_district_other_seed_other_district(zipped: GeneratedDistrict, tmp_path: Path) -> None:
    again = generate_district(SPEC, tmp_path / "again.zip")
    assert _members(again) == _members(zipped)
    other = generate_district(DistrictSpec(buildings=300, seed=4, lod2_share=0.2, parts_share=0.1), tmp_path / "o.zip")
    assert _members(other) != _members(zipped)


def test_uro_3_and_no_hazards(tmp_path: Path) -> None:
    d = generate_district(DistrictSpec(buildings=50, uro_version="3.0", dem=False), tmp_path / "v3.zip")
    data = b"".join(v for k, v in _members(d).items() if k.startswith("udx/bldg/"))
    assert b'xmlns:uro="https://www.geospatial.jp/iur/uro/3.0"' in data
    assert data.count(b"<uro:RiverFloodingRiskAttribute>") == d.flood_risk_entries > 0
    assert not any(f.startswith("udx/dem/") for f in d.files)
    dry = generate_district(DistrictSpec(buildings=50, river=False), tmp_path / "dry.zip")
    assert dry.flood_risk_buildings == 0 and not dry.flood_zones and not dry.river
    assert not any(f.startswith("udx/fld/") for f in dry.files)


def test_spec_is_validated() -> None:
    with pytest.raises(ValueError, match="lod2_share"):
        DistrictSpec(buildings=1, lod2_share=1.5)
    with pytest.raises(ValueError, match="uro_version"):
        DistrictSpec(buildings=1, uro_version="1.4")


@pytest.mark.skipif(
    importlib.util.find_spec("plateaukit") is None, reason="plateaukit is not installed (pip install plateaukit)"
)
def test_plateaukit_reads_the_zip_and_finds_every_building(zipped: GeneratedDistrict, tmp_path: Path) -> None:
    from benchmarks.city_peer import plateaukit_buildings_per_s

    figures = plateaukit_buildings_per_s(zipped.path, tmp_path, expected=zipped.building_count, split=2)
    assert figures["plateaukit_buildings"] == zipped.building_count
