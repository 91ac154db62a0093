"""Request helpers shared by the routers."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import Path, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from futago.api.errors import InvalidBody
from futago.core.problems import Problem, join_pointer
from futago.core.secrets import json_default


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    # A Secret that reaches a response is written as its mask, never revealed (and never a 500).
    body = orjson.dumps(content, default=json_default)
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


MAX_FIELD_CHARS = 1_000_000  # one string in a request body (a description, a geometry's WKT)
MAX_DEPTH = 64  # nesting of objects and arrays


def check_fields(value: Any, path: tuple[str | int, ...] = ()) -> None:
    """Refuse a body with a string over MAX_FIELD_CHARS or nesting deeper than MAX_DEPTH, naming where."""
    if len(path) > MAX_DEPTH:
        _refuse(path, f"the body nests deeper than {MAX_DEPTH} levels here")
    if isinstance(value, str):
        if len(value) > MAX_FIELD_CHARS:
            _refuse(path, f"a string longer than {MAX_FIELD_CHARS:,} characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_fields(key, path)
            check_fields(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_fields(item, (*path, index))


def _refuse(path: tuple[str | int, ...], message: str) -> None:
    raise InvalidBody([Problem(join_pointer("", *path) or "/", message)])


class _OrjsonRequest(Request):
    """A request whose JSON body is parsed by orjson, the JSON dialect the store and answers use, and whose
    fields are within the size limits."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
            check_fields(self._json)
        return self._json


class JSONRoute(APIRoute):
    """Parses request bodies with orjson rather than Python's json module.

    Python's json accepts NaN, Infinity, integers beyond 64 bits and lone surrogates, none of
    which orjson can store or answer, so such bodies used to get as far as the store and fail
    there with a 500. orjson refuses them while parsing; its JSONDecodeError is a
    json.JSONDecodeError, which FastAPI answers as a 422 ``json_invalid`` problem.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parse_with_orjson(request: Request) -> Response:
            return await handler(_OrjsonRequest(request.scope, request.receive))

        return parse_with_orjson


SQL_MAX = 2**63 - 1  # the largest integer a store column holds: larger numbers are a 422, not a crash
#: A stored row's number in a path (a dead letter, a policy entry).
RowId = Annotated[int, Path(ge=1, le=SQL_MAX)]

#: Success answers besides 200 that some operations give, documented on each of them.
CREATED: dict[int | str, dict[str, Any]] = {201: {"description": "Created (200 when it replaced an existing one)"}}
ACCEPTED: dict[int | str, dict[str, Any]] = {202: {"description": "Accepted: queued, or still in progress"}}
EMPTY: dict[int | str, dict[str, Any]] = {204: {"description": "Nothing to send (an empty tile)"}}
