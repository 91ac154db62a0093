"""Request helpers shared by the routers."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from futago.app import App


def get_app(request: Request) -> App:
    app: App = request.app.state.futago
    return app


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json", headers=headers)


class _OrjsonRequest(Request):
    """A request whose JSON body is parsed by orjson, the JSON dialect the store and answers use."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
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
