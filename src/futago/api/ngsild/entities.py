"""/ngsi-ld/v1/entities: entities and their attributes (GS CIM 009 clause 6.4 - 6.7), over the twins.

Authorisation is the twin API's: writing an entity needs WRITE on ``twins/<twin id>``, reading one READ on it
(a twin the caller may not read is an entity that does not exist, and properties it may not read are attributes
it does not see); a query needs READ on ``query``, as GET /twins does, and then shows only readable twins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
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
from futago.api.ngsild.query_params import Selection, entity_query, page_links, parse_csf
from futago.api.prefer import APPLIED, ReturnPreference, return_preference
from futago.api.providers import ngsild_service
from futago.core.errors import FutagoError
from futago.services.ngsild import NgsiLdService, Outcome
from futago.services.ngsild.attributes import LOCATION, Rendering, is_geometry
from futago.services.ngsild.errors import BadRequestData, InvalidRequest
from futago.services.ngsild.joins import (
    Join,
    Linker,
    Tree,
    check_reach,
    join_of,
    omitted_names,
    parse_projection,
    picked_names,
)
from futago.services.ngsild.mapping import EntityState

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
    dataset_id: str | None = None
    join: str | None = None
    join_level: str | None = None

    def instances(self, state: EntityState) -> EntityState:
        """``state`` with only the attribute instances ``datasetId`` names (``@none``: the default instance,
        GS CIM 009 4.5.5); an entity left with no attribute is still answered, as its id and type."""
        wanted = split_list(self.dataset_id)
        if wanted is None:
            return state
        kept = {}
        for name, instances in state.attrs.items():
            chosen = [i for i in instances if i.get("datasetId", "@none") in wanted]
            if chosen:
                kept[name] = chosen
        return replace(state, attrs=kept)


def view_parameters(
    pick: str | None = None,
    omit: str | None = None,
    options: str | None = None,
    format_: Annotated[str | None, Query(alias="format")] = None,
    lang: str | None = None,
    dataset_id: Annotated[str | None, Query(alias="datasetId")] = None,
    join: str | None = None,
    join_level: Annotated[str | None, Query(alias="joinLevel")] = None,
) -> View:
    return View(pick, omit, options, format_, lang, dataset_id, join, join_level)


Viewed = Annotated[View, Depends(view_parameters)]


def rendering_of(call: Call, options: str | None, format_: str | None, lang: str | None) -> Rendering:
    """How to show entities, from ``options``/``format``/``lang``: also what a batch query renders with."""
    chosen = split_list(options) or []
    form = "normalized"
    for option in chosen:
        if option in FORMATS:
            form = FORMATS[option]
        elif option not in ("sysAttrs", "noOverwrite"):
            raise InvalidRequest(f"unknown option {option!r}: normalized, keyValues, concise, sysAttrs")
    if format_ is not None:
        if format_ not in FORMATS:
            raise InvalidRequest(f"unknown format {format_!r}: normalized, keyValues (simplified), concise")
        form = FORMATS[format_]
    return Rendering(call.terms, form, "sysAttrs" in chosen, lang)


def selection(
    call: Call, attrs: str | None, pick: str | None, omit: str | None
) -> tuple[set[str] | None, set[str] | None]:
    if attrs is not None and (pick is not None or omit is not None):
        raise BadRequestData("attrs cannot be combined with pick or omit (GS CIM 009 4.21): pick selects attributes")
    if pick is not None and omit is not None:
        raise BadRequestData("pick and omit cannot be used together")
    picked = picked_names(parse_projection(pick, "pick"))
    return chosen(
        call, (split_list(attrs) or []) + (picked or []), picked, omitted_names(parse_projection(omit, "omit"))
    )


def chosen(
    call: Call, names: list[str], picked: list[str] | None, omitted: list[str] | None
) -> tuple[set[str] | None, set[str] | None]:
    """The expanded members to answer (None: all) and to leave out, from attrs/pick names and omit names."""
    wanted = {n if n in ("id", "type") else call.terms.expand(n) for n in names} if names else None
    dropped = {n if n in ("id", "type") else call.terms.expand(n) for n in omitted or []} or None
    if picked is not None:  # with pick, id and type are answered only when picked (attrs always keeps them)
        dropped = {"id", "type"} - set(picked)
    return wanted, dropped


def linker(service: NgsiLdService, call: Call, access: Access, rendering: Rendering, join: Join) -> Linker:
    """Joins linked entities as this caller may read them, each rendered as the entities asked for are."""

    def load(entity_id: str) -> EntityState | None:
        try:
            return service.load(call.tenant, entity_id, access.readable, access.may_read_twin)
        except FutagoError:  # gone, never there, hidden from this caller, or not an entity id
            return None

    def show(state: EntityState, pick: Tree | None, omit: Tree | None) -> dict[str, Any]:
        picked = picked_names(pick)
        wanted, dropped = chosen(call, picked or [], picked, omitted_names(omit))
        return service.render(state, rendering, wanted, dropped)

    return Linker(join, load, show, call.terms.compact, rendering.form == "keyValues")


def _feature(entity: dict[str, Any], geometry: Any) -> dict[str, Any]:
    properties = {k: v for k, v in entity.items() if k != "id"}
    return {"id": entity.get("id"), "type": "Feature", "geometry": geometry, "properties": properties}


def _geometry(state: Any, geoproperty: str = LOCATION) -> Any:
    """The default instance's value of ``geoproperty`` when it is a GeoJSON geometry; null otherwise (4.5.16.1:
    a missing attribute, or one whose value is no geometry, e.g. ``geometryProperty=speed``)."""
    located = state.attrs.get(geoproperty) or []
    value = next((i.get("value") for i in located if "datasetId" not in i), None)
    return value if is_geometry(value) else None


def geometry_property(call: Call, name: str | None) -> str:
    """The GeoProperty a GeoJSON answer takes its features' geometry from (``geometryProperty``, GS CIM 009
    6.3.15; ``location`` when absent), expanded with the request's context."""
    return call.terms.expand(name) if name else LOCATION


def feature_collection(entities: list[dict[str, Any]], states: list[Any], geoproperty: str) -> dict[str, Any]:
    """A query's answer as GeoJSON: one Feature per entity, its geometry the default instance of ``geoproperty``
    (null where the entity has none)."""
    features = [_feature(e, _geometry(s, geoproperty)) for e, s in zip(entities, states, strict=True)]
    return {"type": "FeatureCollection", "features": features}


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
    local: bool | None = None,  # one broker, no registrations: every answer is local; true: no selector needed
    geometry_name: Annotated[str | None, Query(alias="geometryProperty")] = None,
    expand_values: Annotated[str | None, Query(alias="expandValues")] = None,
    csf: str | None = None,
) -> Response:
    access = authorize(request, "READ", "query")
    call = call_of(request, service)
    if csf is not None:  # no registrations to filter, but a malformed filter is still a 400 (5.7.2.4)
        parse_csf(csf, call.terms)
    if geometry_name is not None and call.accept != GEO_JSON:  # 5.7.2.4
        raise BadRequestData("geometryProperty is for a GeoJSON answer: send Accept: application/geo+json")
    query = entity_query(service, call.terms, given, local, expand_values)
    service.require_tenant(call.tenant)
    wanted, dropped = selection(call, given.attrs, view.pick, view.omit)
    rendering = rendering_of(call, view.options, view.format_, view.lang)
    join = _join(view)
    # without count, one entity past the page says whether a next page exists (6.3.13)
    probe = query if query.count or query.limit == 0 else replace(query, limit=query.limit + 1)
    states, total = service.query(call.tenant, probe, access.readable, access.may_read_twin)
    more = len(states) > query.limit if total is None else total > query.offset + query.limit
    states = [view.instances(s) for s in states[: query.limit]]
    entities = [service.render(s, rendering, wanted, dropped) for s in states]
    if view.pick is not None:  # an entity with none of the picked members is no answer (as with attrs)
        states = [s for s, e in zip(states, entities, strict=True) if e]
        entities = [e for e in entities if e]
    headers = {"NGSILD-Results-Count": str(total)} if total is not None else {}
    links = page_links(request.url.path, request.query_params.multi_items(), given, call.accept, more)
    if links is not None:
        headers["Link"] = links
    if call.accept == GEO_JSON:
        collection = feature_collection(entities, states, geometry_property(call, geometry_name))
        return call.answer(collection, headers=headers)
    if join is not None:
        entities = _joined(linker(service, call, access, rendering, join), view, states, entities)
    return call.answer(entities, headers=headers)


def _join(view: View) -> Join | None:
    """The join asked for, once the projections are known to reach no deeper than it (5.7.2.4)."""
    join = join_of(view.join, view.join_level)
    check_reach(parse_projection(view.pick, "pick"), parse_projection(view.omit, "omit"), join)
    return join


def _joined(link: Linker, view: View, states: list[EntityState], entities: list[dict[str, Any]]) -> list[Any]:
    pick, omit = parse_projection(view.pick, "pick"), parse_projection(view.omit, "omit")
    if link.join.mode == "flat":
        return link.flat(states, entities, pick, omit)
    return [link.inline(s, e, pick, omit) for s, e in zip(states, entities, strict=True)]


@router.get("/{entity_id}", summary="Retrieve an entity", responses=answer_doc(ENTITY))
def retrieve_entity(
    entity_id: str,
    request: Request,
    service: Service,
    view: Viewed,
    attrs: str | None = None,
    geometry_name: Annotated[str | None, Query(alias="geometryProperty")] = None,
) -> Response:
    access = _entity_access(request, service, tenant_of(request), entity_id, "READ")
    call = call_of(request, service)
    service.require_tenant(call.tenant)
    if geometry_name is not None and call.accept != GEO_JSON:  # 5.7.1.4, as for a query
        raise BadRequestData("geometryProperty is for a GeoJSON answer: send Accept: application/geo+json")
    wanted, dropped = selection(call, attrs, view.pick, view.omit)
    rendering = rendering_of(call, view.options, view.format_, view.lang)  # a bad option is a 400 before a 404
    join = _join(view)
    state = service.load(call.tenant, entity_id, access.readable, access.may_read_twin)
    _type_gate(request, service, call, entity_id)  # ?type= (4.17): an entity of another type is not found
    twin_id = service.tenant_twin_id(call.tenant, entity_id)
    if access.may("READ", f"twins/{twin_id}/telemetry"):  # the latest readings, as GET /twins shows them
        state = service.with_telemetry(state, twin_id)
    state = view.instances(state)
    entity = service.render(state, rendering, wanted, dropped)
    if call.accept == GEO_JSON:
        return call.answer(_feature(entity, _geometry(state, geometry_property(call, geometry_name))))
    if join is not None:  # flat: the entity alone when it links to nothing that could be joined
        joined = _joined(linker(service, call, access, rendering, join), view, [state], [entity])
        return call.answer(joined if len(joined) > 1 else joined[0])
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
        _type_gate(request, service, call, entity_id)
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
    _type_gate(request, service, call, entity_id)
    before = _shown(service, call, access, entity_id, prefer)
    service.delete(call.tenant, entity_id)
    return done(call, before)


def _type_gate(request: Request, service: NgsiLdService, call: Call, entity_id: str) -> None:
    """``?type=`` on a write to one entity selects it only when the entity is of that type (else 404)."""
    service.require_type(call.tenant, entity_id, request.query_params.get("type"), call.terms)


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
        _type_gate(request, service, call, entity_id)
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
        _type_gate(request, service, call, entity_id)
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
    _type_gate(request, service, call, entity_id)
    service.delete_attribute(call.tenant, entity_id, attr, call.terms, dataset_id, delete_all)
    return call.done()
