"""The HTTP side of NGSI-LD: media types, @context from the body or the Link header, tenants, answers and errors.

Errors on these routes are RFC 9457 problem+json like everywhere in futago (same members, same pointers), with
the NGSI-LD ProblemDetails type URI (``https://uri.etsi.org/ngsi-ld/errors/...``) where NGSI-LD defines one.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from futago.api.access import Access, Permission, require
from futago.api.deps import JSONRoute, check_fields
from futago.api.errors import InvalidBody, problem_response
from futago.core.errors import FutagoError, TooManyRequests
from futago.core.problems import Problem
from futago.services.ngsild import CORE_CONTEXT_URL, NgsiLdService, TermMap, problem_type_of
from futago.services.ngsild.errors import BadRequestData, InvalidRequest, NotAcceptable, UnsupportedMediaType

log = logging.getLogger(__name__)
JSON = "application/json"
JSON_LD = "application/ld+json"
GEO_JSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
MEDIA = (JSON, JSON_LD)  # what NGSI-LD bodies and answers come in, for /openapi.json
#: Every URI parameter GS CIM 009 defines (6.3.20): one a route does not take is ignored there, as before; a name
#: outside this list and the route's own parameters is an InvalidRequest.
SPEC_PARAMETERS = frozenset(
    [
        "id",
        "type",
        "idPattern",
        "attrs",
        "q",
        "csf",
        "georel",
        "geometry",
        "coordinates",
        "geoproperty",
        "geometryProperty",
        "lang",
        "scopeQ",
        "options",
        "format",
        "limit",
        "offset",
        "count",
        "timeproperty",
        "timerel",
        "timeAt",
        "endTimeAt",
        "lastN",
        "aggrMethods",
        "aggrPeriodDuration",
        "datasetId",
        "deleteAll",
        "local",
        "join",
        "joinLevel",
        "containedBy",
        "pick",
        "omit",
        "expandValues",
        "entityMap",
        "collect",
        "details",
        "observedAt",
        "doNotCompact",
        "jsonKeys",
        "kind",
        "entityId",
        "attributeName",
    ]
)
_SIZED = frozenset({"POST", "PATCH", "PUT"})  # the methods whose requests must say their Content-Length
_LINK = re.compile(r'<([^>]*)>\s*((?:;\s*[A-Za-z]+\s*=\s*(?:"[^"]*"|[^;,]*)\s*)*)')


def ngsild_problem(request: Request, exc: FutagoError) -> Response:
    """A futago problem with the NGSI-LD type of its kind, and the request's tenant echoed (GS CIM 009 6.3.14)."""
    headers = {"Retry-After": str(max(1, int(exc.retry_after_s)))} if isinstance(exc, TooManyRequests) else {}
    tenant = tenant_of(request)
    if tenant is not None:
        headers["NGSILD-Tenant"] = tenant
    response = problem_response(exc.status, exc.detail, exc.problems, request.url.path, headers)
    type_uri = problem_type_of(exc)
    if type_uri is not None:
        body = orjson.loads(response.body)
        body["type"] = type_uri
        response = Response(
            orjson.dumps(body), status_code=exc.status, media_type="application/problem+json", headers=headers
        )
    return response


class NgsiLdRoute(JSONRoute):
    """Answers every error of an NGSI-LD route as an NGSI-LD problem: bad query parameters are BadRequestData
    (400, as the specification says, not FastAPI's 422), and nothing becomes a 500 without being logged."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        known = SPEC_PARAMETERS | _query_names(self.dependant)

        async def handle(request: Request) -> Response:
            if request.method in _SIZED and "content-length" not in request.headers:
                # GS CIM 009 6.3.2/6.3.4: a bare 411, decided before the tenant or the body is looked at
                return Response(status_code=411)
            unknown = sorted(set(request.query_params) - known)
            if unknown:  # 6.3.20: a parameter NGSI-LD does not define is an InvalidRequest, not silently ignored
                problems = [Problem(f"/{name}", "not an NGSI-LD query parameter") for name in unknown]
                return ngsild_problem(
                    request, InvalidRequest(f"unknown query parameter(s): {', '.join(unknown)}", problems)
                )
            try:
                return await handler(request)
            except FutagoError as exc:
                return ngsild_problem(request, exc)
            except RequestValidationError as exc:
                problems = [Problem(_where(e), str(e.get("msg", "invalid"))) for e in exc.errors()]
                detail = "; ".join(f"{p.pointer}: {p.message}" for p in problems[:3])
                return ngsild_problem(request, BadRequestData(detail, problems))
            except InvalidBody as exc:
                return ngsild_problem(request, BadRequestData(str(exc.detail), exc.problems))
            except HTTPException as exc:
                return problem_response(exc.status_code, str(exc.detail), (), request.url.path)

        return handle


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route and its dependencies declare."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _where(error: Any) -> str:
    location = [str(x) for x in error.get("loc", ())]
    return "/" + "/".join(location[1:]) if len(location) > 1 else "/"


@dataclass
class Call:
    """One NGSI-LD request: its tenant, its @context (as sent) and term map, and the answer's media type."""

    tenant: str | None
    context: Any  # a URL, an object or a list; None for the core context
    terms: TermMap
    accept: str
    link: str | None  # the Link header's context URL, if one was sent
    body_json: bool = False  # Prefer: body=json, so a GeoJSON answer carries its @context in the Link header

    def answer(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """``body`` in the negotiated media type: the @context inside for JSON-LD, in a Link header otherwise."""
        out = dict(headers or {})
        if self.tenant is not None:
            out["NGSILD-Tenant"] = self.tenant
        context = self.context if self.context is not None else CORE_CONTEXT_URL
        if self.accept == JSON_LD or (self.accept == GEO_JSON and not self.body_json):  # GS CIM 009 6.3.6
            body = [_with_context(b, context) for b in body] if isinstance(body, list) else _with_context(body, context)
        else:
            url = self.link or (context if isinstance(context, str) else CORE_CONTEXT_URL)
            paging = out.get("Link")  # rel="prev"/"next" links (6.3.13) go after the @context link
            out["Link"] = f'<{url}>; rel="{CONTEXT_REL}"; type="{JSON_LD}"' + (f", {paging}" if paging else "")
        return Response(orjson.dumps(body), status_code=status, media_type=self.accept, headers=out)

    def done(self, headers: dict[str, str] | None = None) -> Response:
        return Response(status_code=204, headers=self._with_tenant(headers))

    def created(self, location: str) -> Response:
        """201 with the new resource's ``Location`` (a path under /ngsi-ld/v1)."""
        return Response(status_code=201, headers=self._with_tenant({"Location": location}))

    def _with_tenant(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if self.tenant is not None:
            out["NGSILD-Tenant"] = self.tenant
        return out


def _with_context(body: Any, context: Any) -> Any:
    return {"@context": context, **body} if isinstance(body, dict) else body


def _media(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def negotiate(accept: str | None, geo: bool = True) -> str:
    """The answer's media type from Accept (GS CIM 009 6.3.4, RFC 9110 12.5.1): each representation the route
    offers takes the weight of the most specific range that matches it (a malformed q keeps the default 1, q=0
    refuses it); the heaviest wins, and a tie goes to the first of JSON, JSON-LD, GeoJSON, the order the
    specification lists them in, not the order the client wrote them in. No Accept means JSON."""
    if not accept or not accept.strip():
        return JSON
    offered = [JSON, JSON_LD] + ([GEO_JSON] if geo else [])
    ranges = [_accept_range(part) for part in accept.split(",") if part.strip()]
    best, best_weight = None, 0.0
    for media in offered:
        weight = _weight_of(media, ranges)
        if weight > best_weight:
            best, best_weight = media, weight
    if best is None:
        raise NotAcceptable(f"this resource answers {', '.join(offered)}; Accept asked for {accept}")
    return best


def _accept_range(part: str) -> tuple[str, float]:
    media, *params = [p.strip() for p in part.split(";")]
    weight = 1.0
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            # a malformed q is not one of the RFC's rules: the range keeps its default weight
            with contextlib.suppress(ValueError):
                weight = min(1.0, max(0.0, float(value.strip())))
    return media.lower(), weight


def _weight_of(media: str, ranges: list[tuple[str, float]]) -> float:
    """The weight of ``media`` from its most specific matching range: exact, then ``type/*``, then ``*/*``."""
    family = media.split("/", 1)[0] + "/*"
    for candidate in (media, family, "*/*"):
        weights = [w for r, w in ranges if r == candidate]
        if weights:
            return max(weights)
    return 0.0


def link_context(header: str | None) -> str | None:
    """The URL of a JSON-LD context Link header, or None."""
    if not header:
        return None
    found = None
    for match in _LINK.finditer(header):
        params = match.group(2).lower().replace(" ", "")
        if f'rel="{CONTEXT_REL}"' in params or f"rel={CONTEXT_REL}" in params:
            if found is not None:
                raise BadRequestData("send one JSON-LD context Link header, not several")
            found = match.group(1)
    return found


def tenant_of(request: Request) -> str | None:
    value = request.headers.get("NGSILD-Tenant")
    return value.strip() if value and value.strip() else None


def prefers_json_body(request: Request) -> bool:
    """``Prefer: body=json`` (GS CIM 009 6.3.6): a GeoJSON answer's @context goes in the Link header."""
    prefer = ",".join(request.headers.getlist("prefer")).lower().replace(" ", "")
    return any(p.split(";", 1)[0] == "body=json" for p in prefer.split(","))


def call_of(request: Request, service: NgsiLdService, geo: bool = True) -> Call:
    """For a request without a body: the context comes from the Link header (or is the core context)."""
    accept = negotiate(request.headers.get("accept"), geo)
    link = link_context(request.headers.get("link"))
    tenant = tenant_of(request)
    service.check_tenant(tenant)
    return Call(tenant, link, service.contexts.resolve(link), accept, link, prefers_json_body(request))


async def read_body(request: Request, service: NgsiLdService, patch: bool = False) -> tuple[Call, Any]:
    """Parse a body: JSON with its context in a Link header, or JSON-LD with ``@context`` inside (GS CIM 009
    6.3.5). Any other media type is a 415; malformed JSON is InvalidRequest."""
    media = _media(request.headers.get("content-type"))
    allowed = (JSON, JSON_LD, MERGE_PATCH) if patch else (JSON, JSON_LD)
    if media not in allowed:
        raise UnsupportedMediaType(f"send {' or '.join(allowed)}, not {media or 'a body without Content-Type'}")
    raw = await request.body()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from exc
    check_fields(body)
    accept = negotiate(request.headers.get("accept"))
    link = link_context(request.headers.get("link"))
    tenant = tenant_of(request)
    service.check_tenant(tenant)
    context: Any = None
    if media == JSON_LD:
        if link is not None:
            raise BadRequestData("a JSON-LD body carries its @context inside; send no context Link header with it")
        if not isinstance(body, dict) or "@context" not in body:
            raise BadRequestData("a body sent as application/ld+json must hold an @context")
        context = body.pop("@context")
    else:
        if isinstance(body, dict) and "@context" in body:
            raise BadRequestData("a body sent as application/json may not hold an @context: use the Link header")
        context = link
    terms = await run_in_threadpool(service.contexts.resolve, context)  # may fetch it: not on the event loop
    return Call(tenant, context, terms, accept, link), body


async def with_body(
    request: Request, service: NgsiLdService, work: Callable[[Call, Any], Response], patch: bool = False
) -> Response:
    """What every NGSI-LD route with a body does: read it (media type, tenant, @context, the answer's media type),
    then run ``work(call, body)`` on a worker thread, since it reads and writes the store, and answer what it
    returns. Authorisation that needs no body belongs before this call, so a caller without rights learns nothing
    from how its body is judged."""
    call, body = await read_body(request, service, patch)
    return await run_in_threadpool(work, call, body)


def authorize(request: Request, permission: Permission, resource: str) -> Access:
    """futago's one authorisation dependency, for a resource known only once the request is read (an id is no
    template: its braces are escaped)."""
    return require(permission, resource.replace("{", "{{").replace("}", "}}"))(request)


def body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    """The request body as /openapi.json shows it: bodies are read by the route (media type, @context)."""
    return {"requestBody": {"required": True, "content": {m: {"schema": schema} for m in MEDIA}}}


def answer_doc(schema: dict[str, Any], status: int = 200, why: str = "OK") -> dict[int | str, dict[str, Any]]:
    """An answer as /openapi.json shows it, in both media types."""
    return {status: {"description": why, "content": {m: {"schema": schema} for m in MEDIA}}}


def split_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise BadRequestData("an empty list was given")
    return items
