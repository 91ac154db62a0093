"""/city: the building, flood-zone and road twins as GeoJSON, vector tiles and 3D Tiles."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response, StreamingResponse

from futago.api.access import Access, require
from futago.api.deps import JSONRoute, get_app
from futago.app import App
from futago.city.export import geojson, mvt, tiles3d
from futago.core.errors import NotFound

router = APIRouter(prefix="/city", tags=["city"], route_class=JSONRoute)
_cache_lock = threading.Lock()


@router.get(
    "/features",
    summary="Buildings (or twins of another model) intersecting a bbox, as a streamed GeoJSON FeatureCollection",
    response_class=StreamingResponse,
)
def features(
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat (WGS84)")] = None,
    model: Annotated[
        str, Query(description="model id; its sub-models are included. '*' gives every twin with a geometry")
    ] = geojson.BUILDING,
    app: App = Depends(get_app),
    access: Access = Depends(require("READ", "city")),
) -> Response:
    box = geojson.parse_bbox(bbox)
    chunks = geojson.feature_collection(app.store, app.models.models, box, model)
    return StreamingResponse(chunks, media_type=geojson.MEDIA_TYPE)


@router.get("/tiles/{z}/{x}/{y}.mvt", summary="A Mapbox Vector Tile of buildings, flood zones and roads")
def vector_tile(
    z: int, x: int, y: int, app: App = Depends(get_app), access: Access = Depends(require("READ", "city"))
) -> Response:
    body = mvt.encode_tile(app.store, app.models.models, z, x, y)
    if not body:
        return Response(status_code=204)
    return Response(body, media_type=mvt.MEDIA_TYPE)


def _tileset(request: Request, app: App) -> tiles3d.Tileset:
    """The App's tileset cache lives on the FastAPI state: built on first use, shared by requests."""
    state = request.app.state
    with _cache_lock:
        cache: tiles3d.TilesetCache | None = getattr(state, "city_tileset", None)
        if cache is None:
            cache = tiles3d.TilesetCache(app.store, lambda: app.models.models, app.bus)
            state.city_tileset = cache
    tileset = cache.get()
    if tileset is None:
        raise NotFound("there is no building twin with a footprint to tile; import a district first")
    return tileset


@router.get("/3dtiles/tileset.json", summary="3D Tiles 1.1 tileset of the building twins")
def tileset_json(
    request: Request, app: App = Depends(get_app), access: Access = Depends(require("READ", "city"))
) -> Response:
    return Response(_tileset(request, app).json, media_type=tiles3d.MEDIA_TYPE_JSON)


@router.get("/3dtiles/{path:path}", summary="A 3D Tiles content file (GLB) named by tileset.json")
def tile_content(
    path: str, request: Request, app: App = Depends(get_app), access: Access = Depends(require("READ", "city"))
) -> Response:
    content = _tileset(request, app).contents.get(path)
    if content is None:
        raise NotFound(f"'{path}' is not part of the current tileset; read tileset.json again")
    return Response(content, media_type=tiles3d.MEDIA_TYPE_GLB)
