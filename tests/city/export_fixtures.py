"""A small synthetic district for the export tests, and the local npm folder they share.

Buildings are 20 m squares on a 3×4 grid near Tokyo Station, 50 m apart, with heights
10 m, 11 m, ... so that every building's position and height are easy to predict.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from futago.app import App

CESIUM_DIR = Path(__file__).resolve().parent / "cesium"
LON0, LAT0 = 139.7660, 35.6810
DLON, DLAT = 0.00055, 0.00045  # about 50 m either way
SIDE_LON, SIDE_LAT = 0.00022, 0.00018  # about 20 m
BUILDING = "dtmi:futago:city:Building;1"
BUILDING_PART = "dtmi:futago:city:BuildingPart;1"


def load_city_models(app: App) -> None:
    app.models.add(orjson.loads(resources.files("futago.city").joinpath("models.json").read_bytes()))


def square(lon: float, lat: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + SIDE_LON, lat], [lon + SIDE_LON, lat + SIDE_LAT], [lon, lat + SIDE_LAT], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def building_id(i: int, j: int) -> str:
    return f"bldg-{i}-{j}"


def corner(i: int, j: int) -> tuple[float, float]:
    """The south-west corner of building (i, j): column i eastwards, row j northwards."""
    return LON0 + i * DLON, LAT0 + j * DLAT


def height(i: int, j: int) -> float:
    return 10.0 + i + 4 * j


def make_district(app: App) -> dict[str, dict[str, Any]]:
    """Creates the district's twins and returns the building documents by id."""
    load_city_models(app)
    buildings: dict[str, dict[str, Any]] = {}
    for i in range(4):
        for j in range(3):
            buildings[building_id(i, j)] = {
                "$metadata": {"$model": BUILDING if (i, j) != (3, 2) else BUILDING_PART},
                "geometry": square(*corner(i, j)),
                "measuredHeight": height(i, j),
                "groundElevation": 2.5,
                "usage": "業務施設" if i % 2 else "住宅",
                "floodDepthMax": 0.5 * j,
                "name": f"Building {i},{j}",
            }
    # A building without a measured height: drawn, but its height stays unknown (null/noData).
    buildings["bldg-unknown"] = {
        "$metadata": {"$model": BUILDING},
        "geometry": square(LON0 - DLON, LAT0),
        "groundElevation": 2.0,
    }
    flood = [[LON0 - 0.001, LAT0 - 0.001], [LON0 + 0.003, LAT0 - 0.001], [LON0 + 0.003, LAT0 + 0.0005]]
    others: list[tuple[str, dict[str, Any]]] = [
        (
            "flood-1",
            {
                "$metadata": {"$model": "dtmi:futago:city:FloodZone;1"},
                "geometry": {"type": "Polygon", "coordinates": [[*flood, flood[0]]]},
                "hazard": "river_flooding",
                "depth": 1.5,
            },
        ),
        (
            "road-1",
            {
                "$metadata": {"$model": "dtmi:futago:city:Road;1"},
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[LON0 - 0.001, LAT0 - 0.0001], [LON0 + 0.003, LAT0 - 0.0001]],
                },
                "function": "一般道路",
            },
        ),
    ]
    app.twins.import_twins([*buildings.items(), *others])
    return buildings


def with_city_routes(api: FastAPI) -> FastAPI:
    """Mounts the /city router unless the server already includes it."""
    from futago.api import city

    if not any(getattr(route, "path", "").startswith("/city/") for route in api.routes):
        api.include_router(city.router)
    return api


def npm_modules() -> Path:
    """``npm ci`` in tests/city/cesium once (CesiumJS, the glTF validator); skips without npm."""
    modules = CESIUM_DIR / "node_modules"
    if (modules / "cesium" / "Build" / "Cesium" / "Cesium.js").exists() and (modules / "gltf-validator").exists():
        return modules
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed; install Node.js 20+ to run the glTF validator and CesiumJS tests")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CESIUM_DIR, check=True, timeout=300)
    return modules
