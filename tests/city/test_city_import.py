"""Importing PLATEAU into twins: exact counts, axis order, flood zones, all-or-nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from futago.app import App
from futago.city.citygml import CityGmlError
from futago.cli import main
from futago.services.city_import import CityImporter
from tests.conftest import SHARED_DATA

PLATEAU = SHARED_DATA / "plateau"
BUILDINGS = PLATEAU / "64413325_bldg_6697_op.gml"
needs_plateau = pytest.mark.skipif(not BUILDINGS.exists(), reason=f"PLATEAU fixtures not found at {PLATEAU}")
NS = {"bldg": "http://www.opengis.net/citygml/building/2.0"}


def _heights() -> list[float]:
    tree = etree.parse(str(BUILDINGS))
    return [float(h) for h in tree.xpath("//bldg:Building/bldg:measuredHeight/text()", namespaces=NS)]


@needs_plateau
def test_plateau_fixtures_import_with_exact_counts(app: App) -> None:
    summary = CityImporter(app.store, app.models, app.twins, app.bus).run([str(PLATEAU)])
    heights = _heights()
    report = summary.to_json()
    assert list(report) == [
        "buildings",
        "building_parts",
        "measured_heights",
        "height_max",
        "height_sum",
        "flood_risk_buildings",
        "bbox_wgs84",
        "crs_in",
        "lods",
        "features",
        "twins",
        "skipped",
        "warnings",
    ]
    assert report["buildings"] == 25 and report["building_parts"] == 0
    assert report["features"] == {"Building": 25, "WaterBody": 6}  # every cityObjectMember, counted once
    assert report["twins"] == app.store.count_twins() == 25 + 6 + 1  # and the district of mesh 64413325
    assert report["skipped"] == {} and report["warnings"] == 0
    assert report["measured_heights"] == len(heights) == 22
    assert report["height_max"] == max(heights)
    assert report["height_sum"] == pytest.approx(sum(heights))
    assert report["crs_in"] == "EPSG:6697" and report["lods"] == [0, 1]
    min_lon, min_lat, max_lon, max_lat = report["bbox_wgs84"]
    assert 141.43 < min_lon < max_lon < 141.45 and 42.93 < min_lat < max_lat < 42.95  # lon first: Sapporo
    assert summary.flood_zones == 6  # 3 river-flood and 3 tsunami zones (Numazu)

    buildings = app.twins.query("SELECT T FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:futago:city:Building;1')")
    assert len(buildings.items) == 25
    without = [row["T"] for row in buildings.items if "measuredHeight" not in row["T"]]
    assert len(without) == 3  # missing stays missing, never 0
    risks = sum(len(row["T"].get("risks", [])) for row in buildings.items)
    assert risks == 49
    near = app.twins.query(
        "SELECT COUNT() FROM DIGITALTWINS T WHERE ST_WITHIN(T.geometry, [141.43, 42.93, 141.45, 42.95])"
    )
    assert near.items == [{"COUNT": 25}]
    zones = app.twins.query("SELECT T FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:futago:city:FloodZone;1')")
    hazards = sorted(row["T"]["hazard"] for row in zones.items)
    assert hazards == ["river_flooding"] * 3 + ["tsunami"] * 3
    assert {row["T"]["scale"] for row in zones.items if row["T"]["hazard"] == "river_flooding"} == {"L1"}


@needs_plateau
def test_a_bad_file_imports_nothing(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "city"
    folder.mkdir()
    shutil.copy(BUILDINGS, folder / "64413325_bldg_6697_op.gml")
    truncated = BUILDINGS.read_bytes()[:60_000]
    (folder / "64413326_bldg_6697_op.gml").write_bytes(truncated)
    with pytest.raises(CityGmlError) as err:
        CityImporter(app.store, app.models, app.twins, app.bus).run([str(folder)])
    assert "64413326_bldg_6697_op.gml" in str(err.value) and "line" in str(err.value)
    assert app.store.count_twins() == 0


@needs_plateau
def test_cli_city_import_json(tmp_path: Path) -> None:
    db = str(tmp_path / "city.db")
    result = CliRunner().invoke(main, ["city", "import", str(BUILDINGS), "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["buildings"] == 25 and report["measured_heights"] == 22
    garbage = tmp_path / "bad.gml"
    garbage.write_text("<notCityGML/>")
    failed = CliRunner().invoke(main, ["city", "import", str(garbage), "--db", db, "--json"])
    assert failed.exit_code == 1 and "bad.gml" in failed.output


def test_generated_district_round_trips_with_the_flood_join(app: App, tmp_path: Path) -> None:
    from futago.city.generator import DistrictSpec, generate_district

    truth = generate_district(
        DistrictSpec(buildings=400, seed=11, lod2_share=0.2, parts_share=0.1), tmp_path / "district.zip"
    )
    summary = CityImporter(app.store, app.models, app.twins, app.bus).run([str(truth.path)]).to_json()
    assert summary["buildings"] == truth.building_count
    assert summary["building_parts"] == truth.building_part_count
    assert summary["measured_heights"] == truth.measured_heights
    assert summary["height_sum"] == pytest.approx(truth.height_sum)
    assert summary["height_max"] == pytest.approx(truth.height_max)
    assert summary["flood_risk_buildings"] == truth.flood_risk_buildings
    assert summary["bbox_wgs84"] == pytest.approx(truth.bbox_wgs84)
    assert summary["lods"] == [0, 1, 2]
    in_zone = app.twins.query(
        "SELECT B.$dtId FROM DIGITALTWINS B JOIN Z RELATED B.inFloodZone WHERE STARTSWITH(Z.scale, 'L2')"
    ).items
    assert len({row["$dtId"] for row in in_zone}) == truth.flood_risk_buildings
    parts = app.twins.query("SELECT COUNT() FROM DIGITALTWINS P JOIN B RELATED P.partOf").items
    assert parts == [{"COUNT": truth.building_part_count}]
    grounded = app.twins.query(
        "SELECT COUNT() FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:futago:city:Building;1') "
        "AND IS_DEFINED(T.groundElevation)"
    ).items
    assert grounded == [{"COUNT": truth.building_count}]  # every building got a ground elevation from the DEM


def test_a_store_holding_other_city_models_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    """A store made by a futago whose bundled Building model differed (same id, other content): the import
    names the model and stores nothing, instead of checking new twins against a model it does not write for."""
    from importlib import resources

    from futago.app import build
    from futago.city.generator import DistrictSpec, generate_district
    from futago.config import Settings

    db = str(tmp_path / "old.db")
    bundled = json.loads(resources.files("futago.city").joinpath("models.json").read_bytes())
    older = next(d for d in bundled if d["@id"] == "dtmi:futago:city:Building;1")
    older = {**older, "contents": older["contents"][1:]}  # one property fewer, as an older edition had
    assert older != next(d for d in bundled if d["@id"] == "dtmi:futago:city:Building;1")
    app = build(Settings(db=db, data_root=str(tmp_path)))
    try:
        app.models.add_missing([d for d in bundled if d["@id"] != older["@id"]] + [older])
    finally:
        app.close()
    district = generate_district(DistrictSpec(buildings=20, seed=3), tmp_path / "district.zip")
    result = CliRunner().invoke(main, ["city", "import", str(district.path), "--db", db, "--json"])
    assert result.exit_code == 1, result.output
    assert "dtmi:futago:city:Building;1" in result.output and "new store" in result.output
    app = build(Settings(db=db, data_root=str(tmp_path)))
    try:
        assert app.store.count_twins() == 0
    finally:
        app.close()
