"""Real PLATEAU files of the i-UR 3.0/3.1 editions (product specification 4.x) and of Sendai, the public data
set ``plateau-iur3`` (``futago datasets fetch plateau-iur3``; its source and licence in
samples/public_datasets.json): every city object counted, every one a twin of its class's model, its values as
the file gives them. The expected figures are read from the XML here, never copied from what futago prints.
Read from ``$FUTAGO_DATA`` where set, else ../shared/data; the tests skip when the set is not there."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree

from futago.app import App
from futago.cli import main
from futago.services import public_data
from futago.services.city_import import CityImporter
from tests.conftest import SHARED_DATA

DATASET = public_data.dataset("plateau-iur3")
DATA = Path(os.environ.get("FUTAGO_DATA") or SHARED_DATA) / DATASET.folder
FILES = sorted(f.path for f in DATASET.files)
pytestmark = pytest.mark.skipif(
    not public_data.is_cached(DATASET, DATA.parent),
    reason=f"the plateau-iur3 data set is not at {DATA}: futago datasets fetch plateau-iur3",
)
GML = "http://www.opengis.net/gml"
MEMBERS = ("cityObjectMember", "featureMember")
# Objects nested in a member that the specification models as city objects of their own (twins of their own).
NESTED = ("TrafficArea", "AuxiliaryTrafficArea")
GEOMETRY = ("lod", "boundedBy")


def _local(elem: Any) -> str:
    return etree.QName(elem).localname


def _root(name: str) -> Any:
    return etree.parse(str(DATA / name)).getroot()


def _objects(name: str) -> list[Any]:
    """The top-level city objects: each child of a cityObjectMember (or featureMember)."""
    return [obj for member in _root(name) if _local(member) in MEMBERS for obj in member]


def _nested(name: str) -> int:
    return sum(1 for e in _root(name).iter() if isinstance(e.tag, str) and _local(e) in NESTED)


def _edition(name: str) -> set[str]:
    """The i-UR namespaces the file declares (uro/3.0, urf/2.0 ...)."""
    return {ns.split("/iur/")[1] for ns in _root(name).nsmap.values() if "/iur/" in ns}


def _crs(name: str) -> str:
    srs = _root(name).find(f"{{{GML}}}boundedBy/{{{GML}}}Envelope").get("srsName")
    return "EPSG:" + srs.rsplit("/", 1)[1]


def _cli(name: str, tmp_path: Path) -> dict[str, Any]:
    args = ["city", "import", str(DATA / name), "--db", str(tmp_path / "city.db"), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def _twins(app: App) -> dict[str, dict[str, Any]]:
    return {t["$dtId"]: t for t in app.twins.query("SELECT * FROM DIGITALTWINS").items}


def test_the_fixtures_cover_two_more_editions_and_a_new_city() -> None:
    editions = set().union(*(_edition(name) for name in FILES))
    assert {"uro/3.0", "uro/3.1", "urf/3.0", "urf/2.0"} <= editions
    assert any(name.startswith("sendai-shi_") for name in FILES)


@pytest.mark.parametrize("name", FILES)
def test_the_cli_counts_every_city_object_and_makes_each_a_twin(name: str, tmp_path: Path) -> None:
    report = _cli(name, tmp_path)
    objects = _objects(name)
    assert report["features"] == dict(Counter(_local(o) for o in objects))
    assert report["twins"] == len(objects) + _nested(name)
    assert report["skipped"] == {} and report["warnings"] == 0
    assert report["crs_in"] == _crs(name)


@pytest.mark.parametrize("name", FILES)
def test_each_twin_has_its_class_model_and_the_files_values(app: App, name: str) -> None:
    report = CityImporter(app.store, app.models, app.twins, app.bus).run([DATA / name]).to_json()
    assert report["skipped"] == {} and report["warnings"] == 0
    twins = _twins(app)
    assert len(twins) == report["twins"] == app.store.count_twins()
    for obj in _objects(name):
        twin = twins[obj.get(f"{{{GML}}}id")]
        model = f"dtmi:futago:city:{_local(obj)};1"
        assert twin["$metadata"]["$model"] == model and app.models.get(model) is not None
        _assert_values(obj, twin)
    [dataset] = app.store.list_datasets()
    assert dataset.records["features"] == len(_objects(name))


def _assert_values(obj: Any, twin: dict[str, Any]) -> None:
    """Every simple property of the object, and every leaf of its uro attributes, is in the twin."""
    for child in obj:
        local = _local(child)
        if local.startswith(GEOMETRY) or not isinstance(child.tag, str):
            continue
        if local == "name" and etree.QName(child).namespace == GML:
            assert twin["name"] == child.text
        elif len(child) == 0:
            _assert_leaf(child, local, twin, twin)
        elif etree.QName(child).namespace.startswith("https://www.geospatial.jp/iur/uro/"):
            for leaf in child.iter():
                if isinstance(leaf.tag, str) and len(leaf) == 0:
                    assert twin["attributes"][_local(leaf)] == leaf.text


def _assert_leaf(child: Any, local: str, twin: dict[str, Any], where: dict[str, Any]) -> None:
    text = child.text.strip()
    if child.get("codeSpace") is not None:
        assert twin["codes"][local] == text  # no codelist at hand: the label is the code
        assert where[local] == text
        return
    value = where[local]
    assert value == (float(text) if isinstance(value, float) else text), (local, value, text)


def test_sendai_zones_keep_their_legal_ratios_and_are_queryable(app: App) -> None:
    name = "sendai-shi_574027_urf_6668_kodoriyou_op.gml"
    CityImporter(app.store, app.models, app.twins, app.bus).run([DATA / name])
    urf = "{https://www.geospatial.jp/iur/urf/2.0}"
    expected = {
        o.get(f"{{{GML}}}id"): float(o.find(f"{urf}maximumFloorAreaRate").text)
        for o in _objects(name)
        if float(o.find(f"{urf}maximumBuildingCoverageRate").text) == 0.7
    }
    rows = app.twins.query(
        "SELECT Z.$dtId, Z.maximumFloorAreaRate FROM DIGITALTWINS Z "
        "WHERE IS_OF_MODEL(Z, 'dtmi:futago:city:UrbanPlanningZone;1') AND Z.maximumBuildingCoverageRate = 0.7"
    ).items
    assert {r["$dtId"]: r["maximumFloorAreaRate"] for r in rows} == expected and len(expected) == 2


def test_the_waterway_keeps_its_traffic_area_as_a_part(app: App) -> None:
    name = "52397598_wwy_6697.gml"
    CityImporter(app.store, app.models, app.twins, app.bus).run([DATA / name])
    [waterway] = _objects(name)
    [area] = [e for e in waterway.iter() if isinstance(e.tag, str) and _local(e) == "TrafficArea"]
    twins = _twins(app)
    part = twins[area.get(f"{{{GML}}}id")]
    assert part["$metadata"]["$model"] == "dtmi:futago:city:TrafficArea;1"
    parts = [r.target_id for r in app.twins.list_relationships(waterway.get(f"{{{GML}}}id"))]
    assert parts == [part["$dtId"]]


def _z(obj: Any) -> list[float]:
    """Heights of the object's surfaces (LOD1 and up: a LOD0 point or line is no part of the volume)."""
    blocks = [c for c in obj if _local(c).startswith("lod") and _local(c)[3] != "0"]
    return [float(v) for b in blocks for p in b.iter(f"{{{GML}}}posList") for v in p.text.split()][2::3]


def test_generic_objects_keep_each_geometry_kind_and_a_block_its_outline(app: App) -> None:
    """A LOD1 block given as a MultiSurface (walls included) is a volume: one outline and its height,
    like the same block given as a Solid, not six faces of which four are walls seen from above."""
    name = "53392565_gen_6697.gml"
    CityImporter(app.store, app.models, app.twins, app.bus).run([DATA / name])
    twins = _twins(app)
    kinds = {}
    for obj in _objects(name):
        twin = twins[obj.get(f"{{{GML}}}id")]
        lods = sorted({int(_local(c)[3]) for c in obj if _local(c).startswith("lod")})
        assert twin["lods"] == lods
        kinds[obj.get(f"{{{GML}}}id")] = twin["geometry"]["type"]
        zs = _z(obj)
        if zs and max(zs) > min(zs):  # a volume
            assert twin["geometry"]["type"] == "Polygon"
            assert twin["height"] == pytest.approx(max(zs) - min(zs), abs=1e-3)
    assert sorted(kinds.values()) == ["LineString", "Polygon", "Polygon", "Polygon"]


def test_only_an_upright_face_makes_a_surface_a_volume() -> None:
    from futago.city.citygml.shapes import has_wall

    wall = [[(139.7, 35.5, 0.0), (139.7001, 35.5, 0.0), (139.7001, 35.5, 3.0), (139.7, 35.5, 3.0), (139.7, 35.5, 0.0)]]
    slope = [[(139.7, 35.5, 1.0), (139.7001, 35.5, 2.0), (139.7001, 35.5001, 3.0), (139.7, 35.5, 1.0)]]
    zone = [[(139.7, 35.5), (139.7001, 35.5), (139.7001, 35.5001), (139.7, 35.5)]]
    assert has_wall([slope, wall]) and not has_wall([slope]) and not has_wall([zone])
