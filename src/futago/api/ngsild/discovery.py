"""/ngsi-ld/v1/types, /attributes (discovery, GS CIM 009 6.25 - 6.28) and /jsonldContexts (6.29 - 6.31).

Discovery needs READ on ``query`` (as GET /entities) and shows what the caller's readable entities hold. The
context API needs READ on ``ngsi-ld/jsonldContexts`` to read and WRITE on it to add or delete: contexts are
shared by every tenant.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, unquote

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.ngsild.http import JSON, JSON_LD, MEDIA, Call, NgsiLdRoute, answer_doc, call_of
from futago.api.providers import ngsild_service
from futago.services.ngsild import NgsiLdService
from futago.services.ngsild.discovery import Census, census
from futago.services.ngsild.errors import BadRequestData, InvalidRequest, ResourceNotFound, UnsupportedMediaType
from futago.services.ngsild.hosted import KINDS, PATH, registry_of

router = APIRouter(tags=["ngsi-ld"], route_class=NgsiLdRoute, default_response_class=Response)
Service = Annotated[NgsiLdService, Depends(ngsild_service)]
Reader = Annotated[Access, Depends(require("READ", "query"))]
ContextReader = Annotated[Access, Depends(require("READ", "ngsi-ld/jsonldContexts"))]
ContextWriter = Annotated[Access, Depends(require("WRITE", "ngsi-ld/jsonldContexts"))]
NAMES: dict[str, Any] = {"type": "array", "items": {"type": "string"}}


def _object(description: str, **members: Any) -> dict[str, Any]:
    properties = {"id": {"type": "string"}, "type": {"type": "string"}, **members}
    return {"type": "object", "description": description, "properties": properties}


ENTITY_TYPE_LIST = _object("EntityTypeList: the entity types there are", typeList=NAMES)
ENTITY_TYPE = _object("EntityType: a type and its attributes", typeName={"type": "string"}, attributeNames=NAMES)
ATTRIBUTE_DETAIL = _object("An attribute of the type", attributeName={"type": "string"}, attributeTypes=NAMES)
ENTITY_TYPE_INFO = _object(
    "EntityTypeInfo: how many entities of the type, which attributes",
    typeName={"type": "string"},
    entityCount={"type": "integer"},
    attributeDetails={"type": "array", "items": ATTRIBUTE_DETAIL},
)
ATTRIBUTE_LIST = _object("AttributeList: the attributes there are", attributeList=NAMES)
ATTRIBUTE = _object(
    "Attribute: how many instances (attributeCount, for one attribute), of which kinds, in which types",
    attributeName={"type": "string"},
    attributeCount={"type": "integer"},
    attributeTypes=NAMES,
    typeNames=NAMES,
)
CONTEXT_INFO: dict[str, Any] = {
    "type": "object",
    "description": "ContextInfo: a hosted or cached @context",
    "properties": {
        "url": {"type": "string"},
        "localId": {"type": "string"},
        "kind": {"type": "string", "enum": list(KINDS)},
        "createdAt": {"type": "string"},
        "numberOfHits": {"type": "integer"},
        "lastUsage": {"type": "string"},
    },
}
CONTEXTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "URLs, or (details=true) ContextInfos",
        "content": {JSON: {"schema": {"anyOf": [NAMES, {"type": "array", "items": CONTEXT_INFO}]}}},
    }
}
CONTEXT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The @context as a JSON-LD document, or (details=true) its ContextInfo",
        "content": {
            "application/ld+json": {"schema": {"type": "object", "properties": {"@context": {}}}},
            "application/json": {"schema": CONTEXT_INFO},
        },
    }
}


def _list_id(kind: str, names: list[str]) -> str:
    """A stable id for a list answer (the specification asks for a URI, unique per content)."""
    return f"urn:ngsi-ld:{kind}:{hashlib.sha256('|'.join(names).encode()).hexdigest()[:16]}"


def _census(request: Request, service: NgsiLdService, access: Access, only: str | None = None) -> tuple[Call, Census]:
    call = call_of(request, service, geo=False)
    service.require_tenant(call.tenant)
    return call, census(service, call.tenant, access.readable, access.may_read_twin, only, access.reach())


Listed = Annotated[bool, Query(alias="details")]  # a trailing slash names the list, with its details parameter


@router.get(
    "/types",
    summary="The entity types there are (details=true: with their attributes)",
    responses=answer_doc({"anyOf": [ENTITY_TYPE_LIST, {"type": "array", "items": ENTITY_TYPE}]}),
)
def list_types(request: Request, service: Service, access: Reader, details: bool = False) -> Response:
    call, found = _census(request, service, access)
    compact = call.terms.compact
    if details:
        body: Any = [
            {"id": iri, "type": "EntityType", "typeName": compact(iri),
             "attributeNames": sorted(compact(a) for a in info.attributes)}
            for iri, info in sorted(found.types.items())
        ]  # fmt: skip
    else:
        names = sorted(compact(iri) for iri in found.types)
        body = {"id": _list_id("EntityTypeList", names), "type": "EntityTypeList", "typeList": names}
    return call.answer(body)


@router.get(
    "/types/{type_name:path}",  # an expanded type IRI arrives with its slashes decoded
    summary="One entity type: how many entities, which attributes",
    responses=answer_doc(ENTITY_TYPE_INFO),
)
def type_info(type_name: str, request: Request, service: Service, access: Reader, listed: Listed = False) -> Response:
    if not type_name:  # "/types/": the list, as "/types" answers it
        return list_types(request, service, access, listed)
    call = call_of(request, service, geo=False)
    iri = call.terms.expand(type_name)
    call, found = _census(request, service, access, iri)
    info = found.types.get(iri)
    if info is None:
        raise ResourceNotFound(f"no entity of type '{type_name}'")
    details = [
        {"id": a, "type": "Attribute", "attributeName": call.terms.compact(a), "attributeTypes": sorted(kinds)}
        for a, kinds in sorted(info.attributes.items())
    ]
    body = {"id": iri, "type": "EntityTypeInfo", "typeName": call.terms.compact(iri), "entityCount": info.count,
            "attributeDetails": details}  # fmt: skip
    return call.answer(body)


@router.get(
    "/attributes",
    summary="The attributes there are (details=true: with kinds and types)",
    responses=answer_doc({"anyOf": [ATTRIBUTE_LIST, {"type": "array", "items": ATTRIBUTE}]}),
)
def list_attributes(request: Request, service: Service, access: Reader, details: bool = False) -> Response:
    call, found = _census(request, service, access)
    compact = call.terms.compact
    if details:
        body: Any = [_attribute(call, iri, found, counted=False) for iri in sorted(found.attributes)]
    else:
        names = sorted(compact(iri) for iri in found.attributes)
        body = {"id": _list_id("AttributeList", names), "type": "AttributeList", "attributeList": names}
    return call.answer(body)


@router.get(
    "/attributes/{attr:path}",
    summary="One attribute: how many instances, of which kinds and types",
    responses=answer_doc(ATTRIBUTE),
)
def attribute_info(attr: str, request: Request, service: Service, access: Reader, listed: Listed = False) -> Response:
    if not attr:  # "/attributes/": the list
        return list_attributes(request, service, access, listed)
    call, found = _census(request, service, access)
    iri = call.terms.expand(attr)
    if iri not in found.attributes:
        raise ResourceNotFound(f"no entity has the attribute '{attr}'")
    return call.answer(_attribute(call, iri, found, counted=True))


def _attribute(call: Call, iri: str, found: Census, counted: bool) -> dict[str, Any]:
    info = found.attributes[iri]
    body: dict[str, Any] = {"id": iri, "type": "Attribute", "attributeName": call.terms.compact(iri)}
    if counted:
        body["attributeCount"] = info.count
    body["attributeTypes"] = sorted(info.kinds)
    body["typeNames"] = sorted(call.terms.compact(t) for t in info.types)
    return body


# /jsonldContexts ----------------------------------------------------------------------------------------------
def _info(url: str, local_id: str | None, kind: str, created: str, hits: int | None, used: str | None) -> Any:
    info: dict[str, Any] = {"url": url, "kind": kind, "createdAt": created}
    if local_id is not None:
        info["localId"] = local_id
    if hits is not None:
        info["numberOfHits"] = hits
    if used is not None:
        info["lastUsage"] = used
    return info


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PATH


def _entries(request: Request, service: NgsiLdService) -> list[tuple[str, dict[str, Any], Any]]:
    """(id, ContextInfo, @context) of every hosted and cached context."""
    registry = registry_of(service.contexts)
    found: list[tuple[str, dict[str, Any], Any]] = []
    for entry in registry.stored():  # from the store: what any process on it hosts
        url = _base(request) + entry.local_id
        info = _info(url, entry.local_id, "Hosted", entry.created_at, entry.hits, entry.last_usage)
        found.append((entry.local_id, info, entry.context))
    for url, fetched, context in sorted(registry.cached(), key=lambda c: c[0]):
        created = datetime.fromtimestamp(fetched, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        found.append((url, _info(url, None, "Cached", created, None, None), context))
    return found


@router.get("/jsonldContexts", summary="The @contexts hosted and cached (details, kind)", responses=CONTEXTS)
def list_contexts(
    request: Request, service: Service, _: ContextReader, details: bool = False, kind: str | None = None
) -> Response:
    if kind is not None and kind not in KINDS:
        raise BadRequestData(f"kind is one of {', '.join(KINDS)}")
    entries = [e for e in _entries(request, service) if kind is None or e[1]["kind"] == kind]
    body = [info for _, info, _ in entries] if details else [info["url"] for _, info, _ in entries]
    return Response(_json(body), media_type="application/json")


@router.get("/jsonldContexts/{context_id:path}", summary="One @context (details: its ContextInfo)", responses=CONTEXT)
def get_context(
    context_id: str, request: Request, service: Service, _: ContextReader, details: bool = False
) -> Response:
    wanted = unquote(context_id)
    for local_id, info, context in _entries(request, service):
        if wanted in (local_id, info["url"]):
            body = info if details else {"@context": context}
            return Response(_json(body), media_type="application/json" if details else "application/ld+json")
    raise ResourceNotFound(f"no @context {wanted!r} is hosted or cached")


@router.post("/jsonldContexts", status_code=201, summary="Host an @context (a JSON-LD document)")
async def add_context(request: Request, service: Service, _: ContextWriter) -> Response:
    # Not read_body: the document's @context is what is hosted, not the context of a request to resolve.
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media not in MEDIA:
        raise UnsupportedMediaType(f"send {JSON} or {JSON_LD}, not {media or 'no Content-Type'}")
    try:
        document = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from exc
    entry = await run_in_threadpool(registry_of(service.contexts).add, document)
    return Response(status_code=201, headers={"Location": f"{PATH}{quote(entry.local_id)}"})


@router.delete("/jsonldContexts/{context_id:path}", status_code=204, summary="Delete a hosted or cached @context")
def delete_context(context_id: str, service: Service, _: ContextWriter, reload: bool = False) -> Response:
    registry_of(service.contexts).delete(unquote(context_id), reload)
    return Response(status_code=204)


def _json(body: Any) -> bytes:
    return orjson.dumps(body)
