"""The dashboard at ``/``: the built front end (``futago/web/dist``) served as static files, offline.

The sources live in ``futago/web/src`` and are bundled by ``npm run build`` (the setup step of ``make demo``
and ``make test`` does it; a wheel build does it too). A checkout that has not been built yet answers ``/``
with a page that says how to build it, rather than a 404.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from futago.api.access import Access, require
from futago.api.answers import DashboardConfig
from futago.api.deps import json_response

NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>futago</title>
<h1>futago 双子</h1>
<p>The dashboard has not been built in this installation. Run <code>make install</code> (or
<code>npm ci &amp;&amp; npm run build</code> in <code>src/futago/web</code>), then reload. The API is at
<a href="/docs">/docs</a>.</p>
<p lang="ja">ダッシュボードがビルドされていません。<code>make install</code> を実行してから再読み込みしてください。
API は <a href="/docs">/docs</a> にあります。</p></html>"""


def dist_folder() -> Path:
    return Path(str(resources.files("futago").joinpath("web", "dist")))


def mount(api: FastAPI) -> None:
    dist = dist_folder()
    index = dist / "index.html"
    if index.is_file():
        api.mount("/static", StaticFiles(directory=dist), name="static")

    @api.get(
        "/dashboard/config",
        tags=["dashboard"],
        summary="What the dashboard is configured with: a base map",
        response_model=DashboardConfig,
    )
    def dashboard_config(request: Request, access: Access = Depends(require("READ", "dashboard"))) -> Response:
        """``baseTiles`` is null unless remote raster tiles were configured (``[dashboard] base_tiles``): by default
        the map draws only its own layers and reaches nothing beyond this server."""
        settings = request.app.state.settings
        base = None
        if settings.base_tiles:
            base = {"tiles": [settings.base_tiles], "attribution": settings.base_tiles_attribution or ""}
        return json_response({"baseTiles": base})

    @api.get("/", include_in_schema=False)
    def dashboard() -> HTMLResponse:
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503)
        return HTMLResponse(index.read_text(encoding="utf-8"), headers={"Cache-Control": "no-cache"})
