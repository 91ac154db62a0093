"""Every error answer is RFC 9457 problem+json, with a pointer to the offending field.

Bad input never becomes a 500: domain errors, request-validation errors and HTTP errors are
all mapped here, and anything unexpected is logged and answered as a problem too.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from futago.core.errors import FutagoError, PayloadTooLarge, TooManyRequests
from futago.core.problems import Problem, join_pointer

log = logging.getLogger(__name__)
PROBLEM_TYPE_BASE = "https://futago.dev/problems/"
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
}


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; pointer and errors[].pointer name the offending fields",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "pointer": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["type", "title", "status", "detail"],
}
#: Documented on every operation: the problems any route may answer with (authentication, policies, input).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": title, "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}
    for status, title in _TITLES.items()
    if status != 500
}


def problem_response(
    status: int,
    detail: str,
    problems: Sequence[Problem] = (),
    instance: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    title = _TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if problems:
        body["pointer"] = problems[0].pointer
        body["errors"] = [
            {"pointer": p.pointer, "detail": p.message, **({"id": p.id} if p.id else {})} for p in problems
        ]
    return Response(orjson.dumps(body), status_code=status, media_type="application/problem+json", headers=headers)


def retry_after(seconds: float) -> dict[str, str]:
    """The Retry-After header of a 429: whole seconds, at least one."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def _validation_problems(exc: RequestValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        location = list(error.get("loc", ()))
        where = location[0] if location else "body"
        tokens = [t for t in location[1:] if not (where == "body" and t in ("body",))]
        message = str(error.get("msg", "invalid value"))
        if error.get("type") == "json_invalid":
            tokens = []  # the location is a character offset, not a field
            # Say why, e.g. NaN or a lone surrogate, which the orjson parser refuses (JSONRoute).
            reason = (error.get("ctx") or {}).get("error")
            message = f"the body is not valid JSON: {reason}" if reason else message
        pointer = join_pointer("", *tokens) if where == "body" else join_pointer("", *tokens[:1])
        if where != "body":
            message = f"{where} parameter: {message}"
        problems.append(Problem(pointer, message))
    return problems


def install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(FutagoError)
    async def domain_error(request: Request, exc: FutagoError) -> Response:
        headers = retry_after(exc.retry_after_s) if isinstance(exc, TooManyRequests) else None
        return problem_response(exc.status, exc.detail, exc.problems, request.url.path, headers)

    @api.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = _validation_problems(exc)
        detail = "; ".join(f"{p.pointer or '/'}: {p.message}" for p in problems[:3])
        return problem_response(422, detail, problems, request.url.path)

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        headers = dict(exc.headers) if exc.headers else None
        problems = exc.problems if isinstance(exc, InvalidBody) else ()
        return problem_response(exc.status_code, str(exc.detail), problems, request.url.path, headers)

    @api.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(500, "an unexpected error occurred; it has been logged", (), request.url.path)


class InvalidBody(HTTPException):
    """A body refused while it is being parsed (a field too large): an HTTPException, because FastAPI turns any
    other exception raised there into a bare 400, losing the pointer."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(422, "; ".join(f"{p.pointer or '/'}: {p.message}" for p in problems))
        self.problems = list(problems)


class BodySizeLimit:
    """Refuse request bodies over a limit, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(scope, receive, send)
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(f"the request body is larger than the limit of {limit} bytes")
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            f"the request body is larger than the limit of {self.max_bytes} bytes; split it into smaller requests",
            instance=scope.get("path"),
        )
        await response(scope, receive, send)
