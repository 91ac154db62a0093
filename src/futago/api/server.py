"""The FastAPI application: thin routers over the services of one composed futago (``ApiServices``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from futago import __version__
from futago.api import (
    alerts,
    audit,
    behaviours,
    catalog,
    city,
    commands,
    connections,
    dashboard,
    events,
    health,
    models,
    notifications,
    personal,
    privacy,
    query,
    security,
    telemetry,
    twins,
)
from futago.api.clients import ClientAddress
from futago.api.errors import PROBLEM_RESPONSES, BodySizeLimit, install_error_handlers
from futago.api.headers import SecurityHeaders
from futago.api.ngsild import router as ngsild_router
from futago.api.providers import ApiServices

DESCRIPTION = """futago (双子) digital-twin platform API / デジタルツイン統合基盤 API.

Errors are RFC 9457 problem+json with a JSON Pointer to the offending field.
"""


def create_api(services: ApiServices, close_at_shutdown: Callable[[], None] | None = None) -> FastAPI:
    """The API over ``services`` (the composition root's App satisfies ApiServices). ``close_at_shutdown`` is
    called when the server stops: a process of ``futago serve --workers N`` closes the App it built itself."""

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        # While being served, the city's first tiles are encoded in the background, ready for the first map.
        stop = threading.Event()
        warming = threading.Thread(
            target=city.warm, args=(api.state, services, stop), name="futago-city-warm", daemon=True
        )
        warming.start()
        yield
        stop.set()  # and wait for the tile in hand: the store is closed after this, and must not be in use
        await asyncio.to_thread(warming.join)
        city.release(api.state)
        if close_at_shutdown is not None:
            await asyncio.to_thread(close_at_shutdown)

    api = FastAPI(
        title="futago",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    settings = services.settings
    api.state.services = services  # what the providers (futago.api.providers) hand to the routers
    api.state.settings = settings
    api.state.bulk_gate = telemetry.BulkGate(settings.max_bulk_requests)
    install_error_handlers(api)
    for module in (
        health,
        models,
        twins,
        telemetry,
        query,
        events,
        connections,
        city,
        behaviours,
        alerts,
        commands,
        notifications,
        catalog,
        audit,
        security,
        privacy,
        personal,
    ):
        api.include_router(module.router)
    api.include_router(ngsild_router)  # /ngsi-ld/v1: the same twins through the NGSI-LD door

    dashboard.mount(api)
    api.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    api.add_middleware(SecurityHeaders, base_tiles=settings.base_tiles)
    if settings.cors_origins:  # other origins' pages may call the API (credentials stay bearer keys)
        origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
        api.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["authorization", "content-type", "if-match", "if-none-match", "max-items-per-page"],
            expose_headers=["etag", "location"],
        )
    api.add_middleware(audit.AuditRequests, futago=services)  # it sees every answer, refusals included
    # outermost: the client's address is decided (trusted proxies only) before anything counts or records it
    api.add_middleware(ClientAddress, trusted_proxies=settings.trusted_proxies)
    return api
