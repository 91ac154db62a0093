"""/query: the twin query language (a documented subset of the Azure Digital Twins one)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, Field
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.answers import QueryAnswer
from futago.api.deps import JSONRoute, json_response
from futago.api.providers import twin_service
from futago.services.twins import TwinService

router = APIRouter(tags=["query"], route_class=JSONRoute)


class QueryRequest(BaseModel):
    query: str = Field(
        min_length=1,
        max_length=64_000,
        examples=["SELECT T FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:futago:demo:RiverStation;1')"],
    )
    continuationToken: str | None = Field(default=None, max_length=8_000)


@router.post("/query", summary="Query the twin graph; see docs/query.md for the language", response_model=QueryAnswer)
def query(
    request: QueryRequest,
    max_items: Annotated[int, Header(alias="max-items-per-page", ge=1, le=10_000)] = 1000,
    twins: TwinService = Depends(twin_service),
    access: Access = Depends(require("READ", "query")),
) -> Response:
    result = twins.query(
        request.query,
        continuation=request.continuationToken,
        page_size=max_items,
        shape=access.shape_row,
        source=access.graph(twins),
    )
    return json_response({"value": result.items, "continuationToken": result.continuation})
