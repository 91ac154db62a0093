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
    """A problem with its NGSI-LD type name (the last segment of its type URI)."""

    status = 400
    title = "Bad request"
    problem_type = "BadRequestData"

    def __init__(
        self, detail: str, problems: Sequence[Problem] | None = None, *, problem_type: str | None = None
    ) -> None:
        super().__init__(detail, problems or ())
        if problem_type is not None:
            self.problem_type = problem_type


class BadRequestData(NgsiLdError):
    pass


class InvalidRequest(NgsiLdError):
    problem_type = "InvalidRequest"


class ResourceNotFound(NgsiLdError):
    status = 404
    title = "Not found"
    problem_type = "ResourceNotFound"


class NonexistentTenant(ResourceNotFound):
    problem_type = "NonexistentTenant"


class AlreadyExists(NgsiLdError):
    status = 409
    title = "Conflict"
    problem_type = "AlreadyExists"


class OperationNotSupported(NgsiLdError):
    status = 422
    title = "Operation not supported"
    problem_type = "OperationNotSupported"


class NotAcceptable(NgsiLdError):
    status = 406
    title = "Not acceptable"
    problem_type = "NotAcceptable"


class UnsupportedMediaType(NgsiLdError):
    status = 415
    title = "Unsupported media type"
    problem_type = "UnsupportedMediaType"


class LdContextNotAvailable(NgsiLdError):
    status = 503
    title = "LD context not available"
    problem_type = "LdContextNotAvailable"


def problem_type_of(error: FutagoError) -> str | None:
    """The NGSI-LD type URI for ``error``, or None where NGSI-LD defines none (authentication, policies, ...)."""
    if isinstance(error, NgsiLdError):
        return ERRORS_BASE + error.problem_type
    name = TYPE_OF_STATUS.get(error.status)
    return ERRORS_BASE + name if name else None
