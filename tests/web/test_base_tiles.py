"""Remote base tiles are an option: configured, the map draws them under the city (from a tile server on loopback
here); not configured, it asks no tile server at all."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from benchmarks.browser import CHROMIUM, BackgroundServer, chromium, open_dashboard
from PIL import Image

from futago.app import App

MAGENTA = (255, 0, 255)  # a colour nothing else on the map has


class TileServer:
    """Answers every GET with a 256×256 magenta PNG and remembers the paths asked for."""

    def __init__(self) -> None:
        buffer = io.BytesIO()
        Image.new("RGB", (256, 256), MAGENTA).save(buffer, format="PNG")
        png, paths = buffer.getvalue(), []
        self.paths: list[str] = paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def tiles() -> Iterator[TileServer]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed: run scripts/install-system-deps.sh (Debian package 'chromium')")
    server = TileServer()
    yield server
    server.httpd.shutdown()


def _magenta_share(page: Any) -> float:
    pixels = np.asarray(Image.open(io.BytesIO(page.locator("#map").screenshot())).convert("RGB")).astype(int)
    return float(np.mean(np.all(np.abs(pixels - np.array(MAGENTA)) <= 30, axis=-1)))


def test_configured_base_tiles_are_drawn_under_the_city(app: App, tiles: TileServer) -> None:
    app.settings = app.settings.with_overrides(
        base_tiles=f"{tiles.url}/{{z}}/{{x}}/{{y}}.png", base_tiles_attribution="© test tiles"
    )
    errors: list[str] = []
    with BackgroundServer(app) as server, chromium() as context:
        page = open_dashboard(context, server.url, errors)
        page.wait_for_function(
            "() => document.querySelector('.maplibregl-ctrl-attrib')?.textContent.includes('test tiles')"
        )
        page.wait_for_timeout(500)
        share = _magenta_share(page)
    assert errors == []
    assert tiles.paths and all(p.endswith(".png") and p.count("/") == 3 for p in tiles.paths)
    assert share > 0.5  # the base map fills the map's background


def test_without_configuration_the_map_asks_no_tile_server(app: App, tiles: TileServer) -> None:
    with BackgroundServer(app) as server, chromium() as context:
        page = open_dashboard(context, server.url)
        assert page.evaluate("fetch('/dashboard/config').then((r) => r.json())") == {"baseTiles": None}
        share = _magenta_share(page)
    assert tiles.paths == [] and share == 0.0
