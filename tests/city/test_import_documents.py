"""City objects as twin documents: the class table, the models, schema coercion and generic attributes."""

from __future__ import annotations

from typing import Any

import pytest

from futago.app import App
from futago.city.classes import (
    HAZARD_AREA,
    OBJECT_CLASSES,
    URF_CLASSES,
    known_models,
    model_info,
    model_of,
    urf_model_ids,
)
from futago.city.features import BuildingFeature, CityObjectFeature, GenericAttribute, ReadTally
from futago.city.objects import city_object_document
from futago.city.twins import building_document
from futago.core.dtdl.loading import load
from futago.services.city_import import CityImporter

SQUARE = [[(138.86, 35.10), (138.87, 35.10), (138.87, 35.11), (138.86, 35.11), (138.86, 35.10)]]


def _use_district(**properties: str) -> CityObjectFeature:
    return CityObjectFeature(
        gml_id="urf_1",
        module="urf",
        kind="UseDistrict",
        properties=dict(properties),
        codes={"function": "5"},
        polygons=[SQUARE],
        lods={1},
        source="523857_urf_6668_op.gml:20",
    )


def _stored(app: App, twin_id: str, document: dict[str, Any]) -> dict[str, Any]:
    """The document through futago's own DTDL validation and back."""
    CityImporter(app.store, app.models, app.twins, app.bus).ensure_models()
    app.twins.import_twins([(twin_id, document)])
    return app.twins.get(twin_id).to_json()


def test_every_urf_class_and_every_other_class_has_a_model() -> None:
    models = known_models()
    assert len(URF_CLASSES) == 104  # the 103 urf classes of i-UR 2.x/3.x and the area model's urf:Zone
    for kind in URF_CLASSES:
        assert model_of("urf", kind) in models, kind
    for kind in OBJECT_CLASSES:
        assert model_of("frn", kind) in models, kind
    assert model_of("urf", "Waterway") == "dtmi:futago:city:UrbanFacilityWaterway;1"  # not the tran Waterway
    assert model_of("tran", "Waterway") == "dtmi:futago:city:Waterway;1"
    assert model_of("urf", "SedimentDisasterProneArea") == HAZARD_AREA  # lsld: a hazard, not an inZone zone
    assert HAZARD_AREA not in urf_model_ids()
    assert model_of("grp", "CityObjectGroup") is None  # counted in skipped by the importer


def test_the_city_models_parse_and_every_urf_model_has_the_legal_attributes() -> None:
    models = load("src/futago/city/models.json")
    assert len(models.documents) >= 150
    use = model_info("dtmi:futago:city:UseDistrict;1").schemas
    assert use["floorAreaRate"] == "double" and use["buildingCoverageRate"] == "double"
    assert use["validFrom"] == "date" and use["notificationNumber"] == "string"
    assert use["genericAttributes"] == "complex" and use["function"] == "string"
    height = model_info("dtmi:futago:city:HeightControlDistrict;1").schemas
    assert height["maximumHeight"] == "double" and height["minimumHeight"] == "double"


def test_values_meet_their_schemas_and_what_does_not_fit_is_kept_with_a_warning(app: App) -> None:
    tally = ReadTally()
    feature = _use_district(
        function="第1種住居地域",
        floorAreaRate="2",
        buildingCoverageRate="0.6",
        validFrom="2009-11-11",
        nominalArea="12.5; 13.0",  # a repeated value: no one double
        decision="決定",  # no property of the model: kept in attributes
    )
    feature.attributes = {"surveyYear": "2021", "調査年": "2021"}
    document = city_object_document(feature, model_info("dtmi:futago:city:UseDistrict;1"), tally.warn)
    assert document["floorAreaRate"] == 2.0 and document["buildingCoverageRate"] == 0.6
    assert document["validFrom"] == "2009-11-11" and document["function"] == "第1種住居地域"
    assert "nominalArea" not in document
    assert document["attributes"] == {"surveyYear": "2021", "decision": "決定"}
    assert document["codes"] == {"function": "5"}
    assert {"name": "nominalArea", "type": "string", "value": "12.5; 13.0", "set": "properties"} in document[
        "genericAttributes"
    ]
    assert {"name": "調査年", "type": "string", "value": "2021", "set": "attributes"} in document["genericAttributes"]
    assert tally.warning_count == 1
    (warning,) = tally.warnings
    assert warning.feature_id == "urf_1" and warning.path == "523857_urf_6668_op.gml:20/nominalArea"
    stored = _stored(app, "urf_1", document)  # and futago's DTDL validation takes it
    assert stored["geometry"]["type"] == "Polygon" and stored["lods"] == [1]


def test_a_sediment_area_without_its_codelists_still_names_its_zone_type() -> None:
    feature = CityObjectFeature(
        gml_id="lsld_1",
        module="urf",
        kind="SedimentDisasterProneArea",
        properties={"areaType": "2", "disasterType": "1", "zoneName": "八重団地"},
        polygons=[SQUARE],
    )
    document = city_object_document(feature, model_info(HAZARD_AREA), ReadTally().warn)
    assert document["areaType"] == "土砂災害特別警戒区域（指定済）"
    assert document["disasterType"] == "急傾斜地の崩壊" and document["zoneName"] == "八重団地"


def test_a_building_with_japanese_attribute_names_is_valid_and_keeps_them(app: App) -> None:
    # the real-world failure: "/4/attributes/総建物階数 map key '総建物階数' is not allowed" refused the file
    building = BuildingFeature(
        gml_id="bldg_1",
        kind="Building",
        attributes={"buildingDetail_fireproofStructureType": "耐火", "総建物階数": "5"},
        generic=[
            GenericAttribute("図形ID", "string", "ZK-0042"),
            GenericAttribute("延床面積", "measure", "120.5", number=120.5, unit="m2", set="建物詳細"),
        ],
        footprint=[SQUARE],
    )
    stored = _stored(app, "bldg_1", building_document(building))
    assert stored["attributes"] == {"buildingDetail_fireproofStructureType": "耐火"}
    assert stored["genericAttributes"] == [
        {"name": "図形ID", "type": "string", "value": "ZK-0042"},
        {"name": "延床面積", "type": "measure", "value": "120.5", "number": 120.5, "unit": "m2", "set": "建物詳細"},
        {"name": "総建物階数", "type": "string", "value": "5", "set": "attributes"},
    ]


@pytest.mark.parametrize(
    ("schema", "text", "expected"),
    [("integer", "3.0", 3), ("integer", "3.5", None), ("date", "2023-02-30", None), ("double", "nan", None)],
)
def test_coercion_edges(schema: str, text: str, expected: Any) -> None:
    from futago.city.classes import ModelInfo

    tally = ReadTally()
    model = ModelInfo("dtmi:futago:city:LandUse;1", {"value": schema, "genericAttributes": "complex"})
    feature = CityObjectFeature(gml_id="x", module="luse", kind="LandUse", properties={"value": text})
    document = city_object_document(feature, model, tally.warn)
    assert document.get("value") == expected
    assert tally.warning_count == (expected is None)


def test_released_city_models_never_change_under_their_id() -> None:
    """Models are immutable: a store keeps the document it was given, and the importer refuses a store whose
    city model differs from this futago's. So a change to a released model must come as a new version."""
    import hashlib
    from importlib import resources
    from pathlib import Path

    import orjson

    lock = Path(__file__).with_name("released_models.sha256")
    lines = [line.split() for line in lock.read_text().splitlines() if line and not line.startswith("#")]
    released = {model_id: digest for digest, model_id in lines}
    bundled = orjson.loads(resources.files("futago.city").joinpath("models.json").read_bytes())
    for document in bundled:
        digest = hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
        model_id = document["@id"]
        assert model_id in released, f"{model_id} is new: add `{digest}  {model_id}` to {lock.name}"
        assert released[model_id] == digest, f"{model_id} changed: release it as a new version instead"
