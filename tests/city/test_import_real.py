"""Real PLATEAU files of three cities (Numazu, Sapporo, Kawasaki; urf 2.0 and i-UR 3.x layouts) imported whole:
every city object counted, every one a twin, nothing skipped unsaid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from futago.app import App
from futago.cli import main
from futago.services.city_import import CityImporter
from tests.city.citygml_fixtures import HEAD, TAIL
from tests.conftest import SHARED_DATA

CITIES = SHARED_DATA / "plateau-cities"
needs_cities = pytest.mark.skipif(
    not (CITIES / "kawasaki-shi.zip").exists(), reason=f"real PLATEAU city files not found at {CITIES}"
)


def _import(app: App, *paths: Path, **options: str) -> dict[str, object]:
    return CityImporter(app.store, app.models, app.twins, app.bus).run(list(paths), **options).to_json()


def _count(app: App, model: str) -> int:
    query = f"SELECT COUNT() FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:futago:city:{model};1')"
    return int(app.twins.query(query).items[0]["COUNT"])


@needs_cities
@pytest.mark.parametrize(
    ("name", "features"),
    [
        (
            "523857_urf_6668_op.gml",  # Numazu
            {"AreaClassification": 3, "ScenicDistrict": 4, "SpecialUseDistrict": 2, "UseDistrict": 38},
        ),
        ("523857_lsld_6668_op.gml", {"SedimentDisasterProneArea": 81}),
        ("523836_luse_6668_op.gml", {"LandUse": 225}),
        (
            "644131_urf_6668_op.gml",  # Sapporo
            {"AreaClassification": 6, "FirePreventionDistrict": 1, "UrbanPlanningArea": 1, "UseDistrict": 4},
        ),
    ],
)
def test_a_real_file_becomes_one_twin_per_city_object(app: App, name: str, features: dict[str, int]) -> None:
    report = _import(app, CITIES / name)
    assert report["features"] == features
    assert report["twins"] == sum(features.values()) == app.store.count_twins()
    assert report["skipped"] == {} and report["warnings"] == 0 and report["buildings"] == 0
    for kind, count in features.items():
        assert _count(app, kind) == count
    [dataset] = app.store.list_datasets()
    assert dataset.records["cityObjects"] == dataset.records["features"] == sum(features.values())


@needs_cities
def test_numazu_zones_keep_their_legal_attributes(app: App) -> None:
    _import(app, CITIES / "523857_urf_6668_op.gml", CITIES / "523857_lsld_6668_op.gml")
    rates = app.twins.query(
        "SELECT Z.floorAreaRate, Z.validFrom, Z.custodian FROM DIGITALTWINS Z "
        "WHERE IS_OF_MODEL(Z, 'dtmi:futago:city:UseDistrict;1') AND Z.floorAreaRate = 0.6"
    ).items
    assert rates and all(r["custodian"] and len(r["validFrom"]) == 10 for r in rates)
    zone_types = app.twins.query(
        "SELECT Z.areaType FROM DIGITALTWINS Z WHERE IS_OF_MODEL(Z, 'dtmi:futago:city:SedimentDisasterProneArea;1')"
    ).items
    assert {r["areaType"] for r in zone_types} <= {"土砂災害警戒区域（指定済）", "土砂災害特別警戒区域（指定済）"}
    assert len({r["areaType"] for r in zone_types}) == 2  # both kinds, labelled without the codelists


@needs_cities
def test_the_kawasaki_zip_layout_applies_its_codelists(app: App) -> None:
    report = _import(app, CITIES / "kawasaki-shi.zip")
    assert report["features"] == {
        "AreaClassification": 2,
        "CityFurniture": 28,
        "FirePreventionDistrict": 2,
        "HeightControlDistrict": 1,
        "ParkingPlaceDevelopmentZone": 1,
        "PortZone": 2,
        "ProductiveGreenZone": 27,
        "SpecialGreenSpaceConservationDistrict": 7,
        "SpecialUseDistrict": 4,
        "UseDistrict": 4,
    }
    assert report["twins"] == 78 and report["skipped"] == {}
    assert _count(app, "CityFurniture") == 28 and _count(app, "UrbanPlanningZone") == 50
    uses = app.twins.query(
        "SELECT Z.function, Z.codes.function AS code, Z.buildingCoverageRate FROM DIGITALTWINS Z "
        "WHERE IS_OF_MODEL(Z, 'dtmi:futago:city:UseDistrict;1')"
    ).items
    labels = {"11": "準工業地域", "13": "工業専用地域"}  # Common_districtsAndZonesType.xml of the zip
    assert all(labels.get(u["code"], u["function"]) == u["function"] and u["function"] != u["code"] for u in uses)
    assert {u["buildingCoverageRate"] for u in uses} <= {0.4, 0.6, 0.8}


OTHER = (
    '<core:cityObjectMember><grp:CityObjectGroup xmlns:grp="http://www.opengis.net/citygml/cityobjectgroup/2.0" '
    'gml:id="grp_1"><gml:name>避難所</gml:name></grp:CityObjectGroup></core:cityObjectMember>\n'
)


def test_a_class_futago_does_not_model_is_skipped_with_its_reason(app: App, tmp_path: Path) -> None:
    path = tmp_path / "53394611_grp_6697_op.gml"
    path.write_text(HEAD.format(uro="https://www.geospatial.jp/iur/uro/3.0") + OTHER + TAIL, encoding="utf-8")
    report = _import(app, path)
    assert report["features"] == {"CityObjectGroup": 1} and report["twins"] == 0
    assert report["skipped"] == {"grp:CityObjectGroup: futago has no model for this class (e.g. gml:id grp_1)": 1}


def test_a_file_without_city_objects_says_so_and_the_cli_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "53394611_bldg_6697_op.gml"
    path.write_text(HEAD.format(uro="https://www.geospatial.jp/iur/uro/3.0") + TAIL, encoding="utf-8")
    db = str(tmp_path / "city.db")
    result = CliRunner().invoke(main, ["city", "import", str(path), "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["features"] == {} and report["twins"] == 0
    assert report["skipped"] == {f"no city object in {path}": 1}


@needs_cities
def test_cli_source_licence_and_warnings(tmp_path: Path) -> None:
    db = str(tmp_path / "city.db")
    zone = (CITIES / "644131_urf_6668_op.gml").read_text(encoding="utf-8")
    bad = tmp_path / "644131_urf_6668_op.gml"  # a rate that is no number: a warning, never a failed file
    bad.write_text(zone.replace("<urf:floorAreaRate>", "<urf:floorAreaRate>about ", 1), encoding="utf-8")
    args = ["city", "import", str(bad), "--db", db, "--json", "--source", "citygml", "--licence", "CC BY 4.0"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["twins"] == 12 and report["warnings"] == 1
    (warning,) = report["warning_examples"]
    assert warning["path"].endswith("/floorAreaRate") and "kept as text" in warning["message"]
    assert warning["feature"] in result.stderr  # and on stderr, for people
    catalog = CliRunner().invoke(main, ["catalog", "list", "--db", db, "--json"])
    assert catalog.exit_code == 0, catalog.output
    assert "CC BY 4.0" in catalog.output and "CityGML city model" in catalog.output
