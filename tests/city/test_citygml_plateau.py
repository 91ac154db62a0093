"""The reader against real PLATEAU files, checked against plain lxml XPath counts."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from futago.city.citygml import iter_features, read_crs
from futago.city.features import BuildingFeature, WaterBodyFeature
from tests.city.citygml_fixtures import BLDG, FLD, TNM, plateau_dir

NS = {
    "bldg": "http://www.opengis.net/citygml/building/2.0",
    "uro": "https://www.geospatial.jp/iur/uro/2.0",
}


def _buildings(plateau: Path) -> list[BuildingFeature]:
    features = list(iter_features(plateau / BLDG))
    assert all(isinstance(f, BuildingFeature) for f in features)
    return [f for f in features if isinstance(f, BuildingFeature)]


def test_building_counts_and_heights() -> None:
    plateau = plateau_dir()
    buildings = _buildings(plateau)
    assert len(buildings) == 25
    heights = [b.measured_height for b in buildings]
    assert sum(h is not None for h in heights) == 22
    assert sum(h is None for h in heights) == 3  # missing stays missing, never 0

    tree = etree.parse(str(plateau / BLDG))
    expected = [float(t) for t in tree.xpath("//bldg:Building/bldg:measuredHeight/text()", namespaces=NS)]
    got = [h for h in heights if h is not None]
    assert abs(sum(got) - sum(expected)) < 1e-9
    assert max(got) == max(expected)
    ids_without = set(
        tree.xpath(
            "//bldg:Building[not(bldg:measuredHeight)]/@gml:id", namespaces={**NS, "gml": "http://www.opengis.net/gml"}
        )
    )
    assert {b.gml_id for b in buildings if b.measured_height is None} == ids_without


def test_river_flooding_risks() -> None:
    plateau = plateau_dir()
    buildings = _buildings(plateau)
    risks = [r for b in buildings for r in b.risks]
    assert len(risks) == 49
    assert all(r.kind == "river_flooding" for r in risks)
    assert all(r.rank_org is not None and r.depth is not None and r.scale is not None for r in risks)
    tree = etree.parse(str(plateau / BLDG))
    depths = [float(t) for t in tree.xpath("//uro:BuildingRiverFloodingRiskAttribute/uro:depth/text()", namespaces=NS)]
    assert sorted(r.depth for r in risks if r.depth is not None) == sorted(depths)


def test_ids_lods_footprints_axis_order() -> None:
    plateau = plateau_dir()
    for b in _buildings(plateau):
        assert b.kind == "Building" and b.parent_id is None
        assert b.lods == {0, 1}
        assert b.building_id and b.building_id.startswith("01100-bldg-")
        (key_code,) = [g for g in b.generic if g.name == "KeyCode"]  # a gen:stringAttribute, not in attributes
        assert key_code.type == "string" and key_code.value and "KeyCode" not in b.attributes
        assert b.footprint and b.lod0_roof_edge and b.lod1_solid
        for poly in b.footprint:
            for lon, lat in poly[0]:
                assert 141.43 <= lon <= 141.45 and 42.93 <= lat <= 42.95
        lowest = min(p[2] for poly in b.lod1_solid for p in poly[0])
        assert b.ground_elevation == lowest
        assert b.source.startswith(str(plateau / BLDG) + ":")


def test_crs_reported() -> None:
    plateau = plateau_dir()
    reader = iter_features(plateau / BLDG)
    assert reader.crs == "EPSG:6697" and not reader.crs_assumed
    reader.close()
    assert read_crs(plateau / FLD) == "EPSG:6697"


def test_flood_zones() -> None:
    plateau = plateau_dir()
    zones = list(iter_features(plateau / FLD))
    assert len(zones) == 3
    for zone in zones:
        assert isinstance(zone, WaterBodyFeature)
        assert zone.hazard == "river_flooding"
        assert zone.polygons and all(len(p) == 2 for ring in zone.polygons[0] for p in ring)
        assert [r.scale for r in zone.risks] == ["L1"]
        assert zone.risks[0].rank_org is not None
        lon, lat = zone.polygons[0][0][0]
        assert 138.8 < lon < 139.0 and 35.0 < lat < 35.2  # Numazu, (lon, lat)


def test_tsunami_zones() -> None:
    plateau = plateau_dir()
    zones = list(iter_features(plateau / TNM))
    assert len(zones) == 3
    assert all(isinstance(z, WaterBodyFeature) and z.hazard == "tsunami" for z in zones)
    assert all(z.risks and z.risks[0].kind == "tsunami" for z in zones if isinstance(z, WaterBodyFeature))
