"""/city: the building, flood-zone and road twins as GeoJSON, vector tiles and 3D Tiles."""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.datastructures import State
from starlette.responses import Response, StreamingResponse

from futago.api.access import ADMIN_REACH, Access, require
from futago.api.answers import BINARY, FEATURE_COLLECTION, TileJson, Tileset
from futago.api.deps import EMPTY, JSONRoute, json_response
from futago.api.providers import ApiServices, event_bus, model_service, twin_service
from futago.city.export import geojson, mvt, tiles3d
from futago.city.export.cache import CityCache
from futago.core.dtdl import ModelSet
from futago.core.errors import NotFound
from futago.core.events import EventBus
from futago.services.models import ModelService
from futago.services.twins import TwinService

router = APIRouter(prefix="/city", tags=["city"], route_class=JSONRoute)
log = logging.getLogger(__name__)
_cache_lock = threading.Lock()
WARM_TILES = 16


def city_cache(state: State, twins: TwinService, bus: EventBus) -> CityCache:
    """One cache per served API, on the FastAPI state: made on first use, shared by requests."""
    with _cache_lock:
        cache: CityCache | None = getattr(state, "city_cache", None)
        if cache is None:
            cache = state.city_cache = CityCache(twins.graph(), bus)
    return cache


def release(state: State) -> None:
    """The served API stops: its cache stops following the bus."""
    with _cache_lock:
        cache: CityCache | None = getattr(state, "city_cache", None)
        state.city_cache = None
    if cache is not None:
        cache.unsubscribe()


@dataclass(frozen=True)
class _View:
    """The twins a caller's tiles are made of, and the cache key of its reach. An administrator's are the store's;
    anyone else's are those ``Access.readable`` lets through, one twin (and property) at a time: the rule that
    answers GET /twins/{id}, never a probe of a literal path such as ``twins/*`` that a glob policy answers wrongly.
    Cached values are kept per reach, so tiles are never shared between callers who may read different twins."""

    twins: Any  # a TwinStore, or the ReadableGraph over it
    reach: Hashable

    @classmethod
    def of(cls, access: Access, twins: TwinService) -> _View:
        return cls(twins.graph(None if access.principal.admin else access.readable), access.reach())


def _summary(cache: CityCache, models: ModelSet, view: _View) -> dict[str, Any]:
    return cache.get(("summary", view.reach), lambda: mvt.building_summary(view.twins, models))


def _tile(cache: CityCache, models: ModelSet, view: _View, z: int, x: int, y: int) -> bytes:
    return cache.get(("mvt", view.reach, z, x, y), lambda: mvt.encode_tile(view.twins, models, z, x, y))


def warm(state: State, services: ApiServices, stop: threading.Event) -> None:
    """Encode what a first page load asks for (the tile index, the tiles over the district) before anyone asks:
    the tiles of each zoom from 12 up while one zoom's tiles over the buildings number at most WARM_TILES.
    ``state.city_warmed`` is set when it is done."""
    try:
        cache = city_cache(state, services.twins, services.bus)
        view = _View(services.twins.graph(), ADMIN_REACH)  # what an administrator (the dashboard on loopback) asks for
        bounds = _summary(cache, services.models.models, view)["bounds"]
        for z in range(mvt.BUILDING_MIN_ZOOM, mvt.MAX_TILE_ZOOM + 1):
            tiles = mvt.tiles_covering(bounds, z) if bounds else []
            if not tiles or len(tiles) > WARM_TILES:
                return
            for x, y in tiles:
                if stop.is_set():
                    return
                _tile(cache, services.models.models, view, z, x, y)
    except Exception:  # a store closed under it at shutdown, say: the requests will encode what they need
        log.debug("warming the city's tiles stopped", exc_info=True)
    finally:
        state.city_warmed = True


@router.get(
    "/features",
    summary="Buildings (or twins of another model) intersecting a bbox, as a streamed GeoJSON FeatureCollection",
    response_class=StreamingResponse,
    responses={200: {"content": {geojson.MEDIA_TYPE: {"schema": FEATURE_COLLECTION}}}},
)
def features(
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat (WGS84)")] = None,
    model: Annotated[
        str, Query(description="model id; its sub-models are included. '*' gives every twin with a geometry")
    ] = geojson.BUILDING,
    exclude: Annotated[
        str | None,
        Query(
            description="a model id whose twins (and its sub-models') are left out, e.g. the buildings when a map "
            "draws them from /city/tiles"
        ),
    ] = None,
    twins: TwinService = Depends(twin_service),
    models: ModelService = Depends(model_service),
    access: Access = Depends(require("READ", "city")),
) -> Response:
    box = geojson.parse_bbox(bbox)
    found = geojson.features_in_bbox(twins.graph(), models.models, box, model, exclude=exclude)
    if not access.principal.admin:  # the twins (and properties) this caller may read, as everywhere else
        found = (seen for seen in map(access.readable, found) if seen is not None)
    chunks = geojson.feature_collection(found, box)
    return StreamingResponse(chunks, media_type=geojson.MEDIA_TYPE)


@router.get(
    "/tiles.json",
    summary="TileJSON 3.0 of the city's vector tiles: where the buildings are, their numbers' ranges, the tile URL",
    response_model=TileJson,
)
def tile_json(
    request: Request,
    twins: TwinService = Depends(twin_service),
    models: ModelService = Depends(model_service),
    bus: EventBus = Depends(event_bus),
    access: Access = Depends(require("READ", "city")),
) -> Response:
    summary = _summary(city_cache(request.app.state, twins, bus), models.models, _View.of(access, twins))
    url = f"{request.base_url}city/tiles/{{z}}/{{x}}/{{y}}.mvt"
    return json_response(mvt.tilejson(url, summary))


@router.get(
    "/tiles/{z}/{x}/{y}.mvt",
    summary="A Mapbox Vector Tile of buildings (zoom 12 up), flood zones and roads",
    response_class=Response,
    responses={200: {"content": {mvt.MEDIA_TYPE: {"schema": BINARY}}}, **EMPTY},
)
def vector_tile(
    z: int,
    x: int,
    y: int,
    request: Request,
    twins: TwinService = Depends(twin_service),
    models: ModelService = Depends(model_service),
    bus: EventBus = Depends(event_bus),
    access: Access = Depends(require("READ", "city")),
) -> Response:
    mvt.check_tile(z, x, y)
    cache = city_cache(request.app.state, twins, bus)
    body = _tile(cache, models.models, _View.of(access, twins), z, x, y)
    if not body:
        return Response(status_code=204)
    return Response(body, media_type=mvt.MEDIA_TYPE)


def _tileset(
    request: Request, twins: TwinService, models: ModelService, bus: EventBus, access: Access
) -> tiles3d.Tileset:
    cache, view = city_cache(request.app.state, twins, bus), _View.of(access, twins)
    tileset = cache.get(("3dtiles", view.reach), lambda: tiles3d.build_tileset(view.twins, models.models))
    if tileset is None:
        raise NotFound("there is no building twin with a footprint to tile; import a district first")
    return tileset


@router.get("/3dtiles/tileset.json", summary="3D Tiles 1.1 tileset of the building twins", response_model=Tileset)
def tileset_json(
    request: Request,
    twins: TwinService = Depends(twin_service),
    models: ModelService = Depends(model_service),
    bus: EventBus = Depends(event_bus),
    access: Access = Depends(require("READ", "city")),
) -> Response:
    return Response(_tileset(request, twins, models, bus, access).json, media_type=tiles3d.MEDIA_TYPE_JSON)


@router.get(
    "/3dtiles/{path:path}",
    summary="A 3D Tiles content file (GLB) named by tileset.json",
    response_class=Response,
    responses={200: {"content": {tiles3d.MEDIA_TYPE_GLB: {"schema": BINARY}}}},
)
def tile_content(
    path: str,
    request: Request,
    twins: TwinService = Depends(twin_service),
    models: ModelService = Depends(model_service),
    bus: EventBus = Depends(event_bus),
    access: Access = Depends(require("READ", "city")),
) -> Response:
    content = _tileset(request, twins, models, bus, access).contents.get(path)
    if content is None:
        raise NotFound(f"'{path}' is not part of the current tileset; read tileset.json again")
    return Response(content, media_type=tiles3d.MEDIA_TYPE_GLB)
