"""The query parameters of GET /entities (and of a Query body's members) as an ``EntityQuery``.

Shared by every NGSI-LD route that queries entities: ``Selection`` and ``Paging`` declare the GET parameters once
(FastAPI dependencies, so that /openapi.json documents them on every route that takes them), and each malformed
parameter is a BadRequestData whose pointer names it (``/q``, ``/georel``, ``/coordinates``, ``/type``, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Query

from futago.services.ngsild import EntityQuery, NgsiLdService, TermMap
from futago.services.ngsild.errors import BadRequestData
from futago.services.ngsild.geoquery import parse_geo
from futago.services.ngsild.qlang import parse_q, problem, safe_id_pattern
from futago.services.ngsild.scopeq import parse_scope_q
from futago.services.ngsild.typeexpr import parse_types

MAX_LIMIT = 1000
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")  # RFC 3986: a scheme, a colon, no blanks

#: The JSON schema of a body's geoQ (4.10), as the query and temporal query bodies document it.
GEO_QUERY: dict[str, object] = {
    "type": "object",
    "properties": {
        "georel": {"type": "string"},
        "geometry": {"type": "string"},
        "coordinates": {"description": "JSON coordinates, as an array or its text"},
        "geoproperty": {"type": "string"},
    },
}


@dataclass
class QueryParameters:
    """The selection members of a query, as sent (strings): GET parameters or a Query body's members."""

    type: str | None = None
    id: str | None = None
    id_pattern: str | None = None
    attrs: str | None = None
    q: str | None = None
    georel: str | None = None
    geometry: str | None = None
    coordinates: str | None = None
    geoproperty: str | None = None
    limit: int = 20
    offset: int = 0
    count: bool = False
    scope_q: str | None = None


@dataclass
class Page:
    """Which page of an answer to give (``limit``, ``offset``) and whether to count every match (``count``)."""

    limit: int = 20
    offset: int = 0
    count: bool = False


def page_parameters(
    limit: Annotated[int, Query(ge=0, le=MAX_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    count: bool = False,
) -> Page:
    return Page(limit, offset, count)


Paging = Annotated[Page, Depends(page_parameters)]


def query_parameters(
    page: Paging,
    type_: Annotated[str | None, Query(alias="type")] = None,
    id_: Annotated[str | None, Query(alias="id")] = None,
    id_pattern: Annotated[str | None, Query(alias="idPattern")] = None,
    attrs: str | None = None,
    q: str | None = None,
    georel: str | None = None,
    geometry: str | None = None,
    coordinates: str | None = None,
    geoproperty: str | None = None,
    scope_q: Annotated[str | None, Query(alias="scopeQ")] = None,
) -> QueryParameters:
    """The GET parameters that select entities, as GET /entities and GET /temporal/entities both take them."""
    selection = (type_, id_, id_pattern, attrs, q, georel, geometry, coordinates, geoproperty)
    return QueryParameters(*selection, page.limit, page.offset, page.count, scope_q)


Selection = Annotated[QueryParameters, Depends(query_parameters)]


def entity_query(
    service: NgsiLdService,
    terms: TermMap,
    given: QueryParameters,
    local: bool | None = None,
    expand_values: str | bool | None = False,
) -> EntityQuery:
    """The query to run; GS CIM 009 6.4.3.2 asks for at least one of type, id, idPattern, attrs, q or a geo-query,
    or ``local=true`` (every entity this broker holds). ``type=*`` is every type, and implies local=true.
    ``expand_values`` is GET /entities' ``expandValues`` (None when not sent: unquoted values compare as written);
    False where the route has no such parameter (every unquoted value is also tried expanded)."""
    if given.limit > MAX_LIMIT:
        raise problem(f"limit may be at most {MAX_LIMIT}", "limit")
    if given.type == "*":
        if local is False:
            raise problem("type=* implies local=true: it cannot be asked for with local=false", "local")
        given, local = replace(given, type=None), True
    selectors = (given.type, given.id, given.id_pattern, given.attrs, given.q, given.georel)
    if all(s is None for s in selectors) and not local:
        raise BadRequestData("a query needs type, id, idPattern, attrs, q or a geo-query (GS CIM 009 6.4.3.2)")
    if given.id_pattern is not None:
        safe_id_pattern(given.id_pattern)  # refused now, whatever the scan would have met first
    type_sets = parse_types(given.type, terms.expand) if given.type is not None else None
    plain = type_sets is not None and all(len(s) == 1 for s in type_sets)
    geoproperty = terms.expand(given.geoproperty) if given.geoproperty else None
    return EntityQuery(
        types=sorted({next(iter(s)) for s in type_sets}) if type_sets is not None and plain else None,
        ids=[_query_id(service, i) for i in _items(given.id, "id")] or None,
        id_pattern=given.id_pattern,
        attrs=[terms.expand(_attribute_name(a)) for a in _items(given.attrs, "attrs")] or None,
        limit=given.limit,
        offset=given.offset,
        count=given.count,
        type_sets=None if plain else type_sets,
        q=parse_q(given.q, terms, _expanded(expand_values, terms)) if given.q is not None else None,
        geo=parse_geo(given.georel, given.geometry, given.coordinates, geoproperty),
        scope_q=parse_scope_q(given.scope_q) if given.scope_q is not None else None,
    )


def parse_csf(text: str, terms: TermMap) -> None:
    """A context source filter is in the query language (4.9): checked, with its errors pointing at ``/csf``."""
    try:
        parse_q(text, terms)
    except BadRequestData as exc:
        raise problem(exc.detail.removeprefix("q: "), "csf") from exc


def _expanded(expand_values: str | bool | None, terms: TermMap) -> frozenset[str] | None:
    if expand_values is False or expand_values is True:
        return None
    return frozenset(terms.expand(a) for a in _items(expand_values, "expandValues"))


def _query_id(service: NgsiLdService, entity_id: str) -> str:
    """An id of the ``id`` parameter: a URI (GS CIM 009 6.4.3.2), so a mistyped one is a 400, not an empty answer.
    A twin made through the twin API under a plain name (``pump-1``) is found by idPattern or by its own URL."""
    if not URI.match(entity_id):
        raise problem(f"{entity_id!r} is not a URI: an entity id looks like urn:ngsi-ld:Type:001", "id")
    return service.check_id(entity_id)


def _attribute_name(name: str) -> str:
    """``id`` and ``type`` are members of every entity, never attribute names (GS CIM 009 4.6.2): asking for them
    in ``attrs`` is a mistake the caller should hear of (``pick`` is the parameter that selects them)."""
    if name in ("id", "type", "@id", "@type", "@context"):
        raise problem(f"{name!r} is not an attribute name; pick selects id and type", "attrs")
    return name


def _items(value: str | None, parameter: str) -> list[str]:
    if value is None:
        return []
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise problem("an empty list was given", parameter)
    return items


def page_links(
    path: str, params: list[tuple[str, str]], page: Page | QueryParameters, media: str, more: bool
) -> str | None:
    """The ``Link`` header values of a paged answer (GS CIM 009 6.3.13): ``rel="prev"`` when elements come before
    this page, ``rel="next"`` when more follow. Each is the request again (parameters in name order, so the links
    are stable) with ``offset`` moved by ``limit``; a page of ``limit=0`` (a count only) has neither."""
    if page.limit <= 0:
        return None
    kept = sorted((k, v) for k, v in params if k not in ("offset", "limit"))
    links = []
    if page.offset > 0:
        links.append(_page_link(path, kept, page.limit, max(0, page.offset - page.limit), "prev", media))
    if more:
        links.append(_page_link(path, kept, page.limit, page.offset + page.limit, "next", media))
    return ", ".join(links) or None


def _page_link(path: str, kept: list[tuple[str, str]], limit: int, offset: int, rel: str, media: str) -> str:
    pairs = sorted([*kept, ("limit", str(limit)), ("offset", str(offset))], key=lambda kv: kv[0])
    # ':', '*', '/' and the q language's ';' stay readable; '&', '=', ',' and blanks are encoded, so a value can
    # neither split the query nor the header
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe=':/@!$()*;')}" for k, v in pairs)
    # written without blanks around ';' (RFC 8288 allows them, but the ETSI suite compares a lone link verbatim)
    return f'<{path}?{query}>;rel="{rel}";type="{media}"'
