"""/twins and their relationships: create, replace, patch and delete with ETags (If-Match)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.deps import CREATED, JSONRoute, get_app, json_response
from futago.app import App

router = APIRouter(prefix="/twins", tags=["twins"], route_class=JSONRoute)
IfMatch = Annotated[str | None, Header(alias="If-Match")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]


@router.get("", summary="List the twins the caller may read, optionally of a model (sub-models included); a query")
def list_twins(
    model: str | None = None,
    after: Annotated[str | None, Query(description="resume after this twin id")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    app: App = Depends(get_app),
    access: Access = Depends(require("READ", "query")),  # each twin is then checked on its own
) -> Response:
    twins = app.twins.list_twins(model=model, after=after, limit=limit)
    rows = [r for r in (access.shape_row(t.to_json()) for t in twins) if r is not None]
    body: dict[str, Any] = {"value": rows}
    if len(twins) == limit:
        body["next"] = twins[-1].id
    return json_response(body)


@router.get("/{twin_id}", summary="Read a twin, with the latest value of each telemetry")
def get_twin(
    twin_id: str, app: App = Depends(get_app), access: Access = Depends(require("READ", "twins/{twin_id}"))
) -> Response:
    doc = app.twins.get_json(twin_id)
    return json_response(access.shape_row(doc), headers={"ETag": doc["$etag"]})


@router.put("/{twin_id}", summary="Create or replace a twin", responses=CREATED)
def put_twin(
    twin_id: str,
    document: Annotated[dict[str, Any], Body()],
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    app: App = Depends(get_app),
    access: Access = Depends(require("WRITE", "twins/{twin_id}")),
) -> Response:
    twin, created = app.twins.put(twin_id, document, if_match=if_match, if_none_match=if_none_match)
    return json_response(twin.to_json(), status_code=201 if created else 200, headers={"ETag": twin.etag})


@router.patch("/{twin_id}", summary="Update a twin with a JSON Patch (RFC 6902)")
def patch_twin(
    twin_id: str,
    operations: Annotated[list[Any], Body()],
    if_match: IfMatch = None,
    app: App = Depends(get_app),
    access: Access = Depends(require("WRITE", "twins/{twin_id}")),
) -> Response:
    twin = app.twins.patch(twin_id, operations, if_match=if_match)
    return json_response(twin.to_json(), headers={"ETag": twin.etag})


@router.delete("/{twin_id}", status_code=204, summary="Delete a twin that has no relationships left")
def delete_twin(
    twin_id: str,
    if_match: IfMatch = None,
    app: App = Depends(get_app),
    access: Access = Depends(require("WRITE", "twins/{twin_id}")),
) -> Response:
    app.twins.delete(twin_id, if_match=if_match)
    return Response(status_code=204)


@router.get("/{twin_id}/relationships", summary="List a twin's outgoing relationships")
def list_relationships(
    twin_id: str,
    relationship_name: Annotated[str | None, Query(alias="relationshipName")] = None,
    app: App = Depends(get_app),
    access: Access = Depends(require("READ", "twins/{twin_id}")),
) -> Response:
    rels = app.twins.list_relationships(twin_id, relationship_name, access.may_read_twin)
    return json_response({"value": [r.to_json() for r in rels]})


@router.get("/{twin_id}/incomingrelationships", summary="List relationships that point at a twin")
def list_incoming(
    twin_id: str, app: App = Depends(get_app), access: Access = Depends(require("READ", "twins/{twin_id}"))
) -> Response:
    rels = app.twins.list_incoming(twin_id, access.may_read_twin)
    return json_response(
        {
            "value": [
                {
                    "$relationshipId": r.id,
                    "$sourceId": r.source_id,
                    "$relationshipName": r.name,
                    "$relationshipLink": f"/twins/{r.source_id}/relationships/{r.id}",
                }
                for r in rels
            ]
        }
    )


@router.get("/{twin_id}/relationships/{rel_id}", summary="Read a relationship")
def get_relationship(
    twin_id: str,
    rel_id: str,
    app: App = Depends(get_app),
    access: Access = Depends(require("READ", "twins/{twin_id}")),
) -> Response:
    rel = app.twins.get_relationship(twin_id, rel_id, access.may_read_twin)
    return json_response(rel.to_json(), headers={"ETag": rel.etag})


@router.put("/{twin_id}/relationships/{rel_id}", summary="Create or replace a relationship", responses=CREATED)
def put_relationship(
    twin_id: str,
    rel_id: str,
    document: Annotated[dict[str, Any], Body()],
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    app: App = Depends(get_app),
    access: Access = Depends(require("WRITE", "twins/{twin_id}")),
) -> Response:
    rel, created = app.twins.put_relationship(twin_id, rel_id, document, if_match=if_match, if_none_match=if_none_match)
    return json_response(rel.to_json(), status_code=201 if created else 200, headers={"ETag": rel.etag})


@router.patch("/{twin_id}/relationships/{rel_id}", summary="Update a relationship's properties (JSON Patch)")
def patch_relationship(
    twin_id: str,
    rel_id: str,
    operations: Annotated[list[Any], Body()],
    if_match: IfMatch = None,
    app: App = Depends(get_app),
    access: Access = Depends(require("WRITE", "twins/{twin_id}")),
) -> Response:
    rel = app.twins.patch_relationship(twin_id, rel_id, operations, if_match=if_match)
    return json_response(rel.to_json(), headers={"ETag": rel.etag})


@router.delete("/{twin_id}/relationships/{rel_id}", status_code=204, summary="Delete a relationship")
def delete_relationship(
    twin_id: str,
    rel_id: str,
    if_match: IfMatch = None,
    app: App = Depends(get_app),
    access: Access = Depends(require("WRITE", "twins/{twin_id}")),
) -> Response:
    app.twins.delete_relationship(twin_id, rel_id, if_match=if_match)
    return Response(status_code=204)
