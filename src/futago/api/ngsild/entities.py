"""/ngsi-ld/v1/entities: entities and their attributes (GS CIM 009 clause 6.4 - 6.7), over the twins.

Authorisation is the twin API's: writing an entity needs WRITE on ``twins/<twin id>``, reading one READ on it
(a twin the caller may not read is an entity that does not exist, and properties it may not read are attributes
it does not see); a query needs READ on ``query``, as GET /twins does, and then shows only readable twins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from futago.api.access import Access, Permission
from futago.api.ngsild.http import (
    GEO_JSON,
    MEDIA,
    Call,
    NgsiLdRoute,
    answer_doc,
    authorize,
    body_doc,
    call_of,
    split_list,
    tenant_of,
    with_body,
)
from futago.api.ngsild.query_params import Selection, entity_query
from futago.api.prefer import APPLIED, ReturnPreference, return_preference
from futago.api.providers import ngsild_service
from futago.core.errors import FutagoError
from futago.services.ngsild import NgsiLdService, Outcome
from futago.services.ngsild.attributes import LOCATION, Rendering
from futago.services.ngsild.errors import BadRequestData

router = APIRouter(prefix="/entities", tags=["ngsi-ld"], route_class=NgsiLdRoute, default_response_class=Response)
ENTITY: dict[str, Any] = {
    "type": "object",
    "description": "An NGSI-LD entity: id, type and its attributes (normalized, concise or keyValues)",
    "properties": {"id": {"type": "string"}, "type": {"type": "string"}},
    "additionalProperties": True,
}
FRAGMENT: dict[str, Any] = {
    "type": "object",
    "description": "Attributes by name; each an NGSI-LD attribute (or an array of instances with datasetId)",
    "properties": {"datasetId": {"type": "string"}},
    "additionalProperties": True,
}
PARTIAL = answer_doc(
    {
        "type": "object",
        "properties": {"updated": {"type": "array", "items": {"type": "string"}}, "notUpdated": {"type": "array"}},
    },
    207,
    "Some attributes were not updated (none: 204)",
)
Service = Annotated[NgsiLdService, Depends(ngsild_service)]
Preference = Annotated[ReturnPreference, Depends(return_preference)]
FORMATS = {"normalized": "normalized", "keyValues": "keyValues", "simplified": "keyValues", "concise": "concise"}


def _entity_access(
    request: Request, service: NgsiLdService, tenant: str | None, entity_id: str, permission: Permission
) -> Access:
    """Authorised first, before the body or the parameters are read: a caller without rights learns nothing."""
    return authorize(request, permission, f"twins/{service.tenant_twin_id(tenant, entity_id)}")


def represented(schema: dict[str, Any], what: str) -> dict[int | str, dict[str, Any]]:
    """The answers of an operation that is 204 No Content in NGSI-LD, and 200 with ``what`` under RFC 7240
    ``Prefer: return=representation`` (api/prefer.py): without the header NGSI-LD clients see the 204 they expect."""
    applied = {"Preference-Applied": {"description": APPLIED, "schema": {"type": "string"}}}
    return {
        200: {"description": f"With 'Prefer: return=representation': {what}", "headers": applied,
              "content": {m: {"schema": schema} for m in MEDIA}},
        204: {"description": "Done: the NGSI-LD answer, without 'Prefer: return=representation'"},
    }  # fmt: skip


def done(call: Call, representation: Any | None) -> Response:
    """204, or 200 with the representation asked for (and Preference-Applied)."""
    if representation is None:
        return call.done()
    return call.answer(representation, headers={"Preference-Applied": APPLIED})


def _shown(service: NgsiLdService, call: Call, access: Access, entity_id: str, prefer: ReturnPreference) -> Any:
    """The entity as GET /entities/{id} shows it to this caller (normalized), or None when not asked for, or when
    GET would not show it (no READ, or gone): nobody sees more through Prefer than through GET."""
    if not prefer.representation or not access.may("READ", access.resource):
        return None
    try:
        state = service.load(call.tenant, entity_id, access.readable, access.may_read_twin)
    except FutagoError:
        return None
    if access.may("READ", f"{access.resource}/telemetry"):
        state = service.with_telemetry(state, access.resource.removeprefix("twins/"))
    return service.render(state, Rendering(call.terms, "normalized", False, None), None, None)


@dataclass
class View:
    """How an answer shows entities, as sent: pick/omit, options, format and lang (GET /entities and /{id})."""

    pick: str | None
    omit: str | None
    options: str | None
    format_: str | None
    lang: str | None


def view_parameters(
    pick: str | None = None,
    omit: str | None = None,
    options: str | None = None,
    format_: Annotated[str | None, Query(alias="format")] = None,
    lang: str | None = None,
) -> View:
    return View(pick, omit, options, format_, lang)


Viewed = Annotated[View, Depends(view_parameters)]


def rendering_of(call: Call, options: str | None, format_: str | None, lang: str | None) -> Rendering:
    """How to show entities, from ``options``/``format``/``lang``: also what a batch query renders with."""
    chosen = split_list(options) or []
    form = "normalized"
    for option in chosen:
        if option in FORMATS:
            form = FORMATS[option]
        elif option not in ("sysAttrs", "noOverwrite"):
            raise BadRequestData(f"unknown option {option!r}: normalized, keyValues, concise, sysAttrs")
    if format_ is not None:
        if format_ not in FORMATS:
            raise BadRequestData(f"unknown format {format_!r}: normalized, keyValues (simplified), concise")
        form = FORMATS[format_]
    return Rendering(call.terms, form, "sysAttrs" in chosen, lang)


def _selection(
    call: Call, attrs: str | None, pick: str | None, omit: str | None
) -> tuple[set[str] | None, set[str] | None]:
    wanted = None
    names = (split_list(attrs) or []) + (split_list(pick) or [])
    if names:
        wanted = {n if n in ("id", "type") else call.terms.expand(n) for n in names}
    dropped = {n if n in ("id", "type") else call.terms.expand(n) for n in split_list(omit) or []} or None
    if pick is not None and dropped is not None:
        raise BadRequestData("pick and omit cannot be used together")
    if pick is not None:  # with pick, id and type are answered only when picked (attrs always keeps them)
        dropped = {"id", "type"} - set(split_list(pick) or [])
    return wanted, dropped


def _feature(entity: dict[str, Any], geometry: Any) -> dict[str, Any]:
    properties = {k: v for k, v in entity.items() if k != "id"}
    return {"id": entity.get("id"), "type": "Feature", "geometry": geometry, "properties": properties}


def _geometry(state: Any) -> Any:
    located = state.attrs.get(LOCATION) or []
    return next((i.get("value") for i in located if "datasetId" not in i), None)


@router.post(
    "",
    status_code=201,
    summary="Create an entity (a twin of the type's DTDL model)",
    responses={201: {"description": "Created; Location names the entity"}},
    openapi_extra=body_doc(ENTITY),
)
async def create_entity(request: Request, service: Service) -> Response:
    def create(call: Call, body: Any) -> Response:
        given = body.get("id", body.get("@id")) if isinstance(body, dict) else None
        _entity_access(request, service, call.tenant, given if isinstance(given, str) else "", "WRITE")
        state = service.parse_entity(body, call.terms)
        service.create(call.tenant, state)
        return call.created(f"/ngsi-ld/v1/entities/{quote(state.id, safe=':')}")

    return await with_body(request, service, create)


@router.get(
    "",
    summary="Query entities: type expressions, id, idPattern, attrs, q, geo-queries, limit/offset/count",
    responses=answer_doc({"type": "array", "items": ENTITY}),
)
def query_entities(
    request: Request,
    service: Service,
    given: Selection,
    view: Viewed,
    local: bool = False,  # one broker, no registrations: every answer is local
) -> Response:
    access = authorize(request, "READ", "query")
    call = call_of(request, service)
    query = entity_query(service, call.terms, given)
    service.require_tenant(call.tenant)
    wanted, dropped = _selection(call, given.attrs, view.pick, view.omit)
    states, total = service.query(call.tenant, query, access.readable, access.may_read_twin)
    rendering = rendering_of(call, view.options, view.format_, view.lang)
    entities = [service.render(s, rendering, wanted, dropped) for s in states]
    headers = {"NGSILD-Results-Count": str(total)} if total is not None else None
    if call.accept == GEO_JSON:
        features = [_feature(e, _geometry(s)) for e, s in zip(entities, states, strict=True)]
        return call.answer({"type": "FeatureCollection", "features": features}, headers=headers)
    return call.answer(entities, headers=headers)


@router.get("/{entity_id}", summary="Retrieve an entity", responses=answer_doc(ENTITY))
def retrieve_entity(
    entity_id: str, request: Request, service: Service, view: Viewed, attrs: str | None = None
) -> Response:
    access = _entity_access(request, service, tenant_of(request), entity_id, "READ")
    call = call_of(request, service)
    service.require_tenant(call.tenant)
    wanted, dropped = _selection(call, attrs, view.pick, view.omit)
    state = service.load(call.tenant, entity_id, access.readable, access.may_read_twin)
    twin_id = service.tenant_twin_id(call.tenant, entity_id)
    if access.may("READ", f"twins/{twin_id}/telemetry"):  # the latest readings, as GET /twins shows them
        state = service.with_telemetry(state, twin_id)
    entity = service.render(state, rendering_of(call, view.options, view.format_, view.lang), wanted, dropped)
    if call.accept == GEO_JSON:
        return call.answer(_feature(entity, _geometry(state)))
    return call.answer(entity)


AFTER = "the entity after the change, as GET shows it"


def _writes(method: str, path: str, summary: str, schema: dict[str, Any]) -> Callable[[Any], Any]:
    """The route of a write of one entity: 204, or the entity after it with Prefer: return=representation."""
    responses = represented(ENTITY, AFTER)
    return router.api_route(
        path, methods=[method], status_code=204, summary=summary, responses=responses, openapi_extra=body_doc(schema)
    )


@_writes("PUT", "/{entity_id}", "Replace an entity", ENTITY)
async def replace_entity(entity_id: str, request: Request, service: Service, prefer: Preference) -> Response:
    def apply(call: Call, body: Any) -> None:
        service.replace(call.tenant, entity_id, body, call.terms)

    return await _change(request, service, prefer, entity_id, apply)


async def _change(
    request: Request,
    service: NgsiLdService,
    prefer: ReturnPreference,
    entity_id: str,
    apply: Callable[[Call, Any], None],
    patch: bool = False,
) -> Response:
    """A write of one entity: authorised first, the body applied, then 204 or the entity as GET shows it now."""
    access = _entity_access(request, service, tenant_of(request), entity_id, "WRITE")

    def run(call: Call, body: Any) -> Response:
        apply(call, body)
        return done(call, _shown(service, call, access, entity_id, prefer))

    return await with_body(request, service, run, patch)


@_writes("PATCH", "/{entity_id}", "Merge into an entity (urn:ngsi-ld:null deletes)", FRAGMENT)
async def merge_entity(entity_id: str, request: Request, service: Service, prefer: Preference) -> Response:
    def apply(call: Call, body: Any) -> None:
        service.merge(call.tenant, entity_id, body, call.terms)

    return await _change(request, service, prefer, entity_id, apply, patch=True)


@router.delete(
    "/{entity_id}",
    status_code=204,
    summary="Delete an entity",
    responses=represented(ENTITY, "what was deleted, as GET showed it just before"),
)
def delete_entity(entity_id: str, request: Request, service: Service, prefer: Preference) -> Response:
    access = _entity_access(request, service, tenant_of(request), entity_id, "WRITE")
    call = call_of(request, service)
    before = _shown(service, call, access, entity_id, prefer)
    service.delete(call.tenant, entity_id)
    return done(call, before)


def _outcome(call: Call, outcome: Outcome) -> Response:
    if not outcome.not_updated:
        return call.done()
    body = {
        "updated": [call.terms.compact(a) for a in outcome.updated],
        "notUpdated": [{"attributeName": call.terms.compact(a), "reason": why} for a, why in outcome.not_updated],
    }
    return call.answer(body, status=207)


@router.post(
    "/{entity_id}/attrs",
    status_code=204,
    summary="Append attributes (options=noOverwrite)",
    responses=PARTIAL,
    openapi_extra=body_doc(FRAGMENT),
)
async def append_attributes(entity_id: str, request: Request, service: Service, options: str | None = None) -> Response:
    _entity_access(request, service, tenant_of(request), entity_id, "WRITE")
    overwrite = "noOverwrite" not in (split_list(options) or [])

    def run(call: Call, body: Any) -> Response:
        return _outcome(call, service.append(call.tenant, entity_id, body, call.terms, overwrite))

    return await with_body(request, service, run)


@router.patch(
    "/{entity_id}/attrs",
    status_code=204,
    summary="Update attributes that exist",
    responses=PARTIAL,
    openapi_extra=body_doc(FRAGMENT),
)
async def update_attributes(entity_id: str, request: Request, service: Service) -> Response:
    _entity_access(request, service, tenant_of(request), entity_id, "WRITE")

    def run(call: Call, body: Any) -> Response:
        return _outcome(call, service.update(call.tenant, entity_id, body, call.terms))

    return await with_body(request, service, run, patch=True)


@_writes("PATCH", "/{entity_id}/attrs/{attr}", "Partially update one attribute", FRAGMENT)
async def patch_attribute(
    entity_id: str, attr: str, request: Request, service: Service, prefer: Preference
) -> Response:
    def apply(call: Call, body: Any) -> None:
        service.patch_attribute(call.tenant, entity_id, attr, body, call.terms)

    return await _change(request, service, prefer, entity_id, apply, patch=True)


@_writes("PUT", "/{entity_id}/attrs/{attr}", "Replace one attribute", FRAGMENT)
async def replace_attribute(
    entity_id: str, attr: str, request: Request, service: Service, prefer: Preference
) -> Response:
    def apply(call: Call, body: Any) -> None:
        service.patch_attribute(call.tenant, entity_id, attr, body, call.terms, replace=True)

    return await _change(request, service, prefer, entity_id, apply)


@router.delete("/{entity_id}/attrs/{attr}", status_code=204, summary="Delete an attribute (datasetId, deleteAll)")
def delete_attribute(
    entity_id: str,
    attr: str,
    request: Request,
    service: Service,
    dataset_id: Annotated[str | None, Query(alias="datasetId")] = None,
    delete_all: Annotated[bool, Query(alias="deleteAll")] = False,
) -> Response:
    _entity_access(request, service, tenant_of(request), entity_id, "WRITE")
    call = call_of(request, service)
    service.delete_attribute(call.tenant, entity_id, attr, call.terms, dataset_id, delete_all)
    return call.done()
