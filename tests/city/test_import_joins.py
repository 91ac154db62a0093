"""Buildings joined to real Numazu zones (urf 用途地域, lsld 土砂災害警戒区域), whatever order the files come in.

No real Numazu building file is at hand (the bundled buildings are Sapporo's, outside every real use district),
so the buildings are synthetic PLATEAU bldg snippets placed inside a real zone's polygon; the zones are real.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from futago.app import App
from futago.city.features import CityObjectFeature
from futago.city.reading import iter_city
from futago.services.city_import import CityImporter
from tests.city.citygml_fixtures import HEAD, TAIL, polygon, ring
from tests.conftest import SHARED_DATA

CITIES = SHARED_DATA / "plateau-cities"
URF = CITIES / "523857_urf_6668_op.gml"
LSLD = CITIES / "523857_lsld_6668_op.gml"
needs_cities = pytest.mark.skipif(not URF.exists(), reason=f"real PLATEAU city files not found at {CITIES}")
USE = "dtmi:futago:city:UseDistrict;1"


def _zone(path: Path, kind: str, with_property: str) -> tuple[CityObjectFeature, tuple[float, float]]:
    """The first real zone of ``kind`` with ``with_property``, and a point well inside it (lon, lat)."""
    for feature, _, _ in iter_city([path]):
        if isinstance(feature, CityObjectFeature) and feature.kind == kind and with_property in feature.properties:
            shape = shapely.geometry.shape({"type": "Polygon", "coordinates": feature.polygons[0]})
            point = shapely.buffer(shape, -0.0002).representative_point()
            return feature, (point.x, point.y)
    raise AssertionError(f"no {kind} in {path}")


def _buildings(path: Path, at: dict[str, tuple[float, float]]) -> Path:
    members = "".join(
        f'<core:cityObjectMember><bldg:Building gml:id="{gid}">'
        f'<gen:stringAttribute name="総建物階数"><gen:value>3</gen:value></gen:stringAttribute>'
        f'<bldg:measuredHeight uom="m">9.5</bldg:measuredHeight>'
        f"<bldg:lod0FootPrint><gml:MultiSurface>{polygon(ring(lat - 0.00002, lon - 0.00002, 0.0, 0.00004))}"
        "</gml:MultiSurface></bldg:lod0FootPrint></bldg:Building></core:cityObjectMember>\n"
        for gid, (lon, lat) in at.items()
    )
    path.write_text(HEAD.format(uro="https://www.geospatial.jp/iur/uro/3.0") + members + TAIL, encoding="utf-8")
    return path


def _import(app: App, *paths: Path) -> dict[str, object]:
    return CityImporter(app.store, app.models, app.twins, app.bus).run(list(paths)).to_json()


@needs_cities
@pytest.mark.parametrize("order", ["zones first", "buildings first", "zones yesterday", "buildings yesterday"])
def test_buildings_get_in_zone_and_in_hazard_area_whatever_the_order(app: App, tmp_path: Path, order: str) -> None:
    use, in_use = _zone(URF, "UseDistrict", "floorAreaRate")
    slope, in_slope = _zone(LSLD, "SedimentDisasterProneArea", "areaType")
    bldg = _buildings(
        tmp_path / "52385700_bldg_6697_op.gml",
        {"b-use": in_use, "b-slope": in_slope, "b-nowhere": (139.5, 35.5)},
    )
    if order == "zones first":
        _import(app, URF, LSLD, bldg)
    elif order == "buildings first":
        _import(app, bldg, URF, LSLD)
    elif order == "zones yesterday":
        _import(app, URF, LSLD)
        _import(app, bldg)
    else:
        _import(app, bldg)
        _import(app, URF, LSLD)

    rows = app.twins.query(
        "SELECT B.$dtId, Z.floorAreaRate, Z.$dtId AS zone FROM DIGITALTWINS B JOIN Z RELATED B.inZone "
        f"WHERE Z.$metadata.$model = '{USE}'"
    ).items
    assert rows == [{"$dtId": "b-use", "floorAreaRate": float(use.properties["floorAreaRate"]), "zone": use.gml_id}]
    hazard = app.twins.query(
        "SELECT B.$dtId, R.kind, R.zoneType, Z.zoneName FROM DIGITALTWINS B JOIN Z RELATED B.inHazardArea R"
    ).items
    labels = {"1": "土砂災害警戒区域（指定済）", "2": "土砂災害特別警戒区域（指定済）"}
    # a special warning area (特別警戒区域) lies inside its warning area (警戒区域): a building there is in both
    assert {row["$dtId"] for row in hazard} == {"b-slope"} and {row["kind"] for row in hazard} == {"landslide"}
    assert labels[slope.properties["areaType"]] in {row["zoneType"] for row in hazard}
    assert {row["zoneType"] for row in hazard} <= set(labels.values())
    assert slope.properties["zoneName"] in {row["zoneName"] for row in hazard}
    nowhere = app.twins.query("SELECT COUNT() FROM DIGITALTWINS B JOIN Z RELATED B.inZone WHERE B.$dtId = 'b-nowhere'")
    assert nowhere.items == [{"COUNT": 0}]
    # the generic attribute with a Japanese name that once refused the whole file is kept, and queryable
    (twin,) = app.twins.query("SELECT B.genericAttributes FROM DIGITALTWINS B WHERE B.$dtId = 'b-use'").items
    assert {"name": "総建物階数", "type": "string", "value": "3"} in twin["genericAttributes"]


@needs_cities
def test_importing_the_same_zones_again_keeps_one_relationship_each(app: App, tmp_path: Path) -> None:
    _, in_use = _zone(URF, "UseDistrict", "floorAreaRate")
    bldg = _buildings(tmp_path / "52385700_bldg_6697_op.gml", {"b-use": in_use})
    _import(app, bldg, URF)
    before = app.twins.query("SELECT COUNT() FROM DIGITALTWINS B JOIN Z RELATED B.inZone").items
    _import(app, URF)  # zones updated: the same relationship ids are written again, never a second copy
    assert app.twins.query("SELECT COUNT() FROM DIGITALTWINS B JOIN Z RELATED B.inZone").items == before
    assert before == [{"COUNT": 1}]  # its use district
