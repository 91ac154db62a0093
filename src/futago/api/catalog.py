"""/catalog: the datasets in this store, each with licence and provenance (a CKAN/DCAT-style catalog)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.answers import Catalog, CatalogEntry
from futago.api.deps import JSONRoute, json_response
from futago.api.providers import catalog_service
from futago.services.catalog import KINDS, CatalogService

router = APIRouter(tags=["catalog"], route_class=JSONRoute)


def _as_seen(catalog: CatalogService, access: Access) -> CatalogService:
    """The catalog as this caller may read it: a hidden twin's telemetry, a hidden behaviour or model is absent."""
    return catalog.as_seen_by(None if access.principal.admin else partial(access.may, "READ"))


@router.get(
    "/catalog",
    summary="The datasets in this store: city imports, telemetry, derived telemetry and DTDL models, "
    "each with licence, provenance and record counts",
    response_model=Catalog,
)
def list_catalog(
    kind: Annotated[str | None, Query(description=f"only entries of this kind: {', '.join(KINDS)}")] = None,
    catalog: CatalogService = Depends(catalog_service),
    access: Access = Depends(require("READ", "catalog")),
) -> Response:
    return json_response({"value": _as_seen(catalog, access).entries(kind)})


@router.get(
    "/catalog/{entry_id:path}", summary="One catalog entry by id (e.g. telemetry:river-1)", response_model=CatalogEntry
)
def get_catalog_entry(
    entry_id: str,
    catalog: CatalogService = Depends(catalog_service),
    access: Access = Depends(require("READ", "catalog")),
) -> Response:
    return json_response(_as_seen(catalog, access).entry(entry_id))
