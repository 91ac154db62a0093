"""/catalog: the datasets in this store, each with licence and provenance (a CKAN/DCAT-style catalog)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.deps import JSONRoute, get_app, json_response
from futago.app import App
from futago.services.catalog import KINDS, CatalogService

router = APIRouter(tags=["catalog"], route_class=JSONRoute)


def _catalog(app: App, access: Access) -> CatalogService:
    """The catalog as this caller may read it: a hidden twin's telemetry, a hidden behaviour or model is absent."""
    may_read = None if access.principal.admin else partial(access.may, "READ")
    return CatalogService(app.store, app.behaviours, app.connections, may_read)


@router.get(
    "/catalog",
    summary="The datasets in this store: city imports, telemetry, derived telemetry and DTDL models, "
    "each with licence, provenance and record counts",
)
def list_catalog(
    kind: Annotated[str | None, Query(description=f"only entries of this kind: {', '.join(KINDS)}")] = None,
    app: App = Depends(get_app),
    access: Access = Depends(require("READ", "catalog")),
) -> Response:
    return json_response({"value": _catalog(app, access).entries(kind)})


@router.get("/catalog/{entry_id:path}", summary="One catalog entry by id (e.g. telemetry:river-1)")
def get_catalog_entry(
    entry_id: str, app: App = Depends(get_app), access: Access = Depends(require("READ", "catalog"))
) -> Response:
    return json_response(_catalog(app, access).entry(entry_id))
