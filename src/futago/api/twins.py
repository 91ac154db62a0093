"""/twins and their relationships: create, replace, patch and delete with ETags (If-Match)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.answers import IncomingRelationships, RelationshipDocument, Relationships, TwinDocument, TwinPage
from futago.api.deps import CREATED, JSONRoute, json_response
from futago.api.paging import keyset, visible_page
from futago.api.prefer import ReturnPreference, deleted_answers, return_preference
from futago.api.providers import twin_service
from futago.services.twins import TwinService

router = APIRouter(prefix="/twins", tags=["twins"], route_class=JSONRoute)
IfMatch = Annotated[str | None, Header(alias="If-Match")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]


@router.get(
    "",
    summary="List the twins the caller may read, optionally of a model (sub-models included); a query",
    response_model=TwinPage,
)
def list_twins(
    model: str | None = None,
    after: Annotated[str | None, Query(description="resume after this twin id")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    twins: TwinService = Depends(twin_service),
    access: Access = Depends(require("READ", "query")),  # each twin is then checked on its own
) -> Response:
    read = keyset(lambda cursor, n: twins.list_twins(model=model, after=cursor, limit=n), lambda twin: twin.id)
    # the policies apply before the page is cut: a full page of twins the caller may read (futago.api.paging)
    rows, next_id = visible_page(read, lambda twin: access.shape_row(twin.to_json()), limit, after, lambda t: t.id)
    body: dict[str, Any] = {"value": rows}
    if next_id is not None:
        body["next"] = next_id
    return json_response(body)


@router.get("/{twin_id}", summary="Read a twin, with the latest value of each telemetry", response_model=TwinDocument)
def get_twin(
    twin_id: str,
    twins: TwinService = Depends(twin_service),
    access: Access = Depends(require("READ", "twins/{twin_id}")),
) -> Response:
    doc = twins.get_json(twin_id)
    return json_response(access.shape_row(doc), headers={"ETag": doc["$etag"]})


@router.put("/{twin_id}", summary="Create or replace a twin", responses=CREATED, response_model=TwinDocument)
def put_twin(
    twin_id: str,
    document: Annotated[dict[str, Any], Body()],
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    twins: TwinService = Depends(twin_service),
    access: Access = Depends(require("WRITE", "twins/{twin_id}")),
) -> Response:
    twin, created = twins.put(twin_id, document, if_match=if_match, if_none_match=if_none_match)
    return json_response(twin.to_json(), status_code=201 if created else 200, headers={"ETag": twin.etag})


@router.patch("/{twin_id}", summary="Update a twin with a JSON Patch (RFC 6902)", response_model=TwinDocument)
def patch_twin(
    twin_id: str,
    operations: Annotated[list[Any], Body()],
    if_match: IfMatch = None,
    twins: TwinService = Depends(twin_service),
    access: Access = Depends(require("WRITE", "twins/{twin_id}")),
) -> Response:
    twin = twins.patch(twin_id, operations, if_match=if_match)
    return json_response(twin.to_json(), headers={"ETag": twin.etag})


@router.delete(
    "/{twin_id}",
    summary="Delete a twin that has no relationships left",
    **deleted_answers(TwinDocument),
)
def delete_twin(
    twin_id: str,
    if_match: IfMatch = None,
    twins: TwinService = Depends(twin_service),
    access: Access = Depends(require("WRITE", "twins/{twin_id}")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    before = prefer.read(access, lambda: access.shape_row(twins.get_json(twin_id)))
    twins.delete(twin_id, if_match=if_match)
    return prefer.answer(before)


@router.get("/{twin_id}/relationships", summary="List a twin's outgoing relationships", response_model=Relationships)
def list_relationships(
    twin_id: str,
    relationship_name: Annotated[str | None, Query(alias="relationshipName")] = None,
    twins: TwinService = Depends(twin_service),
    access: Access = Depends(require("READ", "twins/{twin_id}")),
) -> Response:
    rels = twins.list_relationships(twin_id, relationship_name, access.may_read_twin)
    return json_response({"value": [r.to_json() for r in rels]})


@router.get(
    "/{twin_id}/incomingrelationships",
    summary="List relationships that point at a twin",
    response_model=IncomingRelationships,
)
def list_incoming(
    twin_id: str,
    twins: TwinService = Depends(twin_service),
    access: Access = Depends(require("READ", "twins/{twin_id}")),
) -> Response:
    rels = twins.list_incoming(twin_id, access.may_read_twin)
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


@router.get("/{twin_id}/relationships/{rel_id}", summary="Read a relationship", response_model=RelationshipDocument)
def get_relationship(
    twin_id: str,
    rel_id: str,
    twins: TwinService = Depends(twin_service),
    access: Access = Depends(require("READ", "twins/{twin_id}")),
) -> Response:
    rel = twins.get_relationship(twin_id, rel_id, access.may_read_twin)
    return json_response(rel.to_json(), headers={"ETag": rel.etag})


@router.put(
    "/{twin_id}/relationships/{rel_id}",
    summary="Create or replace a relationship",
    responses=CREATED,
    response_model=RelationshipDocument,
)
def put_relationship(
    twin_id: str,
    rel_id: str,
    document: Annotated[dict[str, Any], Body()],
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    twins: TwinService = Depends(twin_service),
    access: Access = Depends(require("WRITE", "twins/{twin_id}")),
) -> Response:
    rel, created = twins.put_relationship(twin_id, rel_id, document, if_match=if_match, if_none_match=if_none_match)
    return json_response(rel.to_json(), status_code=201 if created else 200, headers={"ETag": rel.etag})


@router.patch(
    "/{twin_id}/relationships/{rel_id}",
    summary="Update a relationship's properties (JSON Patch)",
    response_model=RelationshipDocument,
)
def patch_relationship(
    twin_id: str,
    rel_id: str,
    operations: Annotated[list[Any], Body()],
    if_match: IfMatch = None,
    twins: TwinService = Depends(twin_service),
    access: Access = Depends(require("WRITE", "twins/{twin_id}")),
) -> Response:
    rel = twins.patch_relationship(twin_id, rel_id, operations, if_match=if_match)
    return json_response(rel.to_json(), headers={"ETag": rel.etag})


@router.delete(
    "/{twin_id}/relationships/{rel_id}",
    summary="Delete a relationship",
    **deleted_answers(RelationshipDocument),
)
def delete_relationship(
    twin_id: str,
    rel_id: str,
    if_match: IfMatch = None,
    twins: TwinService = Depends(twin_service),
    access: Access = Depends(require("WRITE", "twins/{twin_id}")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    before = prefer.read(access, lambda: twins.get_relationship(twin_id, rel_id, access.may_read_twin).to_json())
    twins.delete_relationship(twin_id, rel_id, if_match=if_match)
    return prefer.answer(before)
