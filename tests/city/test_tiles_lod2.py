"""LOD2 boundary surfaces from a building feature to its twin and into 3D Tiles, and ellipsoidal heights.

The house is a gabled LOD2 building built in Python as the CityGML reader yields it: 10 m × 8 m, ground
at 3 m, eaves at 9 m, a ridge at 12 m along its length, and a 2 m × 2 m window in its south wall.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import subprocess
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import orjson
import pytest

from futago.app import App
from futago.city.export import build_tileset, feature_collection
from futago.city.export import geoid as geoid_module
from futago.city.export.geodesy import to_ecef
from futago.city.export.geojson import map_properties
from futago.city.export.gltf import NULL_FEATURE_ID
from futago.city.export.mvt import encode_tile
from futago.city.features import BoundarySurface, BuildingFeature, Opening, Position
from futago.city.surfaces import polygon_area, surfaces_document
from futago.city.twins import building_document
from futago.services.city_import import CityImporter
from tests.city.citygml_fixtures import HEAD, TAIL
from tests.city.export_fixtures import LAT0, LON0, load_city_models, npm_modules, square
from tests.city.test_exports import geoid_height, parse_glb, view

HOUSE_LON, HOUSE_LAT = LON0 + 0.02, LAT0  # about 1.8 km east of the export district
M_LON = 1 / (111_320 * math.cos(math.radians(LAT0)))  # degrees per metre, near enough for a house
M_LAT = 1 / 110_950
GROUND, EAVES, RIDGE = 3.0, 9.0, 12.0


def at(x: float, y: float, h: float) -> Position:
    """(lon, lat, h) of a point x metres east and y metres north of the house's south-west corner."""
    return (HOUSE_LON + x * M_LON, HOUSE_LAT + y * M_LAT, h)


def closed(*points: Position) -> list[Position]:
    return [*points, points[0]]


def house_surfaces() -> list[BoundarySurface]:
    """Each ring counter-clockwise seen from outside, as CityGML wants: normals point away from the house."""
    a, b, c, d = (0, 0), (10, 0), (10, 8), (0, 8)

    def p(corner: tuple[int, int], h: float) -> Position:
        return at(corner[0], corner[1], h)

    r1, r2 = at(0, 4, RIDGE), at(10, 4, RIDGE)
    window = closed(at(2, 0, 5), at(2, 0, 7), at(4, 0, 7), at(4, 0, 5))  # a hole winds the other way
    south = [closed(p(a, GROUND), p(b, GROUND), p(b, EAVES), p(a, EAVES)), window]
    return [
        BoundarySurface("GroundSurface", "g", 2, [[closed(p(a, GROUND), p(d, GROUND), p(c, GROUND), p(b, GROUND))]]),
        BoundarySurface("RoofSurface", "roof-s", 2, [[closed(p(a, EAVES), p(b, EAVES), r2, r1)]]),
        BoundarySurface("RoofSurface", "roof-n", 2, [[closed(p(c, EAVES), p(d, EAVES), r1, r2)]]),
        BoundarySurface("WallSurface", "wall-s", 2, [south], [Opening("Window", "win-1", 2)]),
        BoundarySurface(
            "WallSurface", "wall-e", 2, [[closed(p(b, GROUND), p(c, GROUND), p(c, EAVES), r2, p(b, EAVES))]]
        ),
        BoundarySurface("WallSurface", "wall-n", 2, [[closed(p(c, GROUND), p(d, GROUND), p(d, EAVES), p(c, EAVES))]]),
        BoundarySurface(
            "WallSurface", "wall-w", 2, [[closed(p(d, GROUND), p(a, GROUND), p(a, EAVES), r1, p(d, EAVES))]]
        ),
    ]


#: Triangles each surface needs: a quad 2, a gable pentagon 3, a quad with a square hole 8.
TRIANGLES = {"g": 2, "roof-s": 2, "roof-n": 2, "wall-s": 8, "wall-e": 3, "wall-n": 2, "wall-w": 3}
#: Outward unit normals in (east, north, up).
NORMALS = {
    "g": (0, 0, -1),
    "roof-s": (0, -0.6, 0.8),
    "roof-n": (0, 0.6, 0.8),
    "wall-s": (0, -1, 0),
    "wall-e": (1, 0, 0),
    "wall-n": (0, 1, 0),
    "wall-w": (-1, 0, 0),
}


def house_feature() -> BuildingFeature:
    footprint = [closed(at(0, 0, 0)[:2], at(10, 0, 0)[:2], at(10, 8, 0)[:2], at(0, 8, 0)[:2])]
    return BuildingFeature(
        "bldg_house",
        "Building",
        measured_height=RIDGE - GROUND,
        ground_elevation=GROUND,
        usage="住宅",
        footprint=[footprint],
        lods={0, 2},
        surfaces=house_surfaces(),
    )


def add_house(app: App) -> dict[str, Any]:
    load_city_models(app)
    document = building_document(house_feature())
    app.twins.import_twins([("house", document)])  # validated against dtmi:futago:city:AbstractBuilding
    return document


# --- the twin ------------------------------------------------------------------------------------


def test_surfaces_document_is_lean_rounded_and_keeps_areas_and_openings() -> None:
    docs = surfaces_document(house_surfaces())
    assert docs is not None and [d["gmlId"] for d in docs] == list(TRIANGLES)
    by_id = {d["gmlId"]: d for d in docs}
    wall = by_id["wall-s"]
    assert wall["type"] == "WallSurface" and wall["lod"] == 2
    assert wall["openings"] == [{"type": "Window", "gmlId": "win-1"}]
    exterior, hole = wall["polygons"][0]
    assert len(exterior) == 4 * 3 and len(hole) == 4 * 3  # flat [lon, lat, h, ...], closing point dropped
    assert exterior[:3] == [round(HOUSE_LON, 7), round(HOUSE_LAT, 7), GROUND]
    assert all(v == round(v, 7) for v in exterior)
    # Areas in m²: 10 × 6 less the 2 × 2 window; the roof's slope is 5 m (3-4-5); the gable 10 × 6 + 10 × 3 / 2.
    assert wall["area"] == pytest.approx(56.0, rel=0.01)
    assert by_id["roof-s"]["area"] == pytest.approx(50.0, rel=0.01)
    assert by_id["wall-e"]["area"] == pytest.approx(8 * 6 + 8 * 3 / 2, rel=0.01)
    assert by_id["g"]["area"] == pytest.approx(80.0, rel=0.01) and "openings" not in by_id["g"]
    assert len(orjson.dumps(docs)) < 2000  # seven surfaces, 34 positions: lean enough for every building twin


def test_degenerate_surfaces_are_dropped_and_none_means_no_property() -> None:
    line = BoundarySurface("RoofSurface", "flat", 2, [[closed(at(0, 0, 5), at(1, 0, 5))]])
    nan = BoundarySurface("WallSurface", "nan", 2, [[closed(at(0, 0, 5), at(1, 0, math.nan), at(1, 1, 5))]])
    assert surfaces_document([line, nan]) is None
    assert surfaces_document([]) is None
    assert "surfaces" not in building_document(BuildingFeature("b", "Building"))
    assert polygon_area([]) == 0.0


def test_a_building_twin_carries_its_surfaces_and_the_maps_do_not(app: App) -> None:
    add_house(app)
    twin = app.twins.get("house")
    assert [s["gmlId"] for s in twin.properties["surfaces"]] == list(TRIANGLES)
    # GeoJSON by bbox and vector tiles send the scalar properties only: no boundary surfaces.
    assert "surfaces" not in map_properties(twin)
    box = (HOUSE_LON - 0.001, HOUSE_LAT - 0.001, HOUSE_LON + 0.001, HOUSE_LAT + 0.001)
    collection = json.loads(b"".join(feature_collection([twin], box)))
    assert [f["id"] for f in collection["features"]] == ["house"]
    assert "surfaces" not in collection["features"][0]["properties"]
    assert b"RoofSurface" not in b"".join(feature_collection([twin], box))
    z = 18
    x = int((HOUSE_LON + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(HOUSE_LAT))) / math.pi) / 2 * 2**z)
    tile = mapbox_vector_tile.decode(encode_tile(app.store, app.models.models, z, x, y))
    props = tile["buildings"]["features"][0]["properties"]
    assert props["id"] == "house" and not any("surface" in key.lower() for key in props)


# --- 3D Tiles ------------------------------------------------------------------------------------


def house_tileset(app: App, extruded_too: bool = True) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    add_house(app)
    if extruded_too:  # a LOD1 neighbour 30 m west, in the same tile
        neighbour = {"$metadata": {"$model": "dtmi:futago:city:Building;1"}, "measuredHeight": 6.0}
        neighbour["geometry"] = square(HOUSE_LON - 30 * M_LON, HOUSE_LAT)
        app.twins.import_twins([("neighbour", neighbour)])
    tileset = build_tileset(app.store, app.models.models)
    assert tileset is not None
    document = json.loads(tileset.json)
    assert len(tileset.contents) == 1
    glb_document, binary = parse_glb(next(iter(tileset.contents.values())))
    return document, glb_document, binary


def strings(document: dict[str, Any], binary: bytes, table: dict[str, Any], name: str) -> list[str]:
    data = view(document, binary, table["properties"][name]["values"])
    offsets = np.frombuffer(view(document, binary, table["properties"][name]["stringOffsets"]), "<u4")
    return [data[a:b].decode() for a, b in itertools.pairwise(offsets)]


def accessor(document: dict[str, Any], binary: bytes, index: int, width: int = 1) -> np.ndarray:
    values = np.frombuffer(view(document, binary, document["accessors"][index]["bufferView"]), "<f4")
    return values.reshape(-1, width) if width > 1 else values


def test_a_lod2_building_is_drawn_from_its_surfaces_with_a_surface_table(app: App) -> None:
    document, glb_document, binary = house_tileset(app)
    primitive = glb_document["meshes"][0]["primitives"][0]
    feature_sets = primitive["extensions"]["EXT_mesh_features"]["featureIds"]
    assert feature_sets[1] == {"featureCount": 7, "attribute": 1, "propertyTable": 1, "nullFeatureId": NULL_FEATURE_ID}
    buildings, surfaces = glb_document["extensions"]["EXT_structural_metadata"]["propertyTables"]
    assert surfaces["name"] == "surfaces" and surfaces["count"] == 7
    gml_ids = strings(glb_document, binary, surfaces, "gmlId")
    assert gml_ids == list(TRIANGLES)
    assert (
        strings(glb_document, binary, surfaces, "surfaceType")
        == ["GroundSurface"] + ["RoofSurface"] * 2 + ["WallSurface"] * 4
    )
    building_ids = strings(glb_document, binary, buildings, "id")
    house = building_ids.index("house")

    positions = accessor(glb_document, binary, primitive["attributes"]["POSITION"], 3).astype(float)
    normals = accessor(glb_document, binary, primitive["attributes"]["NORMAL"], 3).astype(float)
    ids = accessor(glb_document, binary, primitive["attributes"]["_FEATURE_ID_0"]).astype(int)
    surface_ids = accessor(glb_document, binary, primitive["attributes"]["_FEATURE_ID_1"]).astype(int)
    mine = ids == house
    assert mine.sum() == 3 * sum(TRIANGLES.values())  # 22 triangles, not the 12 of an extruded box
    assert set(surface_ids[~mine].tolist()) == {NULL_FEATURE_ID}  # the extruded neighbour has no surfaces
    enu_normals = np.column_stack((normals[:, 0], -normals[:, 2], normals[:, 1]))  # glTF y-up → ENU
    for index, gml_id in enumerate(gml_ids):
        of_surface = surface_ids == index
        assert of_surface.sum() == 3 * TRIANGLES[gml_id], gml_id
        assert np.allclose(enu_normals[of_surface], NORMALS[gml_id], atol=0.01), gml_id  # outwards

    # Every vertex of the house is one of its corners (or the window's) at its ellipsoidal height.
    leaf = document["root"]
    local = np.column_stack((positions[mine, 0], -positions[mine, 2], positions[mine, 1], np.ones(mine.sum())))
    ecef = local @ np.array(leaf["transform"]).reshape(4, 4)
    n = geoid_height(*at(5, 4, 0)[:2])
    corners = [q for s in house_surfaces() for polygon in s.polygons for ring in polygon for q in ring]
    expected = to_ecef([q[0] for q in corners], [q[1] for q in corners], [q[2] + n for q in corners])
    distances = np.linalg.norm(ecef[:, None, :3] - expected[None, :, :], axis=2)
    assert distances.min(axis=1).max() < 0.05
    *_, low, high = leaf["boundingVolume"]["region"]
    assert low == pytest.approx(0.0 + geoid_height(HOUSE_LON - 30 * M_LON, HOUSE_LAT), abs=0.05)  # the neighbour
    assert high == pytest.approx(RIDGE + n, abs=0.01)  # the ridge, not ground + measuredHeight's box


def test_surfaces_of_the_highest_lod_only_and_never_a_ground_alone(app: App) -> None:
    load_city_models(app)
    lod3_roof = BoundarySurface("RoofSurface", "lod3-roof", 3, house_surfaces()[1].polygons)
    both = BuildingFeature(
        "b2", "Building", footprint=house_feature().footprint, surfaces=[*house_surfaces(), lod3_roof]
    )
    ground_only = BuildingFeature("b3", "Building", footprint=house_feature().footprint, surfaces=house_surfaces()[:1])
    ground_only.measured_height = 4.0
    app.twins.import_twins([("lod3", building_document(both)), ("ground", building_document(ground_only))])
    tileset = build_tileset(app.store, app.models.models, max_per_tile=1)
    assert tileset is not None
    by_building = {}
    for content in tileset.contents.values():
        glb_document, binary = parse_glb(content)
        tables = glb_document["extensions"]["EXT_structural_metadata"]["propertyTables"]
        name = strings(glb_document, binary, tables[0], "id")[0]
        by_building[name] = strings(glb_document, binary, tables[1], "gmlId") if len(tables) > 1 else None
    assert by_building == {"lod3": ["lod3-roof"], "ground": None}  # LOD3 wins; a ground alone is extruded


def test_malformed_surfaces_fall_back_to_the_extruded_footprint(app: App) -> None:
    load_city_models(app)
    document = building_document(house_feature())
    document["surfaces"] = [{"type": "RoofSurface", "gmlId": "x", "lod": 2, "polygons": [[[1.0, 2.0]]]}]
    app.twins.import_twins([("odd", document)])
    tileset = build_tileset(app.store, app.models.models)
    assert tileset is not None
    glb_document, _ = parse_glb(next(iter(tileset.contents.values())))
    assert len(glb_document["extensions"]["EXT_structural_metadata"]["propertyTables"]) == 1
    assert glb_document["accessors"][0]["count"] == 3 * 12  # a box: 2 + 2 + 4 × 2 triangles


def test_the_lod2_glb_passes_the_khronos_gltf_validator(app: App, tmp_path: Path) -> None:
    modules = npm_modules()
    add_house(app)
    neighbour = {"$metadata": {"$model": "dtmi:futago:city:Building;1"}, "geometry": square(HOUSE_LON - 0.0003, LAT0)}
    app.twins.import_twins([("neighbour", neighbour)])
    tileset = build_tileset(app.store, app.models.models)
    assert tileset is not None
    path = tmp_path / "house.glb"
    path.write_bytes(next(iter(tileset.contents.values())))
    script = (
        "const v = require(process.argv[1]); const fs = require('fs');"
        "v.validateBytes(new Uint8Array(fs.readFileSync(process.argv[2])))"
        ".then(r => console.log(JSON.stringify(r.issues)));"
    )
    result = subprocess.run(
        ["node", "-e", script, str(modules / "gltf-validator"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    issues = json.loads(result.stdout)
    assert issues["numErrors"] == 0 and issues["numWarnings"] == 0, issues["messages"]


# --- heights -------------------------------------------------------------------------------------

TOKYO = (139.7671, 35.6812)  # Tokyo Station


def test_gsigeo2011_gives_tokyo_its_geoid_height() -> None:
    transformer = geoid_module._open("jp_gsi_gsigeo2011.tif", TOKYO)
    if transformer is None:
        pytest.skip("the GSIGEO2011 grid is not installed: projsync --file jp_gsi_gsigeo2011.tif (or PROJ_NETWORK=ON)")
    n = geoid_module.Geoid([("GSIGEO2011", transformer)]).undulation(*TOKYO)[0][0]
    assert n == pytest.approx(36.7, abs=0.5)  # GSI: about 36.7 m around Tokyo Station


def test_egm96_is_within_a_metre_of_gsigeo2011_in_tokyo_and_covers_the_world() -> None:
    transformer = geoid_module._open("egm96_15.gtx", (0.0, 0.0))
    if transformer is None:
        pytest.skip("the EGM96 grid (egm96_15.gtx) is not installed: apt-get install proj-data, or projsync")
    egm96 = geoid_module.Geoid([("EGM96", transformer)])
    n, used = egm96.undulation([TOKYO[0], -74.0], [TOKYO[1], 40.7])
    assert used == ["EGM96"]
    assert n[0] == pytest.approx(36.7, abs=1.0) and n[1] == pytest.approx(-32.8, abs=1.0)  # New York: below


def test_points_outside_the_best_grid_take_the_next_model() -> None:
    found = geoid_module._open("egm96_15.gtx", (0.0, 0.0))
    if found is None:
        pytest.skip("the EGM96 grid (egm96_15.gtx) is not installed: apt-get install proj-data, or projsync")
    egm96 = found

    # A "Japan only" model in front: its grid is EGM96 too, but it answers nothing west of 120°E here.
    class JapanOnly:
        def transform(self, lon: Any, lat: Any, h: Any, errcheck: bool = False) -> Any:
            _, _, n = egm96.transform(lon, lat, h, errcheck=errcheck)
            return lon, lat, np.where(np.asarray(lon) > 120, n, np.inf)

    geoid = geoid_module.Geoid([("JAPAN", JapanOnly()), ("EGM96", egm96)])  # type: ignore[list-item]
    n, used = geoid.undulation([TOKYO[0], -74.0], [TOKYO[1], 40.7])
    assert used == ["JAPAN", "EGM96"] and n[1] == pytest.approx(-32.8, abs=1.0)


def test_the_tileset_names_its_height_reference(app: App) -> None:
    document, _, _ = house_tileset(app, extruded_too=False)
    extras = document["asset"]["extras"]
    found = geoid_module.find_geoid().name
    if found is None:
        assert extras == {"heightReference": geoid_module.ORTHOMETRIC, "geoidModel": "none"}
    else:
        assert extras == {"heightReference": "WGS84 ellipsoid", "geoidModel": found}


def test_without_any_grid_heights_stay_orthometric_and_it_is_said_once(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(geoid_module, "MODELS", (("GSIGEO2011", "no_such_grid.tif", TOKYO),))
    monkeypatch.setattr(geoid_module, "SYSTEM_GRID_DIRS", ())
    geoid_module.reset()
    try:
        with caplog.at_level(logging.WARNING, logger=geoid_module.__name__):
            document, _, _ = house_tileset(app, extruded_too=False)
            assert build_tileset(app.store, app.models.models) is not None  # a second tileset: no second warning
        assert document["asset"]["extras"] == {"heightReference": geoid_module.ORTHOMETRIC, "geoidModel": "none"}
        *_, low, high = document["root"]["boundingVolume"]["region"]
        assert (low, high) == (pytest.approx(GROUND, abs=0.01), pytest.approx(RIDGE, abs=0.01))
        warnings = [r for r in caplog.records if r.name == geoid_module.__name__]
        assert len(warnings) == 1 and "projsync --file jp_gsi_gsigeo2011.tif" in warnings[0].getMessage()
    finally:
        geoid_module.reset()


# --- end to end: a LOD2 CityGML file ------------------------------------------------------------


def _pos_list(ring: list[Position]) -> str:
    return " ".join(f"{q[1]:.9f} {q[0]:.9f} {q[2]}" for q in ring)  # EPSG:6697: latitude, longitude, height


def lod2_citygml() -> str:
    """The house as PLATEAU writes a LOD2 building (uro 3.x, EPSG:6697), without the window (a LOD3 thing)."""
    members = []
    for surface in house_surfaces():
        exterior = surface.polygons[0][0]
        members.append(
            f'<bldg:boundedBy><bldg:{surface.kind} gml:id="{surface.gml_id}"><bldg:lod2MultiSurface>'
            f'<gml:MultiSurface><gml:surfaceMember><gml:Polygon gml:id="poly-{surface.gml_id}"><gml:exterior>'
            f"<gml:LinearRing><gml:posList>{_pos_list(exterior)}</gml:posList></gml:LinearRing></gml:exterior>"
            f"</gml:Polygon></gml:surfaceMember></gml:MultiSurface></bldg:lod2MultiSurface>"
            f"</bldg:{surface.kind}></bldg:boundedBy>"
        )
    building = (
        '<core:cityObjectMember><bldg:Building gml:id="bldg_house">'
        '<bldg:measuredHeight uom="m">9.0</bldg:measuredHeight>'
        f"{''.join(members)}</bldg:Building></core:cityObjectMember>\n"
    )
    return HEAD.format(uro="https://www.geospatial.jp/iur/uro/3.1") + building + TAIL


def test_a_lod2_citygml_building_reaches_the_tileset_surface_by_surface(app: App, tmp_path: Path) -> None:
    path = tmp_path / "53394611_bldg_6697_op.gml"
    path.write_text(lod2_citygml(), encoding="utf-8")
    CityImporter(app.store, app.models, app.twins, app.bus).run([path])
    tileset = build_tileset(app.store, app.models.models)
    assert tileset is not None
    glb_document, binary = parse_glb(next(iter(tileset.contents.values())))
    primitive = glb_document["meshes"][0]["primitives"][0]
    buildings, surfaces = glb_document["extensions"]["EXT_structural_metadata"]["propertyTables"]
    assert strings(glb_document, binary, buildings, "id") == ["bldg_house"]
    assert strings(glb_document, binary, surfaces, "gmlId") == list(TRIANGLES)
    kinds = strings(glb_document, binary, surfaces, "surfaceType")
    assert kinds == [
        "GroundSurface",
        "RoofSurface",
        "RoofSurface",
        "WallSurface",
        "WallSurface",
        "WallSurface",
        "WallSurface",
    ]
    # Without the window the south wall is a plain quad: 16 triangles in all.
    assert glb_document["accessors"][primitive["attributes"]["POSITION"]]["count"] == 3 * 16
    surface_ids = accessor(glb_document, binary, primitive["attributes"]["_FEATURE_ID_1"]).astype(int)
    assert np.bincount(surface_ids).tolist() == [3 * 2, 3 * 2, 3 * 2, 3 * 2, 3 * 3, 3 * 2, 3 * 3]
    *_, low, high = json.loads(tileset.json)["root"]["boundingVolume"]["region"]
    n = geoid_height(*at(5, 4, 0)[:2])
    assert (low, high) == (pytest.approx(GROUND + n, abs=0.01), pytest.approx(RIDGE + n, abs=0.01))
