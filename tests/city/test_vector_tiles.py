"""The map's vector tiles: TileJSON with the buildings' summary, zoom limits, cached tiles that follow changes,
and the GeoJSON of everything else (``exclude``)."""

from __future__ import annotations

import threading
import time
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import App
from futago.city.export import mvt
from futago.city.export.cache import CityCache
from futago.core.events import Event
from tests.city.export_fixtures import (
    BUILDING,
    DLAT,
    DLON,
    LAT0,
    LON0,
    SIDE_LAT,
    SIDE_LON,
    corner,
    height,
    square,
    with_city_routes,
)
from tests.city.test_exports import tile_xy

ABSTRACT_BUILDING = "dtmi:futago:city:AbstractBuilding;1"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    fx, fy = tile_xy(lon, lat, z)
    return int(fx), int(fy)


def decode(body: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})


def building_ids(client: TestClient, z: int, x: int, y: int) -> set[str]:
    response = client.get(f"/city/tiles/{z}/{x}/{y}.mvt")
    if response.status_code == 204:
        return set()
    return {f["properties"]["id"] for f in decode(response.content).get("buildings", {}).get("features", [])}


def test_tilejson_says_where_the_buildings_are_and_the_range_of_their_numbers(client: TestClient) -> None:
    doc = client.get("/city/tiles.json").json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://testserver/city/tiles/{z}/{x}/{y}.mvt"]
    assert doc["maxzoom"] == mvt.MAX_TILE_ZOOM
    layers = {layer["id"]: layer for layer in doc["vector_layers"]}
    assert layers["buildings"]["minzoom"] == mvt.BUILDING_MIN_ZOOM
    assert layers["buildings"]["fields"]["height"] == "Number"
    summary = doc["futago:buildings"]
    assert summary["count"] == 13  # the 12 of the grid (one a BuildingPart) and the one without height
    west, south, east, north = summary["bounds"]
    # The one without height lies a column west of the grid; the grid's north-east corner is building (3, 2).
    assert west == pytest.approx(LON0 - DLON) and south == pytest.approx(LAT0)
    assert east == pytest.approx(corner(3, 2)[0] + SIDE_LON) and north == pytest.approx(corner(3, 2)[1] + SIDE_LAT)
    assert doc["bounds"] == summary["bounds"]
    assert summary["ranges"]["height"] == [height(0, 0), height(3, 2)]
    assert summary["ranges"]["floodDepth"] == [0.0, 1.0]
    assert sorted(summary["categories"]["usage"]) == ["住宅", "業務施設"]


def test_buildings_are_left_out_of_tiles_below_zoom_12_while_zones_and_roads_stay(client: TestClient) -> None:
    low = decode(client.get("/city/tiles/11/{}/{}.mvt".format(*tile_of(LON0, LAT0, 11))).content)
    assert "buildings" not in low
    assert [f["properties"]["id"] for f in low["flood_zones"]["features"]] == ["flood-1"]
    assert [f["properties"]["id"] for f in low["roads"]["features"]] == ["road-1"]
    assert "bldg-0-0" in building_ids(client, 12, *tile_of(LON0, LAT0, 12))


def test_building_tiles_carry_every_number_but_not_every_string(app: App, client: TestClient) -> None:
    doc = {
        "$metadata": {"$model": BUILDING},
        "geometry": square(LON0, LAT0 - DLAT),
        "measuredHeight": 7.0,
        "storeysAboveGround": 3,
        "buildingId": "13101-bldg-77",
        "name": "Annex",
    }
    assert client.put("/twins/bldg-annex", json=doc).status_code == 201
    body = client.get("/city/tiles/16/{}/{}.mvt".format(*tile_of(LON0 + SIDE_LON / 2, LAT0 - DLAT, 16))).content
    annex = next(f for f in decode(body)["buildings"]["features"] if f["properties"]["id"] == "bldg-annex")
    assert annex["properties"]["storeysAboveGround"] == 3 and annex["properties"]["name"] == "Annex"
    assert "buildingId" not in annex["properties"]
    assert client.get("/city/tiles.json").json()["futago:buildings"]["ranges"]["storeysAboveGround"] == [3, 3]


def test_cached_tiles_and_tilejson_follow_a_new_building(client: TestClient) -> None:
    z, (x, y) = 14, tile_of(LON0, LAT0, 14)
    before = building_ids(client, z, x, y)
    assert "bldg-new" not in before and client.get("/city/tiles.json").json()["futago:buildings"]["count"] == 13
    doc = {"$metadata": {"$model": BUILDING}, "geometry": square(LON0, LAT0 - DLAT), "measuredHeight": 7.0}
    assert client.put("/twins/bldg-new", json=doc).status_code == 201
    assert building_ids(client, z, x, y) == before | {"bldg-new"}
    assert client.get("/city/tiles.json").json()["futago:buildings"]["count"] == 14


def test_a_tile_is_encoded_once_then_served_from_the_cache(client: TestClient, monkeypatch: Any) -> None:
    calls: list[tuple[int, int, int]] = []
    encode = mvt.encode_tile

    def counting(store: Any, models: Any, z: int, x: int, y: int) -> bytes:
        calls.append((z, x, y))
        return encode(store, models, z, x, y)

    monkeypatch.setattr(mvt, "encode_tile", counting)
    z, (x, y) = 17, tile_of(*corner(1, 1), 17)
    first = client.get(f"/city/tiles/{z}/{x}/{y}.mvt").content
    second = client.get(f"/city/tiles/{z}/{x}/{y}.mvt").content
    assert first == second and calls.count((z, x, y)) == 1  # (the warming at start encodes zooms 12-15 too)


def test_serving_warms_the_district_tiles_a_first_map_asks_for(app: App, district: Any, monkeypatch: Any) -> None:
    with TestClient(with_city_routes(create_api(app))) as client:
        deadline = time.monotonic() + 30
        while not getattr(client.app.state, "city_warmed", False):  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "the tiles were not warmed within 30 s"
            time.sleep(0.02)
        monkeypatch.setattr(mvt, "encode_tile", lambda *args: pytest.fail("a warmed tile was encoded again"))
        z = mvt.BUILDING_MIN_ZOOM
        assert "bldg-0-0" in building_ids(client, z, *tile_of(LON0, LAT0, z))
        assert "bldg-0-0" in building_ids(client, 15, *tile_of(*corner(0, 0), 15))


def test_features_can_leave_a_model_family_out(client: TestClient) -> None:
    box = f"{LON0 - 0.01},{LAT0 - 0.01},{LON0 + 0.01},{LAT0 + 0.01}"
    response = client.get("/city/features", params={"bbox": box, "model": "*", "exclude": ABSTRACT_BUILDING})
    assert sorted(f["id"] for f in response.json()["features"]) == ["flood-1", "road-1"]
    only_parts = client.get(
        "/city/features",
        params={"bbox": box, "model": ABSTRACT_BUILDING, "exclude": "dtmi:futago:city:Building;1"},
    )
    assert [f["id"] for f in only_parts.json()["features"]] == ["bldg-3-2"]  # the BuildingPart


def test_tiles_covering_a_box_are_the_slippy_map_tiles_it_touches() -> None:
    box = (LON0, LAT0, LON0 + 3 * DLON, LAT0 + 2 * DLAT)
    (x0, y1), (x1, y0) = tile_of(box[0], box[1], 18), tile_of(box[2], box[3], 18)
    expected = {(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}
    assert set(mvt.tiles_covering(box, 18)) == expected and len(expected) > 1
    assert mvt.tiles_covering((-180.0, -90.0, 180.0, 90.0), 1) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_the_cache_computes_a_value_once_for_concurrent_callers_and_forgets_on_a_city_change(app: App) -> None:
    cache = CityCache(app.store, app.bus)
    calls: list[int] = []
    release = threading.Event()

    def slow() -> int:
        calls.append(1)
        release.wait(5)
        return len(calls)

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("v", slow))) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == [1, 1, 1, 1] and len(calls) == 1
    app.bus.publish(Event(type="twin.updated", time="2026-01-01T00:00:00Z", twin_id="x", model="dtmi:demo:Pump;1"))
    assert cache.get("v", slow) == 1  # not a city model: kept
    app.bus.publish(Event(type="twin.updated", time="2026-01-01T00:00:00Z", twin_id="b", model=BUILDING))
    assert cache.get("v", slow) == 2  # a building changed: computed again
    cache.unsubscribe()
