"""/ngsi-ld/v1/temporal: the temporal evolution of entities (GS CIM 009 clause 6.18 - 6.24), from the telemetry store.

Authorisation is the telemetry API's: reading history needs READ on ``twins/<twin id>`` and on
``twins/<twin id>/telemetry`` (without the latter an entity is answered with no temporal attributes); writing it
WRITE on ``twins/<twin id>/telemetry``, and creating the entity or deleting it WRITE on ``twins/<twin id>``; a
query needs READ on ``query`` as GET /twins does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, cast
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from futago.api.access import Access
from futago.api.ngsild.http import MEDIA, Call, NgsiLdRoute, call_of, split_list, tenant_of, with_body
from futago.api.ngsild.http import authorize as _access
from futago.api.ngsild.http import body_doc as _body
from futago.api.ngsild.query_params import (
    GEO_QUERY,
    Page,
    Paging,
    QueryParameters,
    Selection,
    entity_query,
    page_links,
)
from futago.api.providers import api_services, ngsild_service
from futago.services.ngsild import EntityQuery, NgsiLdService
from futago.services.ngsild.aggregation import answer_time, parse_methods, parse_period
from futago.services.ngsild.attributes import VALUE_MEMBER, is_name, parse_instance
from futago.services.ngsild.errors import BadRequestData, InvalidRequest, ResourceNotFound
from futago.services.ngsild.joins import omitted_names, parse_projection, picked_names
from futago.services.ngsild.temporal import Representation, TemporalEntity, TemporalService, TimeQuery

router = APIRouter(prefix="/temporal", tags=["ngsi-ld"], route_class=NgsiLdRoute, default_response_class=Response)
TEMPORAL_ENTITY: dict[str, Any] = {
    "type": "object",
    "description": "An entity whose attributes are arrays of instances, each with observedAt",
    "properties": {
        "id": {"type": "string"},
        "type": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    },
    "additionalProperties": True,
}
INSTANCE: dict[str, Any] = {
    "type": "object",
    "description": "The instance's new value, given as the instance itself or under the attribute's name "
    '({"<attr>": {"value": ...}})',
    "properties": {
        "value": {"description": "the new value"},
        "type": {"type": "string", "description": "Property, GeoProperty, ..."},
        "observedAt": {"type": "string", "description": "ISO 8601"},
        "datasetId": {"type": "string"},
    },
    "additionalProperties": True,
}
NAMES: dict[str, Any] = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
QUERY: dict[str, Any] = {
    "type": "object",
    "description": "An NGSI-LD Query (GS CIM 009 5.2.23) with a temporalQ",
    "properties": {
        "type": {"type": "string", "enum": ["Query"]},
        "entities": {
            "type": "array",
            "items": {
                "type": "object",
                "description": "EntitySelector",
                "properties": {"type": NAMES, "id": NAMES, "idPattern": {"type": "string"}},
            },
        },
        "attrs": NAMES,
        "q": {"type": "string"},
        "geoQ": GEO_QUERY,
        "temporalQ": {
            "type": "object",
            "properties": {
                "timerel": {"type": "string", "enum": ["before", "after", "between"]},
                "timeAt": {"type": "string"},
                "endTimeAt": {"type": "string"},
                "timeproperty": {"type": "string"},
                "lastN": {"type": "integer"},
            },
        },
    },
}
FORMS = {
    "normalized": "normalized",
    "temporalValues": "temporalValues",
    "simplified": "temporalValues",
    "keyValues": "temporalValues",
    "aggregatedValues": "aggregatedValues",
}


def temporal_service(request: Request, ngsild: Annotated[NgsiLdService, Depends(ngsild_service)]) -> TemporalService:
    return TemporalService(ngsild, api_services(request).telemetry)


Service = Annotated[TemporalService, Depends(temporal_service)]


def _history(schema: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """200, or 206 with a Content-Range where an attribute had more instances than one answer holds."""
    content = {m: {"schema": schema} for m in MEDIA}
    return {
        200: {"description": "OK", "content": content},
        206: {"description": "Partial: ask again from the Content-Range's end", "content": content},
    }


def _twin(service: TemporalService, request: Request, entity_id: str) -> str:
    return service.ngsild.tenant_twin_id(tenant_of(request), entity_id)


def _name(attr: str) -> str:
    """The attribute of a URL: a name as 4.6.2 allows it, else BadRequestData (5.6.13.4-5.6.15.4), never a 404 for
    a name no entity could hold; ``..`` and ``.`` (sent percent-encoded) are no names either."""
    if not is_name(attr):
        raise BadRequestData(f"{attr!r} is not a valid attribute name")
    return attr


@dataclass
class TimeParameters:
    """The temporal query's GET parameters as sent: parsed by the route, once the caller is authorised."""

    timerel: str | None
    time_at: str | None
    end_time_at: str | None
    timeproperty: str | None
    last_n: str | None

    def query(self) -> TimeQuery:
        return TimeQuery.parse(self.timerel, self.time_at, self.end_time_at, self.last_n, self.timeproperty)


def time_parameters(
    timerel: str | None = None,
    time_at: Annotated[str | None, Query(alias="timeAt")] = None,
    end_time_at: Annotated[str | None, Query(alias="endTimeAt")] = None,
    timeproperty: str | None = None,
    last_n: Annotated[str | None, Query(alias="lastN")] = None,
) -> TimeParameters:
    return TimeParameters(timerel, time_at, end_time_at, timeproperty, last_n)


@dataclass
class ShapeParameters:
    """The representation's GET parameters as sent (options, format, aggrMethods, aggrPeriodDuration)."""

    options: str | None
    format_: str | None
    methods: str | None
    period: str | None
    pick: str | None = None
    omit: str | None = None

    def without_attrs(self, attrs: Any) -> None:
        """4.21: pick and omit replace attrs; asking for both is BadRequestData, as on /entities."""
        if attrs is not None and (self.pick is not None or self.omit is not None):
            raise BadRequestData(
                "attrs cannot be combined with pick or omit (GS CIM 009 4.21): pick selects attributes"
            )

    def shape(self) -> Representation:
        shape = _shape(self.options, self.format_, self.methods, self.period)
        shape.pick = picked_names(parse_projection(self.pick, "pick"))
        shape.omit = omitted_names(parse_projection(self.omit, "omit"))
        if shape.pick is not None and shape.omit is not None:
            raise BadRequestData("pick and omit cannot be used together")
        return shape


def shape_parameters(
    options: str | None = None,
    format_: Annotated[str | None, Query(alias="format")] = None,
    aggr_methods: Annotated[str | None, Query(alias="aggrMethods")] = None,
    aggr_period: Annotated[str | None, Query(alias="aggrPeriodDuration")] = None,
    pick: str | None = None,
    omit: str | None = None,
) -> ShapeParameters:
    return ShapeParameters(options, format_, aggr_methods, aggr_period, pick, omit)


When = Annotated[TimeParameters, Depends(time_parameters)]
Shaped = Annotated[ShapeParameters, Depends(shape_parameters)]


def _shape(options: str | None, format_: str | None, methods: str | None, period: str | None) -> Representation:
    # an unknown option or format is InvalidRequest, as on /entities (6.3.12); format wins over options
    chosen = split_list(options) or []
    form = "normalized"
    for option in chosen:
        if option in FORMS:
            form = FORMS[option]
        elif option != "sysAttrs":
            raise InvalidRequest(f"unknown option {option!r}: temporalValues, aggregatedValues, sysAttrs")
    asked = {form}
    if format_ is not None:
        if format_ not in FORMS:
            raise InvalidRequest(f"unknown format {format_!r}: normalized, temporalValues, aggregatedValues")
        form = FORMS[format_]
        asked.add(form)
    shape = Representation(form, sys_attrs="sysAttrs" in chosen)
    if form == "aggregatedValues":
        shape.methods = parse_methods(methods)
        shape.period_us = parse_period(period) if period is not None else None
    elif (methods is not None or period is not None) and "aggregatedValues" not in asked:
        # options=aggregatedValues overridden by format= leaves its methods unused, not wrong
        raise BadRequestData("aggrMethods and aggrPeriodDuration go with the aggregatedValues representation")
    return shape


def _render(call: Call, entity: TemporalEntity, shape: Representation) -> dict[str, Any]:
    types = [call.terms.compact(t) for t in (entity.type, *entity.extra_types)]
    out: dict[str, Any] = {"id": entity.id, "type": types[0] if len(types) == 1 else types}
    for iri, attribute in entity.attrs.items():
        out[call.terms.compact(iri)] = attribute
    # pick/omit (GS CIM 009 4.21) name members as the caller's context writes them, id and type included
    if shape.pick is not None:
        return {k: v for k, v in out.items() if k in shape.pick}
    if shape.omit is not None:
        return {k: v for k, v in out.items() if k not in shape.omit}
    return out


def _answer(call: Call, body: Any, entities: list[TemporalEntity], headers: dict[str, str] | None = None) -> Response:
    """200, or 206 with a Content-Range (GS CIM 009 6.3.10) where an attribute had more instances than one
    answer holds: ask again from the range's end."""
    ranges = [e.range_us for e in entities if e.range_us is not None]
    if not ranges:
        return call.answer(body, headers=headers)
    first, last = min(r[0] for r in ranges), min(r[1] for r in ranges)
    out = {**(headers or {}), "Content-Range": f"date-time {answer_time(first)}-{answer_time(last)}/*"}
    return call.answer(body, status=206, headers=out)


@router.get(
    "/entities",
    summary="Query the temporal evolution of entities",
    responses=_history({"type": "array", "items": TEMPORAL_ENTITY}),
)
def query_temporal(
    request: Request,
    service: Service,
    given: Selection,
    when: When,
    shaped: Shaped,
    local: bool | None = None,
) -> Response:
    access = _access(request, "READ", "query")
    call = call_of(request, service.ngsild, geo=False)
    shaped.without_attrs(given.attrs)
    if not local and all(s is None for s in (given.type, given.attrs, given.q, given.georel)):
        # 5.7.4.4: entity ids (or an id pattern) alone are no temporal query, unless local=true
        raise BadRequestData("a temporal query needs type, attrs, q or a geo-query, or local=true (5.7.4.4)")
    selector = entity_query(service.ngsild, call.terms, given, local)  # the same selection as GET /entities
    page = Page(given.limit, given.offset, given.count)
    return _query(service, access, call, [selector], given.attrs, when.query(), shaped.shape(), page, request)


def _query(
    service: TemporalService,
    access: Access,
    call: Call,
    selectors: list[EntityQuery],
    attrs: Any,
    time: TimeQuery,
    shape: Representation,
    page: Page,
    linked: Request | None = None,
) -> Response:
    """One page of the temporal query; ``linked`` (a GET, which a link can repeat) gets rel="prev"/"next"."""
    wanted = {call.terms.expand(a) for a in _names(attrs, "attrs")} or None
    shape.terms = call.terms
    found, total = service.query(
        call.tenant,
        selectors,
        time,
        shape,
        (page.offset, page.limit),
        wanted,
        access.readable,
        lambda twin_id: access.may("READ", f"twins/{twin_id}/telemetry"),
    )
    headers = {"NGSILD-Results-Count": str(total)} if page.count else {}
    if linked is not None:  # 6.3.13, as GET /entities
        more = total > page.offset + page.limit
        links = page_links(linked.url.path, linked.query_params.multi_items(), page, call.accept, more)
        if links is not None:
            headers["Link"] = links
    return _answer(call, [_render(call, e, shape) for e in found], found, headers)


def _names(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return split_list(value) or []
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return value
    raise BadRequestData(f"{what} is a list of names")


def _selectors(service: TemporalService, call: Call, body: dict[str, Any]) -> list[EntityQuery]:
    """A Query body's entity selectors (a union), each with the body's q and geoQ."""
    selectors = body.get("entities") or []
    geo = body.get("geoQ") or {}
    if not isinstance(selectors, list) or not isinstance(geo, dict):
        raise BadRequestData("entities is a list of selectors (type, id, idPattern) and geoQ an object")
    if not selectors and body.get("attrs") is None and body.get("q") is None and not geo:
        raise BadRequestData("a temporal query needs entities (type, id or idPattern), attrs, q or geoQ")
    if not selectors and body.get("q") is None and not geo:
        return [EntityQuery()]  # attrs alone: every entity with a history of them
    out = []
    for selector in selectors or [{}]:
        if not isinstance(selector, dict):
            raise BadRequestData("each entity selector is an object with type, id or idPattern")
        given = QueryParameters(
            _joined(selector.get("type"), "type"), _joined(selector.get("id"), "id"),
            _text(selector.get("idPattern"), "idPattern"), None, _text(body.get("q"), "q"),
            _text(geo.get("georel"), "georel"), _text(geo.get("geometry"), "geometry"),
            _joined(geo.get("coordinates"), "coordinates", json=True), _text(geo.get("geoproperty"), "geoproperty"),
            scope_q=_text(body.get("scopeQ"), "scopeQ"),
        )  # fmt: skip
        out.append(entity_query(service.ngsild, call.terms, given))
    return out


def _text(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise BadRequestData(f"{name} is a string")
    return value


def _joined(value: Any, name: str, json: bool = False) -> str | None:
    """A selector member that may be a list (type, id) as the comma list the GET parameters take."""
    if json and isinstance(value, list):
        return orjson.dumps(value).decode()
    if isinstance(value, list):
        return ",".join(_names(value, name))
    return _text(value, name)


@router.get(
    "/entities/{entity_id}",
    summary="Retrieve the temporal evolution of an entity",
    responses=_history(TEMPORAL_ENTITY),
)
def retrieve_temporal(
    entity_id: str,
    request: Request,
    service: Service,
    when: When,
    shaped: Shaped,
    attrs: str | None = None,
) -> Response:
    twin_id = _twin(service, request, entity_id)
    access = _access(request, "READ", f"twins/{twin_id}")
    call = call_of(request, service.ngsild, geo=False)
    shaped.without_attrs(attrs)
    wanted = {call.terms.expand(a) for a in split_list(attrs) or []} or None
    shape = shaped.shape()
    shape.terms = call.terms
    entity = service.retrieve(
        call.tenant,
        entity_id,
        when.query(),
        shape,
        wanted,
        access.readable,
        access.may("READ", f"twins/{twin_id}/telemetry"),
    )
    body = _render(call, entity, shape)
    if not body:  # 4.21: pick or omit left no member of the entity
        raise ResourceNotFound(f"pick/omit leave nothing of entity '{entity_id}' to answer")
    return _answer(call, body, [entity])


@router.post(
    "/entities",
    summary="Create or add to the temporal evolution of an entity",
    responses={201: {"description": "Created"}, 204: {"description": "Instances added to an existing entity"}},
    openapi_extra=_body(TEMPORAL_ENTITY),
)
async def create_temporal(request: Request, service: Service) -> Response:
    def run(call: Call, body: Any) -> Response:
        given = body.get("id") if isinstance(body, dict) else None
        twin_id = service.ngsild.tenant_twin_id(call.tenant, given if isinstance(given, str) else "")
        _access(request, "WRITE", f"twins/{twin_id}")
        _access(request, "WRITE", f"twins/{twin_id}/telemetry")
        state = service.parse(body, call.terms)
        if not service.write(call.tenant, state, create_type=True):
            return call.done()
        return call.created(f"/ngsi-ld/v1/temporal/entities/{quote(state.id, safe=':')}")

    return await with_body(request, service.ngsild, run)


@router.post(
    "/entities/{entity_id}/attrs",
    status_code=204,
    summary="Add attribute instances to the temporal evolution of an entity",
    openapi_extra=_body(TEMPORAL_ENTITY),
)
async def append_temporal(entity_id: str, request: Request, service: Service) -> Response:
    _access(request, "WRITE", f"twins/{_twin(service, request, entity_id)}/telemetry")

    def run(call: Call, body: Any) -> Response:
        service.write(call.tenant, service.parse(body, call.terms, entity_id), create_type=False)
        return call.done()

    return await with_body(request, service.ngsild, run)


@router.delete("/entities/{entity_id}", status_code=204, summary="Delete an entity and its temporal evolution")
def delete_temporal(entity_id: str, request: Request, service: Service) -> Response:
    _access(request, "WRITE", f"twins/{_twin(service, request, entity_id)}")
    call = call_of(request, service.ngsild)
    service.require_entity(call.tenant, entity_id)  # 404, or 400 for an id that is no URI
    service.ngsild.delete(call.tenant, entity_id)  # a twin's deletion deletes its telemetry and kept instances
    return call.done()


@router.delete("/entities/{entity_id}/attrs/{attr}", status_code=204, summary="Delete an attribute's history")
def delete_temporal_attribute(
    entity_id: str,
    attr: str,
    request: Request,
    service: Service,
    dataset_id: Annotated[str | None, Query(alias="datasetId")] = None,
    delete_all: Annotated[str | None, Query(alias="deleteAll")] = None,
) -> Response:
    _access(request, "WRITE", f"twins/{_twin(service, request, entity_id)}/telemetry")
    call = call_of(request, service.ngsild)
    _name(attr)
    if delete_all not in (None, "true", "false"):
        raise BadRequestData(f"deleteAll is true or false, not {delete_all!r}")
    every = delete_all == "true"
    if every and dataset_id:  # an empty datasetId is none (clients send the parameter empty)
        raise BadRequestData("deleteAll and datasetId cannot be used together")
    dataset = call.terms.expand(dataset_id) if dataset_id else None
    service.delete_attribute(call.tenant, entity_id, call.terms.expand(attr), dataset, every)
    return call.done()


@router.patch(
    "/entities/{entity_id}/attrs/{attr}/{instance_id}",
    status_code=204,
    summary="Change one instance of an attribute's history",
    openapi_extra=_body(INSTANCE),
)
async def patch_instance(entity_id: str, attr: str, instance_id: str, request: Request, service: Service) -> Response:
    _access(request, "WRITE", f"twins/{_twin(service, request, entity_id)}/telemetry")

    def run(call: Call, body: Any) -> Response:
        _name(attr)
        fragment = body.get(attr, body) if isinstance(body, dict) else body
        if isinstance(fragment, list) and len(fragment) == 1:
            fragment = fragment[0]  # the attribute as in a temporal representation: an array of one instance
        if not isinstance(fragment, dict) or not set(fragment) & set(VALUE_MEMBER.values()):
            raise BadRequestData(f'send the instance\'s new value: {{"{attr}": {{"value": ...}}}}')
        new = parse_instance(attr, {k: v for k, v in fragment.items() if k != "instanceId"}, call.terms, f"/{attr}")
        service.change_instance(call.tenant, entity_id, call.terms.expand(attr), instance_id, new)
        return call.done()

    return await with_body(request, service.ngsild, run, patch=True)


@router.delete(
    "/entities/{entity_id}/attrs/{attr}/{instance_id}", status_code=204, summary="Delete one instance of an attribute"
)
def delete_instance(entity_id: str, attr: str, instance_id: str, request: Request, service: Service) -> Response:
    _access(request, "WRITE", f"twins/{_twin(service, request, entity_id)}/telemetry")
    call = call_of(request, service.ngsild)
    service.change_instance(call.tenant, entity_id, call.terms.expand(_name(attr)), instance_id, None)
    return call.done()


@router.post(
    "/entityOperations/query",
    summary="Query the temporal evolution of entities (a Query in the body)",
    responses=_history({"type": "array", "items": TEMPORAL_ENTITY}),
    openapi_extra=_body(QUERY),
)
async def query_temporal_post(
    request: Request,
    service: Service,
    page: Paging,
    shaped: Shaped,
) -> Response:
    access = _access(request, "READ", "query")

    def run(call: Call, body: Any) -> Response:
        if not isinstance(body, dict) or body.get("type", "Query") != "Query":
            raise BadRequestData('the body is a Query: {"type": "Query", "entities": [...], "temporalQ": {...}}')
        selectors = _selectors(service, call, body)
        temporal = body.get("temporalQ") or {}
        if not isinstance(temporal, dict):
            raise BadRequestData("temporalQ is an object: timerel, timeAt, endTimeAt, timeproperty, lastN")
        time = TimeQuery.parse(
            temporal.get("timerel"), temporal.get("timeAt"), temporal.get("endTimeAt"),
            temporal.get("lastN", body.get("lastN")), temporal.get("timeproperty"),
        )  # fmt: skip
        return _query(service, access, call, selectors, body.get("attrs"), time, _body_shape(temporal, shaped), page)

    return await with_body(request, service.ngsild, run)


def _body_shape(temporal: dict[str, Any], shaped: Any) -> Representation:
    """5.2.21: aggrMethods (a list, or a comma separated string) and aggrPeriodDuration may come in the Query's
    temporalQ; they ask for the aggregated representation as the GET parameters do."""
    methods, period = temporal.get("aggrMethods"), temporal.get("aggrPeriodDuration")
    if methods is None and period is None:
        return cast(Representation, shaped.shape())
    if isinstance(methods, list) and all(isinstance(m, str) for m in methods):
        methods = ",".join(methods)
    if not isinstance(methods, str) or (period is not None and not isinstance(period, str)):
        raise BadRequestData("temporalQ: aggrMethods is a list of strings, aggrPeriodDuration a duration (PT1H)")
    shape = Representation("aggregatedValues", parse_methods(methods))
    shape.period_us = parse_period(period) if period is not None else None
    return shape


# An empty entity id or attribute name in the URL (``/entities//attrs``): no route's parameter matches an empty
# segment, so without these the request would be a plain 404. 5.6.12.4-5.6.15.4 make a missing id or name
# BadRequestData.
_EMPTY = (
    ("/entities//attrs", ["POST"]),
    ("/entities//attrs/{attr}", ["DELETE"]),
    ("/entities//attrs/{attr}/{instance_id}", ["PATCH", "DELETE"]),
    ("/entities/{entity_id}/attrs//{instance_id}", ["PATCH", "DELETE"]),
)


def _missing_segment() -> Response:
    raise BadRequestData("the URL names no entity id or no attribute (an empty path segment)")


for _path, _methods in _EMPTY:
    router.add_api_route(_path, _missing_segment, methods=_methods, include_in_schema=False)
