"""NGSI-LD errors: futago problems (RFC 9457) that carry an NGSI-LD ProblemDetails type (GS CIM 009 5.5.2)."""

from __future__ import annotations

from collections.abc import Sequence

from futago.core.errors import FutagoError
from futago.core.problems import Problem

ERRORS_BASE = "https://uri.etsi.org/ngsi-ld/errors/"

#: The NGSI-LD error type of a futago problem's HTTP status, where the error was raised outside this package
#: (a twin rule, the store, a policy). 401, 403, 412 and 429 keep futago's own types: NGSI-LD defines none.
TYPE_OF_STATUS = {
    400: "BadRequestData",
    404: "ResourceNotFound",
    406: "NotAcceptable",
    409: "AlreadyExists",
    413: "BadRequestData",
    415: "UnsupportedMediaType",
    422: "BadRequestData",
    500: "InternalError",
    501: "OperationNotSupported",
    503: "LdContextNotAvailable",
}


class NgsiLdError(FutagoError):
    """A problem with its NGSI-LD type name (the last segment of its type URI), its HTTP status and title.

    A subclass declares only what differs, in its class line: ``class X(NgsiLdError, status=404, title="...")``;
    its type name is its class name unless ``problem_type=`` says otherwise, and status and title are inherited.
    """

    status = 400
    title = "Bad request"
    problem_type = "BadRequestData"

    def __init_subclass__(cls, *, status: int | None = None, title: str | None = None, problem_type: str = "") -> None:
        super().__init_subclass__()
        cls.problem_type = problem_type or cls.__name__
        if status is not None:
            cls.status = status
        if title is not None:
            cls.title = title

    def __init__(
        self, detail: str, problems: Sequence[Problem] | None = None, *, problem_type: str | None = None
    ) -> None:
        super().__init__(detail, problems or ())
        if problem_type is not None:
            self.problem_type = problem_type


class BadRequestData(NgsiLdError): ...


class InvalidRequest(NgsiLdError): ...


class ResourceNotFound(NgsiLdError, status=404, title="Not found"): ...


class NonexistentTenant(ResourceNotFound): ...


class AlreadyExists(NgsiLdError, status=409, title="Conflict"): ...


class OperationNotSupported(NgsiLdError, status=422, title="Operation not supported"): ...


class NotAcceptable(NgsiLdError, status=406, title="Not acceptable"): ...


class UnsupportedMediaType(NgsiLdError, status=415, title="Unsupported media type"): ...


class LdContextNotAvailable(NgsiLdError, status=503, title="LD context not available"): ...


def problem_type_of(error: FutagoError) -> str | None:
    """The NGSI-LD type URI for ``error``, or None where NGSI-LD defines none (authentication, policies, ...)."""
    if isinstance(error, NgsiLdError):
        return ERRORS_BASE + error.problem_type
    name = TYPE_OF_STATUS.get(error.status)
    return ERRORS_BASE + name if name else None
