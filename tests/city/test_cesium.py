"""CesiumJS in headless Chromium streams the 3D Tiles of a live futago server and finds the buildings.

Everything is local: Cesium comes from tests/city/cesium/node_modules (``npm ci``), the page
asks for no Ion token, imagery or terrain, and Chromium runs with networking features off.
The page and Cesium are served by Playwright on the futago server's own origin, so the tileset
requests need no CORS.
"""

from __future__ import annotations

import mimetypes
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from benchmarks.browser import CHROMIUM, FLAGS
from fastapi import FastAPI

from futago.app import App
from tests.city.export_fixtures import make_district, npm_modules, with_city_routes
from tests.conftest import LiveServer

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>futago 3D Tiles</title>
<script>window.CESIUM_BASE_URL = "/__cesium__/";</script>
<script src="/__cesium__/Cesium.js"></script>
<style>html, body, #globe { margin: 0; width: 100%; height: 100%; }</style>
</head><body><div id="globe"></div><script>
window.result = (async () => {
  Cesium.Ion.defaultAccessToken = undefined;
  const widget = new Cesium.CesiumWidget("globe", {
    baseLayer: false,
    terrainProvider: new Cesium.EllipsoidTerrainProvider(),
    skyBox: false,
    skyAtmosphere: false,
  });
  const tileset = await Cesium.Cesium3DTileset.fromUrl("/city/3dtiles/tileset.json");
  widget.scene.primitives.add(tileset);
  const loaded = new Promise((resolve) => tileset.allTilesLoaded.addEventListener(resolve));
  widget.camera.viewBoundingSphere(tileset.boundingSphere, new Cesium.HeadingPitchRange(0, -0.6, 0));
  await loaded;
  let features = 0, tiles = 0;
  const ids = [];
  const visit = (tile) => {
    if (tile.content && tile.content.featuresLength > 0) {
      tiles += 1;
      features += tile.content.featuresLength;
      for (let i = 0; i < tile.content.featuresLength; i++) {
        const feature = tile.content.getFeature(i);
        ids.push([feature.getProperty("id"), feature.getProperty("height")]);
      }
    }
    tile.children.forEach(visit);
  };
  visit(tileset.root);
  return { tilesLoaded: tileset.tilesLoaded, tiles, features, ids };
})();
</script></body></html>
"""


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed: run scripts/install-system-deps.sh (Debian package 'chromium')")
    return CHROMIUM


@pytest.fixture
def city_server(app: App) -> Iterator[LiveServer]:
    make_district(app)
    server = LiveServer(app)
    api = server.server.config.app
    assert isinstance(api, FastAPI)
    with_city_routes(api)
    with server:
        yield server


def test_cesium_loads_the_tileset_and_its_features(city_server: LiveServer, chromium_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="install futago[test] for Playwright")
    cesium_build = npm_modules() / "cesium" / "Build" / "Cesium"
    errors: list[str] = []

    def serve_cesium(route: Any) -> None:
        relative = route.request.url.split("/__cesium__/", 1)[1].split("?", 1)[0]
        path = (cesium_build / relative).resolve()
        if not path.is_relative_to(cesium_build) or not path.is_file():
            route.fulfill(status=404, body="")
            return
        route.fulfill(path=str(path), content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")

    # A new empty profile each run; Playwright passes it to Chromium as --user-data-dir.
    with tempfile.TemporaryDirectory() as profile, sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(chromium_path),
            args=FLAGS,
            headless=True,
            viewport={"width": 800, "height": 600},
            timeout=60_000,
        )
        try:
            page = context.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # Anything not from the futago server (a CDN, Ion, a tile service) would be a bug: refuse it.
            context.route(lambda url: not url.startswith(city_server.url), lambda route: route.abort())
            context.route(f"{city_server.url}/__cesium__/**", serve_cesium)
            context.route(
                f"{city_server.url}/cesium-test.html", lambda route: route.fulfill(body=PAGE, content_type="text/html")
            )
            page.goto(f"{city_server.url}/cesium-test.html", timeout=60_000)
            result = page.evaluate(
                "Promise.race([window.result, new Promise((_, reject) => setTimeout("
                "() => reject(new Error('the tileset did not load within 60 s')), 60000))])"
            )
        finally:
            context.close()
    assert errors == [], errors
    assert result["tilesLoaded"] is True
    assert result["features"] == 13 and result["tiles"] >= 1
    heights = dict(result["ids"])
    assert heights["bldg-1-1"] == 15.0 and heights["bldg-3-2"] == 21.0
