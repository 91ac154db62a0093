"""/ngsi-ld/v1/entityOperations: batch create, upsert, update, merge, delete and query (GS CIM 009 6.14 - 6.18,
6.23, 6.31), with per-entity success and error lists.

Authorisation is per entity, as for single writes: the caller is authenticated (and rate-limited) once, then each
entity needs WRITE on ``twins/<twin id>``; one it may not write is an error of the answer (403, futago's problem
type), and the others are written. A query needs READ on ``query`` and shows only readable twins, as GET /entities.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from futago.api.access import Access, _authenticate
from futago.api.deps import MAX_DEPTH, MAX_FIELD_CHARS, check_fields
from futago.api.errors import InvalidBody
from futago.api.ngsild.entities import ENTITY, feature_collection, geometry_property, linker, rendering_of, selection
from futago.api.ngsild.http import (
    GEO_JSON,
    JSON,
    JSON_LD,
    Call,
    NgsiLdRoute,
    answer_doc,
    authorize,
    body_doc,
    link_context,
    negotiate,
    ngsild_problem,
    split_list,
    tenant_of,
    with_body,
)
from futago.api.ngsild.query_params import GEO_QUERY, Paging, QueryParameters, entity_query
from futago.api.providers import ngsild_service, security_service
from futago.core.errors import Forbidden, FutagoError
from futago.services.ngsild import NgsiLdService
from futago.services.ngsild.batch import (
    BatchResult,
    BatchService,
    Item,
    Operation,
    check_size,
    entity_id_of,
    without_cyclic_gc,
)
from futago.services.ngsild.batch_query import union_query
from futago.services.ngsild.errors import BadRequestData, InvalidRequest, UnsupportedMediaType
from futago.services.ngsild.joins import Join, join_of

router = APIRouter(
    prefix="/entityOperations", tags=["ngsi-ld"], route_class=NgsiLdRoute, default_response_class=Response
)
Service = Annotated[NgsiLdService, Depends(ngsild_service)]
ENTITIES: dict[str, Any] = {"type": "array", "items": ENTITY, "maxItems": 1000}
TWINS = "twins/"
ENTITY_IDS: dict[str, Any] = {
    "type": "array",
    "maxItems": 1000,
    "items": {
        "type": ["string", "object"],
        "description": "An entity id (a URI), or an entity naming its id (as the other batch operations take it)",
        "properties": {"id": {"type": "string"}},
    },
}
SELECTOR: dict[str, Any] = {
    "type": "object",
    "description": "EntitySelector: a type, and an id or an idPattern",
    "properties": {"type": {"type": "string"}, "id": {"type": "string"}, "idPattern": {"type": "string"}},
    "required": ["type"],
}
QUERY: dict[str, Any] = {
    "type": "object",
    "description": "An NGSI-LD Query (GS CIM 009 5.2.23); temporalQ and csf are not supported here",
    "properties": {
        "type": {"type": "string", "enum": ["Query"]},
        "entities": {"type": "array", "items": SELECTOR, "minItems": 1, "maxItems": 100},
        "attrs": {"type": "array", "items": {"type": "string"}},
        "q": {"type": "string"},
        "geoQ": GEO_QUERY,
        "lang": {"type": "string"},
    },
    "required": ["type"],
}
RESULT = answer_doc(
    {
        "type": "object",
        "description": "BatchOperationResult",
        "properties": {
            "success": {"type": "array", "items": {"type": "string"}},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"entityId": {"type": "string"}, "error": {"type": "object"}},
                },
            },
        },
    },
    207,
    "Some entities failed: the ids written and, for each failure, its entity id and ProblemDetails",
)


def _writer(request: Request) -> Access:
    """The caller, authenticated and rate-limited once for the whole batch; each entity is authorised alone. A
    caller that may write no twin at all is refused (403) before its body is read: it may not learn how its body
    is wrong."""
    principal = _authenticate(request)
    request.state.caller = principal.name  # for the audit of this request
    security = security_service(request)
    if not principal.admin:
        security.limiter.take(principal.name)
    access = Access(principal, "WRITE", "entityOperations", security)
    if not _may_write_some_twin(access):
        raise Forbidden(f"{principal.name} may not WRITE any twin: no policy entry grants it")
    return access


def _may_write_some_twin(access: Access) -> bool:
    """Whether a grant of WRITE may cover some ``twins/...`` path: a pattern whose literal start is on the way to
    ``twins/`` or below it (``*``, ``twins/*``, ``twins/pump-1``). Generous on purpose: each entity is still
    authorised alone; this only keeps a caller granted nothing from reading the batch."""
    principal = access.principal
    if principal.admin:
        return True
    if not {"WRITE", "ADMIN"} & set(principal.scopes):
        return False
    by_subject = access.security.policies().by_subject
    for subject in principal.subjects:
        for entry in by_subject.get(subject, ()):
            if entry.effect == "grant" and entry.applies_to("WRITE"):
                head = re.split(r"[*?\[]", entry.resource, maxsplit=1)[0]  # the literal start
                if TWINS.startswith(head) or head.startswith(TWINS):
                    return True
    return False


async def _read_batch(request: Request, service: NgsiLdService) -> tuple[Call, bytes]:
    """The request as a batch: its media type, tenant and context (the body is parsed by ``_entities``, off the
    event loop). With application/json the @context is the Link header's; with application/ld+json each entity
    carries its own (GS CIM 009 6.3.5)."""
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media not in (JSON, JSON_LD):
        raise UnsupportedMediaType(f"send {JSON} or {JSON_LD}, not {media or 'a body without Content-Type'}")
    link = link_context(request.headers.get("link"))
    if media == JSON_LD and link is not None:
        raise BadRequestData("a JSON-LD body carries its @context inside; send no context Link header with it")
    tenant = tenant_of(request)
    service.check_tenant(tenant)
    accept = negotiate(request.headers.get("accept"), geo=False)
    raw = await request.body()
    terms = await run_in_threadpool(service.contexts.resolve, link)
    return Call(tenant, link, terms, accept, link), raw


def _entities(raw: bytes) -> list[Any]:
    """The batch's JSON array (parsed in the worker thread: a 1,000-entity body is a megabyte of JSON)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, list):
        raise BadRequestData("a batch operation's body is a JSON array")
    check_size(len(body))
    if not body or any(item is None for item in body):  # 5.6.7.4 (and the other batch operations)
        raise BadRequestData("a batch operation's array may be neither empty nor hold null")
    return body


def _items(call: Call, body: list[Any], service: NgsiLdService, ld: bool, raw_size: int) -> list[Item | FutagoError]:
    """Each entity with its terms; an entity too big or too deep, or whose @context is missing or bad, is an
    error of its own. ``raw_size``: the body's length in bytes (no string in a shorter body can be too long)."""
    strings = raw_size > MAX_FIELD_CHARS
    return [_item(call, document, service, ld, strings) for document in body]


def _item(call: Call, document: Any, service: NgsiLdService, ld: bool, strings: bool = True) -> Item | FutagoError:
    try:
        if not _surely_fits(document, 0, strings):
            check_fields(document)
    except InvalidBody as exc:
        return BadRequestData(str(exc.detail), exc.problems)
    has_context = isinstance(document, dict) and "@context" in document
    if not ld or not isinstance(document, dict):
        if has_context:
            return BadRequestData("an entity sent as application/json may not hold an @context")
        return Item(document, call.terms)
    if not has_context:
        return BadRequestData("an entity sent as application/ld+json must hold an @context")
    try:
        terms = service.contexts.resolve(document["@context"])
    except FutagoError as exc:
        return exc
    return Item({k: v for k, v in document.items() if k != "@context"}, terms)


def _surely_fits(value: Any, depth: int, strings: bool) -> bool:
    """True when ``check_fields`` would pass ``value`` found ``depth`` levels down; False where it might not (the
    exact check then names where and why). One call per container rather than per value: a 1,000-entity batch
    checked value by value spent a tenth of its time there. ``strings``: whether a string could be too long at all
    (a body shorter than the limit holds none)."""
    if isinstance(value, str):
        return not strings or len(value) <= MAX_FIELD_CHARS
    if depth >= MAX_DEPTH - 1:
        return False  # near the limit: let the exact check decide
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if strings and isinstance(key, str) and len(key) > MAX_FIELD_CHARS:
            return False
        if isinstance(item, dict | list):
            if not _surely_fits(item, depth + 1, strings):
                return False
        elif strings and isinstance(item, str) and len(item) > MAX_FIELD_CHARS:
            return False
    return True


def _answer_batch(request: Request, call: Call, result: BatchResult, all_ok: Response) -> Response:
    if not result.errors:
        return all_ok
    errors = []
    for entity_id, exc in result.errors:
        problem = orjson.loads(ngsild_problem(request, exc).body)
        problem.pop("instance", None)
        errors.append({"entityId": entity_id, "error": problem})
    return call.answer({"success": result.success, "errors": errors}, status=207)


async def _write(request: Request, service: NgsiLdService, operation: Operation, created_body: bool) -> Response:
    access = _writer(request)
    call, raw = await _read_batch(request, service)
    ld = (request.headers.get("content-type") or "").lower().startswith(JSON_LD)

    def run() -> Response:
        body = _entities(raw)
        items = _items(call, body, service, ld, len(raw))
        good = [i for i in items if isinstance(i, Item)]
        result = BatchService(service).write(
            call.tenant, good, operation, lambda twin_id: access.may("WRITE", f"twins/{twin_id}")
        )
        for document, item in zip(body, items, strict=True):
            if isinstance(item, FutagoError):
                result.errors.append((entity_id_of(document), item))
        if created_body and result.created:
            return _answer_batch(request, call, result, call.answer(result.created, status=201))
        return _answer_batch(request, call, result, call.done())

    return await run_in_threadpool(without_cyclic_gc(run))


@router.post(
    "/create",
    status_code=201,
    summary="Create entities (201: all created, with their ids; 207: some failed)",
    responses={204: {"description": "An empty batch: nothing to create, nothing failed"}, **RESULT},
    openapi_extra=body_doc(ENTITIES),
)
async def batch_create(request: Request, service: Service) -> Response:
    return await _write(request, service, "create", created_body=True)


@router.post(
    "/upsert",
    status_code=201,
    summary="Create or replace entities (options=update: update those there)",
    responses={204: {"description": "All entities existed and were updated"}, **RESULT},
    openapi_extra=body_doc(ENTITIES),
)
async def batch_upsert(request: Request, service: Service, options: str | None = None) -> Response:
    chosen = set(split_list(options) or [])
    if not chosen <= {"update", "replace"} or chosen == {"update", "replace"}:
        raise BadRequestData("options of a batch upsert: update or replace (the default)")
    operation: Operation = "upsert-update" if "update" in chosen else "upsert-replace"
    return await _write(request, service, operation, created_body=True)


@router.post(
    "/update",
    status_code=204,
    summary="Update attributes of existing entities (options=noOverwrite: add only new ones)",
    responses=RESULT,
    openapi_extra=body_doc(ENTITIES),
)
async def batch_update(request: Request, service: Service, options: str | None = None) -> Response:
    chosen = set(split_list(options) or [])
    if not chosen <= {"noOverwrite"}:
        raise BadRequestData("the option of a batch update is noOverwrite")
    return await _write(request, service, "update-keep" if chosen else "update", created_body=False)


@router.post(
    "/merge",
    status_code=204,
    summary="Merge into existing entities (urn:ngsi-ld:null deletes an attribute)",
    responses=RESULT,
    openapi_extra=body_doc(ENTITIES),
)
async def batch_merge(request: Request, service: Service) -> Response:
    return await _write(request, service, "merge", created_body=False)


@router.post(
    "/delete",
    status_code=204,
    summary="Delete entities by id",
    responses=RESULT,
    openapi_extra=body_doc(ENTITY_IDS),
)
async def batch_delete(request: Request, service: Service) -> Response:
    access = _writer(request)
    call, raw = await _read_batch(request, service)

    def run() -> Response:
        body = [entity_id_of(e) if isinstance(e, dict) else e for e in _entities(raw)]
        result = BatchService(service).delete(
            call.tenant, body, lambda twin_id: access.may("WRITE", f"twins/{twin_id}")
        )
        return _answer_batch(request, call, result, call.done())

    return await run_in_threadpool(run)


QUERY_MEMBERS = frozenset(
    {
        "type",
        "entities",
        "attrs",
        "q",
        "geoQ",
        "lang",
        "temporalQ",
        "scopeQ",
        "csf",
        "geometryProperty",
        "join",
        "joinLevel",
        "pick",
        "omit",
    }
)  # geometryProperty: a GeoJSON answer's geometry, as the GET parameter of that name
MAX_SELECTORS = 100


def _query_of(body: Any) -> tuple[list[QueryParameters], str | None]:
    """A Query body (GS CIM 009 5.2.23) as one set of query parameters per EntitySelector, and its lang."""
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise BadRequestData('a query is a JSON object with "type": "Query"')
    unknown = sorted(set(body) - QUERY_MEMBERS)
    if unknown:
        raise BadRequestData(f"a Query has no member {', '.join(unknown)}")
    for unsupported in ("temporalQ", "csf"):
        if body.get(unsupported) is not None:
            raise BadRequestData(f"{unsupported} is not supported in an entity query (docs/ngsi-ld.md)")
    attrs = _strings(body.get("attrs"), "attrs")
    q, lang = _text(body.get("q"), "q"), _text(body.get("lang"), "lang")
    scope_q = _text(body.get("scopeQ"), "scopeQ")
    base = QueryParameters(attrs=",".join(attrs) or None, q=q, scope_q=scope_q, **_geo_parameters(body.get("geoQ")))
    selectors = body.get("entities")
    if selectors is None:
        return [base], lang
    if not isinstance(selectors, list) or not selectors or len(selectors) > MAX_SELECTORS:
        raise BadRequestData(f"entities is an array of 1 to {MAX_SELECTORS} EntitySelectors")
    return [replace(base, **_selector(s, i)) for i, s in enumerate(selectors)], lang


def _projection(body: dict[str, Any], name: str) -> str | None:
    """A Query body's pick or omit (an array of names, or the projection text as the URL has it)."""
    value = body.get(name)
    if value is None or isinstance(value, str):
        return value
    return ",".join(_strings(value, name))


def _strings(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v and "," not in v for v in value):
        raise BadRequestData(f"{name} is a non-empty array of names")
    return value


def _text(value: Any, name: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise BadRequestData(f"{name} is a non-empty string")
    return value


def _selector(data: Any, index: int) -> dict[str, Any]:
    if not isinstance(data, dict) or not set(data) <= {"id", "idPattern", "type"}:
        raise BadRequestData(f"entities[{index}] is an EntitySelector: type, and id or idPattern")
    found = {"type": _text(data.get("type"), f"entities[{index}].type")}
    if found["type"] is None:
        raise BadRequestData(f"entities[{index}] needs a type")
    entity_id = _text(data.get("id"), f"entities[{index}].id")
    if entity_id is not None and "," in entity_id:
        raise BadRequestData(f"entities[{index}].id is one URI")
    pattern = _text(data.get("idPattern"), f"entities[{index}].idPattern")  # checked even when id overrides it
    # 5.2.33: id takes precedence over idPattern (the pattern is ignored, not a second filter)
    return {**found, "id": entity_id, "id_pattern": pattern if entity_id is None else None}


def _geo_parameters(geo: Any) -> dict[str, Any]:
    """geoQ's members as the GET parameters they are (coordinates as JSON text)."""
    if geo is None:
        return {}
    if not isinstance(geo, dict) or not set(geo) <= {"georel", "geometry", "coordinates", "geoproperty"}:
        raise BadRequestData("geoQ is an object of georel, geometry, coordinates and geoproperty")
    coordinates = geo.get("coordinates")
    if coordinates is not None and not isinstance(coordinates, str):
        coordinates = orjson.dumps(coordinates).decode()
    found = {k: geo.get(k) for k in ("georel", "geometry", "geoproperty")}
    if not all(v is None or isinstance(v, str) for v in found.values()):
        raise BadRequestData("georel, geometry and geoproperty of geoQ are strings")
    return {**found, "coordinates": coordinates}


@router.post(
    "/query",
    summary="Query entities with a Query body (entities, attrs, q, geoQ, lang)",
    responses=answer_doc({"type": "array", "items": ENTITY}),
    openapi_extra=body_doc(QUERY),
)
async def batch_query(
    request: Request,
    service: Service,
    page: Paging,
    options: str | None = None,
    format_: Annotated[str | None, Query(alias="format")] = None,
) -> Response:
    access = authorize(request, "READ", "query")

    def run(call: Call, body: Any) -> Response:
        selections, lang = _query_of(body)
        paged = [replace(p, limit=page.limit, offset=page.offset, count=page.count) for p in selections]
        queries = [entity_query(service, call.terms, p) for p in paged]
        service.require_tenant(call.tenant)
        states, total = union_query(service, call.tenant, queries, access.readable, access.may_read_twin)
        rendering = rendering_of(call, options, format_, lang)
        join = _join_of(body)
        pick, omit = _projection(body, "pick"), _projection(body, "omit")
        wanted, dropped = set(queries[0].attrs) if queries[0].attrs else None, None
        if pick is not None or omit is not None:  # as the GET parameters of those names (4.21)
            wanted, dropped = selection(call, ",".join(body.get("attrs") or []) or None, pick, omit)
        entities = [service.render(s, rendering, wanted, dropped) for s in states]
        if pick is not None:  # an entity with none of the picked members is no answer, as from GET
            states = [s for s, e in zip(states, entities, strict=True) if e]
            entities = [e for e in entities if e]
        headers = {"NGSILD-Results-Count": str(total)} if total is not None else None
        if call.accept == GEO_JSON:
            geoproperty = body.get("geometryProperty") if isinstance(body, dict) else None
            if geoproperty is not None and not isinstance(geoproperty, str):
                raise BadRequestData("geometryProperty is the name of a GeoProperty")
            return call.answer(
                feature_collection(entities, states, geometry_property(call, geoproperty)), headers=headers
            )
        if join is not None:  # linked entities (4.5.23), as GET /entities joins them
            link = linker(service, call, access, rendering, join)
            if join.mode == "flat":
                return call.answer(link.flat(states, entities, None, None), headers=headers)
            entities = [link.inline(s, e, None, None) for s, e in zip(states, entities, strict=True)]
        return call.answer(entities, headers=headers)

    return await with_body(request, service, run)


def _join_of(body: dict[str, Any]) -> Join | None:
    """A Query body's join and joinLevel (a number, or its text as in the URL)."""
    join, level = body.get("join"), body.get("joinLevel")
    if join is not None and not isinstance(join, str):
        raise BadRequestData("join is one of flat, inline, @none")
    if level is not None and (isinstance(level, bool) or not isinstance(level, int | str)):
        raise BadRequestData("joinLevel is a whole number")
    return join_of(join, None if level is None else str(level))
