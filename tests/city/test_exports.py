"""GeoJSON by bbox, Mapbox Vector Tiles and 3D Tiles of the building twins, checked by decoding them."""

from __future__ import annotations

import itertools
import json
import math
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App
from futago.city.export import build_tileset, feature_collection
from futago.city.export.geojson import features_in_bbox
from futago.core.twins import TwinScan
from tests.city.export_fixtures import (
    BUILDING,
    DLAT,
    DLON,
    LAT0,
    LON0,
    SIDE_LAT,
    SIDE_LON,
    building_id,
    corner,
    height,
    load_city_models,
    npm_modules,
    square,
    with_city_routes,
)

# --- GeoJSON -------------------------------------------------------------------------------------


def test_features_by_bbox_are_exactly_the_buildings_in_the_box(client: TestClient) -> None:
    # Columns 1-2 and rows 0-1: the box ends inside the squares' gap on every side.
    west, south = LON0 + DLON - 0.0001, LAT0 - 0.0001
    east, north = LON0 + 2 * DLON + SIDE_LON + 0.0001, LAT0 + DLAT + SIDE_LAT + 0.0001
    response = client.get("/city/features", params={"bbox": f"{west},{south},{east},{north}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    got = {f["properties"]["id"]: f["properties"] for f in collection["features"]}
    expected = {building_id(i, j): height(i, j) for i in (1, 2) for j in (0, 1)}
    assert {k: v["height"] for k, v in got.items()} == expected
    assert all(p["base"] == 2.5 for p in got.values())
    assert got["bldg-1-1"]["usage"] == "業務施設" and got["bldg-1-1"]["floodDepth"] == 0.5


def test_a_box_meeting_only_a_buildings_bounds_corner_does_not_select_it(app: App, district: Any) -> None:
    triangle = {
        "type": "Polygon",
        "coordinates": [[[LON0, LAT0 + 0.01], [LON0 + 0.001, LAT0 + 0.01], [LON0, LAT0 + 0.011], [LON0, LAT0 + 0.01]]],
    }
    app.twins.import_twins([("tri", {"$metadata": {"$model": BUILDING}, "geometry": triangle, "measuredHeight": 5})])
    # The box touches the triangle's bounding box (north-east corner) but not the triangle itself.
    box = (LON0 + 0.0008, LAT0 + 0.0108, LON0 + 0.0012, LAT0 + 0.0112)
    body = b"".join(feature_collection(features_in_bbox(app.store, app.models.models, box), box))
    assert orjson.loads(body)["features"] == []


def test_a_building_without_height_keeps_a_null_height(client: TestClient) -> None:
    bbox = f"{LON0 - DLON},{LAT0},{LON0 - DLON + SIDE_LON},{LAT0 + SIDE_LAT}"
    features = client.get("/city/features", params={"bbox": bbox}).json()["features"]
    assert [(f["id"], f["properties"]["height"], f["properties"]["base"]) for f in features] == [
        ("bldg-unknown", None, 2.0)
    ]


def test_features_stream_in_chunks_through_paged_scans(
    app: App, district: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans: list[TwinScan] = []
    original = app.store.scan_twins

    def recording(scan: TwinScan) -> list[Any]:
        scans.append(scan)
        return original(scan)

    monkeypatch.setattr(app.store, "scan_twins", recording)
    box = (LON0 - 0.01, LAT0 - 0.01, LON0 + 0.01, LAT0 + 0.01)
    chunks = list(feature_collection(features_in_bbox(app.store, app.models.models, box, chunk=5), box, chunk=5))
    assert all(s.limit == 5 for s in scans) and len(scans) >= 3
    assert [s.after_id for s in scans][:2] == [None, scans[1].after_id] and scans[1].after_id is not None
    assert len(chunks) > 3  # head, several feature chunks, tail
    collection = orjson.loads(b"".join(chunks))
    assert len(collection["features"]) == 13  # 12 buildings (one a BuildingPart) and the one without height


def test_features_of_another_model(client: TestClient) -> None:
    response = client.get(
        "/city/features",
        params={
            "bbox": f"{LON0 - 0.01},{LAT0 - 0.01},{LON0 + 0.01},{LAT0 + 0.01}",
            "model": "dtmi:futago:city:FloodZone;1",
        },
    )
    features = response.json()["features"]
    assert [(f["id"], f["properties"]["floodDepth"]) for f in features] == [("flood-1", 1.5)]


@pytest.mark.parametrize("bbox", ["", "1,2,3", "a,b,c,d", "10,10,5,20", "0,0,200,10", "nan,0,1,1"])
def test_a_bad_bbox_is_a_problem_pointing_at_bbox(client: TestClient, bbox: str) -> None:
    response = client.get("/city/features", params={"bbox": bbox} if bbox else {})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["pointer"] == "/bbox"


# --- Mapbox Vector Tiles -------------------------------------------------------------------------


def tile_xy(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Web Mercator: the fractional tile column and row of a position (slippy-map tile names)."""
    n = 2**z
    x = (lon + 180.0) / 360.0 * n
    lat_r = math.radians(lat)
    y = (1.0 - math.log(math.tan(lat_r) + 1.0 / math.cos(lat_r)) / math.pi) / 2.0 * n
    return x, y


def test_vector_tile_has_the_buildings_in_tile_coordinates(client: TestClient) -> None:
    z = 17
    lon, lat = corner(1, 1)
    fx, fy = tile_xy(lon + SIDE_LON / 2, lat + SIDE_LAT / 2, z)
    x, y = int(fx), int(fy)
    response = client.get(f"/city/tiles/{z}/{x}/{y}.mvt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    tile = mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True})
    assert tile["buildings"]["extent"] == 4096
    buildings = {f["properties"]["id"]: f for f in tile["buildings"]["features"]}
    assert "bldg-1-1" in buildings
    feature = buildings["bldg-1-1"]
    assert feature["properties"]["height"] == height(1, 1) and feature["properties"]["base"] == 2.5
    assert feature["geometry"]["type"] == "Polygon"
    ring = np.array(feature["geometry"]["coordinates"][0])
    expected = []
    for px, py in square(lon, lat)["coordinates"][0]:
        tx, ty = tile_xy(px, py, z)
        expected.append(((tx - x) * 4096, (ty - y) * 4096))
    expected_arr = np.array(expected)
    assert (
        abs(ring[:, 0].min() - expected_arr[:, 0].min()) <= 1 and abs(ring[:, 0].max() - expected_arr[:, 0].max()) <= 1
    )
    assert (
        abs(ring[:, 1].min() - expected_arr[:, 1].min()) <= 1 and abs(ring[:, 1].max() - expected_arr[:, 1].max()) <= 1
    )
    # Every kept building meets the tile and its buffer; the flood zone is clipped to the buffer.
    for f in tile["buildings"]["features"]:
        coords = np.array(f["geometry"]["coordinates"][0])
        assert coords.min() >= -64 and coords.max() <= 4096 + 64
    flood = tile["flood_zones"]["features"][0]
    assert flood["properties"]["id"] == "flood-1" and flood["properties"]["hazard"] == "river_flooding"
    assert np.array(flood["geometry"]["coordinates"][0]).min() >= -64
    assert tile["roads"]["features"][0]["geometry"]["type"] == "LineString"


def test_vector_tile_exterior_rings_wind_clockwise_on_screen(client: TestClient) -> None:
    fx, fy = tile_xy(*corner(0, 0), 16)
    raw = client.get(f"/city/tiles/16/{int(fx)}/{int(fy)}.mvt").content
    # Decoded without y flipping, the exterior ring's surveyor's area must be positive (spec 4.3.4.4).
    tile = mapbox_vector_tile.decode(raw, default_options={"y_coord_down": True})
    ring = np.array(tile["buildings"]["features"][0]["geometry"]["coordinates"][0], dtype=float)
    area = np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1]) / 2
    assert area > 0


def test_an_empty_tile_is_204_and_a_tile_outside_the_pyramid_is_422(client: TestClient) -> None:
    assert client.get("/city/tiles/10/0/0.mvt").status_code == 204
    response = client.get("/city/tiles/3/8/0.mvt")
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/x"


# --- 3D Tiles ------------------------------------------------------------------------------------


def geoid_height(lon: float, lat: float) -> float:
    """The geoid height the tileset adds at a place, from the same grids (0 when none is installed)."""
    from futago.city.export.geoid import find_geoid

    return float(find_geoid().undulation(lon, lat)[0][0])


def parse_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    magic, version, length = struct.unpack_from("<4sII", data)
    assert (magic, version, length) == (b"glTF", 2, len(data))
    json_length, json_type = struct.unpack_from("<I4s", data, 12)
    assert json_type == b"JSON"
    document = json.loads(data[20 : 20 + json_length])
    bin_length, bin_type = struct.unpack_from("<I4s", data, 20 + json_length)
    assert bin_type == b"BIN\0"
    start = 28 + json_length
    return document, data[start : start + bin_length]


def view(document: dict[str, Any], binary: bytes, index: int) -> bytes:
    v = document["bufferViews"][index]
    return binary[v["byteOffset"] : v["byteOffset"] + v["byteLength"]]


def table_rows(document: dict[str, Any], binary: bytes) -> dict[str, dict[str, Any]]:
    table = document["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
    props = table["properties"]

    def strings(name: str) -> list[str]:
        if name not in props:  # left out: no building has it
            return [""] * table["count"]
        data = view(document, binary, props[name]["values"])
        offsets = np.frombuffer(view(document, binary, props[name]["stringOffsets"]), "<u4")
        return [data[a:b].decode() for a, b in itertools.pairwise(offsets)]

    def numbers(name: str) -> list[float]:
        if name not in props:
            return [-9999.0] * table["count"]
        return np.frombuffer(view(document, binary, props[name]["values"]), "<f8").tolist()

    ids, usage, heights, depths = strings("id"), strings("usage"), numbers("height"), numbers("floodDepth")
    assert len(ids) == table["count"]
    return {
        i: {"usage": u, "height": h, "floodDepth": d} for i, u, h, d in zip(ids, usage, heights, depths, strict=True)
    }


def leaves(tile: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "content" in tile:
        yield tile
    for child in tile.get("children", []):
        yield from leaves(child)


def check_tree(tile: dict[str, Any], parent_error: float) -> None:
    assert tile["geometricError"] <= parent_error
    west, south, east, north, low, high = tile["boundingVolume"]["region"]
    assert -math.pi <= west <= east <= math.pi and -math.pi / 2 <= south <= north <= math.pi / 2 and low < high
    for child in tile.get("children", []):
        cw, cs, ce, cn, *_ = child["boundingVolume"]["region"]
        assert west <= cw and cs >= south and ce <= east and cn <= north
        check_tree(child, tile["geometricError"])


def test_tileset_is_a_quadtree_whose_leaves_hold_every_building_once(app: App, district: dict[str, Any]) -> None:
    tileset = build_tileset(app.store, app.models.models, max_per_tile=4)
    assert tileset is not None
    document = json.loads(tileset.json)
    assert document["asset"]["version"] == "1.1"
    root = document["root"]
    assert "children" in root and document["geometricError"] >= root["geometricError"] > 0
    check_tree(root, document["geometricError"])
    west, south, _, _, low, high = root["boundingVolume"]["region"]
    assert math.degrees(west) == pytest.approx(LON0 - DLON) and math.degrees(south) == pytest.approx(LAT0)
    # Regions are ellipsoidal: the orthometric heights plus the geoid height (0 where no grid is installed).
    n = geoid_height(LON0, LAT0)
    assert low == pytest.approx(2.0 + n, abs=0.01) and high == pytest.approx(2.5 + height(3, 2) + n, abs=0.01)
    seen: dict[str, dict[str, Any]] = {}
    for leaf in leaves(root):
        assert leaf["geometricError"] == 0 and len(leaf["transform"]) == 16
        document_glb, binary = parse_glb(tileset.contents[leaf["content"]["uri"]])
        rows = table_rows(document_glb, binary)
        assert not seen.keys() & rows.keys()
        seen.update(rows)
        ids = np.frombuffer(view(document_glb, binary, document_glb["accessors"][2]["bufferView"]), "<f4")
        assert set(ids.astype(int).tolist()) == set(range(len(rows)))  # every building has triangles
    assert set(seen) == set(district)
    assert seen["bldg-2-1"] == {"usage": "住宅", "height": height(2, 1), "floodDepth": 0.5}
    assert seen["bldg-unknown"]["height"] == -9999.0  # noData


def test_glb_positions_put_a_building_at_its_place_and_height(app: App, district: Any) -> None:
    from futago.city.export.geodesy import to_ecef

    tileset = build_tileset(app.store, app.models.models, max_per_tile=100)
    assert tileset is not None
    root = json.loads(tileset.json)["root"]
    document, binary = parse_glb(tileset.contents[root["content"]["uri"]])
    rows = list(table_rows(document, binary))
    positions = np.frombuffer(view(document, binary, document["accessors"][0]["bufferView"]), "<f4").reshape(-1, 3)
    ids = np.frombuffer(view(document, binary, document["accessors"][2]["bufferView"]), "<f4").astype(int)
    mine = positions[ids == rows.index("bldg-2-0")].astype(float)
    # glTF y-up → z-up (x, -z, y), then the tile transform to ECEF.
    local = np.column_stack((mine[:, 0], -mine[:, 2], mine[:, 1], np.ones(len(mine))))
    ecef = local @ np.array(root["transform"]).reshape(4, 4)
    ring = square(*corner(2, 0))["coordinates"][0][:4]
    lons, lats = [p[0] for p in ring] * 2, [p[1] for p in ring] * 2
    n = geoid_height(lons[0] + SIDE_LON / 2, lats[0] + SIDE_LAT / 2)
    expected = to_ecef(lons, lats, [2.5 + n] * 4 + [2.5 + height(2, 0) + n] * 4)
    distances = np.linalg.norm(ecef[:, None, :3] - expected[None, :, :], axis=2)
    assert distances.min(axis=1).max() < 0.05  # every vertex is a corner of the prism
    assert distances.min(axis=0).max() < 0.05  # every corner of the prism is there


def courtyard(app: App) -> None:
    """A building with a hole and neither usage nor height, 1 km east of the district."""
    x = LON0 + 0.01
    outer = [[x, LAT0], [x + 0.0005, LAT0], [x + 0.0005, LAT0 + 0.0004], [x, LAT0 + 0.0004], [x, LAT0]]
    inner = [[x + 0.0002, LAT0 + 0.0001], [x + 0.0002, LAT0 + 0.0003], [x + 0.0003, LAT0 + 0.0003]]
    geometry = {"type": "Polygon", "coordinates": [outer, [*inner, inner[0]]]}
    app.twins.import_twins([("court", {"$metadata": {"$model": BUILDING}, "geometry": geometry})])


def test_a_courtyard_stays_open_and_unknown_properties_are_left_out(app: App) -> None:
    from shapely.geometry import Polygon

    load_city_models(app)
    courtyard(app)
    tileset = build_tileset(app.store, app.models.models)
    assert tileset is not None
    document, binary = parse_glb(next(iter(tileset.contents.values())))
    properties = document["extensions"]["EXT_structural_metadata"]["propertyTables"][0]["properties"]
    assert set(properties) == {"id", "base"}
    assert table_rows(document, binary)["court"] == {"usage": "", "height": -9999.0, "floodDepth": -9999.0}
    positions = np.frombuffer(view(document, binary, document["accessors"][0]["bufferView"]), "<f4").reshape(-1, 3, 3)
    roof = positions[np.all(np.isclose(positions[:, :, 1], positions[:, :, 1].max(), atol=1e-3), axis=1)]
    area = sum(Polygon(t[:, [0, 2]]).area for t in roof)
    solid = Polygon(roof.reshape(-1, 3)[:, [0, 2]]).convex_hull.area  # the outer rectangle, about 45 m × 44 m
    assert area == pytest.approx(solid * 0.95, rel=0.005)  # the courtyard (5% of the block) is not roofed


def test_glb_passes_the_khronos_gltf_validator(app: App, district: Any, tmp_path: Path) -> None:
    modules = npm_modules()
    courtyard(app)  # a leaf of its own, without the optional properties
    paths = []
    tileset = build_tileset(app.store, app.models.models, max_per_tile=4)
    assert tileset is not None
    for i, content in enumerate(tileset.contents.values()):
        path = tmp_path / f"{i}.glb"
        path.write_bytes(content)
        paths.append(str(path))
    script = (
        "const v = require(process.argv[1]); const fs = require('fs');"
        "Promise.all(process.argv.slice(2).map(p => v.validateBytes(new Uint8Array(fs.readFileSync(p)))))"
        ".then(rs => console.log(JSON.stringify(rs.map(r => r.issues))));"
    )
    result = subprocess.run(
        ["node", "-e", script, str(modules / "gltf-validator"), *paths],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    reports = json.loads(result.stdout)
    assert len(reports) == len(paths) > 1
    for issues in reports:
        assert issues["numErrors"] == 0 and issues["numWarnings"] == 0, issues["messages"]


def test_3dtiles_routes_serve_tileset_and_content_and_follow_changes(app: App, client: TestClient) -> None:
    response = client.get("/city/3dtiles/tileset.json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    uris = [leaf["content"]["uri"] for leaf in leaves(response.json()["root"])]
    content = client.get(f"/city/3dtiles/{uris[0]}")
    assert content.status_code == 200 and content.headers["content-type"] == "model/gltf-binary"
    assert content.content[:4] == b"glTF"
    assert client.get("/city/3dtiles/tiles/nope.glb").status_code == 404

    def all_ids() -> set[str]:
        tileset = client.get("/city/3dtiles/tileset.json").json()
        ids: set[str] = set()
        for leaf in leaves(tileset["root"]):
            ids |= set(table_rows(*parse_glb(client.get(f"/city/3dtiles/{leaf['content']['uri']}").content)))
        return ids

    assert "bldg-new" not in all_ids()
    doc = {"$metadata": {"$model": BUILDING}, "geometry": square(LON0, LAT0 - DLAT), "measuredHeight": 7.0}
    assert client.put("/twins/bldg-new", json=doc).status_code == 201
    assert "bldg-new" in all_ids()


def test_3dtiles_without_buildings_is_404(app: App) -> None:
    with TestClient(with_city_routes(create_api(app)), raise_server_exceptions=False) as client:
        assert client.get("/city/3dtiles/tileset.json").status_code == 404
